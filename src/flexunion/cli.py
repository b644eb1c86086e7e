"""`flexunion serve | migrate | tenants plan/apply | admin create | partner create |
token issue | audit verify | keys rotate | transfers auto-release`.

Every command but `serve` is an operator command: it connects as the database
owner (DATABASE_URL, or the embedded server) and writes its audit events as
`cli:operator`."""

from __future__ import annotations

import asyncio
import secrets
import sys
from pathlib import Path

import click

from flexunion.config import Settings, load_settings
from flexunion.core import logs
from flexunion.db.runtime import Database, open_database, owner_session


def _open(settings: Settings | None = None) -> Database:
    return open_database(settings or load_settings())


async def prepare(settings: Settings) -> None:
    """Migrate as the owner and make sure the signing keys exist (access, and each
    federation's card key)."""
    from flexunion.auth.keys import ensure_active_key, ensure_card_keys
    from flexunion.core.secrets import Keyring, load_master_secret
    from flexunion.db.migrate import upgrade_async

    assert settings.database_url
    await upgrade_async(settings.database_url, settings.app_role, settings.app_db_password)
    async with owner_session(settings) as session:
        keyring = Keyring(load_master_secret(settings))
        await ensure_active_key(session, keyring)
        await ensure_card_keys(session, keyring)


async def load_demo_if_empty(settings: Settings) -> bool:
    from sqlalchemy import func, select

    from flexunion.federation.files import apply_directory
    from flexunion.federation.models import Tenant

    if not settings.load_demo or settings.demo_dir is None:
        return False
    async with owner_session(settings) as session:
        if await session.scalar(select(func.count()).select_from(Tenant)):
            return False
        plan = await apply_directory(session, settings.demo_dir)
    click.echo(f"loaded demo federation from {settings.demo_dir}: {plan.summary()}", err=True)
    return True


@click.group()
def main() -> None:
    """flexunion — 工会联合会服务 union federation service."""
    logs.configure(load_settings().log_level)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--no-migrate", is_flag=True,
              help="Serve only: no migrations, no demo (for pods that hold only the app's URL).")
def serve(host: str, port: int, no_migrate: bool) -> None:
    """Run the service (embedded PostgreSQL when DATABASE_URL is unset)."""
    import uvicorn

    from flexunion.app import create_app

    db = _open()
    try:
        if not no_migrate:
            if not db.settings.database_url:
                raise click.ClickException(
                    "migrating needs the owner's DATABASE_URL; use --no-migrate to only serve")
            asyncio.run(prepare(db.settings))
            asyncio.run(load_demo_if_empty(db.settings))
        click.echo(f"flexunion on http://{host}:{port}  (API docs: /schema)", err=True)
        uvicorn.run(create_app(db.settings), host=host, port=port, log_config=None,
                    proxy_headers=False, server_header=False)
    finally:
        db.stop()


@main.command()
def migrate() -> None:
    """Apply database migrations as the owner; create the app role and a signing key if missing."""
    db = _open()
    try:
        asyncio.run(prepare(db.settings))
        click.echo("database at the latest migration")
    finally:
        db.stop()


@main.group()
def tenants() -> None:
    """Federations as files (tenants/): plan, then apply."""


@tenants.command("plan")
@click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path))
def tenants_plan(directory: Path) -> None:
    """Show what `apply` would change, changing nothing."""
    from flexunion.federation.files import FederationFileError, plan_directory

    db = _open()
    try:
        asyncio.run(prepare(db.settings))  # the schema, not the tenants: plan changes no tenant
        plan = asyncio.run(_with_owner(db.settings, lambda s: plan_directory(s, directory)))
    except FederationFileError as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        db.stop()
    click.echo(plan.render())


@tenants.command("apply")
@click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path))
def tenants_apply(directory: Path) -> None:
    """Apply the federation files in one transaction (a second apply changes nothing)."""
    from flexunion.federation.files import FederationFileError, apply_directory

    db = _open()
    try:
        asyncio.run(prepare(db.settings))
        plan = asyncio.run(_with_owner(db.settings, lambda s: apply_directory(s, directory)))
    except FederationFileError as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        db.stop()
    click.echo(plan.render())
    click.echo(f"applied: {plan.summary()}")


async def _with_owner(settings: Settings, fn):  # noqa: ANN001, ANN202
    async with owner_session(settings) as session:
        return await fn(session)


@main.group()
def admin() -> None:
    """Staff accounts (HQ admins, regional admins, station officers)."""


@admin.command("create")
@click.option("--tenant", "tenant_code", required=True, help="Tenant code the account belongs to.")
@click.option("--username", required=True)
@click.option("--role", required=True,
              type=click.Choice(["hq_admin", "regional_admin", "station_officer"]))
@click.option("--display-name", default=None)
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@click.option("--oidc-issuer", default=None, help="Link to an identity provider account.")
@click.option("--oidc-subject", default=None)
def admin_create(tenant_code: str, username: str, role: str, display_name: str | None,
                 password_stdin: bool, oidc_issuer: str | None, oidc_subject: str | None) -> None:
    """Create a staff account; prints a generated password when none is given."""
    from flexunion.auth.accounts import AccountError, create_admin

    password = sys.stdin.readline().rstrip("\n") if password_stdin else None
    generated = None
    if password is None and not oidc_subject:
        generated = password = secrets.token_urlsafe(12)
    db = _open()
    try:
        account_id = asyncio.run(_with_owner(db.settings, lambda s: create_admin(
            s, tenant_code=tenant_code, username=username, role=role,
            display_name=display_name or username, password=password,
            oidc_issuer=oidc_issuer, oidc_subject=oidc_subject)))
    except AccountError as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        db.stop()
    click.echo(f"created {role} {username} ({account_id}) in {tenant_code}")
    if generated:
        click.echo(f"password: {generated}")


@main.group()
def partner() -> None:
    """Platform partner API clients (OAuth2 client credentials)."""


@partner.command("create")
@click.option("--tenant", "tenant_code", required=True,
              help="Tenant whose subtree the client may see (usually the federation HQ).")
@click.option("--partner", "partner_code", required=True, help="Platform partner code, e.g. meituan.")
@click.option("--name", default=None, help="A label for the client.")
def partner_create(tenant_code: str, partner_code: str, name: str | None) -> None:
    """Create a client; the secret is printed once and stored only hashed."""
    from flexunion.auth.accounts import AccountError, create_partner_client

    db = _open()
    try:
        client_id, secret = asyncio.run(_with_owner(db.settings, lambda s: create_partner_client(
            s, tenant_code=tenant_code, partner_code=partner_code, name=name or partner_code)))
    except AccountError as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        db.stop()
    click.echo(f"client_id: {client_id}")
    click.echo(f"client_secret: {secret}")


@main.group()
def token() -> None:
    """Tokens for operators and scripts."""


@token.command("issue")
@click.option("--role", required=True,
              type=click.Choice(["worker", "station_officer", "regional_admin", "hq_admin", "partner"]))
@click.option("--tenant", "tenant_code", required=True)
@click.option("--subject", required=True)
@click.option("--ttl", default=None, type=click.IntRange(1, 24 * 3600), help="Seconds.")
def token_issue(role: str, tenant_code: str, subject: str, ttl: int | None) -> None:
    """Print a signed access token."""
    from flexunion.auth.accounts import AccountError, issue_operator_token

    db = _open()
    try:
        printed = asyncio.run(issue_operator_token(
            db.settings, role=role, tenant_code=tenant_code, subject=subject, ttl=ttl))
    except AccountError as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        db.stop()
    click.echo(printed)


@main.group()
def audit() -> None:
    """The hash-chained audit trail."""


@audit.command("verify")
def audit_verify() -> None:
    """Recompute the chain; exit 1 and name the entries when anything was edited or removed."""
    from flexunion.audit.verify import verify

    db = _open()
    try:
        report = asyncio.run(verify(db.settings.database_url or ""))
    finally:
        db.stop()
    for problem in report.problems:
        click.echo(f"BROKEN {problem}")
    click.echo(f"checked {report.checked} entries; head seq {report.head_seq} "
               f"hash {report.head_hash[:16]}")
    if not report.ok:
        sys.exit(1)
    click.echo("audit chain intact")


@main.command()
def purge() -> None:
    """Delete expired idempotency records, day-old one-time-code challenges and location
    check-ins past FLEXUNION_CHECKIN_RETENTION_DAYS."""
    from flexunion.db.retention import purge as run_purge

    db = _open()
    days = db.settings.geo.checkin_retention_days
    try:
        removed = asyncio.run(_with_owner(
            db.settings, lambda s: run_purge(s, checkin_retention_days=days)))
    finally:
        db.stop()
    click.echo(", ".join(f"{table}: {n} removed" for table, n in removed.items()))


@main.group()
def transfers() -> None:
    """Cross-city relationship transfers (异地关系接转)."""


@transfers.command("auto-release")
def transfers_auto_release() -> None:
    """Release every transfer whose origin did not answer within the working-day deadline
    (run it every 15 minutes from a CronJob)."""
    import flexunion.db.registry  # noqa: F401  (every model: foreign keys name other domains' tables)
    from flexunion.core.clock import Clock
    from flexunion.transfers.jobs import PRINCIPAL, auto_release

    async def run(settings: Settings) -> int:
        async with owner_session(settings, principal=PRINCIPAL) as session:
            return len(await auto_release(session, Clock().now()))

    db = _open()
    try:
        released = asyncio.run(run(db.settings))
    finally:
        db.stop()
    click.echo(f"released {released} transfer(s)")


@main.group()
def keys() -> None:
    """Token signing keys."""


@keys.command("rotate")
@click.option("--federation", "federation_code", default=None,
              help="Rotate this federation's card key (HQ code) instead of the access-token key.")
def keys_rotate(federation_code: str | None) -> None:
    """Make a new active key; the old one stays in the JWKS (retired) for verification."""
    from flexunion.auth.accounts import AccountError, tenant_by_code
    from flexunion.auth.keys import CARD, create_key
    from flexunion.core.secrets import Keyring, load_master_secret

    async def rotate(session):  # noqa: ANN001, ANN202
        keyring = Keyring(load_master_secret(db.settings))
        if federation_code is None:
            return await create_key(session, keyring, activate=True)
        hq = await tenant_by_code(session, federation_code)
        if hq.kind != "hq":
            raise AccountError(f"'{federation_code}' is a {hq.kind}, not a federation (hq)")
        return await create_key(session, keyring, activate=True, purpose=CARD, federation_id=hq.id)

    db = _open()
    try:
        kid = asyncio.run(_with_owner(db.settings, rotate))
    except AccountError as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        db.stop()
    which = f"card key of {federation_code}" if federation_code else "signing key"
    click.echo(f"active {which}: {kid}")


@main.group()
def census() -> None:
    """Coverage census (摸清人员底数): workers, members and members in contact, by zone."""


@census.command("run")
@click.option("--federation", "federation_code", required=True, help="Federation (HQ) code.")
@click.option("--tenant", "tenant_code", default=None,
              help="Census of this tenant's subtree (default: the whole federation).")
@click.option("--zone-kind", type=click.Choice(["delivery_zone", "jurisdiction"]),
              default="delivery_zone", show_default=True)
@click.option("--engine", type=click.Choice(["pandas", "dask"]), default="pandas",
              show_default=True, help="dask: the spatial join on a Dask cluster.")
@click.option("--scheduler", default=None,
              help="Dask scheduler address (tcp://host:8786); default FLEXUNION_DASK_SCHEDULER, "
                   "else a local cluster.")
@click.option("--min-active-days", type=click.IntRange(0, 366), default=1, show_default=True)
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Directory for zones.csv, zones.geojson, map.png (default ./census-<id>).")
def census_run(federation_code: str, tenant_code: str | None, zone_kind: str, engine: str,
               scheduler: str | None, min_active_days: int, out_dir: Path | None) -> None:
    """Run a census as the operator, store it, and write its CSV, GeoJSON and map."""
    import json

    import flexunion.db.registry  # noqa: F401  (all models: foreign keys name other tables)
    from flexunion.core.clock import Clock
    from flexunion.core.errors import DomainError
    from flexunion.geo import census_render
    from flexunion.geo.census import operator_run
    from flexunion.geo.crs import Crs

    if scheduler and engine != "dask":
        raise click.UsageError("--scheduler needs --engine dask")
    db = _open()
    try:
        run = asyncio.run(_with_owner(db.settings, lambda s: operator_run(
            s, federation_code=federation_code, tenant_code=tenant_code, zone_kind=zone_kind,
            engine=engine, scheduler=scheduler or db.settings.geo.dask_scheduler,
            contact_days=db.settings.geo.census_contact_days, min_active_days=min_active_days,
            now=Clock().now())))
    except DomainError as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        db.stop()
    out = out_dir or Path(f"census-{str(run.id)[:8]}")
    out.mkdir(parents=True, exist_ok=True)
    (out / "zones.csv").write_bytes(census_render.zones_csv(run.zones))
    geojson = census_render.zones_geojson(run.zones, Crs.WGS84, str(run.id))
    (out / "zones.geojson").write_text(json.dumps(geojson, ensure_ascii=False))
    (out / "map.png").write_bytes(census_render.map_png(
        run.zones, kind=zone_kind, scope=run.params["scope"], as_of=run.params["as_of"]))
    t = run.totals
    pct = "–" if t["coverage_pct"] is None else f"{t['coverage_pct']}%"
    kind_zh = census_render.KIND_LABELS[zone_kind][0]
    click.echo(f"摸底完成 census {run.id} · {run.params['scope']} · {kind_zh} {zone_kind} · {engine}")
    click.echo(f"  区域 zones {t['zones']} · 从业者 workers {t['workers_in_zones']} in zones "
               f"(of {t['workers']}) · 会员 members {t['members_in_zones']} in zones "
               f"(of {t['members']}; 未定位 unlocated {t['members_unlocated']})")
    click.echo(f"  覆盖率 coverage {pct} · 近{run.params['contact_days']}天联系 in contact "
               f"{t['members_in_contact']} · 驿站 stations {t['stations_in_zones']}")
    for name in ("zones.csv", "zones.geojson", "map.png"):
        click.echo(f"  {out / name}")


if __name__ == "__main__":  # pragma: no cover
    main()
