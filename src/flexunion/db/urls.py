"""Connection URLs: one plain libpq-style form in settings, converted at the edges."""

from __future__ import annotations

from sqlalchemy.engine import URL, make_url


def to_sqlalchemy(url: str) -> URL:
    """SQLAlchemy's asyncpg dialect takes `ssl=`, not libpq's `sslmode=`."""
    parsed = make_url(url)
    if parsed.drivername in ("postgres", "postgresql", "postgresql+psycopg", "postgresql+psycopg2"):
        parsed = parsed.set(drivername="postgresql+asyncpg")
    query = dict(parsed.query)
    if "sslmode" in query:
        query["ssl"] = query.pop("sslmode")
    return parsed.set(query=query)


def to_asyncpg(url: str) -> str:
    """asyncpg.connect() takes the libpq form (`sslmode=`) without the +driver suffix."""
    parsed = make_url(url).set(drivername="postgresql")
    query = dict(parsed.query)
    if "ssl" in query:
        query["sslmode"] = query.pop("ssl")
    return parsed.set(query=query).render_as_string(hide_password=False)


def with_user(url: str, user: str, password: str | None) -> str:
    parsed = make_url(url).set(username=user, password=password)
    return parsed.render_as_string(hide_password=False)


def with_database(url: str, database: str) -> str:
    return make_url(url).set(database=database).render_as_string(hide_password=False)


def redacted(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)
