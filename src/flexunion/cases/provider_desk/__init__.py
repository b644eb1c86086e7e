"""机构端: a referral provider's desk — its machine clients (made by HQ and regional admins),
the referrals made to it, and its receipts (docs/referrals.md)."""
