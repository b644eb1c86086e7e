"""The federation's status list: bit packing exactly per draft-ietf-oauth-status-list,
each member status at its slot, caching (ETag, 304, max-age) and a change visible
within the 30 s in-process window."""

from __future__ import annotations

import uuid
import zlib
from datetime import UTC, datetime

import httpx
import pytest

from flexunion.core.clock import FixedClock
from flexunion.membership.cards import status_list
from tests.cards.conftest import (
    JOSERFC_EDDSA,
    card,
    joserfc_decode,
    member,
    set_status,
    status_idx,
    unb64,
)
from tests.support.factories import Federation, join

pytestmark = JOSERFC_EDDSA
FED = uuid.UUID(int=1)


def test_the_drafts_one_bit_example() -> None:
    """draft-ietf-oauth-status-list §4.1: 16 one-bit statuses → 0xB9 0xA3, lst eNrbuRgAAhcBXQ."""
    invalid = [0, 3, 4, 5, 7, 8, 9, 13, 15]
    raw = status_list.pack(((i, 1) for i in invalid), 16, bits=1)
    assert raw == bytes([0xB9, 0xA3])
    assert status_list.encode(raw) == "eNrbuRgAAhcBXQ"
    assert status_list.decode("eNrbuRgAAhcBXQ") == raw
    assert [status_list.status_at(raw, i, bits=1) for i in range(16)] == [
        int(i in invalid) for i in range(16)]


def test_two_bits_least_significant_first() -> None:
    # Slots 0..3 = 1, 2, 0, 3 → 0b11_00_10_01 = 0xC9; slot 5 = 3 → byte 1 bits 2–3.
    raw = status_list.pack([(0, 1), (1, 2), (3, 3), (5, 3)], 8)
    assert raw == bytes([0xC9, 0x0C])
    assert [status_list.status_at(raw, i) for i in range(8)] == [1, 2, 0, 3, 0, 3, 0, 0]
    with pytest.raises(IndexError):
        status_list.status_at(raw, 8)
    with pytest.raises(ValueError):
        status_list.pack([(0, 4)], 4)
    # lst is base64url (no padding) of a zlib stream (RFC 1950 around DEFLATE).
    lst = status_list.encode(raw)
    assert "=" not in lst and zlib.decompress(unb64(lst)) == raw
    assert status_list.decode(lst) == raw


def test_sizes_and_values() -> None:
    assert status_list.list_size(None) == 1024 and status_list.list_size(1023) == 1024
    assert status_list.list_size(1024) == 2048
    assert {s: status_list.status_value(s) for s in
            ("active", "suspended", "parked", "left", "rejected", "applicant")} == {
        "active": 0, "suspended": 2, "parked": 3, "left": 1, "rejected": 1, "applicant": 1}


def test_decode_refuses_a_zip_bomb() -> None:
    bomb = status_list.encode(bytes(64 * 1024 * 1024))
    with pytest.raises(ValueError):
        status_list.decode(bomb)


async def test_the_cache_follows_the_service_clock() -> None:
    clock = FixedClock(datetime(2026, 11, 24, tzinfo=UTC))
    cache = status_list.StatusListCache(clock)
    built: list[int] = []

    async def build(now: datetime) -> str:
        built.append(1)
        return f"token-{len(built)}"

    first = await cache.get(FED, build)
    clock.advance(seconds=29)
    assert await cache.get(FED, build) is first
    clock.advance(seconds=1)
    second = await cache.get(FED, build)
    assert second.token == b"token-2" and second.etag != first.etag
    clock.advance(seconds=-3600)  # a clock moved back never serves a list "from the future"
    assert (await cache.get(FED, build)).token == b"token-3"


async def read_list(client: httpx.AsyncClient, fed: Federation, **headers: str) -> httpx.Response:
    return await client.get(f"/v1/federations/{fed.hq}/status-list", headers=headers)


async def test_each_status_at_its_slot_verified_with_joserfc(
    client: httpx.AsyncClient, sms, federation: Federation, staff_token, owner, clock,
) -> None:
    region = federation.regions[0]
    members = {status: await member(client, sms, federation, staff_token, home=region,
                                    status=status)
               for status in ("active", "suspended", "parked", "left")}
    applicant = await join(client, sms, federation, region)
    clock.advance(seconds=31)  # past any list built before these members existed
    r = await read_list(client, federation)
    assert r.status_code == 200, r.text
    token = await joserfc_decode(client, federation, r.content)
    raw = status_list.decode(token.claims["status_list"]["lst"])
    expected = {"active": 0, "suspended": 2, "parked": 3, "left": 1}
    for status, joined in members.items():
        assert (status_list.status_at(raw, await status_idx(owner, joined.member_id))
                == expected[status])
    assert status_list.status_at(raw, await status_idx(owner, applicant.member_id)) == 1
    assert len(raw) * 4 % 1024 == 0 and status_list.status_at(raw, len(raw) * 4 - 1) == 0


async def test_etag_304_and_a_suspension_within_the_window(
    client: httpx.AsyncClient, sms, federation: Federation, staff_token, owner, clock,
) -> None:
    joined = await member(client, sms, federation, staff_token)
    idx = (await card(client, joined)) and await status_idx(owner, joined.member_id)
    admin = await staff_token(federation, "regional_admin", federation.regions[0])
    clock.advance(seconds=31)
    first = await read_list(client, federation)
    assert first.status_code == 200
    assert first.headers["cache-control"] == "public, max-age=30"
    etag = first.headers["etag"]
    assert etag.startswith('"') and not etag.startswith("W/")  # strong
    again = await read_list(client, federation, **{"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    assert again.headers["etag"] == etag and again.headers["cache-control"] == "public, max-age=30"
    assert (await read_list(client, federation,
                            **{"If-None-Match": '"other", ' + etag})).status_code == 304
    assert (await read_list(client, federation, **{"If-None-Match": '"other"'})).status_code == 200

    def slot(response: httpx.Response) -> int:
        import jwt

        claims = jwt.decode(response.content, options={"verify_signature": False})
        return status_list.status_at(status_list.decode(claims["status_list"]["lst"]), idx)

    assert slot(first) == 0
    await set_status(client, federation, staff_token, joined, "suspended", admin)
    # No waiting for a window: the instance keeps statuses in memory, told of the change at
    # commit, and the next list is rebuilt (off the event loop) from them — within
    # STATUS_BOUND of the change; clients may cache it for max-age 30 s more.
    fresh = await until_changed(client, federation, etag)
    assert fresh.headers["etag"] != etag and slot(fresh) == 2
    assert fresh.headers["cache-control"] == "public, max-age=30"
    await set_status(client, federation, staff_token, joined, "left", admin)
    assert slot(await until_changed(client, federation, fresh.headers["etag"])) == 1
    # Unchanged, the same list is served (and 304) until CACHE_SECONDS have passed.
    again = await read_list(client, federation)
    assert (await read_list(client, federation, **{"If-None-Match": again.headers["etag"]})
            ).status_code == 304


STATUS_BOUND = 1.0


async def until_changed(client: httpx.AsyncClient, fed: Federation, etag: str
                        ) -> httpx.Response:
    import asyncio
    import time

    started = time.monotonic()
    while True:
        r = await read_list(client, fed, **{"If-None-Match": etag})
        if r.status_code == 200:
            return r
        assert r.status_code == 304 and time.monotonic() - started < STATUS_BOUND
        await asyncio.sleep(0.01)


def test_the_packed_list_from_memory_is_the_list_from_rows() -> None:
    """holders.py's codes packed with numpy give the very bytes `pack` gives for the same
    statuses (every status, an empty slot, slots past the last member)."""
    import numpy as np

    from flexunion.membership.cards.holders import STATUS_CODES

    rng = np.random.default_rng(12)
    codes = rng.integers(0, len(STATUS_CODES), size=5000).astype(np.uint8)
    codes[4000:] = 0  # the arrays grow past the last member
    entries = [(i, STATUS_CODES[c]) for i, c in enumerate(codes.tolist()) if c]
    size = status_list.list_size(max(i for i, _ in entries))
    expected = status_list.pack(((i, status_list.status_value(s)) for i, s in entries), size)
    assert status_list.pack_codes(codes) == expected
    assert status_list.pack_codes(np.zeros(3000, np.uint8)) == bytes(256)
