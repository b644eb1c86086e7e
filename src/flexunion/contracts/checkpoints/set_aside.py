"""复议成立, the loop closed: when staff uphold a partner's objection (the breach set aside),
the case the `contracts-breach` job opened for that checkpoint is answered and closed with the
decision's note as the reason — through the cases' own services (handling.route / answer,
followup.follow_up), in the decision's transaction, each step audited by them (`case.routed`,
`case.answered`, `case.closed`) and the whole by `contracts.breach_case_closed`.

Where the case stands decides the steps (cases/ledger/lifecycle.py):
- received / reopened / accepted: routed 即时答复 first if it has no route yet, answered, closed;
- answered / followed_up: closed (回访复核 已解决);
- assigned / returned (with a lead unit that has not accepted it, or handed back): left open —
  the dispatcher cannot answer for the lead unit; the decision records `case_status`;
- closed / merged: nothing to do.
The steps run in a savepoint: should the cases' services refuse one (the case moved out of
the decider's sight, a step not theirs), none of them is kept, the decision stands and the
audit records the refusal's code with the case left as it was (`closed: false`).
A rejected objection leaves the case as it is. An open dispute on the case is left to its own
procedure (the platform's reply, the union's decision)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.audit import service as audit
from flexunion.cases.followup import service as followup
from flexunion.cases.followup.schemas import FollowupCreate
from flexunion.cases.handling import service as handling
from flexunion.cases.handling.schemas import RouteCreate
from flexunion.cases.ledger import service as ledger
from flexunion.contracts.checkpoints.models import ClauseCheckpoint
from flexunion.core.errors import DomainError

ANSWERABLE = frozenset({"received", "reopened", "accepted"})
CLOSABLE = frozenset({"answered", "followed_up"})
PREFIX = "复议成立，违约撤销 Objection upheld, breach set aside: "


async def close_case(session: AsyncSession, cp: ClauseCheckpoint, note: str, *,
                     reopen_days: int, now: datetime) -> dict[str, Any] | None:
    """The checkpoint's breach case answered and closed with `note`; what was done, or None
    when the checkpoint has no case."""
    if cp.case_id is None:
        return None
    case_id: uuid.UUID = cp.case_id
    reason = (PREFIX + note)[:2000]
    done: dict[str, Any] = {"case_id": str(case_id)}
    try:
        async with session.begin_nested():
            case = await ledger.access_case(session, case_id)
            done |= {"case_no": case.case_no, "before": case.status}
            if case.status in ANSWERABLE:
                if case.route is None:
                    await handling.route(session, case_id,
                                         RouteCreate(route="instant", reason=reason), now=now)
                case = await handling.answer(session, case_id, reason, now=now)
            if case.status in CLOSABLE:
                case = await followup.follow_up(
                    session, case_id, FollowupCreate(outcome="resolved", worker_informed=False,
                                                     worker_accepts=False, note=reason),
                    reopen_days=reopen_days, now=now)
            done |= {"case_status": case.status, "closed": case.status == "closed"}
    except DomainError as exc:
        done |= {"closed": False, "refused": exc.code}
    await audit.record(session, "contracts.breach_case_closed", tenant_id=cp.tenant_id,
                       object_type="clause_checkpoint", object_id=cp.id,
                       payload={**done, "note": note})
    return done
