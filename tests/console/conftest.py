"""The fake identity provider's fixtures (tests/auth/test_admin_oidc.py), for the console's
own sign-in through it."""

from tests.auth.test_admin_oidc import _reset_idp, idp, oidc_live  # noqa: F401  (fixtures)
