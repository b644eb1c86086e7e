"""A federation with three regional unions (two stations each) and an admin token per tenant
kind: transfers run between two regions, and the third must not notice."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from tests.support.factories import Federation, make_federation


@dataclass
class Staff:
    fed: Federation
    hq: str
    region: dict[str, str]  # region code → regional admin token
    station: dict[str, str]  # station code → station officer token


@pytest.fixture
async def fed3(owner, tmp_path: Any) -> Federation:
    return await make_federation(owner, tmp_path, regions=3)


@pytest.fixture
async def staff(fed3: Federation, staff_token) -> Staff:
    return Staff(
        fed=fed3,
        hq=await staff_token(fed3, "hq_admin", fed3.hq),
        region={r: await staff_token(fed3, "regional_admin", r) for r in fed3.regions},
        station={s: await staff_token(fed3, "station_officer", s)
                 for ss in fed3.stations.values() for s in ss},
    )
