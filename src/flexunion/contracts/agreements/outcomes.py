"""协商成果入约 An agenda item in force → its clause, drafted from the agreed outcome into the
collective agreement (集体协议) of the item's scope with its platform; and the clauses an item
produced, for the board's item read. Both are hooks the board calls (registered in app.py:
`board.service.after_steps`, `board.service.read_links`): bargaining sits below contracts and
never imports it. The item's rounds are read through the rounds' service."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, cast

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.audit import service as audit
from flexunion.bargaining.board.models import AgendaItem
from flexunion.bargaining.board.schemas import ItemLink
from flexunion.bargaining.rounds import service as rounds
from flexunion.contracts.agreements import repository
from flexunion.contracts.agreements.models import Agreement, AgreementClause
from flexunion.contracts.agreements.schemas import Party, Renewal, Term
from flexunion.contracts.agreements.service import (
    Instance,
    clause_row,
    instantiate,
    new_agreement,
    next_version,
    version,
)
from flexunion.contracts.templates import service as templates
from flexunion.contracts.templates.schemas import (
    Parameter,
    TemplateError,
    parameters_of,
    typed_value,
)
from flexunion.db import rls
from flexunion.federation import directory


@dataclass(frozen=True, slots=True)
class ItemOutcome:
    """What the board agreed on an item: read through the bargaining services."""

    item_id: uuid.UUID
    federation_id: uuid.UUID
    tenant_id: uuid.UUID
    partner_id: uuid.UUID
    topic: str
    title: str
    summary: str
    details: dict[str, Any]
    outcome: str | None


def _from_item(params: list[Parameter], found: ItemOutcome) -> dict[str, Any]:
    """Parameter values from the item's details (and `outcome`, the agreed outcome's text)."""
    source = {**found.details, "outcome": found.outcome or found.summary}
    values: dict[str, Any] = {}
    for p in params:
        if p.from_detail and source.get(p.from_detail) is not None:
            value = source[p.from_detail]
            if p.scale is not None and isinstance(value, int | float):
                value = value * p.scale
            try:  # a detail that does not fit the parameter leaves it to be filled in
                values[p.name] = typed_value(p, value, p.name)
            except TemplateError:
                continue
    return values


async def draft_from_item(session: AsyncSession, found: ItemOutcome, *, today: date,
                          now: datetime) -> AgreementClause:
    """An item in force → its clause, drafted into the collective agreement (集体协议) of the
    item's scope with its platform: the open draft version, else a new version copying the
    one in force, else a new agreement. The item's topic picks HQ's outcome template; its
    details and the agreed outcome fill the parameters (missing ones listed on the clause,
    to be filled before the version goes in force). Once per item and version."""
    actor = await rls.principal(session)
    agreement = await repository.collective_of(session, found.tenant_id, found.partner_id)
    if agreement is None:
        agreement = await _collective(session, found, today, actor, now)
    latest = await version(session, agreement, agreement.latest_version, lock=True)
    if latest.status != "draft":
        latest = await next_version(session, agreement, Term(
            starts_on=max(today, latest.starts_on), ends_on=max(latest.ends_on, today),
            renewal=cast(Renewal, latest.renewal), renewal_notice_days=latest.renewal_notice_days,
            parties=msgspec.convert(latest.parties, list[Party]),
            note="协商成果补充 · outcome added"),
            now)
    existing = await repository.clauses(session, latest.id)
    for c in existing:
        if c.agenda_item_id == found.item_id:
            return c
    template = await templates.for_topic(session, found.federation_id, found.topic)
    if template is not None:
        params = parameters_of(template.parameters)
        inst = instantiate(template, _from_item(params, found), allow_missing=True)
    else:
        text = found.outcome or found.summary
        inst = Instance({}, [], text, None, None, [])
    key = f"item.{found.item_id.hex[:12]}"
    row = clause_row(agreement, latest, template, inst, key=key, position=len(existing),
                      origin="agenda_item", item_id=found.item_id, actor=actor, now=now,
                      title=(found.title, template.title_en if template else "Bargaining outcome"))
    repository.add(session, row)
    await repository.flush(session)
    await audit.record(session, "contracts.clause_from_item", tenant_id=agreement.tenant_id,
                       object_type="agreement_clause", object_id=row.id,
                       payload={"agenda_item": str(found.item_id), "agreement": str(agreement.id),
                                "version": latest.number, "missing": inst.missing})
    return row


async def _collective(session: AsyncSession, found: ItemOutcome, today: date, actor: str,
                      now: datetime) -> Agreement:
    tenants = await directory.directory(session, found.federation_id)
    scope = tenants.by_id[found.tenant_id]
    partners = {p.id: p for p in (await directory.partners(session, found.federation_id)).values()}
    partner = partners[found.partner_id]
    code = f"collective-{partner.code}-{scope.code}"[:56]
    if await repository.by_code(session, found.federation_id, code) is not None:
        code = f"{code}-{uuid.uuid4().hex[:6]}"
    try:  # a year from today, the day before its anniversary (29 Feb: 28 Feb)
        ends = today.replace(year=today.year + 1) - timedelta(days=1)
    except ValueError:
        ends = today.replace(year=today.year + 1, day=28)
    term = Term(starts_on=today, ends_on=ends, renewal="manual",
                parties=[Party(role="union", name=scope.name_zh),
                         Party(role="platform_business", name=partner.name_zh)])
    agreement = await new_agreement(
        session, found.federation_id, found.tenant_id, found.partner_id, code,
        f"{partner.name_zh}集体协议（{scope.name_zh}）", "collective", term, actor, now)
    await audit.record(session, "contracts.agreement_created", tenant_id=found.tenant_id,
                       object_type="agreement", object_id=agreement.id,
                       payload={"code": code, "kind": "collective", "partner": partner.code,
                                "agenda_item": str(found.item_id)})
    return agreement


# ---- hooks the board calls (registered in app.py) ----------------------------------------------


async def on_item_step(session: AsyncSession, item: AgendaItem, target: str,
                       now: datetime) -> None:
    """An agenda item that reaches in_force drafts its clause, in the step's transaction and
    under the principal that took the step (an admin of the item's scope). The agreed
    outcome is the last round's `outcome` for the item, read through the rounds' service."""
    if target != "in_force":
        return
    negotiation = await rounds.item_negotiation(session, item)
    agreed = [ri.outcome for _, ri in negotiation.rounds if ri.outcome]
    await draft_from_item(session, ItemOutcome(
        item_id=item.id, federation_id=item.federation_id, tenant_id=item.tenant_id,
        partner_id=item.partner_id, topic=item.topic, title=item.title, summary=item.summary,
        details=dict(item.details), outcome=agreed[-1] if agreed else None),
        today=rounds.beijing_today(now), now=now)


async def item_links(session: AsyncSession, item: AgendaItem) -> list[ItemLink]:
    """The clauses the item produced (every version), for the board's item read."""
    return [ItemLink(kind="clause", id=c.id, title=c.title_zh,
                     status=c.status, href=f"/v1/admin/contracts/clauses/{c.id}")
            for c in await repository.clauses_of_items(session, [item.id])]
