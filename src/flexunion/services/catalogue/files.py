"""`services.yaml` beside a `federation.yaml`: HQ's service catalogue (服务目录), applied by
`flexunion tenants plan` / `apply` (provisioning/), as the owner.

```yaml
services:
  - {code: legal-advice, title_zh: 法律咨询, title_en: Legal advice, reviewing_unit: region,
     time_limit_days: 5, materials: [{code: facts, label_zh: 情况说明, label_en: Statement}]}
```

Each entry is the API's `EntrySave` with the same checks; the keeper is HQ. An entry the file
names is created or given a new revision when it differs; one it does not name (a region's
own, or one HQ added in the console) is left as it is (reported `extra`)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.core.errors import OperatorError
from flexunion.services.catalogue import repository, service
from flexunion.services.catalogue.schemas import EntryError, EntrySave, check_entry

FILE_NAME = "services.yaml"
Note = Callable[[str, str, str, dict[str, tuple[object, object]]], None]


class ServicesFileError(OperatorError):
    """A services file that cannot be read; the message names the file and the entry."""


class ServicesFile(msgspec.Struct, forbid_unknown_fields=True):
    services: list[EntrySave]


def load(path: Path) -> ServicesFile:
    try:
        spec = msgspec.yaml.decode(path.read_bytes(), type=ServicesFile)
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        raise ServicesFileError(f"{path}: {exc}") from exc
    seen: set[str] = set()
    for i, s in enumerate(spec.services):
        where = f"{path}: $.services[{i}]"
        if s.code in seen:
            raise ServicesFileError(f"{where}: code '{s.code}' appears twice")
        seen.add(s.code)
        try:
            check_entry(s)
        except EntryError as exc:
            raise ServicesFileError(f"{where}.{exc.path}: {exc.message}") from None
    return spec


def load_beside(federation_file: Path) -> ServicesFile | None:
    found = federation_file.parent / FILE_NAME
    return load(found) if found.is_file() else None


async def plan(session: AsyncSession, spec: ServicesFile, federation_id: uuid.UUID,
               apply: bool, note: Note) -> None:
    """Report each entry's change through `note`; with `apply`, make it (HQ keeps it)."""
    now = datetime.now(UTC)
    named = set()
    for s in spec.services:
        named.add(s.code)
        row = await repository.by_code(session, federation_id, s.code)
        if row is None:
            note("create", "service", s.code, {})
        else:
            wanted = service.fields_of(s)
            same = all(getattr(row, k) == v for k, v in wanted.items())
            note("unchanged" if same else "update", "service", s.code,
                 {} if same else {"revision": (row.revision, row.revision + 1)})
            if row.tenant_id != federation_id:
                raise ServicesFileError(f"{FILE_NAME}: {s.code}: a region keeps this code")
        if apply:
            await service.upsert(session, federation_id, federation_id, s,
                                 actor="provisioning", now=now)
    for row in await repository.entries(session, federation_id):
        if row.code not in named:
            note("extra", "service", row.code, {})
