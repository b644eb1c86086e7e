"""A federation file (tenants/<fed>/federation.yaml) as read, and what a plan reports."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

import msgspec

from flexunion.federation.schemas import TreeSpec
from flexunion.federation.tree import Change
from flexunion.geo.files import AreaFileSpec, PointSpec


class FederationSpec(TreeSpec, forbid_unknown_fields=True):
    """The tree (HQ, partners, regions, stations) and its geography (areas, 驿站)."""

    areas: list[AreaFileSpec] = msgspec.field(default_factory=list)
    service_points: list[PointSpec] = msgspec.field(default_factory=list)


@dataclass
class Plan:
    changes: list[Change] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    federation_ids: list[uuid.UUID] = field(default_factory=list)

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
                line += "  " + ", ".join(f"{k}: {old!r} → {new!r}"
                                         for k, (old, new) in c.fields.items())
            if c.action == "extra":
                line += "  (in the database, not in the files; not removed)"
            lines.append(line)
        lines += [f"! {w}" for w in self.warnings]
        lines.append(self.summary())
        return "\n".join(lines)

    @property
    def changed(self) -> bool:
        return any(c.action in ("create", "update") for c in self.changes)
