"""What the fuzz test needs besides schemathesis: the OpenAPI document as the app builds it,
which caller (token) and headers an operation gets, what is put into a generated case
(hostile values, real path values), which repeated probes are not sent, and the tally the
run prints at its end.

The document is built at collection time from `create_app()` (never started: the document
needs no database), so that pytest makes one test per operation; `test_openapi.py` checks
that the live server serves this same document.

Everything a case gets follows from the case itself (its fingerprint), never from a counter:
Hypothesis replaying a failing case then sends the very same request."""

from __future__ import annotations

import json
import os
import secrets
import tempfile
import time
import zlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flexunion.config import AUDIENCE_ADMIN, AUDIENCE_MOBILE, AUDIENCE_PARTNER, AUDIENCE_PROVIDER
from flexunion.core.idempotency import MAX_KEY_LENGTH

AUDIENCES_KEY = "x-flexunion-audiences"
IDEMPOTENT_KEY = "x-flexunion-idempotent"
METHODS = ("get", "put", "post", "delete", "patch", "options", "head", "trace")

# Until every operation carries `x-flexunion-audiences`: the audience its path prefix implies.
# Longest prefix first. No security requirement in the document means a public operation.
PREFIX_AUDIENCES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("/v1/admin/", (AUDIENCE_ADMIN,)),
    ("/v1/partner/", (AUDIENCE_PARTNER,)),
    ("/v1/provider/", (AUDIENCE_PROVIDER,)),
    ("/v1/me/", (AUDIENCE_MOBILE,)),
    ("/v1/me", (AUDIENCE_MOBILE,)),
    ("/v1/bargaining/", (AUDIENCE_MOBILE,)),
    ("/v1/geo/", (AUDIENCE_MOBILE, AUDIENCE_ADMIN)),
    ("/v1/cards/", (AUDIENCE_PARTNER, AUDIENCE_ADMIN)),
)
# Which caller stands for an audience: a worker who is an active member, an HQ admin (every
# staff role's operations are open to HQ), a platform partner's client at HQ.
PREFERRED = (AUDIENCE_MOBILE, AUDIENCE_ADMIN, AUDIENCE_PARTNER, AUDIENCE_PROVIDER)


def build_document() -> dict[str, Any]:
    """The OpenAPI document of an app built with throwaway settings (never started)."""
    from litestar.serialization import encode_json

    from flexunion.app import create_app
    from flexunion.auth.workers.sms import RecordingSmsGateway
    from flexunion.config import Settings

    nowhere = "postgresql://nobody@127.0.0.1:1/nothing"
    settings = Settings(database_url=nowhere, app_database_url=nowhere,
                        data_dir=Path(tempfile.mkdtemp(prefix="flexunion-fuzz-doc-")),
                        secret_key="flexunion-fuzz-document-only", load_demo=False)
    app = create_app(settings, sms=RecordingSmsGateway())
    document: dict[str, Any] = json.loads(encode_json(app.openapi_schema.to_schema()))
    return document


def operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(method.upper(), path, op) for path, item in document["paths"].items()
            for method, op in item.items() if method in METHODS]


# Values that break storage rather than validation: NUL (PostgreSQL text cannot hold it),
# astral, invisible and quoting characters, and integers past PostgreSQL's int4/int8. The
# generator rarely makes them, so one case in INJECT_EVERY gets one, at one of its string (or
# integer) places: path parameters, query and body fields (not headers: an HTTP client
# refuses a NUL there). Which case, which place and which value follow from the case itself.
HOSTILE_STRINGS = ("\x00", "a\x00b", "𠮷野家", "\x00\x00", "\ufeff\u202e", "a\x00", "'\"\\;--%00")
HOSTILE_INTEGERS = (2**31, 2**63, -(2**63) - 1, 10**20)
INJECT_EVERY = 3
# Another case in INJECT_EVERY, if positive, gets real values for its path parameters
# (Actors.path_values), to reach past the 404.
REAL_AT = 1


def _places(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], Any]]:
    """(path, leaf) of each string or integer leaf of a JSON value, depth first."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _places(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _places(item, (*path, index))
    elif isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool)):
        yield path, value


def _replaced(value: Any, path: tuple[Any, ...], new: Any) -> Any:
    if not path:
        return new
    head, *rest = path
    copy = dict(value) if isinstance(value, dict) else list(value)
    copy[head] = _replaced(value[head], tuple(rest), new)
    return copy


def fingerprint(case: Any) -> int:
    """A stable number for a generated case: what it is decides what is injected into it, so
    Hypothesis replaying a failing case sends the very same request."""
    parts = (case.method, case.path_parameters, case.query, case.headers, case.body)
    try:
        text = json.dumps(parts, sort_keys=True, default=repr, ensure_ascii=True)
    except TypeError:  # keys of mixed types
        text = repr(parts)
    return zlib.crc32(text.encode())


def inject(case: Any, tally: Tally, path_values: dict[str, list[str]]) -> None:
    """Real path values into one case in INJECT_EVERY, one hostile value into another, chosen
    by the case's fingerprint (so the same generated case always gets the same)."""
    label = case.operation.label
    number = fingerprint(case)
    turn, slot = divmod(number, INJECT_EVERY)
    positive = case.meta is None or case.meta.generation.mode.value == "positive"
    if slot == REAL_AT and positive and isinstance(case.path_parameters, dict):
        real = {name: path_values[name][turn % len(path_values[name])]
                for name in case.path_parameters if name in path_values}
        if real:
            case.path_parameters = {**case.path_parameters, **real}
            tally.real[label] += 1
    if slot != INJECT_EVERY - 1:
        return
    containers = [("path_parameters", case.path_parameters), ("query", case.query),
                  ("body", case.body)]
    places = [(where, path, leaf) for where, container in containers
              if isinstance(container, (dict, list))
              for path, leaf in _places(container)]
    if not places:
        return
    where, path, leaf = places[turn % len(places)]
    pool = HOSTILE_STRINGS if isinstance(leaf, str) else HOSTILE_INTEGERS
    new = pool[turn % len(pool)]
    setattr(case, where, _replaced(getattr(case, where), path, new))
    tally.injected[label] += 1


def audiences_of(path: str, op: dict[str, Any], declared_anywhere: bool) -> tuple[str, ...]:
    """The token audiences an operation accepts: its `x-flexunion-audiences`, else (only while
    no operation declares them) what its path prefix implies."""
    if AUDIENCES_KEY in op:
        return tuple(op[AUDIENCES_KEY])
    if declared_anywhere:
        raise AssertionError(f"operation without {AUDIENCES_KEY} (every operation needs one)")
    if not op.get("security"):
        return ()
    for prefix, audiences in PREFIX_AUDIENCES:
        if path.startswith(prefix) or path == prefix.rstrip("/"):
            return audiences
    raise AssertionError(f"no audience known for {path}: add {AUDIENCES_KEY}")


def is_idempotent(op: dict[str, Any]) -> bool:
    if IDEMPOTENT_KEY in op:
        return bool(op[IDEMPOTENT_KEY])
    return any(p.get("in") == "header" and p.get("name", "").lower() == "idempotency-key"
               for p in op.get("parameters", []))


# Coverage scenarios that probe one thing many times over: a wrong type for a field (number,
# boolean, null, array, object… each a request), a method the path does not have (each
# method a request). One probe of each field / of each operation is sent (OPTIONS always);
# the others are skipped without a request, which keeps the run within its budget.
REPEATED_PROBES = {"incorrect_type", "unspecified_http_method"}


def repeated_probe(case: Any, tally: Tally) -> bool:
    meta = case.meta
    if meta is None or meta.phase.name.value != "coverage":
        return False
    data = meta.phase.data
    scenario = str(getattr(data, "scenario", ""))
    if scenario not in REPEATED_PROBES:
        return False
    if scenario == "unspecified_http_method":
        if case.method.upper() == "OPTIONS":
            return False
        key: tuple[Any, ...] = (case.operation.label, scenario)
    else:
        key = (case.operation.label, scenario, str(data.parameter_location), data.parameter,
               data.location, meta.generation.mode.value)
    first = tally.probed.setdefault(key, fingerprint(case))
    if first != fingerprint(case):
        tally.skipped += 1
        return True
    return False


def valid_key(headers: dict[str, Any] | None) -> bool:
    """Whether a generated Idempotency-Key is one the API accepts (1–255 printable ASCII), or
    none was generated: then it is replaced by a fresh one. A negative case's broken key is
    sent as generated (refused before anything is stored, it cannot collide)."""
    for name, value in (headers or {}).items():
        if name.lower() == "idempotency-key":
            return (isinstance(value, str) and 1 <= len(value) <= MAX_KEY_LENGTH
                    and all(" " <= ch <= "~" for ch in value))
    return True


@dataclass
class Actors:
    """Real tokens for one real federation built for the fuzz run, and real values for path
    parameters (see conftest.py)."""

    federation: Any
    by_audience: dict[str, str]
    path_values: dict[str, list[str]]  # path parameter name → real values

    def token_for(self, audiences: tuple[str, ...]) -> str | None:
        if not audiences:
            return None
        for audience in PREFERRED:
            if audience in audiences:
                return self.by_audience[audience]
        raise AssertionError(f"no caller for audiences {audiences}")


@dataclass
class Tally:
    """Operations, requests and time of the run, for the summary the run prints."""

    requests: Counter[str] = field(default_factory=Counter)  # per operation
    injected: Counter[str] = field(default_factory=Counter)  # per operation, hostile values
    real: Counter[str] = field(default_factory=Counter)  # per operation, real path values
    phases: Counter[str] = field(default_factory=Counter)
    statuses: Counter[int] = field(default_factory=Counter)
    seconds: Counter[str] = field(default_factory=Counter)  # per operation, wall time
    failures: list[dict[str, Any]] = field(default_factory=list)
    http_seconds: float = 0.0  # waiting for answers
    probed: dict[tuple[Any, ...], int] = field(default_factory=dict)  # → first case sent
    skipped: int = 0  # repeated probes not sent
    started: float | None = None
    ended: float | None = None
    key_prefix: str = field(default_factory=lambda: "fuzz-" + secrets.token_hex(4))
    keys: int = 0

    def fresh_key(self) -> str:
        self.keys += 1
        return f"{self.key_prefix}-{self.keys}"

    def begin(self) -> float:
        now = time.monotonic()
        if self.started is None:
            self.started = now
        return now

    def end(self, label: str, since: float) -> None:
        self.ended = time.monotonic()
        self.seconds[label] += self.ended - since

    def summary(self) -> list[str]:
        if not self.requests:
            return []
        total = sum(self.requests.values())
        wall = (self.ended or 0) - (self.started or 0)
        phases = ", ".join(f"{k} {v}" for k, v in sorted(self.phases.items()))
        statuses = ", ".join(f"{k}: {v}" for k, v in sorted(self.statuses.items()))
        slow = ", ".join(f"{k} {v:.1f}s" for k, v in self.seconds.most_common(5))
        lines = [f"fuzz: {len(self.requests)} operations, {total} requests in {wall:.1f} s "
                 f"({self.http_seconds:.1f} s waiting for answers; {phases}; "
                 f"{sum(self.injected.values())} with a hostile value, "
                 f"{sum(self.real.values())} with real path values; {self.skipped} repeated "
                 f"probes not sent)",
                 f"fuzz: statuses {statuses}",
                 f"fuzz: slowest {slow}"]
        if self.failures:
            lines.append(f"fuzz: {len(self.failures)} failures recorded")
        return lines


TALLY = Tally()
# Record failures in this JSON-lines file and go on, instead of failing at the first one
# (to list every distinct failure of a run; CI leaves it unset).
FINDINGS = os.environ.get("FLEXUNION_FUZZ_FINDINGS")
