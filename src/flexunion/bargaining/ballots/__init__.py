"""表决 Ratification ballots: a frozen roll, secret papers, owner-owned counting."""
