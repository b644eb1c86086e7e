"""Connection URLs: one plain libpq-style form in settings, converted at the edges."""

from __future__ import annotations

from sqlalchemy.engine import URL, make_url


def to_sqlalchemy(url: str) -> URL:
    parsed = make_url(url)
    if parsed.drivername in ("postgres", "postgresql", "postgresql+psycopg", "postgresql+psycopg2"):
        parsed = parsed.set(drivername="postgresql+asyncpg")
    return parsed


def to_asyncpg(url: str) -> str:
    """asyncpg.connect() takes the libpq form without the +driver suffix."""
    parsed = make_url(url).set(drivername="postgresql")
    return parsed.render_as_string(hide_password=False)


def with_user(url: str, user: str, password: str | None) -> str:
    parsed = make_url(url).set(username=user, password=password)
    return parsed.render_as_string(hide_password=False)


def with_database(url: str, database: str) -> str:
    return make_url(url).set(database=database).render_as_string(hide_password=False)


def redacted(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)
