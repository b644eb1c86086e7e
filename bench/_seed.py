"""Synthetic members in bulk, for benchmarks (bench/scale.py; bench/cards.py may import it).

Everything is inserted as the *owner* (its `owner_all` policy; the app role could not),
set-based with `generate_series` — no Python loop per row — in chunks of `CHUNK` members,
one transaction each:

- worker_accounts: one per member, in the federation's HQ (as the SMS login creates them),
  each with the two consents joining needs (privacy_policy and id_number, granted);
- members: spread over the regional unions and stations with unequal weights (the first
  regions are the big cities), statuses as a live federation has them (90 % active, 2 %
  applicants, 3 % parked, 2 % suspended, 3 % left), created_at spread over three years in
  insertion order with a few hours of jitter, numbered and slotted after whatever the
  federation already holds (member_counters moves on, so real joins still get fresh
  numbers and status-list slots);
- member_homes: the open home; every 50th member also a closed earlier home elsewhere
  (a completed transfer, which is recorded too);
- transfers: every 2,000th member has a `released` transfer waiting at another region.

Member `n` (0-based, across calls) of a federation is reproducible: `worker_id(fed, n)` and
`member_id(fed, n)` are what the rows got, so a bench can mint a token for any of them.
The one-active-home constraint trigger is switched off while a chunk is inserted (each
member gets exactly one open home equal to its tenant, by construction) and on again in the
same transaction; `finish()` runs VACUUM ANALYZE so plans and index-only scans see the data.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

import asyncpg

CHUNK = 100_000

STATUSES = (("active", 90), ("applicant", 2), ("parked", 3), ("suspended", 2), ("left", 3))
FORMS = ("crowdsourced", "dedicated", "franchise", "direct", "outsourced")


def _md5_uuid(text: str) -> uuid.UUID:
    return uuid.UUID(hashlib.md5(text.encode()).hexdigest())  # an id, not a secret


def worker_id(federation_id: uuid.UUID, n: int) -> uuid.UUID:
    return _md5_uuid(f"seed-w:{federation_id}:{n}")


def member_id(federation_id: uuid.UUID, n: int) -> uuid.UUID:
    return _md5_uuid(f"seed-m:{federation_id}:{n}")


def status_of(n: int) -> str:
    """The status member `n` was seeded with (the same rule the SQL applies)."""
    bucket = (n * 7919) % 100
    for status, share in STATUSES:
        if bucket < share:
            return status
        bucket -= share
    raise AssertionError


@dataclass(frozen=True)
class Homes:
    """Where members live: tenant ids (regional unions and stations) and their weights."""

    tenant_ids: Sequence[uuid.UUID]
    weights: Sequence[int]

    def slots(self, size: int = 1024) -> list[uuid.UUID]:
        """The tenants spread over `size` slots in proportion to their weights."""
        total = sum(self.weights)
        out: list[uuid.UUID] = []
        for tenant, weight in zip(self.tenant_ids, self.weights, strict=True):
            out += [tenant] * max(1, round(size * weight / total))
        return out


def homes_of(tenants: dict[str, tuple[uuid.UUID, str, str | None]]) -> Homes:
    """code → (id, kind, parent code) of one federation: members at every regional union
    and station; region i weighs 1/i (big cities first), a region's own desk takes a
    third of its members and its stations share the rest."""
    regions = sorted((code for code, (_, kind, _) in tenants.items() if kind == "regional"))
    ids: list[uuid.UUID] = []
    weights: list[int] = []
    for i, region in enumerate(regions, start=1):
        weight = 3000 // i
        stations = [c for c, (_, kind, parent) in tenants.items()
                    if kind == "station" and parent == region]
        ids.append(tenants[region][0])
        weights.append(max(1, weight // 3))
        for station in stations:
            ids.append(tenants[station][0])
            weights.append(max(1, (weight - weight // 3) // max(1, len(stations))))
    return Homes(ids, weights)


_STATUS_SQL = "CASE " + " ".join(
    f"WHEN (g * 7919) % 100 < {sum(s for _, s in STATUSES[:i + 1])} THEN '{name}'"
    for i, (name, _) in enumerate(STATUSES)) + " END"

_CHUNK_SQL = f"""
WITH g AS (
  SELECT g, md5('seed-w:' || $1::uuid::text || ':' || g)::uuid AS worker_id,
         md5('seed-m:' || $1::uuid::text || ':' || g)::uuid AS member_id,
         ($3::uuid[])[1 + (g * 2654435761 % array_length($3::uuid[], 1))] AS tenant_id,
         {_STATUS_SQL} AS status,
         timestamptz '2023-12-01 00:00+08' + (g::float8 / $6::float8) * interval '1095 days'
           + ((g * 40503) % 14400) * interval '1 second' AS created_at
    FROM generate_series($4::bigint, $5::bigint - 1) AS g
), w AS (
  INSERT INTO worker_accounts (id, tenant_id, phone_hash, phone_masked, phone_cipher,
                               created_at)
  SELECT worker_id, $2, md5('seed-p:' || $1::uuid::text || ':' || g),
         '13' || (g % 10) || '****' || lpad((g % 10000)::text, 4, '0'), '\\x00'::bytea,
         created_at
    FROM g
  RETURNING 1
)
INSERT INTO members (id, federation_id, tenant_id, worker_id, name_cipher, name_masked,
                     id_hash, id_cipher, id_masked, employment_form, platforms, city,
                     status, member_no, member_since, status_idx, decided_at, created_at,
                     updated_at)
SELECT member_id, $1::uuid, tenant_id, worker_id, '\\x00'::bytea,
       (ARRAY['张*', '王*', '李**', '赵*', '陈**'])[1 + g % 5],
       md5('seed-id:' || $1::uuid::text || ':' || g), '\\x00'::bytea,
       '3101**********' || lpad((g % 10000)::text, 4, '0'),
       (ARRAY{list(FORMS)!r})[1 + g % {len(FORMS)}], '[]'::jsonb, '上海市', status,
       CASE WHEN status <> 'applicant' THEN '2025' || lpad(($7 + g)::text, 8, '0') END,
       CASE WHEN status <> 'applicant' THEN (created_at + interval '2 days')::date END,
       $8 + g,
       CASE WHEN status <> 'applicant' THEN created_at + interval '2 days' END,
       created_at, created_at
  FROM g WHERE (SELECT count(*) FROM w) >= 0
"""

_HOMES_SQL = """
INSERT INTO member_homes (id, member_id, federation_id, tenant_id, started_at, ended_at)
SELECT md5('seed-h:' || m.id::text)::uuid, m.id, m.federation_id, m.tenant_id,
       CASE WHEN g % 50 = 0 THEN m.created_at + interval '30 days' ELSE m.created_at END, NULL
  FROM generate_series($2::bigint, $3::bigint - 1) AS g
  JOIN members m ON m.id = md5('seed-m:' || $1::uuid::text || ':' || g)::uuid
"""

# Every 50th member moved once: a completed transfer and the closed home before it.
_MOVED_SQL = """
WITH moved AS (
  SELECT g, m.id AS member_id, m.worker_id, m.tenant_id, m.created_at,
         ($4::uuid[])[1 + (g / 50) % array_length($4::uuid[], 1)] AS origin
    FROM generate_series($2::bigint, $3::bigint - 1) AS g
    JOIN members m ON m.id = md5('seed-m:' || $1::uuid::text || ':' || g)::uuid
   WHERE g % 50 = 0
), t AS (
  INSERT INTO transfers (id, federation_id, member_id, worker_id, origin_tenant_id,
                         dest_tenant_id, status, release_due_at, snapshot, requested_at,
                         released_at, accepted_at, completed_at, closed_at)
  SELECT md5('seed-t:' || member_id::text)::uuid, $1::uuid, member_id, worker_id, origin, tenant_id,
         'completed', created_at + interval '7 days', '{}'::jsonb, created_at + interval '20 days',
         created_at + interval '25 days', created_at + interval '30 days',
         created_at + interval '30 days', created_at + interval '30 days'
    FROM moved WHERE origin <> tenant_id
  RETURNING id, member_id, origin_tenant_id
)
INSERT INTO member_homes (id, member_id, federation_id, tenant_id, transfer_id, started_at,
                          ended_at)
SELECT md5('seed-h0:' || m.member_id::text)::uuid, m.member_id, $1::uuid, m.origin, NULL,
       m.created_at, m.created_at + interval '30 days'
  FROM moved m WHERE m.origin <> m.tenant_id
"""

# Joining needs the privacy policy and the separate ID-number consent: every worker gave both.
_CONSENTS_SQL = """
INSERT INTO worker_consents (id, tenant_id, worker_id, purpose, version, granted, created_at)
SELECT md5('seed-c:' || p.purpose || ':' || m.worker_id::text)::uuid, $2, m.worker_id,
       p.purpose, '2026-11', true, m.created_at - interval '1 minute'
  FROM generate_series($3::bigint, $4::bigint - 1) AS g
  JOIN members m ON m.id = md5('seed-m:' || $1::uuid::text || ':' || g)::uuid
 CROSS JOIN (VALUES ('privacy_policy'), ('id_number')) AS p(purpose)
"""

# Every 2,000th member asked to move and the origin released it: waiting at the destination.
_WAITING_SQL = """
INSERT INTO transfers (id, federation_id, member_id, worker_id, origin_tenant_id,
                       dest_tenant_id, status, release_due_at, snapshot, requested_at,
                       released_at)
SELECT md5('seed-r:' || m.id::text)::uuid, $1::uuid, m.id, m.worker_id, m.tenant_id, d.dest,
       'released', now() + interval '3 days', '{}'::jsonb, now() - interval '2 days',
       now() - interval '1 day'
  FROM generate_series($2::bigint, $3::bigint - 1) AS g
  JOIN members m ON m.id = md5('seed-m:' || $1::uuid::text || ':' || g)::uuid
 CROSS JOIN LATERAL (SELECT ($4::uuid[])[1 + (g / 2000) % array_length($4::uuid[], 1)]
                     AS dest) d
 WHERE g % 2000 = 1999 AND m.status = 'active' AND d.dest <> m.tenant_id
   AND NOT EXISTS (SELECT 1 FROM transfers x WHERE x.member_id = m.id
                   AND x.status IN ('requested', 'released'))
"""


async def add_members(conn: asyncpg.Connection, federation_id: uuid.UUID, hq_id: uuid.UUID,
                      homes: Homes, start: int, stop: int, *, total: int | None = None,
                      regions: Sequence[uuid.UUID] = ()) -> None:
    """Members start … stop-1 of the federation (see the module docstring), on `conn`, an
    owner connection. `total` spreads created_at (default `stop`: the last one is today);
    `regions`: the regional unions transfers come from and go to."""
    slots = homes.slots()
    moves = list(regions) or list(homes.tenant_ids)
    span = float(total or stop)
    for lo in range(start, stop, CHUNK):
        hi = min(stop, lo + CHUNK)
        async with conn.transaction():
            row = await conn.fetchrow(
                "SELECT last_member_no, last_status_idx FROM member_counters"
                " WHERE federation_id = $1", federation_id)
            last_no, last_idx = (int(row[0]), int(row[1])) if row else (0, -1)
            await conn.execute("ALTER TABLE members DISABLE TRIGGER one_active_home")
            await conn.execute("ALTER TABLE member_homes DISABLE TRIGGER one_active_home")
            await conn.execute(_CHUNK_SQL, federation_id, hq_id, slots, lo, hi, span,
                               last_no + 1 - lo, last_idx + 1 - lo)
            await conn.execute(_HOMES_SQL, federation_id, lo, hi)
            await conn.execute(_CONSENTS_SQL, federation_id, hq_id, lo, hi)
            await conn.execute(_MOVED_SQL, federation_id, lo, hi, moves)
            await conn.execute(_WAITING_SQL, federation_id, lo, hi, moves)
            await conn.execute("ALTER TABLE members ENABLE TRIGGER one_active_home")
            await conn.execute("ALTER TABLE member_homes ENABLE TRIGGER one_active_home")
            await conn.execute(
                "INSERT INTO member_counters (federation_id, last_member_no, last_status_idx)"
                " VALUES ($1, $2, $3) ON CONFLICT (federation_id) DO UPDATE"
                " SET last_member_no = EXCLUDED.last_member_no,"
                " last_status_idx = EXCLUDED.last_status_idx",
                federation_id, last_no + (hi - lo), last_idx + (hi - lo))


async def finish(conn: asyncpg.Connection) -> None:
    """VACUUM ANALYZE what was seeded: statistics for the planner, visibility for
    index-only scans."""
    for table in ("worker_accounts", "worker_consents", "members", "member_homes", "transfers"):
        await conn.execute(f"VACUUM (ANALYZE) {table}")
