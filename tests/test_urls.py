from __future__ import annotations

from flexunion.db.migrate import head_revision, schema_state
from flexunion.db.urls import to_asyncpg, to_sqlalchemy


def test_tls_parameters_reach_both_drivers() -> None:
    url = "postgresql://app:pw@db.internal:5432/flexunion?sslmode=verify-full"
    assert to_sqlalchemy(url).query == {"ssl": "verify-full"}
    assert to_sqlalchemy(url).drivername == "postgresql+asyncpg"
    assert to_asyncpg(url).endswith("?sslmode=verify-full")
    assert to_asyncpg("postgresql+asyncpg://a@h/d?ssl=require").endswith("?sslmode=require")


def test_unix_socket_urls_survive() -> None:
    url = "postgresql://flexunion_app:@/flexunion?host=%2Ftmp%2Fx%2Fpg"
    assert to_sqlalchemy(url).query == {"host": "/tmp/x/pg"}
    assert "host=%2Ftmp%2Fx%2Fpg" in to_asyncpg(url)


def test_schema_state_for_rolling_upgrades_and_rollbacks() -> None:
    assert schema_state(head_revision()) == "current"
    assert schema_state(None) == "behind"
    assert schema_state("ffff_from_a_newer_release") == "ahead"
