"""Tokens, signing keys and JWKS, worker OTP login, admin login (local and OIDC), partner clients."""
