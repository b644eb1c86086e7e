"""办理统计 — what HQ and regional admins see: per handling unit, the counts and the rates
built from them. A rate whose denominator is 0 is null (no case to judge), never 0."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

import msgspec


class Unit(msgspec.Struct):
    """The handling unit: the lead unit that answered, else the case's tenant."""

    id: uuid.UUID
    code: str
    name_zh: str
    name_en: str
    kind: str


class Figures(msgspec.Struct, kw_only=True):
    """Counts over the cases received in the period, and the rates from them
    (docs/cases.md "办理统计" states each definition)."""

    received: int
    responded_on_time: int
    response_judged: int
    response_rate: float | None
    closed: int
    resolution_rate: float | None
    satisfied: int
    basically_satisfied: int
    rated: int
    satisfaction_rate: float | None
    resolved_on_time: int
    resolution_stopped: int
    on_time_rate: float | None
    reopened: int
    ever_closed: int
    reopen_rate: float | None
    supervised: int


class UnitFigures(Figures, kw_only=True):
    unit: Unit


class FiguresRead(msgspec.Struct, kw_only=True):
    period: str
    kind: Literal["month", "quarter"]
    start: datetime
    end: datetime
    as_of: datetime
    units: list[UnitFigures]
    total: Figures
