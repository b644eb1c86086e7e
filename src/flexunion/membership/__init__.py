"""Membership (会籍): online joining (线上入会), the life of a membership, its homes over
time, and the portable card (cards/, 电子会籍)."""
