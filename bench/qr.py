"""QR encoders side by side on a card as issued: median µs per QR code, one run, this machine.

    flock /tmp/bench.lock .venv/bin/python bench/qr.py [--repeat 200] [--slow-repeat 15]

The payload is a card signed as membership/cards/service.py signs it (PyJWT, EdDSA, the
card header and claims, a production-length issuer): ~720 characters of base64url, error
level M, a version 22 symbol (105 × 105 modules). Each row encodes it anew (no caching)
and checks the result reads back as exactly the token (zxing-cpp's reader on the matrix).

    segno (before)            segno.make + save(kind="svg"), the settings the card used
    segno, symbol only        segno.make (the eight masks scored in Python: most of it)
    zxing-cpp, symbol only    zxingcpp.create_barcode(…, ec_level="M") (libzint inside)
    zxing-cpp + qr.py SVG     the card's qr_svg(): the symbol, its matrix, one path (numpy)
    zxing-cpp + to_svg()      zxing-cpp's own SVG (a rectangle per run): size printed
    zxing-cpp + segno writer  the matrix through segno.writers.write_svg (same SVG as before)
    qrcode (python-qrcode)    QRCode(ERROR_CORRECT_M) + SvgPathImage
    qrcodegen (Nayuki)        QrCode.encode_text(…, Ecc.MEDIUM), symbol only
    zint-bindings             libzint directly: encode, symbol only

Optional encoders that are not installed are skipped (`pip install qrcode qrcodegen
zint-bindings` to see them); zxing-cpp is the project's, segno comes with its test extras.
Every one of these scores all eight masks by the ISO/IEC 18004 penalty rules unless told
otherwise (libzint's FAST_MODE, which scores four, is not used by zxing-cpp).

Then, for the question of drawing off the event loop: qr_svg() called directly, through
asyncio.to_thread, and two threads drawing at once against one (zxing-cpp holds the GIL
while it encodes, so a thread buys no parallelism).

Recorded 2026-12-02 (2 vCPUs shared with other engineers, under the bench lock; load
average ~1; Python 3.11, segno 1.6.6, zxing-cpp 3.1.1, qrcode 8.2, qrcodegen 1.8.0,
zint-bindings 1.2.2; a 723-character card), median µs per QR code:

    a card of 723 characters; SVG bytes: qr.py 18,200, segno before 17,519, zxing-cpp's
    to_svg() 42,536 (over 12 cards of tests/cards/test_qr.py: qr.py +1.0 % on segno)
      segno make + svg (before)              33,008 µs      1.0× segno
      segno make, symbol only                29,639 µs      1.1×
      zxing-cpp, symbol only                  2,144 µs     15.4×
      zxing-cpp + qr.py SVG (now)             2,493 µs     13.2×
      zxing-cpp + its to_svg()                9,651 µs      3.4×
      zxing-cpp + segno's SVG writer          5,150 µs      6.4×
      qrcode (python-qrcode) + svg           57,368 µs      0.6×
      qrcodegen (Nayuki), symbol only        64,661 µs      0.5×
      zint-bindings, symbol only              1,734 µs     19.0×
    drawing off the event loop:
      qr_svg() on the loop                    2,469 µs
      … through asyncio.to_thread             2,728 µs
      two threads drawing vs one               0.97× the rate (the GIL serialises them)

Not measured: fast-qr-py (Rust) needs Python ≥ 3.13; libqrencode's Python bindings
(fastqrcode, libqrencode-cffi) were last released in 2013–2015. zint-bindings is libzint
without zxing-cpp's wrapper (0.4 ms less), but a far smaller project, and zxing-cpp's
reader is what the tests decode with. Chosen: zxing-cpp (membership/cards/qr.py).
"""

from __future__ import annotations

import argparse
import asyncio
import io
import secrets
import statistics
import sys
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
for _path in (str(ROOT / "src"), str(ROOT)):
    if _path not in sys.path:
        sys.path.insert(0, _path)

import numpy as np  # noqa: E402
import zxingcpp  # noqa: E402

ISSUER = "https://api.flexunion.example"  # production-length: the card's size follows it


def card_token() -> str:
    import jwt
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from flexunion.membership.cards.service import CARD_TYPE

    now = int(time.time())
    hq = "acftu-ride"
    claims = {
        "iss": f"{ISSUER}/federations/{hq}", "sub": str(uuid.uuid4()), "name": "张**",
        "home": "sh-pudong-s03", "member_no": "SH-2026-0001234", "member_since": "2026-03-14",
        "status": {"status_list": {"idx": 123_456,
                                   "uri": f"{ISSUER}/v1/federations/{hq}/status-list"}},
        "iat": now, "nbf": now, "exp": now + 30 * 86400, "jti": secrets.token_urlsafe(12),
    }
    return jwt.encode(claims, Ed25519PrivateKey.generate(), algorithm="EdDSA",
                      headers={"kid": "card-" + secrets.token_urlsafe(8), "typ": CARD_TYPE})


def reads_back(dark: np.ndarray, token: str) -> None:
    image = np.where(np.pad(dark, 4), 0, 255).astype(np.uint8).repeat(3, 0).repeat(3, 1)
    found = zxingcpp.read_barcode(image, formats=zxingcpp.BarcodeFormat.QRCode)
    if found is None or found.text != token:
        raise SystemExit("a QR code did not read back as the token")


def median_us(fn: Callable[[], Any], repeat: int) -> float:
    fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e6


def candidates(token: str) -> list[tuple[str, Callable[[], Any], Callable[[Any], Any], bool]]:
    """(name, encode, its module matrix (True = dark) or None, slow)."""
    import segno

    from flexunion.membership.cards.qr import qr_matrix, qr_svg

    def segno_svg() -> Any:
        qr = segno.make(token, error="m", micro=False)
        out = io.BytesIO()
        qr.save(out, kind="svg", scale=4, border=4, xmldecl=False, svgclass=None,
                lineclass=None)
        return qr

    def zx() -> Any:
        return zxingcpp.create_barcode(token, zxingcpp.BarcodeFormat.QRCode, ec_level="M")

    def zx_matrix(symbol: Any) -> np.ndarray:
        return np.asarray(symbol.to_image(add_quiet_zones=False)) == 0

    def zx_segno_writer() -> None:
        import segno.writers

        dark = qr_matrix(token)
        rows = tuple(bytearray(row.astype(np.uint8).tobytes()) for row in dark)
        segno.writers.write_svg(rows, (len(rows), len(rows)), io.BytesIO(), scale=4, border=4,
                                xmldecl=False, svgclass=None, lineclass=None)

    def segno_matrix(qr: Any) -> np.ndarray:
        return np.array([list(row) for row in qr.matrix], dtype=np.uint8) == 1

    rows: list[tuple[str, Callable[[], Any], Callable[[Any], Any], bool]] = [
        ("segno make + svg (before)", segno_svg, segno_matrix, True),
        ("segno make, symbol only", lambda: segno.make(token, error="m", micro=False),
         segno_matrix, True),
        ("zxing-cpp, symbol only", zx, zx_matrix, False),
        ("zxing-cpp + qr.py SVG (now)", lambda: qr_svg(token), lambda _: qr_matrix(token),
         False),
        ("zxing-cpp + its to_svg()", lambda: zx().to_svg(scale=4), lambda _: None, False),
        ("zxing-cpp + segno's SVG writer", zx_segno_writer, lambda _: None, False),
    ]
    try:
        import qrcode
        import qrcode.image.svg

        def python_qrcode() -> Any:
            qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M,
                               image_factory=qrcode.image.svg.SvgPathImage)
            qr.add_data(token)
            qr.make(fit=True)
            qr.make_image().to_string()
            return qr

        def qrcode_matrix(qr: Any) -> np.ndarray:
            return np.array(qr.modules, dtype=bool)

        rows.append(("qrcode (python-qrcode) + svg", python_qrcode, qrcode_matrix, True))
    except ImportError:
        print("qrcode not installed: skipped", file=sys.stderr)
    try:
        import qrcodegen

        def nayuki() -> Any:
            return qrcodegen.QrCode.encode_text(token, qrcodegen.QrCode.Ecc.MEDIUM)

        def nayuki_matrix(qr: Any) -> np.ndarray:
            n = qr.get_size()
            return np.array([[qr.get_module(x, y) for x in range(n)] for y in range(n)])

        rows.append(("qrcodegen (Nayuki), symbol only", nayuki, nayuki_matrix, True))
    except ImportError:
        print("qrcodegen not installed: skipped", file=sys.stderr)
    try:
        import zint

        def libzint() -> Any:
            symbol = zint.Symbol()
            symbol.symbology = zint.Symbology.QRCODE
            symbol.option_1 = 2  # M
            symbol.encode(token)
            return symbol

        rows.append(("zint-bindings, symbol only", libzint, lambda _: None, False))
    except ImportError:
        print("zint-bindings not installed: skipped", file=sys.stderr)
    return rows


def off_the_loop(token: str, repeat: int) -> list[str]:
    from flexunion.membership.cards.qr import qr_svg

    async def timed(thread: bool) -> float:
        times = []
        for _ in range(repeat):
            start = time.perf_counter()
            if thread:
                await asyncio.to_thread(qr_svg, token)
            else:
                qr_svg(token)
            times.append(time.perf_counter() - start)
        return statistics.median(times) * 1e6

    direct = asyncio.run(timed(False))
    threaded = asyncio.run(timed(True))

    def draw(n: int) -> None:
        for _ in range(n):
            qr_svg(token)

    start = time.perf_counter()
    draw(2 * (repeat // 2))
    serial = time.perf_counter() - start
    pair = [threading.Thread(target=draw, args=(repeat // 2,)) for _ in range(2)]
    start = time.perf_counter()
    for t in pair:
        t.start()
    for t in pair:
        t.join()
    parallel = time.perf_counter() - start
    return [f"  qr_svg() on the loop                  {direct:8.0f} µs",
            f"  … through asyncio.to_thread           {threaded:8.0f} µs",
            f"  two threads drawing vs one            {serial / parallel:8.2f}× the rate "
            f"(1.00 = the GIL serialises them)"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=200, help="runs of each fast encoder")
    parser.add_argument("--slow-repeat", type=int, default=15, help="runs of pure Python ones")
    args = parser.parse_args()
    token = card_token()
    import segno

    from flexunion.membership.cards.qr import qr_svg

    own = zxingcpp.create_barcode(token, zxingcpp.BarcodeFormat.QRCode, ec_level="M")
    segnos = segno.make(token, error="m", micro=False).svg_inline(
        scale=4, border=4, svgclass=None, lineclass=None)
    print(f"a card of {len(token)} characters; SVG bytes: qr.py {len(qr_svg(token)):,}, "
          f"segno before {len(segnos):,}, zxing-cpp's to_svg() {len(own.to_svg(scale=4)):,}")
    before = None
    for name, encode, matrix, slow in candidates(token):
        dark = matrix(encode())
        if dark is not None:
            reads_back(dark, token)
        us = median_us(encode, args.slow_repeat if slow else args.repeat)
        before = before or us
        print(f"  {name:34s} {us:9.0f} µs   {before / us:6.1f}× segno")
    print("drawing off the event loop:")
    print("\n".join(off_the_loop(token, args.repeat)))


if __name__ == "__main__":
    main()
