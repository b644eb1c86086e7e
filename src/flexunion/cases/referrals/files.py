"""`referral-providers.yaml` beside a `federation.yaml`: the federation's mediation and legal
aid providers, applied by `flexunion tenants plan` / `apply` (provisioning/), as the owner.

```yaml
providers:
  - {code: sh-xuhui-aid, kind: legal_aid, region: sh-xuhui, name_zh: …, name_en: …,
     address: …, location: {lon: …, lat: …, crs: gcj02}, serves: [sh-xuhui],
     opening_hours: {mon: [["09:00", "17:00"]]}, phone: "…", slot_minutes: 30}
```

Each provider is the API's `ProviderCreate` with `region` required; a provider the file
names is created or updated to match (by code); one the file does not name is left as it is
(reported `extra`: the admin API may have added it)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.cases.referrals import repository
from flexunion.cases.referrals.models import ReferralProvider
from flexunion.cases.referrals.schemas import ProviderCreate
from flexunion.core.errors import OperatorError
from flexunion.geo.crs import AbsurdCoordinate, Crs, to_wgs84
from flexunion.geo.stations import hours as h

FILE_NAME = "referral-providers.yaml"
Note = Callable[[str, str, str, dict[str, tuple[object, object]]], None]
FIELDS = ("kind", "name_zh", "name_en", "address", "lon", "lat", "serves", "opening_hours",
          "phone", "slot_minutes", "tenant_id")


class ProvidersFileError(OperatorError):
    """A providers file that cannot be read; the message names the file and the field."""


class ProvidersFile(msgspec.Struct, forbid_unknown_fields=True):
    providers: list[ProviderCreate]


def load(path: Path) -> ProvidersFile:
    try:
        spec = msgspec.yaml.decode(path.read_bytes(), type=ProvidersFile)
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        raise ProvidersFileError(f"{path}: {exc}") from exc
    seen: set[str] = set()
    for i, p in enumerate(spec.providers):
        where = f"{path}: $.providers[{i}]"
        if p.code in seen:
            raise ProvidersFileError(f"{where}: code '{p.code}' appears twice")
        seen.add(p.code)
        if p.region is None:
            raise ProvidersFileError(f"{where}: region is required in a file")
        try:
            h.parse_opening_hours(p.opening_hours)
            to_wgs84(p.location.lon, p.location.lat, Crs(p.location.crs))
        except (h.HoursError, AbsurdCoordinate) as exc:
            raise ProvidersFileError(f"{where}: {exc}") from exc
    return spec


def load_beside(federation_file: Path) -> ProvidersFile | None:
    found = federation_file.parent / FILE_NAME
    return load(found) if found.is_file() else None


def _wanted(path: Path, i: int, p: ProviderCreate,
            tenants: dict[str, tuple[uuid.UUID, str]]) -> dict[str, Any]:
    where = f"{path}: $.providers[{i}]"
    region = tenants.get(p.region or "")
    if region is None:
        raise ProvidersFileError(f"{where}.region: '{p.region}' is not a tenant of this"
                                 " federation")
    serves = []
    for code in p.serves:
        found = tenants.get(code)
        if found is None:
            raise ProvidersFileError(f"{where}.serves: '{code}' is not a tenant of this"
                                     " federation")
        serves.append(found[0])
    lon, lat = to_wgs84(p.location.lon, p.location.lat, Crs(p.location.crs))
    return {"kind": p.kind, "name_zh": p.name_zh, "name_en": p.name_en, "address": p.address,
            "lon": lon, "lat": lat, "serves": serves,
            "opening_hours": h.parse_opening_hours(p.opening_hours), "phone": p.phone,
            "slot_minutes": p.slot_minutes, "tenant_id": region[0]}


async def plan(session: AsyncSession, path: Path, spec: ProvidersFile,
               federation_id: uuid.UUID, tenants: dict[str, tuple[uuid.UUID, str]],
               apply: bool, note: Note) -> None:
    """Report each provider's change through `note`; with `apply`, make it."""
    now = datetime.now(UTC)
    named = set()
    for i, p in enumerate(spec.providers):
        named.add(p.code)
        wanted = _wanted(path, i, p, tenants)
        row = await repository.provider(session, federation_id, p.code, lock=apply)
        if row is None:
            note("create", "referral_provider", p.code, {})
            if apply:
                repository.add(session, ReferralProvider(
                    id=uuid.uuid4(), federation_id=federation_id, code=p.code, active=True,
                    created_by="provisioning", created_at=now, updated_at=now, **wanted))
            continue
        delta = {k: (getattr(row, k), v) for k, v in wanted.items() if getattr(row, k) != v}
        if row.tenant_id != wanted["tenant_id"]:
            raise ProvidersFileError(f"{path}: $.providers[{i}].region: provider '{p.code}'"
                                     " belongs to another region; a region is not changed")
        note("update" if delta else "unchanged", "referral_provider", p.code,
             {k: (str(a), str(b)) for k, (a, b) in delta.items()})
        if apply and delta:
            for k, (_, v) in delta.items():
                setattr(row, k, v)
            row.updated_at = now
    for row in await repository.providers(session, federation_id):
        if row.code not in named:
            note("extra", "referral_provider", row.code, {})
    if apply:
        await repository.flush(session)
