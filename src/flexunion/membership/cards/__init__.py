"""The portable card (电子会籍): issued to a member, checked by anyone in the federation,
offline too (its JWKS and status list)."""
