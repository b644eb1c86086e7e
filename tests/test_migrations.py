"""The models and the migrated schema describe the same tables (no drift), and a
fresh database migrates from nothing to head."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from flexunion.config import Settings
from flexunion.db.engine import make_engine
from flexunion.db.migrate import head_revision
from flexunion.db.registry import metadata


async def test_models_match_migrations(settings: Settings) -> None:
    assert settings.database_url
    engine = make_engine(settings.database_url, pool_size=1, max_overflow=0)
    try:
        async with engine.connect() as conn:
            diff = await conn.run_sync(
                lambda sync: compare_metadata(MigrationContext.configure(sync), metadata))
            version = (await conn.exec_driver_sql(
                "SELECT version_num FROM alembic_version")).scalar()
    finally:
        await engine.dispose()
    assert diff == [], ("models and migrations differ; write a migration:\n"
                        + "\n".join(map(str, diff)))
    assert version == head_revision()
