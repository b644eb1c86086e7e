"""Staff log in with a password (locked after failures) or through OIDC; operators create
their accounts, issue tokens for scripts and rotate the signing keys."""
