"""Federations as files, applied like `kubectl apply`: plan first, then apply.

A federation is a folder with `federation.yaml`; a folder of such folders
(`tenants/`) holds several. Apply runs in the caller's single transaction,
creates and updates only what differs (a second apply changes nothing) and
never deletes: tenants found in the database but not in the files are
reported as `extra`. Every error names the file and the field."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import msgspec
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.audit import service as audit
from flexunion.auth.keys import ensure_card_keys
from flexunion.core.secrets import Keyring
from flexunion.federation.models import PlatformPartner, Tenant
from flexunion.geo import files as geo_files

FILE_NAME = "federation.yaml"
# `\Z`, not `$`: Python's `$` also matches before a trailing newline, so a YAML block
# scalar like "abc\n" would pass here and then fail PostgreSQL's CHECK (a crash, not
# an error naming the field).
Code = Annotated[str, msgspec.Meta(pattern=r"^[a-z0-9][a-z0-9-]{1,62}\Z")]
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
Adcode = Annotated[str, msgspec.Meta(pattern=r"^[0-9]{6}\Z")]


class FederationFileError(Exception):
    pass


class PartnerSpec(msgspec.Struct, forbid_unknown_fields=True):
    code: Code
    name_zh: Name
    name_en: Name


class StationSpec(msgspec.Struct, forbid_unknown_fields=True):
    code: Code
    name_zh: Name
    name_en: Name
    partner: Code
    address: Annotated[str, msgspec.Meta(min_length=1, max_length=300)]


class RegionSpec(msgspec.Struct, forbid_unknown_fields=True):
    code: Code
    name_zh: Name
    name_en: Name
    adcode: Adcode
    city: Name
    stations: list[StationSpec] = []


class HqSpec(msgspec.Struct, forbid_unknown_fields=True):
    code: Code
    name_zh: Name
    name_en: Name


class FederationSpec(msgspec.Struct, forbid_unknown_fields=True):
    federation: HqSpec
    partners: list[PartnerSpec] = []
    regions: list[RegionSpec] = []
    areas: list[geo_files.AreaFileSpec] = []
    service_points: list[geo_files.PointSpec] = []


@dataclass
class Change:
    action: str  # create | update | unchanged | extra
    kind: str  # partner | hq | regional | station
    code: str
    fields: dict[str, tuple[Any, Any]] = field(default_factory=dict)


@dataclass
class Plan:
    changes: list[Change] = field(default_factory=list)

    def count(self, action: str) -> int:
        return sum(1 for c in self.changes if c.action == action)

    def summary(self) -> str:
        return (f"{self.count('create')} to create, {self.count('update')} to update, "
                f"{self.count('unchanged')} unchanged, {self.count('extra')} extra (kept)")

    def render(self) -> str:
        marks = {"create": "+", "update": "~", "unchanged": "=", "extra": "?"}
        lines = []
        for c in self.changes:
            line = f"{marks[c.action]} {c.kind:<9} {c.code}"
            if c.action == "update":
                line += "  " + ", ".join(f"{k}: {old!r} → {new!r}" for k, (old, new) in c.fields.items())
            if c.action == "extra":
                line += "  (in the database, not in the files; not removed)"
            lines.append(line)
        lines.append(self.summary())
        return "\n".join(lines)

    @property
    def changed(self) -> bool:
        return any(c.action in ("create", "update") for c in self.changes)


def load_file(path: Path) -> FederationSpec:
    try:
        spec = msgspec.yaml.decode(path.read_bytes(), type=FederationSpec)
    except msgspec.ValidationError as exc:
        raise FederationFileError(f"{path}: {exc}") from exc
    except msgspec.DecodeError as exc:
        raise FederationFileError(f"{path}: not valid YAML: {exc}") from exc
    _check(path, spec)
    return spec


def _check(path: Path, spec: FederationSpec) -> None:
    seen: dict[str, str] = {spec.federation.code: "$.federation.code"}
    partners: dict[str, str] = {}
    for i, partner in enumerate(spec.partners):
        where = f"$.partners[{i}].code"
        if partner.code in partners:
            raise FederationFileError(f"{path}: {where}: partner '{partner.code}'"
                                      f" already used at {partners[partner.code]}")
        partners[partner.code] = where
    for i, region in enumerate(spec.regions):
        where = f"$.regions[{i}].code"
        if region.code in seen:
            raise FederationFileError(f"{path}: {where}: code '{region.code}' already used at {seen[region.code]}")
        seen[region.code] = where
        for j, station in enumerate(region.stations):
            where = f"$.regions[{i}].stations[{j}]"
            if station.code in seen:
                raise FederationFileError(
                    f"{path}: {where}.code: code '{station.code}' already used at {seen[station.code]}")
            seen[station.code] = where + ".code"
            if station.partner not in partners:
                raise FederationFileError(
                    f"{path}: {where}.partner: '{station.partner}' is not in $.partners")


def federation_files(directory: Path) -> list[Path]:
    if not directory.is_dir():
        raise FederationFileError(f"{directory}: not a folder")
    own = directory / FILE_NAME
    if own.is_file():
        return [own]
    found = sorted(p / FILE_NAME for p in directory.iterdir() if (p / FILE_NAME).is_file())
    if not found:
        raise FederationFileError(f"{directory}: no {FILE_NAME} here or in its sub-folders")
    return found


def tenant_codes(spec: FederationSpec) -> dict[str, str]:
    """Every tenant code the file declares, with the field that declares it."""
    codes = {spec.federation.code: "$.federation.code"}
    for i, region in enumerate(spec.regions):
        codes[region.code] = f"$.regions[{i}].code"
        for j, station in enumerate(region.stations):
            codes[station.code] = f"$.regions[{i}].stations[{j}].code"
    return codes


def load_all(directory: Path) -> list[tuple[Path, FederationSpec]]:
    """Read and check every file before touching the database; a tenant code may
    appear in only one file (else plan would promise creates that apply cannot do)."""
    loaded = [(path, load_file(path)) for path in federation_files(directory)]
    owner: dict[str, tuple[Path, str]] = {}
    for path, spec in loaded:
        for code, where in tenant_codes(spec).items():
            if code in owner:
                first, first_where = owner[code]
                raise FederationFileError(
                    f"{path}: {where}: code '{code}' is also declared in {first} at {first_where}")
            owner[code] = (path, where)
    return loaded


def _diff(row: Any, wanted: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    return {k: (getattr(row, k), v) for k, v in wanted.items() if getattr(row, k) != v}


async def _plan_one(session: AsyncSession, path: Path, spec: FederationSpec, apply: bool) -> list[Change]:
    changes: list[Change] = []
    hq_code = spec.federation.code
    fields_of = tenant_codes(spec)
    by_code = {t.code: t for t in (await session.scalars(
        select(Tenant).where(Tenant.code.in_(
            [hq_code] + [r.code for r in spec.regions]
            + [s.code for r in spec.regions for s in r.stations])))).all()}
    hq = by_code.get(hq_code)
    if hq is not None and hq.kind != "hq":
        raise FederationFileError(f"{path}: $.federation.code: '{hq_code}' is a {hq.kind}, not an hq")
    fed_id = hq.id if hq is not None else uuid.uuid4()
    for code, row in by_code.items():
        if row.federation_id != fed_id and code != hq_code:
            raise FederationFileError(
                f"{path}: {fields_of[code]}: code '{code}' belongs to another federation")
    for region in spec.regions:  # all checks before the first write
        _kind_guard(path, fields_of[region.code], by_code.get(region.code), "regional")
        for station in region.stations:
            _kind_guard(path, fields_of[station.code], by_code.get(station.code), "station")

    def upsert(kind: str, code: str, row: Any, wanted: dict[str, Any], make) -> Any:  # noqa: ANN001
        if row is None:
            changes.append(Change("create", kind, code))
            if apply:
                row = make()
                session.add(row)
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
        await session.flush()

    partners = {p.code: p for p in (await session.scalars(
        select(PlatformPartner).where(PlatformPartner.tenant_id == fed_id))).all()}
    partner_ids: dict[str, uuid.UUID | None] = {}
    for p in spec.partners:
        fields = {"name_zh": p.name_zh, "name_en": p.name_en}
        new_id = uuid.uuid4()
        row = upsert("partner", p.code, partners.get(p.code), fields, lambda p=p, fields=fields, new_id=new_id:
                     PlatformPartner(id=new_id, tenant_id=fed_id, code=p.code, **fields))
        partner_ids[p.code] = row.id if row is not None else None
    if apply:
        await session.flush()

    wanted_codes = {hq_code}
    for region in spec.regions:
        wanted_codes.add(region.code)
        r_id = by_code[region.code].id if region.code in by_code else uuid.uuid4()
        fields = {"name_zh": region.name_zh, "name_en": region.name_en, "adcode": region.adcode,
                  "city": region.city, "parent_id": fed_id}
        upsert("regional", region.code, by_code.get(region.code), fields, lambda r_id=r_id, region=region, fields=fields:
               Tenant(id=r_id, federation_id=fed_id, kind="regional", code=region.code, **fields))
        if apply:
            await session.flush()
        for station in region.stations:
            wanted_codes.add(station.code)
            fields = {"name_zh": station.name_zh, "name_en": station.name_en,
                      "address": station.address, "parent_id": r_id,
                      "partner_id": partner_ids.get(station.partner)}
            upsert("station", station.code, by_code.get(station.code), fields,
                   lambda station=station, fields=fields: Tenant(
                       id=uuid.uuid4(), federation_id=fed_id, kind="station", code=station.code,
                       **fields))
    if hq is not None and hq.id is not None:
        extra = (await session.scalars(select(Tenant).where(
            Tenant.federation_id == fed_id, Tenant.code.not_in(wanted_codes)))).all()
        changes += [Change("extra", t.kind, t.code) for t in extra]
    if apply:
        await session.flush()
    if spec.areas or spec.service_points:
        await _plan_geo(session, path, spec, fed_id, partner_ids, apply, changes)
    return changes


async def _plan_geo(session: AsyncSession, path: Path, spec: FederationSpec, fed_id: uuid.UUID,
                    partner_ids: dict[str, uuid.UUID | None], apply: bool,
                    changes: list[Change]) -> None:
    """Areas and stations, once the tenants they belong to exist (or would, when planning)."""
    tenants = {t.code: (t.id, t.kind) for t in (await session.scalars(
        select(Tenant).where(Tenant.federation_id == fed_id))).all()}
    declared = {spec.federation.code: "hq"} | {r.code: "regional" for r in spec.regions} | {
        s.code: "station" for r in spec.regions for s in r.stations}
    for code, kind in declared.items():
        tenants.setdefault(code, (uuid.uuid4(), kind))  # planning a federation not yet applied
    try:
        await geo_files.plan(session, path, spec.areas, spec.service_points, fed_id, tenants,
                             partner_ids, apply,
                             lambda *args: changes.append(Change(*args)))
    except geo_files.GeoFileError as exc:
        raise FederationFileError(str(exc)) from exc


def _kind_guard(path: Path, where: str, row: Tenant | None, kind: str) -> None:
    if row is not None and row.kind != kind:
        raise FederationFileError(
            f"{path}: {where}: '{row.code}' exists as a {row.kind}, the file says {kind}")


async def _run(session: AsyncSession, directory: Path, apply: bool) -> Plan:
    plan = Plan()
    for path, spec in load_all(directory):
        changes = await _plan_one(session, path, spec, apply)
        plan.changes += changes
        if apply and any(c.action in ("create", "update") for c in changes):
            hq = await session.scalar(select(Tenant).where(Tenant.code == spec.federation.code))
            assert hq is not None
            await audit.record(session, "federation.applied", tenant_id=hq.id,
                               object_type="federation", object_id=hq.code,
                               payload={"file": path.name, "created": sum(c.action == "create" for c in changes),
                                        "updated": sum(c.action == "update" for c in changes)})
    return plan


async def plan_directory(session: AsyncSession, directory: Path) -> Plan:
    return await _run(session, directory, apply=False)


async def apply_directory(
    session: AsyncSession, directory: Path, keyring: Keyring | None = None
) -> Plan:
    """Apply, then give every federation in the files a card key if it has none (sealed
    with `keyring`, or the one this owner process used for its keys; see auth/keys.py)."""
    plan = await _run(session, directory, apply=True)
    hq_codes = [c.code for c in plan.changes if c.kind == "hq"]
    feds = (await session.scalars(select(Tenant.id).where(Tenant.code.in_(hq_codes)))).all()
    await ensure_card_keys(session, keyring, feds)
    return plan
