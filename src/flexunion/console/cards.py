"""会员卡核验: at the station desk, a worker shows the membership card on the phone; the
officer scans its QR code with the device camera (or pastes the card's text) and sees at
once, in very large type, whether it is valid — and if not, why — with the masked holder
name, member number and home union. The check is the API's POST /v1/cards/verify: the same
verifier of this instance (its keys, caches and status store), under the officer's scope."""

from __future__ import annotations

import re
from typing import Any

from litestar import Request, Response, Router, get, post
from litestar.di import NamedDependency

from flexunion.console.forms import Form, read_form
from flexunion.console.render import html, speaker
from flexunion.core.context import Caller
from flexunion.core.uow import UnitOfWork
from flexunion.membership.cards import service as cards
from flexunion.membership.models import STATUSES

WHITESPACE = re.compile(r"\s+")
# A verdict that says the text is no card at all: said next to the field, not as 无效.
NOT_A_CARD = frozenset({"malformed", "wrong_type"})


@get("/", include_in_schema=False)
async def card_check(request: Request[Any, Any, Any]) -> Response[str]:
    """The field to paste a card into, and the 扫码 button."""
    return html(request, "cards/check.html", menu="cards", form=None, verdict=None)


@post("/", include_in_schema=False)
async def verify_card(request: Request[Any, Any, Any], caller: NamedDependency[Caller],
                      uow: NamedDependency[UnitOfWork]) -> Response[str]:
    """验卡: the answer is shown on this page (a check changes nothing, so there is nothing
    to redirect to — and the card is not put in a URL)."""
    t = speaker(request)
    form = await read_form(request, t)
    text = form.text("card", max_length=cards.MAX_CARD_BYTES * 2)
    card = WHITESPACE.sub("", text or "")  # a pasted token may come wrapped over lines
    if form.ok and len(card) > cards.MAX_CARD_BYTES:
        form.errors["card"] = t("内容过长，不是会员卡。", "Too long to be a membership card.")
    if not form.ok:
        return _answer(request, form, None, 422)
    verdict = await cards.desk_of(request.app.state).verifier.verify(uow, caller.tenant_id, card)
    if verdict.reason in NOT_A_CARD:
        zh, en = cards.REASONS[verdict.reason]
        form.errors["card"] = t(f"{zh}：请粘贴会员卡的完整内容，或重新扫码。",
                                f"{en}: paste the whole card, or scan it again.")
        return _answer(request, form, None, 422)
    zh, en = cards.REASONS[verdict.reason]
    return _answer(request, form, {
        "valid": verdict.valid, "reason": verdict.reason, "reason_text": t(zh, en),
        "status": verdict.status,
        "status_text": t(STATUSES.get(verdict.status, verdict.status), verdict.status)
        if verdict.status else None,
        "holder": verdict.holder,
    }, 200)


def _answer(request: Request[Any, Any, Any], form: Form, verdict: dict[str, Any] | None,
            status: int) -> Response[str]:
    return html(request, "cards/check.html", status=status, menu="cards", form=form,
                verdict=verdict)


router = Router("/cards", route_handlers=[card_check, verify_card])
