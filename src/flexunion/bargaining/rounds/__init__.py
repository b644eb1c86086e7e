"""协商轮次 Negotiation rounds, promised data, and the platform partner's side."""
