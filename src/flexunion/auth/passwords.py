"""Password and client-secret hashing (argon2), the same for staff and partner clients.

A check costs the same whether the account exists or not: a missing hash is checked
against a dummy one, so timing does not tell which usernames or client ids exist."""

from __future__ import annotations

import anyio.to_thread
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()
_DUMMY_HASH = _hasher.hash("flexunion-timing-equaliser")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def check_password(stored: str | None, password: str) -> bool:
    """True only for a stored hash that matches; one argon2 verification either way."""
    try:
        return _hasher.verify(stored or _DUMMY_HASH, password) and stored is not None
    except (VerificationError, InvalidHashError):
        return False


async def check_password_off_loop(stored: str | None, password: str) -> bool:
    """argon2 takes ~0.1 s of CPU by design: keep it off the event loop."""
    return await anyio.to_thread.run_sync(check_password, stored, password)


async def hash_password_off_loop(password: str) -> str:
    """The same, for a secret made while serving (a partner client's, in the console)."""
    return await anyio.to_thread.run_sync(hash_password, password)
