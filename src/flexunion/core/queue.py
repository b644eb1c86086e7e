"""Enqueueing a job from a domain, in the caller's transaction.

The job queue (`flexunion.jobs`) sits above the domains so that its jobs can call their
services; a domain that must queue work (the demand ledger's reminders, an event consumer)
calls `enqueue` here, and the jobs package installs the implementation at start-up
(`create_app()`, `flexunion worker`). The job row is written through the session's own
connection: a transaction that rolls back enqueues nothing."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable
from datetime import timedelta
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession


class Enqueue(Protocol):
    def __call__(self, session: AsyncSession, entrypoint_name: str,
                 payload: dict[str, Any] | None = None, *, federation_id: uuid.UUID | None,
                 dedupe_key: str | None = None,
                 delay: timedelta | None = None) -> Awaitable[int | None]: ...


_installed: list[Enqueue] = []


def install(implementation: Enqueue) -> None:
    """Called by flexunion.jobs at start-up; installing again replaces it."""
    _installed[:] = [implementation]


async def enqueue(session: AsyncSession, entrypoint: str, payload: dict[str, Any] | None = None,
                  *, federation_id: uuid.UUID | None, dedupe_key: str | None = None,
                  delay: timedelta | None = None) -> int | None:
    """Queue `entrypoint` for `federation_id` in the session's transaction: the job's id, or
    None when a job with the same `dedupe_key` is already waiting or running."""
    if not _installed:
        raise RuntimeError("the job queue is not installed (create_app() or `flexunion worker`"
                           " installs it)")
    return await _installed[0](session, entrypoint, payload, federation_id=federation_id,
                               dedupe_key=dedupe_key, delay=delay)


__all__ = ["Enqueue", "enqueue", "install"]
