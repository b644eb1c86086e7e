"""Schemathesis (v4) over every operation of the OpenAPI document, one test per operation,
against the real app on a real socket (the session's `live` server and PostgreSQL): no
server errors, and every answer's status code, content type and body as the document says;
a method a path lacks answers 405 with a true `Allow`.

Each operation is called with its audience's real token (`x-flexunion-audiences`: a worker
who is an active member, an HQ admin, a platform partner's client, or none) and, when it is
idempotent (`x-flexunion-idempotent`), a fresh Idempotency-Key on every request. Generation
is derandomised (fixed seed, no example database, no shrinking), positive and negative,
through schemathesis' examples, coverage and fuzzing phases, with MAX_EXAMPLES fuzzed cases
per operation; harness.py adds hostile values (NUL…) and real path values to some cases.

Time budget: 3 minutes on 2 busy cores for the module (about 80 s of fuzzing, 4,300
requests, on an idle machine); the run prints its operations, requests and seconds in
pytest's summary. FLEXUNION_FUZZ_FINDINGS=file records every failure and goes on."""

from __future__ import annotations

import json
import os
import time
from typing import Any

import pytest
import requests
import schemathesis
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    allow_header_conformance,
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
    unsupported_method,
)

from tests.fuzz.harness import (
    AUDIENCES_KEY,
    FINDINGS,
    TALLY,
    Actors,
    audiences_of,
    build_document,
    inject,
    is_idempotent,
    operations,
    repeated_probe,
    valid_key,
)
from tests.support.server import LiveServer

# One worker runs the module (pytest-xdist, --dist loadgroup): one tally, one findings file.
pytestmark = pytest.mark.xdist_group("fuzz")

# FLEXUNION_FUZZ_LOG=file: every request and its status, as JSON lines (to see what was sent).
LOG = os.environ.get("FLEXUNION_FUZZ_LOG")
SEED = 11
MAX_EXAMPLES = int(os.environ.get("FLEXUNION_FUZZ_EXAMPLES", "10"))
# No 5xx; status, content type and body as documented; and `Allow` true: a method a path
# lacks answers 405 with an `Allow` naming exactly its documented methods (the coverage
# phase sends such methods).
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance, unsupported_method, allow_header_conformance]
# FLEXUNION_FUZZ_MORE_CHECKS=1: also schemathesis' stricter checks, to explore (not in CI:
# they flag domain refusals of schema-valid input, e.g. an unknown cursor, as failures).
if os.environ.get("FLEXUNION_FUZZ_MORE_CHECKS"):
    CHECKS += [getattr(schemathesis.checks, name) for name in (
        "negative_data_rejection", "positive_data_acceptance", "missing_required_header",
        "response_headers_conformance", "ignored_auth")]

DOCUMENT = build_document()
DECLARED = any(AUDIENCES_KEY in op for _, _, op in operations(DOCUMENT))

schema = schemathesis.openapi.from_dict(DOCUMENT, config=schemathesis.Config.from_dict({
    "seed": SEED,
    "suppress-health-check": ["all"],
    "generation": {
        "mode": "all", "max-examples": MAX_EXAMPLES, "deterministic": True,
        "database": "none", "no-shrink": True,
    },
    # Stateful runs follow the document's `links`; it declares none.
    "phases": {"stateful": {"enabled": False}},
}))


def _without_examples(node: Any) -> Any:
    """The document minus its `examples`: Litestar makes up random ones for a ResponseSpec
    without `generate_examples=False` (today the partner token's, auth/partners/routes.py)."""
    if isinstance(node, dict):
        return {k: _without_examples(v) for k, v in node.items() if k != "examples"}
    if isinstance(node, list):
        return [_without_examples(v) for v in node]
    return node


def test_the_fuzzed_document_is_the_served_one(live: LiveServer) -> None:
    served = requests.get(f"{live.url}/schema/openapi.json", timeout=30)
    assert served.status_code == 200, served.text
    assert _without_examples(served.json()) == _without_examples(DOCUMENT)


def _record(case: schemathesis.Case, response: Any, exc: BaseException,
            headers: dict[str, str]) -> None:
    failures = exc.exceptions if isinstance(exc, FailureGroup) else [exc]
    with open(FINDINGS, "a", encoding="utf-8") as out:  # type: ignore[arg-type]
        for failure in failures:
            row = {
                "operation": case.operation.label,
                "check": getattr(failure, "title", type(failure).__name__),
                "code": getattr(failure, "code", None),
                "message": str(getattr(failure, "message", failure))[:800],
                "status": getattr(response, "status_code", None),
                "problem": _problem_code(response),
                "body": (response.text[:400] if response is not None else None),
                **_phase(case),
                "curl": case.as_curl_command(headers=headers),
            }
            TALLY.failures.append(row)
            out.write(json.dumps(row, ensure_ascii=False) + "\n")


def _phase(case: schemathesis.Case) -> dict[str, Any]:
    meta = case.meta
    if meta is None:
        return {}
    return {"phase": meta.phase.name.value, "mode": meta.generation.mode.value,
            "scenario": str(getattr(meta.phase.data, "scenario", "") or "")}


def _problem_code(response: Any) -> str | None:
    try:
        body = response.json()
    except Exception:
        return None
    return body.get("code") if isinstance(body, dict) else None


@schema.parametrize()
def test_operation(case: schemathesis.Case, actors: Actors, live: LiveServer,
                   http: requests.Session) -> None:
    if repeated_probe(case, TALLY):
        return
    op = case.operation.definition.raw
    label = case.operation.label
    headers: dict[str, str] = {}
    token = actors.token_for(audiences_of(case.operation.path, op, DECLARED))
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    if is_idempotent(op) and valid_key(case.headers):
        headers["Idempotency-Key"] = TALLY.fresh_key()
    inject(case, TALLY, actors.path_values)
    since = TALLY.begin()
    response = None
    try:
        sent = time.monotonic()
        response = case.call(base_url=live.url, session=http, headers=headers, timeout=60)
        TALLY.http_seconds += time.monotonic() - sent
        TALLY.requests[label] += 1
        TALLY.statuses[response.status_code] += 1
        if case.meta is not None:
            TALLY.phases[case.meta.phase.name.value] += 1
        if LOG:
            with open(LOG, "a", encoding="utf-8") as out:
                out.write(json.dumps({"operation": label, "status": response.status_code,
                                      "problem": _problem_code(response), **_phase(case),
                                      "curl": case.as_curl_command(headers=headers)[:600]},
                                     ensure_ascii=False) + "\n")
        case.validate_response(response, checks=CHECKS, headers=headers)
    except (FailureGroup, requests.RequestException) as exc:
        if not FINDINGS:
            raise
        _record(case, response, exc, headers)
    finally:
        TALLY.end(label, since)


@pytest.fixture(autouse=True, scope="module")
def _findings_file() -> None:
    if FINDINGS:
        open(FINDINGS, "w").close()
