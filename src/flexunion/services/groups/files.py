"""`service-groups.yaml` beside a `federation.yaml`: the federation's service groups — each
group's rule parameters and the service codes it offers — applied by `flexunion tenants plan`
/ `apply` (provisioning/), as the owner, idempotently: a group that differs is updated (its
revision goes up), one the file does not name is left as it is (`extra`).

```yaml
groups:
  - code: night-heat-outdoor
    parameters: {min_night_hours: 20, min_heat_hours: 20, window_days: 30}
    offers: [health-check, summer-cool]
```

A change is re-evaluated for everyone by the `service-groups` job (queued by apply when the
job queue is installed; the daily drift run otherwise)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.core import queue
from flexunion.core.errors import OperatorError
from flexunion.services.groups import repository
from flexunion.services.groups.models import GroupRule
from flexunion.services.groups.rules import CODES, LABELS, check_parameters

FILE_NAME = "service-groups.yaml"
Note = Callable[[str, str, str, dict[str, tuple[object, object]]], None]
ServiceCode = Annotated[str, msgspec.Meta(pattern=r"^[a-z0-9][a-z0-9-]{1,62}$")]


class GroupsFileError(OperatorError):
    """A groups file that cannot be applied; the message names the file and the field."""


class GroupSpec(msgspec.Struct, forbid_unknown_fields=True):
    code: str
    offers: list[ServiceCode]
    parameters: dict[str, Any] = {}
    name_zh: str | None = None
    name_en: str | None = None


class GroupsFile(msgspec.Struct, forbid_unknown_fields=True):
    groups: list[GroupSpec]


def load(path: Path) -> GroupsFile:
    try:
        spec = msgspec.yaml.decode(path.read_bytes(), type=GroupsFile)
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        raise GroupsFileError(f"{path}: {exc}") from exc
    seen: set[str] = set()
    for i, g in enumerate(spec.groups):
        where = f"{path}: $.groups[{i}]"
        if g.code not in CODES:
            raise GroupsFileError(f"{where}.code: '{g.code}' is not one of {', '.join(CODES)}")
        if g.code in seen:
            raise GroupsFileError(f"{where}.code: '{g.code}' appears twice")
        seen.add(g.code)
        try:
            g.parameters = check_parameters(g.code, g.parameters)
        except ValueError as exc:
            raise GroupsFileError(f"{where}.parameters: {exc}") from None
        if len(set(g.offers)) != len(g.offers):
            raise GroupsFileError(f"{where}.offers: a service code appears twice")
    return spec


def load_beside(federation_file: Path) -> GroupsFile | None:
    found = federation_file.parent / FILE_NAME
    return load(found) if found.is_file() else None


async def plan(session: AsyncSession, spec: GroupsFile, federation_id: uuid.UUID,
               apply: bool, note: Note) -> bool:
    """Report each group's change through `note`; with `apply`, make it. True if any changed."""
    now = datetime.now(UTC)
    changed = False
    named = set()
    for g in spec.groups:
        named.add(g.code)
        zh, en = LABELS[g.code]
        wanted = (g.name_zh or zh, g.name_en or en, g.parameters, list(g.offers))
        row = await repository.rule(session, federation_id, g.code)
        if row is None:
            note("create", "service_group", g.code, {})
            changed = True
            if apply:
                repository.add(session, GroupRule(
                    id=uuid.uuid4(), federation_id=federation_id, tenant_id=federation_id,
                    code=g.code, name_zh=wanted[0], name_en=wanted[1], parameters=wanted[2],
                    offers=wanted[3], revision=1, updated_at=now))
            continue
        have = (row.name_zh, row.name_en, row.parameters, list(row.offers))
        if have == wanted:
            note("unchanged", "service_group", g.code, {})
            continue
        note("update", "service_group", g.code, {"revision": (row.revision, row.revision + 1)})
        changed = True
        if apply:
            row.name_zh, row.name_en, row.parameters, row.offers = wanted
            row.revision += 1
            row.updated_at = now
    for row in await repository.rules(session, federation_id):
        if row.code not in named:
            note("extra", "service_group", row.code, {})
    if apply:
        await repository.flush(session)
    return changed


async def reevaluate(session: AsyncSession, federation_id: uuid.UUID) -> None:
    """A rules change: queue everyone's re-evaluation when the job queue is installed (the
    server and `flexunion worker` install it; a bare operator command leaves it to the daily
    drift run)."""
    try:
        await queue.enqueue(session, "service-groups", {}, federation_id=federation_id,
                            dedupe_key=f"service-groups:{federation_id}")
    except RuntimeError:
        return
