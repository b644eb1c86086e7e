"""The hot membership reads keep their plans as members grow (issue 12, migration 0008).

A database of its own (a second embedded PostgreSQL: the rows and statistics here must not
leak into the shared one) is seeded, as the owner, with 100,000 members over 41 tenants
(bench/_seed.py: homes, statuses, completed and released transfers), then VACUUM ANALYZEd, so
the planner's choice matters: a sequential scan of members reads ~3,700 pages here.

Each query is run exactly as the app runs it — the repository function, on the app role's
engine, in a unit of work whose scope is set by db/engine.bind_scope — and the very statement
it sent is explained (EXPLAIN (ANALYZE, BUFFERS)) in the same transaction, under the same
scope. The plans must use the indexes and scan neither members nor member_homes
sequentially; the results must equal what the plain, unshaped query returns under RLS; and
the members policy of 0008 must show every role exactly the rows 0002's policy did.
"""

from __future__ import annotations

import json
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import pytest
import yaml
from sqlalchemy import event, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.db.engine import make_engine, make_sessionmaker
from flexunion.db.scope import DbScope
from flexunion.db.urls import to_asyncpg
from flexunion.membership import repository as members
from flexunion.membership.models import Member
from flexunion.transfers import repository as transfers
from tests.conftest import run_in_thread
from tests.support import database
from tests.support.factories import federation_spec

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
import _seed  # bench/_seed.py: the bench's seeding, shared

# One worker runs the module (pytest-xdist, --dist loadgroup): its database is built once.
pytestmark = pytest.mark.xdist_group("plans")

MEMBERS = 100_000
REGIONS, STATIONS = 8, 4


@dataclass
class Seeded:
    db: database.TestDatabase
    hq: uuid.UUID
    ids: dict[str, tuple[uuid.UUID, str, str | None]]

    def tenant(self, code: str) -> uuid.UUID:
        return self.ids[code][0]


async def _arrange(db: database.TestDatabase, tmp: Path) -> Seeded:
    from flexunion.db.engine import bind_scope
    from flexunion.federation.models import Tenant
    from flexunion.provisioning.service import apply_directory

    folder = tmp / "plans"
    folder.mkdir()
    (folder / "federation.yaml").write_text(yaml.safe_dump(
        federation_spec("plans", regions=REGIONS, stations=STATIONS), allow_unicode=True))
    engine = make_engine(db.owner_url, pool_size=1, max_overflow=0)
    try:
        async with make_sessionmaker(engine)() as s:
            bind_scope(s, lambda: DbScope(None, "test:owner"))
            async with s.begin():
                await apply_directory(s, folder)
                rows = (await s.scalars(select(Tenant))).all()
    finally:
        await engine.dispose()
    codes = {t.id: t.code for t in rows}
    ids = {t.code: (t.id, t.kind, codes.get(t.parent_id) if t.parent_id else None)
           for t in rows}
    hq = ids["plans-hq"][0]
    conn = await asyncpg.connect(to_asyncpg(db.owner_url))
    try:
        regions = [ids[c][0] for c in sorted(c for c, v in ids.items() if v[1] == "regional")]
        await _seed.add_members(conn, hq, hq, _seed.homes_of(ids), 0, MEMBERS, regions=regions)
        await _seed.finish(conn)
    finally:
        await conn.close()
    return Seeded(db, hq, ids)


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seeded]:
    db = database.create(tmp_path_factory.mktemp("plans-pg"))
    try:
        yield run_in_thread(lambda: _arrange(db, tmp_path_factory.mktemp("plans")))
    finally:
        db.stop()


class Explained:
    """The app role's sessions; every statement a repository sends is recorded, so the test
    can explain exactly that statement with exactly its parameters."""

    def __init__(self, url: str) -> None:
        self.engine = make_engine(url, pool_size=2, max_overflow=0)
        self.sessions = make_sessionmaker(self.engine)
        self.sent: list[tuple[str, Any]] = []

        @event.listens_for(self.engine.sync_engine, "before_cursor_execute")
        def _record(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
            if not statement.lstrip().upper().startswith(("EXPLAIN", "SELECT SET_CONFIG")):
                self.sent.append((statement, parameters))

    async def plan(self, session: AsyncSession, *, generic: bool = False) -> dict[str, Any]:
        """EXPLAIN (ANALYZE, BUFFERS) of the last statement sent, in the same transaction.
        generic: the plan PostgreSQL settles on for a statement asyncpg prepared and ran more
        than five times (plan_cache_mode = force_generic_plan, PREPARE / EXECUTE)."""
        statement, parameters = self.sent[-1]
        conn = await session.connection()
        options = "EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) "
        if not generic:
            raw = (await conn.exec_driver_sql(options + statement, parameters)).scalar_one()
        else:
            await conn.exec_driver_sql("SET LOCAL plan_cache_mode = force_generic_plan")
            await conn.exec_driver_sql("PREPARE plans_q AS " + statement)
            # EXECUTE takes no bound parameters: the values go in as untyped literals, which
            # take the types PREPARE inferred.
            args = ", ".join(_literal(v) for v in parameters or ())
            execute = f"EXECUTE plans_q({args})" if args else "EXECUTE plans_q"
            raw = (await conn.exec_driver_sql(options + execute)).scalar_one()
            await conn.exec_driver_sql("DEALLOCATE plans_q")
            await conn.exec_driver_sql("SET LOCAL plan_cache_mode = auto")
        return (json.loads(raw) if isinstance(raw, str) else raw)[0]["Plan"]  # type: ignore[no-any-return]


def _literal(value: Any) -> str:
    text = value.isoformat() if hasattr(value, "isoformat") else str(value)
    return "'" + text.replace("'", "''") + "'"


@pytest.fixture
async def app_db(seeded: Seeded) -> AsyncIterator[Explained]:
    explained = Explained(seeded.db.app_url)
    try:
        yield explained
    finally:
        await explained.engine.dispose()


def nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", []):
        yield from nodes(child)


def scans(plan: dict[str, Any]) -> list[tuple[str, str, str | None]]:
    """(node type, relation, index) of every scan in the plan."""
    return [(n["Node Type"], n["Relation Name"], n.get("Index Name")) for n in nodes(plan)
            if "Relation Name" in n]


def assert_indexed(plan: dict[str, Any], *, uses: set[str] = frozenset(),  # type: ignore[assignment]
                   any_of: set[str] = frozenset()) -> None:  # type: ignore[assignment]
    found = scans(plan)
    seq = [s for s in found if s[0] == "Seq Scan" and s[1] in ("members", "member_homes")]
    assert not seq, f"sequential scans {seq} in {found}"
    used = {n["Index Name"] for n in nodes(plan) if "Index Name" in n}  # bitmap ones too
    assert uses <= used, f"expected indexes {uses}, plan used {found}"
    assert not any_of or any_of & used, f"expected one of {any_of}, plan used {found}"


def scope_of(seeded: Seeded, code: str, role: str = "regional_admin") -> DbScope:
    return DbScope(seeded.tenant(code), f"{role}:plans-test", "plans-test")


async def _naive(session: AsyncSession, status: str | None,
                 after: tuple[Any, uuid.UUID] | None, limit: int) -> list[uuid.UUID]:
    """The list as the unshaped query gives it (RLS alone deciding)."""
    stmt = select(Member.id).order_by(Member.created_at, Member.id).limit(limit)
    if status:
        stmt = stmt.where(Member.status == status)
    if after:
        stmt = stmt.where(tuple_(Member.created_at, Member.id) > tuple_(*after))
    return list((await session.scalars(stmt)).all())


def _in_uow(app_db: Explained, scope: DbScope) -> Any:
    from flexunion.core.uow import UnitOfWork

    return UnitOfWork(app_db.sessions, scope)


@pytest.mark.parametrize("who", ["hq", "region"])
@pytest.mark.parametrize("typed", ["张", "李**"])
async def test_the_name_search_pages_along_its_index(seeded: Seeded, app_db: Explained,
                                                     who: str, typed: str) -> None:
    """The console's search by masked name (0012): per tenant and masked form one ordered
    range cut at the page size, and exactly the rows the unshaped query gives."""
    from flexunion.membership.service import masked_forms

    code = {"hq": "plans-hq", "region": "plans-r1"}[who]
    role = {"hq": "hq_admin", "region": "regional_admin"}[who]
    forms = masked_forms(typed)
    uow = _in_uow(app_db, scope_of(seeded, code, role))
    try:
        session = uow.session
        rows = await members.page(session, status=None, after=None, limit=8, masked_names=forms)
        for generic in (False, True):
            plan = await app_db.plan(session, generic=generic)
            assert_indexed(plan, uses={"ix_members_tenant_name_created"})
            hit = plan.get("Shared Hit Blocks", 0) + plan.get("Shared Read Blocks", 0)
            assert hit < 3_000, f"generic: {generic}: touched {hit} buffers"
            ranges = [n for n in nodes(plan)
                      if n.get("Index Name") == "ix_members_tenant_name_created"]
            assert ranges and all(n["Actual Rows"] <= 8 for n in ranges), ranges
        naive = select(Member.id).where(Member.name_masked.in_(forms)).order_by(
            Member.created_at, Member.id).limit(8)
        assert [m.id for m in rows] == list((await session.scalars(naive)).all())
        assert len(rows) == 8 and all(m.name_masked[:1] == typed[:1] for m in rows)
    finally:
        await uow.rollback()
        await uow.close()


@pytest.mark.parametrize("who", ["hq", "region", "station"])
@pytest.mark.parametrize("status", [None, "suspended"])
async def test_member_list_pages_along_the_indexes(seeded: Seeded, app_db: Explained,
                                                   who: str, status: str | None) -> None:
    code = {"hq": "plans-hq", "region": "plans-r1", "station": "plans-r2-s3"}[who]
    role = {"hq": "hq_admin", "region": "regional_admin", "station": "station_officer"}[who]
    uow = _in_uow(app_db, scope_of(seeded, code, role))
    try:
        session = uow.session
        after = None
        for page_no in (1, 2):
            rows = await members.page(session, status=status, after=after, limit=8)
            for generic in (False, True):
                plan = await app_db.plan(session, generic=generic)
                assert_indexed(plan, uses={"ix_members_tenant_status_created" if status
                                           else "ix_members_tenant_created", "pk_members"})
                # O(tenants × page), not O(members): far fewer buffers than one scan (~3,700)
                hit = plan.get("Shared Hit Blocks", 0) + plan.get("Shared Read Blocks", 0)
                assert hit < 3_000, f"page {page_no} (generic: {generic}) touched {hit} buffers"
                # each tenant's part is an ordered index range cut at the page size, not all
                # of the tenant's members sorted
                ranges = [n for n in nodes(plan) if n.get("Index Name", "").startswith(
                    "ix_members_tenant_")]
                assert ranges and all(n["Node Type"] in ("Index Scan", "Index Only Scan")
                                      for n in ranges), ranges
                assert all(n["Actual Rows"] <= 8 for n in ranges), ranges
            assert [m.id for m in rows] == await _naive(session, status, after, 8)
            assert len(rows) == 8, "the seed gives every scope more than two pages"
            after = (rows[-2].created_at, rows[-2].id)
    finally:
        await uow.rollback()
        await uow.close()


async def test_walking_every_page_gives_exactly_the_visible_members(
        seeded: Seeded, app_db: Explained) -> None:
    """A destination region sees its own members and those released to it: all of them, in
    order, page by page, exactly once."""
    async with app_db.sessions() as s, s.begin():
        await s.execute(_set_scope(), scope_of(seeded, "plans-r3").params())
        everything = list((await s.scalars(
            select(Member.id).order_by(Member.created_at, Member.id))).all())
        outside = set((await s.scalars(select(Member.id).where(
            Member.tenant_id.not_in([i for c, (i, _, p) in seeded.ids.items()
                                     if c == "plans-r3" or p == "plans-r3"])))).all())
        assert outside, "the seed releases some members to this region"
        walked: list[uuid.UUID] = []
        after = None
        while True:
            rows = await members.page(s, status=None, after=after, limit=301)
            walked += [m.id for m in rows[:300]]
            if len(rows) <= 300:
                break
            after = (rows[299].created_at, rows[299].id)
    assert walked == everything
    assert outside <= set(walked)


def _set_scope() -> Any:
    from sqlalchemy import text

    from flexunion.db.scope import SET_SCOPE_SQLA

    return text(SET_SCOPE_SQLA)


async def test_my_membership_reads_use_the_indexes(seeded: Seeded, app_db: Explained) -> None:
    """/v1/me/membership and /v1/me/transfers: the member by worker, its homes, its
    transfers — index scans, a handful of buffers each."""
    moved = 50 * 7  # every 50th seeded member moved once: it has two homes and a transfer
    worker = _seed.worker_id(seeded.hq, moved)
    uow = _in_uow(app_db, DbScope(None, f"worker:{worker}", "plans-test"))
    try:
        session = uow.session
        member = await members.own(session, worker, seeded.hq)
        assert member is not None and member.id == _seed.member_id(seeded.hq, moved)
        assert_indexed(await app_db.plan(session),
                       any_of={"uq_members_worker", "ix_members_worker"})
        homes = await members.homes(session, member.id)
        assert len(homes) == 2 and homes[-1].ended_at is None
        assert_indexed(await app_db.plan(session), uses={"ix_member_homes_member"})
        history = await transfers.for_member(session, member.id)
        assert [t.status for t in history] == ["completed"]
        assert_indexed(await app_db.plan(session), uses={"ix_transfers_member"})
        mine = await transfers.for_worker(session, worker, seeded.hq)
        assert [t.id for t in mine] == [t.id for t in history]
        assert_indexed(await app_db.plan(session), uses={"ix_transfers_worker"})
    finally:
        await uow.rollback()
        await uow.close()


# 0002's members read policy, written out as the owner sees it, for the comparison below.
OLD_VISIBLE = """
WITH RECURSIVE sub AS (
  SELECT id FROM tenants WHERE id = $1::uuid
  UNION ALL SELECT t.id FROM tenants t JOIN sub ON t.parent_id = sub.id
)
SELECT m.id FROM members m
 WHERE m.tenant_id IN (SELECT id FROM sub)
    OR $2::text = 'worker:' || m.worker_id::text
    OR EXISTS (SELECT 1 FROM transfers t WHERE t.member_id = m.id AND t.status = 'released'
               AND t.dest_tenant_id IN (SELECT id FROM sub))
"""


async def test_policy_shows_every_role_the_same_rows_as_before(seeded: Seeded,
                                                               app_db: Explained) -> None:
    worker = _seed.worker_id(seeded.hq, 11)
    rejected_worker = uuid.uuid4()
    cases = [(seeded.tenant(code), f"{role}:plans-test") for code, role in (
        ("plans-hq", "hq_admin"), ("plans-r1", "regional_admin"),
        ("plans-r3", "regional_admin"), ("plans-r2-s3", "station_officer"))]
    cases += [(None, f"worker:{worker}"), (None, f"worker:{str(worker).upper()}"),
              (None, f"worker:{rejected_worker}"), (None, "anonymous"),
              (seeded.tenant("plans-r1-s1"), f"worker:{worker}")]
    conn = await asyncpg.connect(to_asyncpg(seeded.db.owner_url))
    try:
        for tenant, principal in cases:
            before = {r[0] for r in await conn.fetch(OLD_VISIBLE, tenant, principal)}
            async with app_db.sessions() as s, s.begin():
                await s.execute(_set_scope(), DbScope(tenant, principal).params())
                now = set((await s.scalars(select(Member.id))).all())
            assert now == before, (tenant, principal, len(now), len(before))
    finally:
        await conn.close()


async def test_the_seed_keeps_every_invariant_the_trigger_would(seeded: Seeded) -> None:
    """bench/_seed.py switches the one-active-home trigger off while it inserts: every member
    must still have exactly one open home, its tenant, and numbers/slots must be unique."""
    conn = await asyncpg.connect(to_asyncpg(seeded.db.owner_url))
    try:
        broken = await conn.fetchval(
            "SELECT count(*) FROM members m WHERE m.federation_id = $1 AND (SELECT count(*)"
            " FROM member_homes h WHERE h.member_id = m.id AND h.ended_at IS NULL"
            " AND h.tenant_id = m.tenant_id) <> 1"
            " OR EXISTS (SELECT 1 FROM member_homes h WHERE h.member_id = m.id"
            " AND h.ended_at IS NULL AND h.tenant_id <> m.tenant_id)", seeded.hq)
        assert broken == 0
        counters = await conn.fetchrow("SELECT last_member_no, last_status_idx FROM"
                                       " member_counters WHERE federation_id = $1", seeded.hq)
        assert counters["last_status_idx"] == MEMBERS - 1
        assert counters["last_member_no"] == MEMBERS
        consents = await conn.fetchval("SELECT count(*) FROM worker_consents c JOIN members m"
                                       " ON m.worker_id = c.worker_id WHERE m.federation_id = $1",
                                       seeded.hq)
        assert consents == 2 * MEMBERS
    finally:
        await conn.close()
