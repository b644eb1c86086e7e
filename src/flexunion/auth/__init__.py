"""Logins and tokens: who may call, by audience.

`workers/` (phone + SMS one-time code), `staff/` (password with lockout, or OIDC, and the
operator's account actions), `partners/` (OAuth2 client credentials); below them the tables
(`models`), the signing keys and JWKS (`keys`, `repository`), access tokens (`tokens`) and
the password hashing every secret shares (`passwords`)."""
