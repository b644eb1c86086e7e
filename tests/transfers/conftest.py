"""A federation with three regional unions (two stations each) on the demo federation's
working calendar (tenants/demo/calendar.yaml: 2024–2026, 国庆 and its 调休 included), and an
admin token per tenant kind: transfers run between two regions, and the third must not
notice."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from flexunion.provisioning.service import apply_directory
from tests.support.factories import Federation, make_federation

DEMO_CALENDAR = Path(__file__).resolve().parents[2] / "tenants" / "demo" / "calendar.yaml"


@dataclass
class Staff:
    fed: Federation
    hq: str
    region: dict[str, str]  # region code → regional admin token
    station: dict[str, str]  # station code → station officer token


@pytest.fixture
async def fed3(owner, tmp_path: Any) -> Federation:
    made = await make_federation(owner, tmp_path, regions=3)
    folder = tmp_path / made.hq.removesuffix("-hq")
    shutil.copy(DEMO_CALENDAR, folder / "calendar.yaml")
    async with owner() as session, session.begin():
        await apply_directory(session, folder)
    return made


@pytest.fixture
async def staff(fed3: Federation, staff_token) -> Staff:
    return Staff(
        fed=fed3,
        hq=await staff_token(fed3, "hq_admin", fed3.hq),
        region={r: await staff_token(fed3, "regional_admin", r) for r in fed3.regions},
        station={s: await staff_token(fed3, "station_officer", s)
                 for ss in fed3.stations.values() for s in ss},
    )
