"""A federation tree from its file (tenants/<fed>/federation.yaml), planned and applied.

Creates and updates only what differs (a second apply changes nothing) and never deletes:
tenants in the database but not in the file are reported as `extra`. Every refusal names
the file and the field. Provisioning (provisioning/) calls this for the tenants and
partners; areas and stations are geo's."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.core.errors import OperatorError
from flexunion.federation import repository
from flexunion.federation.models import PlatformPartner, Tenant
from flexunion.federation.schemas import TreeSpec


class TreeError(OperatorError):
    """The file asks for something the tree cannot become (names the file and field)."""


@dataclass
class Change:
    action: str  # create | update | unchanged | extra
    kind: str  # partner | hq | regional | station | area kinds | service_point
    code: str
    fields: dict[str, tuple[Any, Any]] = field(default_factory=dict)


@dataclass
class TreeResult:
    changes: list[Change]
    federation_id: uuid.UUID
    partner_ids: dict[str, uuid.UUID | None]
    # Every tenant of the federation, code → (id, kind); ids are invented for tenants a
    # plan would create, so the geo step can be planned before they exist.
    tenants: dict[str, tuple[uuid.UUID, str]]


def tenant_codes(spec: TreeSpec) -> dict[str, str]:
    """Every tenant code the file declares, with the field that declares it."""
    codes = {spec.federation.code: "$.federation.code"}
    for i, region in enumerate(spec.regions):
        codes[region.code] = f"$.regions[{i}].code"
        for j, station in enumerate(region.stations):
            codes[station.code] = f"$.regions[{i}].stations[{j}].code"
    return codes


def check(path: Path, spec: TreeSpec) -> None:
    """Codes unique within the file, and every station's partner declared."""
    seen: dict[str, str] = {spec.federation.code: "$.federation.code"}
    partners: dict[str, str] = {}
    for i, partner in enumerate(spec.partners):
        where = f"$.partners[{i}].code"
        if partner.code in partners:
            raise TreeError(f"{path}: {where}: partner '{partner.code}'"
                            f" already used at {partners[partner.code]}")
        partners[partner.code] = where
    for i, region in enumerate(spec.regions):
        where = f"$.regions[{i}].code"
        if region.code in seen:
            raise TreeError(f"{path}: {where}: code '{region.code}' already used at "
                            f"{seen[region.code]}")
        seen[region.code] = where
        for j, station in enumerate(region.stations):
            where = f"$.regions[{i}].stations[{j}]"
            if station.code in seen:
                raise TreeError(f"{path}: {where}.code: code '{station.code}' already used at "
                                f"{seen[station.code]}")
            seen[station.code] = where + ".code"
            if station.partner not in partners:
                raise TreeError(f"{path}: {where}.partner: '{station.partner}' is not in "
                                "$.partners")


def _diff(row: Any, wanted: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    return {k: (getattr(row, k), v) for k, v in wanted.items() if getattr(row, k) != v}


def _kind_guard(path: Path, where: str, row: Tenant | None, kind: str) -> None:
    if row is not None and row.kind != kind:
        raise TreeError(f"{path}: {where}: '{row.code}' exists as a {row.kind},"
                        f" the file says {kind}")


async def plan(session: AsyncSession, path: Path, spec: TreeSpec, *, apply: bool) -> TreeResult:
    """What applying `spec` changes (and, with `apply`, change it), as the owner."""
    changes: list[Change] = []
    hq_code = spec.federation.code
    fields_of = tenant_codes(spec)
    by_code = await repository.tenants_by_code(session, fields_of)
    hq = by_code.get(hq_code)
    if hq is not None and hq.kind != "hq":
        raise TreeError(f"{path}: $.federation.code: '{hq_code}' is a {hq.kind}, not an hq")
    fed_id = hq.id if hq is not None else uuid.uuid4()
    for code, row in by_code.items():
        if row.federation_id != fed_id and code != hq_code:
            raise TreeError(f"{path}: {fields_of[code]}: code '{code}' belongs to another"
                            " federation")
    for region in spec.regions:  # all checks before the first write
        _kind_guard(path, fields_of[region.code], by_code.get(region.code), "regional")
        for station in region.stations:
            _kind_guard(path, fields_of[station.code], by_code.get(station.code), "station")

    def upsert(kind: str, code: str, row: Any, wanted: dict[str, Any],
               make: Callable[[], Any]) -> Any:
        if row is None:
            changes.append(Change("create", kind, code))
            if apply:
                row = make()
                repository.add(session, row)
            return row
        delta = _diff(row, wanted)
        changes.append(Change("update" if delta else "unchanged", kind, code, delta))
        if apply:
            for k, (_, new) in delta.items():
                setattr(row, k, new)
        return row

    hq_fields = {"name_zh": spec.federation.name_zh, "name_en": spec.federation.name_en}
    hq = upsert("hq", hq_code, hq, hq_fields, lambda: Tenant(
        id=fed_id, federation_id=fed_id, parent_id=None, kind="hq", code=hq_code, **hq_fields))
    if apply:
        await repository.flush(session)

    partners = await repository.partners_of(session, fed_id)
    partner_ids: dict[str, uuid.UUID | None] = {}
    for p in spec.partners:
        fields: dict[str, Any] = {"name_zh": p.name_zh, "name_en": p.name_en}
        new_id = uuid.uuid4()
        row = upsert("partner", p.code, partners.get(p.code), fields,
                     lambda p=p, fields=fields, new_id=new_id:  # type: ignore[misc]
                     PlatformPartner(id=new_id, tenant_id=fed_id, code=p.code, **fields))
        partner_ids[p.code] = row.id if row is not None else None
    if apply:
        await repository.flush(session)

    wanted_codes = {hq_code}
    for region in spec.regions:
        wanted_codes.add(region.code)
        r_id = by_code[region.code].id if region.code in by_code else uuid.uuid4()
        fields = {"name_zh": region.name_zh, "name_en": region.name_en,
                                  "adcode": region.adcode, "city": region.city,
                                  "parent_id": fed_id}
        upsert("regional", region.code, by_code.get(region.code), fields,
               lambda r_id=r_id, region=region, fields=fields: Tenant(  # type: ignore[misc]
                   id=r_id, federation_id=fed_id, kind="regional", code=region.code, **fields))
        if apply:
            await repository.flush(session)
        for station in region.stations:
            wanted_codes.add(station.code)
            fields = {"name_zh": station.name_zh, "name_en": station.name_en,
                      "address": station.address, "parent_id": r_id,
                      "partner_id": partner_ids.get(station.partner)}
            upsert("station", station.code, by_code.get(station.code), fields,
                   lambda station=station, fields=fields: Tenant(  # type: ignore[misc]
                       id=uuid.uuid4(), federation_id=fed_id, kind="station",
                       code=station.code, **fields))
    existing = list(await repository.tenants_of(session, fed_id)) if hq is not None else []
    changes += [Change("extra", t.kind, t.code) for t in existing if t.code not in wanted_codes]
    if apply:
        await repository.flush(session)
        existing = list(await repository.tenants_of(session, fed_id))
    tenants: dict[str, tuple[uuid.UUID, str]] = {t.code: (t.id, t.kind) for t in existing}
    declared = {hq_code: "hq"} | {r.code: "regional" for r in spec.regions} | {
        s.code: "station" for r in spec.regions for s in r.stations}
    for code, kind in declared.items():
        tenants.setdefault(code, (uuid.uuid4(), kind))  # planning a federation not yet applied
    return TreeResult(changes, fed_id, partner_ids, tenants)
