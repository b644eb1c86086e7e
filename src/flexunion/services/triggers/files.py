"""`service-triggers.yaml` beside a `federation.yaml`: the trigger rule sets of HQ and of
regions, each version with its effective day, applied by `flexunion tenants plan` / `apply`
(provisioning/) as the owner, idempotently. A version is never changed once applied: a
version that differs from the stored one is refused (add a new version instead); a stored
version the file does not name is reported `extra` and kept.

```yaml
rule_sets:
  - unit: hq                 # or a region's code
    version: 1
    effective_from: 2026-01-01
    rules:
      - code: night-shift-health-check
        event: shift_worked
        when: [{field: night_hours, op: ">=", value: 4}]
        actions: [{do: offer_service, service: health-check}]
```"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.core.errors import OperatorError
from flexunion.federation import directory
from flexunion.services.triggers import repository
from flexunion.services.triggers.models import TriggerRuleSet
from flexunion.services.triggers.rules import Rule, check, encode

FILE_NAME = "service-triggers.yaml"
Note = Callable[[str, str, str, dict[str, tuple[object, object]]], None]


class TriggersFileError(OperatorError):
    """A triggers file that cannot be applied; the message names the file and the field."""


class RuleSetSpec(msgspec.Struct, forbid_unknown_fields=True):
    unit: str
    version: int
    effective_from: date
    rules: list[Rule]
    note: str = ""


class TriggersFile(msgspec.Struct, forbid_unknown_fields=True):
    rule_sets: list[RuleSetSpec]


def check_rules(rules: list[Rule]) -> str | None:
    """What is wrong with a rule set, or None."""
    seen: set[str] = set()
    for i, rule in enumerate(rules):
        if rule.code in seen:
            return f"rules[{i}].code: '{rule.code}' appears twice"
        seen.add(rule.code)
        wrong = check(rule)
        if wrong:
            return f"rules[{i}].{wrong}"
    return None


def load(path: Path) -> TriggersFile:
    try:
        spec = msgspec.yaml.decode(path.read_bytes(), type=TriggersFile)
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        raise TriggersFileError(f"{path}: {exc}") from exc
    seen: set[tuple[str, int]] = set()
    for i, s in enumerate(spec.rule_sets):
        where = f"{path}: $.rule_sets[{i}]"
        if s.version < 1 or (s.unit, s.version) in seen:
            raise TriggersFileError(f"{where}.version: {s.version} is repeated or below 1")
        seen.add((s.unit, s.version))
        wrong = check_rules(s.rules)
        if wrong:
            raise TriggersFileError(f"{where}.{wrong}")
    return spec


def load_beside(federation_file: Path) -> TriggersFile | None:
    found = federation_file.parent / FILE_NAME
    return load(found) if found.is_file() else None


async def plan(session: AsyncSession, spec: TriggersFile, federation_id: uuid.UUID,
               apply: bool, note: Note) -> bool:
    """Report each version's change through `note`; with `apply`, make it."""
    tree = await directory.directory(session, federation_id)
    now = datetime.now(UTC)
    changed = False
    named: set[tuple[uuid.UUID, int]] = set()
    hq = next((e for e in tree.values() if e.kind == "hq"), None)
    for s in spec.rule_sets:
        label = f"{s.unit}@{s.version}"
        entry = hq if s.unit == "hq" else tree.get(s.unit)
        if entry is None and not apply:  # a plan before the federation (or region) exists
            note("create", "service_trigger_rules", label, {})
            changed = True
            continue
        if entry is None or entry.kind not in ("hq", "regional"):
            raise TriggersFileError(f"{FILE_NAME}: unit '{s.unit}' is not HQ or a region")
        named.add((entry.id, s.version))
        wanted = (s.effective_from, encode(s.rules))
        row = await repository.rule_set(session, entry.id, s.version)
        if row is None:
            note("create", "service_trigger_rules", label, {})
            changed = True
            if apply:
                repository.add(session, TriggerRuleSet(
                    id=uuid.uuid4(), federation_id=federation_id, tenant_id=entry.id,
                    version=s.version, effective_from=s.effective_from, rules=wanted[1],
                    note=s.note, created_by="tenants-apply", created_at=now))
            continue
        if (row.effective_from, row.rules) != wanted:
            raise TriggersFileError(f"{FILE_NAME}: {label} differs from the applied version;"
                                    " versions are kept as applied — add a new version")
        note("unchanged", "service_trigger_rules", label, {})
    for row in await repository.rule_sets(session, federation_id):
        if (row.tenant_id, row.version) not in named:
            note("extra", "service_trigger_rules", f"{row.tenant_id}@{row.version}", {})
    if apply:
        await repository.flush(session)
    return changed
