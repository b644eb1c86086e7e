"""条款文书 over HTTP: an admin puts a version in force (every clause signed); staff, the
partner and workers of its platform fetch a clause's signed document; a partner verifies a
document it holds (in_force / superseded / altered / unknown)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from litestar import Request, Router, get, post
from litestar.di import NamedDependency
from litestar.params import JSONBody, PathParameter
from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.contracts.agreements import service as agreements
from flexunion.contracts.agreements.models import AgreementClause
from flexunion.contracts.agreements.schemas import VersionDetail, version_detail
from flexunion.contracts.documents import service
from flexunion.contracts.documents.schemas import DocumentRead, VerifyRead, VerifyRequest
from flexunion.core.clock import Clock
from flexunion.core.context import Caller
from flexunion.core.http import BEARER, PARTNER, STAFF, UNION_ADMINS, WORKER, problems

AgreementId = Annotated[uuid.UUID, PathParameter()]
ClauseId = Annotated[uuid.UUID, PathParameter()]
Number = Annotated[int, PathParameter(description="版本号 version number")]
DOC_PROBLEMS = problems({404: "clause_not_found, clause_not_published"})


def _read(c: AgreementClause) -> DocumentRead:
    assert c.document and c.document_sha256 and c.document_kid and c.signed_at
    return DocumentRead(clause_id=c.id, status=c.status, document=c.document,
                        sha256=c.document_sha256, kid=c.document_kid, signed_at=c.signed_at)


@post("/agreements/{agreement_id:uuid}/versions/{number:int}/in-force", status_code=200,
      summary="生效 Put a draft version in force: every clause signed (JWS), the version "
              "before it superseded",
      responses=problems({404: "agreement_not_found, agreement_version_not_found",
                          409: "version_not_draft, version_not_latest, annex_empty, "
                               "clause_incomplete",
                          503: "card_key_missing"}))
async def put_in_force(request: Request[Any, Any, Any], session: NamedDependency[AsyncSession],
                       clock: NamedDependency[Clock], agreement_id: AgreementId,
                       number: Number) -> VersionDetail:
    v = await agreements.put_in_force(session, agreement_id, number,
                                      signer=service.desk_of(request.app.state), now=clock.now())
    return version_detail(v, list(await agreements.version_clauses(session, v)))


async def _document(request: Request[Any, Any, Any], session: AsyncSession,
                    clause_id: uuid.UUID) -> DocumentRead:
    return _read(await service.desk_of(request.app.state).document(session, clause_id))


@get("/clauses/{clause_id:uuid}/document", summary="条款文书 The clause's signed document (JWS)",
     responses=DOC_PROBLEMS)
async def staff_document(request: Request[Any, Any, Any], session: NamedDependency[AsyncSession],
                         clause_id: ClauseId) -> DocumentRead:
    return await _document(request, session, clause_id)


@get("/clauses/{clause_id:uuid}/document", summary="条款文书 My clause's signed document (JWS)",
     responses=DOC_PROBLEMS)
async def partner_document(request: Request[Any, Any, Any],
                           session: NamedDependency[AsyncSession],
                           clause_id: ClauseId) -> DocumentRead:
    return await _document(request, session, clause_id)


@get("/clauses/{clause_id:uuid}/document",
     summary="条款文书 A clause in force for my platform, as its signed document (JWS)",
     responses=DOC_PROBLEMS)
async def worker_document(request: Request[Any, Any, Any], session: NamedDependency[AsyncSession],
                          clause_id: ClauseId) -> DocumentRead:
    return await _document(request, session, clause_id)


@post("/clauses/verify", status_code=200, request_max_body_size=96 * 1024,
      summary="核验条款文书 Verify a clause document: in_force / superseded / altered / unknown",
      description="Answers 200 for every document presented, with `status`: in_force (the "
                  "version in force), superseded (an earlier version), altered (signed by a "
                  "key of this federation, but the signature does not hold over what was "
                  "presented), unknown (not a clause document of this federation, or not "
                  "one of your clauses). Writes nothing.",
      responses=problems({422: "validation_failed: no `document`, or one over 64 KiB"}))
async def verify_document(request: Request[Any, Any, Any],
                          session: NamedDependency[AsyncSession],
                          caller: NamedDependency[Caller],
                          data: JSONBody[VerifyRequest]) -> VerifyRead:
    verdict, clause = await service.desk_of(request.app.state).verify(session, caller,
                                                                       data.document)
    zh, en = service.VERDICTS[verdict]
    if clause is None or verdict == "unknown":
        return VerifyRead(status=verdict, status_zh=zh, status_en=en)
    return VerifyRead(status=verdict, status_zh=zh, status_en=en, clause_id=clause.id,
                      agreement_id=clause.agreement_id, version=clause.version_number,
                      key=clause.clause_key)


router = Router("/", tags=["contracts 协议条款"], security=BEARER, route_handlers=[
    Router("/v1/admin/contracts", opt=UNION_ADMINS, route_handlers=[put_in_force]),
    Router("/v1/admin/contracts", opt=STAFF, route_handlers=[staff_document]),
    Router("/v1/partner/contracts", opt=PARTNER, tags=["partner 平台方"],
           route_handlers=[partner_document]),
    Router("/v1/partner", opt=PARTNER, tags=["partner 平台方"], route_handlers=[verify_document]),
    Router("/v1/me/contracts", opt=WORKER, tags=["me 我的"], route_handlers=[worker_document]),
])
