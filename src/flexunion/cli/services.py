"""`flexunion services load-warnings | backfill-demographics`: a region's official weather
warnings from a file, and the birth month and sex of members who joined before they were kept."""

from __future__ import annotations

from pathlib import Path

import click
from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.cli._run import as_owner
from flexunion.config import Settings


@click.group()
def services() -> None:
    """Member services (分层分类服务): weather warnings, the groups' data."""


@services.command("load-warnings")
@click.option("--region", required=True, help="The region's (or station's) tenant code")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def load_warnings(region: str, path: Path) -> None:
    """Load official weather warnings (YAML or JSON: `warnings: [...]`, as the staff API takes
    them) for a tenant; a warning already loaded (same source_ref) is left as it is."""
    import msgspec

    from flexunion.core.clock import Clock
    from flexunion.core.errors import OperatorError
    from flexunion.federation import directory
    from flexunion.jobs import service as jobs
    from flexunion.services.events import service
    from flexunion.services.events.schemas import WarningsLoad

    try:
        # YAML timestamps (quoted or not) as JSON strings, then the API's own schema
        raw = msgspec.json.encode(msgspec.yaml.decode(path.read_bytes()))
        data = msgspec.json.decode(raw, type=WarningsLoad)
    except (msgspec.ValidationError, msgspec.DecodeError, TypeError) as exc:
        raise click.ClickException(f"{path}: {exc}") from exc

    async def work(settings: Settings, session: AsyncSession) -> tuple[int, int]:
        tenant = await directory.tenant_by_code(session, region)
        if tenant.kind not in ("regional", "station", "hq"):
            raise OperatorError(f"{region}: not a union tenant")
        done = await service.load_warnings(session, tenant.id, tenant.federation_id,
                                           data.warnings, loaded_by="cli:operator",
                                           now=Clock().now())
        return done.created, done.unchanged

    jobs.install()  # the triggers' job is queued in the load's transaction
    created, unchanged = as_owner(work)
    click.echo(f"loaded {created} warning(s), {unchanged} unchanged")


@services.command("backfill-demographics")
def backfill_demographics() -> None:
    """Derive birth month and sex from the sealed resident ID of members who have none (the
    女骑手 and 大龄 groups read them); the ID is opened in memory only."""
    from flexunion.core.secrets import Keyring, load_master_secret
    from flexunion.membership import service as membership

    async def work(settings: Settings, session: AsyncSession) -> int:
        return await membership.backfill_demographics(
            session, Keyring(load_master_secret(settings)))

    click.echo(f"filled {as_owner(work)} member(s)")


COMMANDS = [services]
