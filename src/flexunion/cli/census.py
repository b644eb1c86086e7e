"""`flexunion census run`: 摸清人员底数 by zone, as the operator, to CSV, GeoJSON and a map."""

from __future__ import annotations

import json
from pathlib import Path

import click
from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.cli._run import as_owner
from flexunion.config import Settings


@click.group()
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
def run(federation_code: str, tenant_code: str | None, zone_kind: str, engine: str,
        scheduler: str | None, min_active_days: int, out_dir: Path | None) -> None:
    """Run a census as the operator, store it, and write its CSV, GeoJSON and map."""
    from flexunion.core.clock import Clock
    from flexunion.geo.census import render as census_render
    from flexunion.geo.census.models import CensusRun
    from flexunion.geo.census.service import operator_run
    from flexunion.geo.crs import Crs

    if scheduler and engine != "dask":
        raise click.UsageError("--scheduler needs --engine dask")

    async def work(settings: Settings, session: AsyncSession) -> CensusRun:
        return await operator_run(
            session, federation_code=federation_code, tenant_code=tenant_code,
            zone_kind=zone_kind, engine=engine, scheduler=scheduler or settings.geo.dask_scheduler,
            contact_days=settings.geo.census_contact_days, min_active_days=min_active_days,
            now=Clock().now())

    done = as_owner(work)
    out = out_dir or Path(f"census-{str(done.id)[:8]}")
    out.mkdir(parents=True, exist_ok=True)
    (out / "zones.csv").write_bytes(census_render.zones_csv(done.zones))
    geojson = census_render.zones_geojson(done.zones, Crs.WGS84, str(done.id))
    (out / "zones.geojson").write_text(json.dumps(geojson, ensure_ascii=False))
    (out / "map.png").write_bytes(census_render.map_png(
        done.zones, kind=zone_kind, scope=done.params["scope"], as_of=done.params["as_of"]))
    t = done.totals
    pct = "–" if t["coverage_pct"] is None else f"{t['coverage_pct']}%"
    kind_zh = census_render.KIND_LABELS[zone_kind][0]
    click.echo(f"摸底完成 census {done.id} · {done.params['scope']} · {kind_zh} {zone_kind}"
               f" · {engine}")
    click.echo(f"  区域 zones {t['zones']} · 从业者 workers {t['workers_in_zones']} in zones "
               f"(of {t['workers']}) · 会员 members {t['members_in_zones']} in zones "
               f"(of {t['members']}; 未定位 unlocated {t['members_unlocated']})")
    click.echo(f"  覆盖率 coverage {pct} · 近{done.params['contact_days']}天联系 in contact "
               f"{t['members_in_contact']} · 驿站 stations {t['stations_in_zones']}")
    for name in ("zones.csv", "zones.geojson", "map.png"):
        click.echo(f"  {out / name}")


COMMANDS = [census]
