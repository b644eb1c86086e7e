"""`flexunion audit verify`: recompute the chain and name every broken link.

Runs as the owner. Finds an edited entry (its hash no longer matches its
content), a deleted or inserted entry (a gap in seq, or a prev_hash that does
not match the entry before), and a cut-off tail (the chain head, kept in a
table the app role cannot touch, is ahead of the last entry)."""

from __future__ import annotations

from dataclasses import dataclass, field

import asyncpg

from flexunion.audit import repository
from flexunion.db.urls import to_asyncpg


@dataclass
class VerifyReport:
    checked: int = 0
    problems: list[str] = field(default_factory=list)
    head_seq: int = 0
    head_hash: str = ""

    @property
    def ok(self) -> bool:
        return not self.problems


async def verify(owner_url: str) -> VerifyReport:
    """Check the whole chain in one read-only snapshot, on a connection of its own."""
    conn = await asyncpg.connect(to_asyncpg(owner_url))
    try:
        async with conn.transaction(isolation="repeatable_read", readonly=True):
            return await check_chain(conn)
    finally:
        await conn.close()


async def check_chain(conn: asyncpg.Connection) -> VerifyReport:
    """Check the chain as `conn` sees it. Must run inside the caller's transaction
    (a cursor needs one, and the head and the rows must come from one snapshot:
    use REPEATABLE READ unless nothing else can append meanwhile)."""
    if not conn.is_in_transaction():
        raise RuntimeError("check_chain needs a transaction (use verify() for a standalone check)")
    report = VerifyReport()
    head = await repository.chain_head(conn)
    expected_seq, expected_prev = 1, ""
    async for row in repository.chain(conn):
        report.checked += 1
        seq = row["seq"]
        if seq != expected_seq:  # seq is the primary key, read in order: only gaps can occur
            report.problems.append(f"seq {expected_seq}..{seq - 1}: missing (deleted entries)")
        if row["prev_hash"] != expected_prev:
            report.problems.append(f"seq {seq}: prev_hash does not match the entry before")
        if row["recomputed"] != row["hash"]:
            report.problems.append(f"seq {seq}: content edited (hash mismatch)")
        expected_seq, expected_prev = seq + 1, row["hash"]
    last_seq = expected_seq - 1
    if head is None:
        report.problems.append(f"chain head row is missing (the log ends at seq {last_seq})")
        return report
    report.head_seq, report.head_hash = head["seq"], head["hash"]
    if head["seq"] != last_seq or head["hash"] != expected_prev:
        report.problems.append(
            f"chain head is at seq {head['seq']} but the log ends at seq {last_seq}"
            " (entries removed from the end, or the head was edited)"
        )
    return report
