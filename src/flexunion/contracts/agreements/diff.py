"""What changed between two versions of an agreement, clause by clause (pure).

Clauses are paired by `clause_key`: a key only in the later version is `added`, only in the
earlier `removed`; a pair that differs is `changed`, with parameters added / removed /
changed and the text, condition, evidence schema and title compared."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from flexunion.contracts.agreements.models import AgreementClause, AgreementVersion
from flexunion.contracts.agreements.schemas import Change, ClauseDiff, VersionDiff

COMPARED = ("text", "condition", "evidence_schema", "title_zh", "template_code")
TERM = ("starts_on", "ends_on", "renewal", "renewal_notice_days", "parties")


def _json(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else value


def clause_diff(before: AgreementClause, after: AgreementClause) -> ClauseDiff | None:
    old, new = before.parameters, after.parameters
    added = {k: v for k, v in new.items() if k not in old}
    removed = {k: v for k, v in old.items() if k not in new}
    changed = [Change(k, old[k], new[k]) for k in old if k in new and old[k] != new[k]]
    fields = [Change(f, getattr(before, f), getattr(after, f)) for f in COMPARED
              if getattr(before, f) != getattr(after, f)]
    if not (added or removed or changed or fields):
        return None
    return ClauseDiff(key=after.clause_key, change="changed", title_zh=after.title_zh,
                      parameters_added=added, parameters_removed=removed,
                      parameters_changed=changed, changes=fields)


def version_diff(a: AgreementVersion, a_clauses: Sequence[AgreementClause],
                 b: AgreementVersion, b_clauses: Sequence[AgreementClause]) -> VersionDiff:
    before = {c.clause_key: c for c in a_clauses}
    after = {c.clause_key: c for c in b_clauses}
    out: list[ClauseDiff] = []
    unchanged: list[str] = []
    for key, c in after.items():
        if key not in before:
            out.append(ClauseDiff(key=key, change="added", title_zh=c.title_zh,
                                  parameters_added=c.parameters))
    for key, c in before.items():
        if key not in after:
            out.append(ClauseDiff(key=key, change="removed", title_zh=c.title_zh,
                                  parameters_removed=c.parameters))
        else:
            found = clause_diff(c, after[key])
            if found is None:
                unchanged.append(key)
            else:
                out.append(found)
    term = [Change(f, _json(getattr(a, f)), _json(getattr(b, f))) for f in TERM
            if getattr(a, f) != getattr(b, f)]
    out.sort(key=lambda d: d.key)
    return VersionDiff(agreement_id=a.agreement_id, before=a.number, after=b.number, term=term,
                       clauses=out, unchanged=sorted(unchanged))
