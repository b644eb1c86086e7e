"""Workers log in with their phone and a one-time code sent by SMS."""
