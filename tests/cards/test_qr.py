"""The card's QR code (membership/cards/qr.py): it reads back as exactly the token, its SVG
paints exactly the symbol's modules, and its data mask is the one the penalty evaluation of
ISO/IEC 18004 (7.8.3) picks, not a fixed one — scored here by segno's own implementation of
the four rules, independent of the writer (libzint inside zxing-cpp)."""

from __future__ import annotations

import random
import re
import secrets
import string

import numpy as np
import pytest
import segno.encoder

from flexunion.membership.cards.qr import BORDER, SCALE, qr_matrix, qr_svg
from tests.cards.conftest import b64, read_qr, svg_modules

# A card as issued (header.claims.signature): ~720 characters, a version 22 symbol at M.
CARD = ".".join([
    b64(b'{"alg":"EdDSA","kid":"card-0mM_GoPDPP8","typ":"vnd.flexunion.member-card+jwt"}'),
    b64('{"iss":"https://api.flexunion.example/federations/acftu-ride","sub":'
        '"fd74641b-d2e6-4756-ba5d-ab2b45b0f18f","name":"张**","home":"sh-pudong-s03",'
        '"member_no":"SH-2026-0001234","member_since":"2026-03-14","status":{"status_list":'
        '{"idx":123456,"uri":"https://api.flexunion.example/v1/federations/acftu-ride/'
        'status-list"}},"iat":1796244141,"nbf":1796244141,"exp":1798836141,'
        '"jti":"WC-h6A7VUtaqFOPx"}'.encode()),
    b64(bytes(range(64))),
])


def payloads(count: int, seed: int = 18004) -> list[str]:
    """Cards of varied lengths and contents (base64url, as a compact JWS is), fixed by seed."""
    rng = random.Random(seed)
    alphabet = string.ascii_letters + string.digits + "-_."
    return [CARD] + ["".join(rng.choice(alphabet) for _ in range(rng.randint(40, 900)))
                     for _ in range(count - 1)]


@pytest.mark.parametrize("data", [CARD, "x", secrets.token_urlsafe(600), CARD[:300]])
def test_the_svg_reads_back_as_exactly_the_data(data: str) -> None:
    svg = qr_svg(data)
    modules = qr_matrix(data)
    n = modules.shape[0]
    drawn = svg_modules(svg)
    size = n + 2 * BORDER
    assert drawn.shape == (size, size)
    assert f'width="{size * SCALE}" height="{size * SCALE}"' in svg
    # The quiet zone is light and the rest is the symbol, module for module.
    assert np.array_equal(drawn[BORDER:-BORDER, BORDER:-BORDER], modules)
    assert not drawn[:BORDER].any() and not drawn[-BORDER:].any()
    assert not drawn[:, :BORDER].any() and not drawn[:, -BORDER:].any()
    scanned = read_qr(drawn)
    assert scanned.text == data and scanned.ec_level == "M"
    if data == CARD:
        assert scanned.extra["Version"] == "22"


def test_the_svg_is_one_path_as_compact_as_segnos() -> None:
    svg = qr_svg(CARD)
    assert re.fullmatch(r'<svg [^>]*viewBox="0 0 113 113"><path stroke="#000" d="[^"]*"/></svg>\n',
                        svg)
    # What segno drew before (same scale, quiet zone and path form): ~17.5 KB either way —
    # a card's own size moves by a few % with the mask each picks — where zxing-cpp's own
    # to_svg() (a rectangle per run, absolute) is about twice that.
    cards = payloads(12)
    now = sum(len(qr_svg(data)) for data in cards)
    before = sum(len(segno.make(data, error="m", micro=False).svg_inline(
        scale=SCALE, border=BORDER, svgclass=None, lineclass=None)) for data in cards)
    assert now <= before * 1.02, (now, before)


def penalty(modules: np.ndarray) -> int:
    """ISO/IEC 18004:2015 7.8.3 (rules N1–N4) by segno's implementation."""
    matrix = tuple(bytearray(row.astype(np.uint8).tobytes()) for row in modules)
    return int(segno.encoder.evaluate_mask(matrix, len(matrix), len(matrix)))


def test_the_data_mask_is_chosen_by_the_penalty_rules() -> None:
    """For each payload: the eight masked symbols (the writer's mask forced to 0–7) are
    distinct and say their own mask; the symbol drawn is one of them, the one that scores
    lowest — or within 1 % of it: implementations read rule N3's light margin at the edge
    of the symbol a little differently, so a near-tie can go either way. A fixed mask, or
    one picked without scoring, fails: the chosen masks vary and stay at the minimum."""
    import zxingcpp

    chosen_masks, exact = [], 0
    for data in payloads(12):
        symbols = []
        for mask in range(8):
            forced = zxingcpp.create_barcode(data, zxingcpp.BarcodeFormat.QRCode,
                                             ec_level="M", data_mask=mask)
            symbols.append(np.asarray(forced.to_image(add_quiet_zones=False)) == 0)
            assert read_qr(np.pad(symbols[-1], BORDER)).extra["DataMask"] == mask
        assert len({s.tobytes() for s in symbols}) == 8
        chosen = qr_matrix(data)
        mask = next(k for k, s in enumerate(symbols) if np.array_equal(s, chosen))
        scores = [penalty(s) for s in symbols]
        assert scores[mask] <= min(scores) * 1.01, (data[:20], mask, scores)
        assert scores[mask] < sorted(scores)[4], (mask, scores)  # better than most
        exact += scores[mask] == min(scores)
        chosen_masks.append(mask)
    assert len(set(chosen_masks)) >= 3, chosen_masks
    assert exact >= 10, (exact, chosen_masks)
