"""季度合规核查: a quarter's checkpoints tallied per partner — met, breached, evidence
missing, under objection — and the same as CSV (UTF-8 with BOM, Chinese headers first).
Pure: the service hands it each checkpoint's status (service.status_of)."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from datetime import date

import msgspec

QUARTER = re.compile(r"^(2[0-9]{3})Q([1-4])$")  # years 2000–2999, as rectification
COLUMNS = ("met", "breached", "evidence_missing", "under_objection", "awaiting_evidence",
           "evaluation_failed", "breach_set_aside", "superseded")
HEADERS = ("季度 quarter", "平台 partner", "核验节点 checkpoints", "达标 met", "未达标 breached",
           "材料逾期 evidence_missing", "复议中 under_objection", "待提交 awaiting_evidence",
           "无法判定 evaluation_failed", "复议撤销 breach_set_aside", "已被续签取代 superseded",
           "三方已核验 verified")
# a checkpoint's status → the column it counts in (verified is met, and counted apart too)
COLUMN_OF = {"verified": "met"} | {c: c for c in COLUMNS}


class PartnerCompliance(msgspec.Struct, kw_only=True):
    quarter: str
    partner: str
    checkpoints: int = 0
    met: int = 0
    breached: int = 0
    evidence_missing: int = 0
    under_objection: int = 0
    awaiting_evidence: int = 0
    evaluation_failed: int = 0
    breach_set_aside: int = 0
    superseded: int = 0
    verified: int = 0


class ComplianceReverify(msgspec.Struct, kw_only=True):
    """The quarter's stored evaluations run again from what was stored: the tally the re-run
    gives, how many were evaluated, and the evidence whose answer or values read differ from
    the stored ones (an empty list: every stored result stands)."""
    quarter: str
    evaluated: int
    differing: list[str]
    partners: list[PartnerCompliance]


def bounds(quarter: str) -> tuple[date, date]:
    """The first and last day of `2027Q2` (the pattern is checked by the route)."""
    m = QUARTER.match(quarter)
    assert m is not None
    year, q = int(m.group(1)), int(m.group(2))
    first = date(year, 3 * q - 2, 1)
    last = date(year + 1, 1, 1) if q == 4 else date(year, 3 * q + 1, 1)
    return first, date.fromordinal(last.toordinal() - 1)


def tally(quarter: str, statuses: Iterable[tuple[str, str]]) -> list[PartnerCompliance]:
    """(partner code, status) per checkpoint → one row per partner, by code."""
    rows: dict[str, PartnerCompliance] = {}
    for partner, status in statuses:
        row = rows.setdefault(partner, PartnerCompliance(quarter=quarter, partner=partner))
        row.checkpoints += 1
        column = COLUMN_OF[status]
        setattr(row, column, getattr(row, column) + 1)
        if status == "verified":
            row.verified += 1
    return [rows[k] for k in sorted(rows)]


def csv_bytes(rows: Iterable[PartnerCompliance]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(HEADERS)
    for r in rows:
        writer.writerow((r.quarter, r.partner, r.checkpoints, *(getattr(r, c) for c in COLUMNS),
                         r.verified))
    return ("\ufeff" + out.getvalue()).encode("utf-8")
