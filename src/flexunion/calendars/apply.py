"""A calendar file (tenants/<fed>/calendar.yaml) planned and applied, as the owner.

Like the rest of tenants/: what differs is created or updated, nothing is removed (a day in
the database but not in the file is reported `extra` and kept), and a second apply changes
nothing. All the file's changes go into one new version of the federation's calendar."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.calendars import repository
from flexunion.calendars.files import CalendarFileError, weekly_of
from flexunion.calendars.models import CalendarDay, CalendarSettings
from flexunion.calendars.schemas import CalendarFile, DaySpec
from flexunion.calendars.service import Layers, new_version, snapshot

Note = Callable[[str, str, str, dict[str, tuple[object, object]]], None]


async def plan(session: AsyncSession, path: Path, spec: CalendarFile, federation_id: uuid.UUID,
               fed_code: str, tenants: dict[str, tuple[uuid.UUID, str]], apply: bool,
               note: Note) -> None:
    """Report each change through `note(action, kind, code, fields)`; with `apply`, make it."""
    layer_ids: dict[str, uuid.UUID] = {fed_code: federation_id}
    for code in spec.local:
        found = tenants.get(code)
        if found is None or found[1] != "regional":
            raise CalendarFileError(f"{path}: $.local.{code}: not a regional union of this"
                                    " federation")
        layer_ids[code] = found[0]
    if apply:
        await repository.lock_numbering(session, federation_id)
    snap = await snapshot(session, Layers(federation_id, None))  # empty for a new federation
    old = snap.settings
    week, makeup = weekly_of(spec).as_text()
    years = sorted(set(spec.covered_years))
    wanted = {"weekly_hours": week, "makeup_day_hours": makeup, "covered_years": years}
    settings_delta: dict[str, tuple[object, object]] = {}
    if old is not None:
        have = {"weekly_hours": old.weekly_hours, "makeup_day_hours": old.makeup_day_hours,
                "covered_years": sorted(old.covered_years)}
        settings_delta = {k: (have[k], v) for k, v in wanted.items() if have[k] != v}
    note("create" if old is None else "update" if settings_delta else "unchanged",
         "calendar", f"{fed_code} hours", settings_delta)

    new_days: list[tuple[uuid.UUID, DaySpec]] = []
    for code, tenant_id in layer_ids.items():
        days = spec.days if code == fed_code else spec.local[code]
        current: dict[date, CalendarDay] = {d.day: d for d in await repository.days_at(
            session, federation_id, [tenant_id], snap.version) if d.kind != "cleared"}
        unchanged = 0
        for d in days:
            row = current.get(d.date)
            if row is None:
                note("create", "cal-day", f"{code} {d.date} {d.kind} {d.name_zh}", {})
            elif (row.kind, row.name_zh, row.name_en) != (d.kind, d.name_zh, d.name_en):
                note("update", "cal-day", f"{code} {d.date}", {
                    k: (getattr(row, k), getattr(d, k)) for k in ("kind", "name_zh", "name_en")
                    if getattr(row, k) != getattr(d, k)})
            else:
                unchanged += 1
                continue
            new_days.append((tenant_id, d))
        listed = {d.date for d in days}
        for day in sorted(set(current) - listed):
            note("extra", "cal-day", f"{code} {day}", {})
        if unchanged:
            note("unchanged", "cal-days", f"{code} ({unchanged} days)", {})

    if not apply or (not new_days and old is not None and not settings_delta):
        return
    version = await new_version(session, federation_id, federation_id, "tenants apply",
                                "operator:tenants-apply")
    if old is None or settings_delta:
        repository.add(session, CalendarSettings(
            federation_id=federation_id, tenant_id=federation_id, version=version, **wanted))
    repository.add_all(session, [CalendarDay(
        federation_id=federation_id, tenant_id=tenant_id, version=version, day=d.date,
        kind=d.kind, name_zh=d.name_zh, name_en=d.name_en) for tenant_id, d in new_days])
    await repository.flush(session)
