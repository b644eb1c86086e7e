"""`clause-templates.yaml` beside a `federation.yaml`: HQ's clause templates, applied by
`flexunion tenants plan` / `apply` (provisioning/), as the owner.

```yaml
templates:
  - {code: union.funding, kind: union, title_zh: 经费列支, title_en: …, text: "… ${rate_pct}% …",
     parameters: [{name: rate_pct, type: double, label_zh: 列支比例, label_en: …, min: 0}],
     evidence_schema: {funding_paid_pct: double}, condition: "funding_paid_pct >= params.rate_pct"}
```

Each entry is the API's `TemplateCreate` and goes through the same checks (the condition is
type-checked here too, so a file with an ill-typed condition is refused before the database
is touched). A template the file names is created, or given a new revision when it differs;
one the file does not name is left as it is (reported `extra`: HQ may have added it)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.contracts.templates import repository, service
from flexunion.contracts.templates.schemas import TemplateCreate, TemplateError, check_template
from flexunion.core.errors import DomainError, OperatorError

FILE_NAME = "clause-templates.yaml"
Note = Callable[[str, str, str, dict[str, tuple[object, object]]], None]


class TemplatesFileError(OperatorError):
    """A templates file that cannot be read; the message names the file and the entry."""


class TemplatesFile(msgspec.Struct, forbid_unknown_fields=True):
    templates: list[TemplateCreate]


def load(path: Path) -> TemplatesFile:
    try:
        spec = msgspec.yaml.decode(path.read_bytes(), type=TemplatesFile)
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        raise TemplatesFileError(f"{path}: {exc}") from exc
    seen: set[str] = set()
    topics: set[str] = set()
    for i, t in enumerate(spec.templates):
        where = f"{path}: $.templates[{i}]"
        if t.code in seen:
            raise TemplatesFileError(f"{where}: code '{t.code}' appears twice")
        if t.topic is not None and t.topic in topics:
            raise TemplatesFileError(f"{where}: topic '{t.topic}' has two outcome templates")
        seen.add(t.code)
        if t.topic:
            topics.add(t.topic)
        try:
            check_template(t)
        except TemplateError as exc:
            at = f" (line {exc.line}, column {exc.column})" if exc.line is not None else ""
            raise TemplatesFileError(f"{where}.{exc.path or ''}: {exc.code}: {exc.message}{at}"
                                     ) from None
    return spec


def load_beside(federation_file: Path) -> TemplatesFile | None:
    found = federation_file.parent / FILE_NAME
    return load(found) if found.is_file() else None


async def plan(session: AsyncSession, spec: TemplatesFile, federation_id: uuid.UUID,
               apply: bool, note: Note) -> None:
    """Report each template's change through `note`; with `apply`, make it."""
    now = datetime.now(UTC)
    named = set()
    for t in spec.templates:
        named.add(t.code)
        row = await repository.by_code(session, federation_id, t.code)
        if row is None:
            note("create", "clause_template", t.code, {})
        else:
            before = (row.revision, row.text, row.parameters, row.evidence_schema, row.condition,
                      row.title_zh, row.title_en)
            wanted = (row.revision, t.text, msgspec.to_builtins(t.parameters), t.evidence_schema,
                      t.condition, t.title_zh, t.title_en)
            note("unchanged" if before == wanted else "update", "clause_template", t.code,
                 {} if before == wanted else {"revision": (row.revision, row.revision + 1)})
        if apply:
            try:
                await service.upsert(session, federation_id, t, actor="provisioning", now=now)
            except DomainError as exc:
                raise TemplatesFileError(f"{FILE_NAME}: {t.code}: {exc.detail_en}") from None
    for row in await repository.listed(session, federation_id, None):
        if row.code not in named:
            note("extra", "clause_template", row.code, {})
