"""`platform-rules.yaml` beside a `federation.yaml`: entries of the platform rules register,
applied by `flexunion tenants plan` / `apply` (provisioning/), as the owner — the union's record
of rules a platform published elsewhere (source `published`, the file's `source` noted).

```yaml
rules:
  - partner: meituan
    category: working_time_rest
    code: continuous-orders
    title_zh: 连续接单时长与休息提醒
    source: 骑手 App「规则中心」2026-01-01
    versions:
      - {effective_from: 2026-01-01, text_zh: …, parameters: {max_continuous_order_minutes: 240}}
      - {effective_from: 2026-06-01, text_zh: …, parameters: {…}, reason: …}
```

Versions are append-only: a version the file names that is missing is added (in order), one
that exists must match the file (else the file is refused: a version is never rewritten), and
an entry or a version the file does not name is left as it is (`extra`)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.contracts.rules import repository
from flexunion.contracts.rules.categories import Category, check_parameters
from flexunion.contracts.rules.models import PlatformRule, PlatformRuleVersion
from flexunion.contracts.rules.schemas import Code, Note, Reason, RuleText, Title
from flexunion.core.clock import BEIJING
from flexunion.core.errors import DomainError, OperatorError

FILE_NAME = "platform-rules.yaml"
Noted = Callable[[str, str, str, dict[str, tuple[object, object]]], None]
ACTOR = "provisioning"


class RulesFileError(OperatorError):
    """A rules file that cannot be applied; the message names the file and the field."""


class VersionSpec(msgspec.Struct, forbid_unknown_fields=True):
    effective_from: date
    text_zh: RuleText
    parameters: dict[str, Any] = {}
    reason: Reason | None = None


class RuleSpec(msgspec.Struct, forbid_unknown_fields=True):
    partner: Code
    category: Category
    code: Code
    title_zh: Title
    source: Note
    versions: list[VersionSpec]
    title_en: Title | None = None


class RulesFile(msgspec.Struct, forbid_unknown_fields=True):
    rules: list[RuleSpec]


def load(path: Path) -> RulesFile:
    try:
        spec = msgspec.yaml.decode(path.read_bytes(), type=RulesFile)
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        raise RulesFileError(f"{path}: {exc}") from exc
    seen: set[tuple[str, str]] = set()
    for i, rule in enumerate(spec.rules):
        where = f"{path}: $.rules[{i}]"
        if (rule.partner, rule.code) in seen:
            raise RulesFileError(f"{where}: rule '{rule.code}' of '{rule.partner}' appears twice")
        seen.add((rule.partner, rule.code))
        if not rule.versions:
            raise RulesFileError(f"{where}.versions: at least one version")
        for j, v in enumerate(rule.versions):
            try:
                check_parameters(rule.category, v.parameters)
            except DomainError as exc:
                raise RulesFileError(f"{where}.versions[{j}].parameters: {exc}") from exc
            if j and v.reason is None:
                raise RulesFileError(f"{where}.versions[{j}].reason: a change states its reason")
            if j and v.effective_from <= rule.versions[j - 1].effective_from:
                raise RulesFileError(f"{where}.versions[{j}].effective_from: after the previous")
    return spec


def load_beside(federation_file: Path) -> RulesFile | None:
    found = federation_file.parent / FILE_NAME
    return load(found) if found.is_file() else None


async def plan(session: AsyncSession, path: Path, spec: RulesFile, federation_id: uuid.UUID,
               partner_ids: dict[str, uuid.UUID | None], apply: bool, note: Noted) -> None:
    """Report each entry's change through `note`; with `apply`, make it."""
    now = datetime.now(UTC)
    for i, r in enumerate(spec.rules):
        if r.partner not in partner_ids:
            raise RulesFileError(f"{path}: $.rules[{i}].partner: '{r.partner}' is not a partner"
                                 " of this federation")
        partner_id = partner_ids[r.partner] or uuid.uuid4()  # None: planned, not yet made
        name = f"{r.partner}/{r.code}"
        rule = await repository.rule_by_code(session, partner_id, r.code)
        existing: list[PlatformRuleVersion] = []
        if rule is None:
            note("create", "platform_rule", name, {})
            rule = PlatformRule(id=uuid.uuid4(), federation_id=federation_id,
                                tenant_id=federation_id, partner_id=partner_id,
                                category=r.category, code=r.code, title_zh=r.title_zh,
                                title_en=r.title_en, created_by=ACTOR, created_at=now)
            if apply:
                repository.add(session, rule)
                await repository.flush(session)
        else:
            existing = list(await repository.versions_of(session, [rule.id]))
        for j, v in enumerate(r.versions):
            label = f"{name} v{j + 1}"
            if j < len(existing):
                have = existing[j]
                if (have.effective_from, have.text_zh, have.parameters) != (
                        v.effective_from, v.text_zh, check_parameters(r.category, v.parameters)):
                    raise RulesFileError(f"{path}: $.rules[{i}].versions[{j}]: version {j + 1}"
                                         f" of '{name}' differs; a version is never rewritten")
                note("unchanged", "platform_rule_version", label, {})
                continue
            note("create", "platform_rule_version", label, {})
            if apply:
                repository.add(session, PlatformRuleVersion(
                    id=uuid.uuid4(), federation_id=federation_id, tenant_id=federation_id,
                    rule_id=rule.id, partner_id=partner_id, version=j + 1,
                    effective_from=v.effective_from, text_zh=v.text_zh, text_en=None,
                    parameters=check_parameters(r.category, v.parameters), reason=v.reason,
                    source="published", source_note=r.source, topics=[], notice_days=None,
                    notified_on=now.astimezone(BEIJING).date(), earliest_effective=None,
                    short_notice=False, consultation_item_id=None, filed_by=ACTOR,
                    filed_at=now))
        for j in range(len(r.versions), len(existing)):
            note("extra", "platform_rule_version", f"{name} v{j + 1}", {})
    if apply:
        await repository.flush(session)
