"""JSON logs, one object per line, with the request id; personal data never logged.

The access log is the one line every request writes, so it has a cheap path: once
`configure()` has installed the JSON handler, `access_line()` formats the line itself (the
same fields, in the same order, as the JSON formatter would give a `flexunion.access`
record) and queues it; the lines queued during one turn of the event loop go out in one
write at the end of that turn (at once outside a loop, and at exit). Whenever anything else
listens to the access logger (a handler or filter added to it or to the root logger, a test's
log capture, a level above INFO), it logs a standard record instead, as every other logger
does."""

from __future__ import annotations

import asyncio
import atexit
import json
import logging
import sys
import threading
import time
from datetime import UTC, datetime

import msgspec

_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName",
                                                     "color_message"}  # uvicorn's ANSI copy
ACCESS_LOGGER = "flexunion.access"
access_log = logging.getLogger(ACCESS_LOGGER)


def _timestamp(created: float) -> str:
    return datetime.fromtimestamp(created, UTC).isoformat(timespec="milliseconds")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        from flexunion.core.request_id import current_request_id

        entry = {
            "ts": _timestamp(record.created),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        request_id = current_request_id.get()
        if request_id:
            entry["request_id"] = request_id
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def _json_str(value: str) -> str:
    """A JSON string as json.dumps(..., ensure_ascii=False) writes it; the common case (no
    quote, backslash or control character) without an encoder call."""
    if value.isprintable() and '"' not in value and "\\" not in value:
        return f'"{value}"'
    try:
        return msgspec.json.encode(value).decode()
    except UnicodeEncodeError:  # a lone surrogate: escaped, as the stream could not write it
        return json.dumps(value)


_Line = tuple[float, str, str, str, int, float]  # time, request id, method, path, status, ms


class AccessWriter:
    """The access log's cheap path (see the module docstring), bound to the handler
    `configure()` installed."""

    MAX_PENDING = 512  # lines; written at once beyond this
    FLUSH_SECONDS = 0.05  # the longest a line waits for its write

    def __init__(self, handler: logging.StreamHandler) -> None:  # type: ignore[type-arg]
        self.handler = handler
        self._pending: list[_Line] = []
        self._lock = threading.Lock()
        self._second = -1
        self._second_text = ""

    def usable(self) -> bool:
        """True while the JSON handler is the only one that would see an access record."""
        root = logging.root
        handlers = root.handlers
        return (len(handlers) == 1 and handlers[0] is self.handler and not access_log.handlers
                and access_log.propagate and not access_log.filters and not root.filters
                and not self.handler.filters and not access_log.disabled
                and access_log.isEnabledFor(logging.INFO))

    def _ts(self, now: float) -> str:
        second = int(now)
        if second != self._second:
            self._second = second
            self._second_text = datetime.fromtimestamp(second, UTC).strftime("%Y-%m-%dT%H:%M:%S")
        return f"{self._second_text}.{int((now - second) * 1000):03d}+00:00"

    def line(self, request_id: str, method: str, path: str, status: int,
             duration_ms: float) -> None:
        """Queue one line; it is formatted when written, with the others of its batch."""
        with self._lock:
            self._pending.append((time.time(), request_id, method, path, status, duration_ms))
            count = len(self._pending)
        if count >= self.MAX_PENDING:
            self.flush()
        elif count == 1:
            try:
                asyncio.get_running_loop().call_later(self.FLUSH_SECONDS, self.flush)
            except RuntimeError:  # no loop running here: write now
                self.flush()

    def _format(self, pending: list[_Line]) -> str:
        ts = self._ts
        return "".join([
            f'{{"ts": "{ts(now)}", "level": "info", "logger": "{ACCESS_LOGGER}", '
            f'"msg": "request", "request_id": {_json_str(request_id)}, '
            f'"method": {_json_str(method)}, "path": {_json_str(path)}, '
            f'"status": {int(status)}, "duration_ms": {float(duration_ms)!r}}}\n'
            for now, request_id, method, path, status, duration_ms in pending])

    def flush(self) -> None:
        with self._lock:
            pending, self._pending = self._pending, []
        if not pending:
            return
        handler = self.handler
        handler.acquire()
        try:
            handler.stream.write(self._format(pending))
            handler.flush()
        except Exception:  # as logging does: a failed write never fails the request
            handler.handleError(logging.makeLogRecord({"msg": "access log write failed"}))
        finally:
            handler.release()


_writer: AccessWriter | None = None


def access_line(request_id: str, method: str, path: str, status: int, seconds: float) -> None:
    """One access line: request id, method, route path, status, duration."""
    duration_ms = round(seconds * 1000, 2)
    writer = _writer
    if writer is not None and writer.usable():
        writer.line(request_id, method, path, status, duration_ms)
    elif access_log.isEnabledFor(logging.INFO):
        access_log.info("request", extra={"request_id": request_id, "method": method,
                                          "path": path, "status": status,
                                          "duration_ms": duration_ms})


# What starting up says (migrations, the embedded server, the Dask cluster): useful when
# something is wrong, noise on every operator command.
SETUP_LOGGERS = ("alembic", "pgserver", "flexunion.db.embedded", "distributed")


def configure(level: str = "INFO", *, quiet_setup: bool = False) -> None:
    """JSON lines on stderr at `level`; `quiet_setup` keeps SETUP_LOGGERS to warnings."""
    global _writer
    if _writer is not None:
        _writer.flush()
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    _writer = AccessWriter(handler)
    for noisy in ("uvicorn.access",):
        logging.getLogger(noisy).disabled = True
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    for name in SETUP_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING if quiet_setup else logging.NOTSET)


@atexit.register
def _flush_at_exit() -> None:
    if _writer is not None:
        _writer.flush()


def mask_phone(e164: str) -> str:
    """+8613812345678 → 138****5678."""
    digits = e164[3:] if e164.startswith("+86") else e164.lstrip("+")
    if len(digits) < 7:
        return "*" * len(digits)
    return digits[:3] + "*" * (len(digits) - 7) + digits[-4:]
