"""The card's QR code: the signed token as a QR code (ISO/IEC 18004, error level M), drawn
as one SVG path.

The symbol comes from zxing-cpp's writer (libzint inside): it chooses the segment modes
and the version, and evaluates all eight data masks by the standard's four penalty rules
(N1–N4), keeping the lowest. That takes ~2 ms of C for a card (~720 characters, version 22)
where segno's pure-Python evaluation of the masks took ~30 ms (bench/qr.py measures both
side by side). It holds the GIL, so it runs on the event loop: a thread would add its hop
and win nothing.

The SVG takes segno's form, written here from the module matrix (~0.3 ms with numpy; segno's
writer takes ~2.8 ms, zxing-cpp's own is twice the bytes): `SCALE` pixels per module, a
`BORDER`-module quiet zone, one stroked path of horizontal runs (a run of dark modules is
`h<length>`; a row's first run is reached with an absolute move, the next ones with relative
moves), ~17 KB for a card, and a viewBox so it scales. No background: light modules are
transparent, as before.
"""

from __future__ import annotations

import functools

import numpy as np
import zxingcpp

ERROR_LEVEL = "M"
SCALE = 4  # pixels per module in width/height (the viewBox is in modules)
BORDER = 4  # the quiet zone, in modules (ISO/IEC 18004: at least 4)


def qr_matrix(data: str) -> np.ndarray:
    """The symbol's modules without the quiet zone, True where dark."""
    symbol = zxingcpp.create_barcode(data, zxingcpp.BarcodeFormat.QRCode, ec_level=ERROR_LEVEL)
    dark: np.ndarray = np.asarray(symbol.to_image(scale=1, add_quiet_zones=False)) == 0
    return dark


@functools.lru_cache(maxsize=4)
def _runs(n: int) -> np.ndarray:
    """"m{gap} 0h{length}" for every gap and length up to `n`: the path's words, written once
    per symbol size (a card is version 20–23), picked by index below."""
    return np.array([[f"m{gap} 0h{length}" for length in range(n + 1)] for gap in range(n + 1)],
                    dtype=object)


def svg_of(dark: np.ndarray, scale: int = SCALE, border: int = BORDER) -> str:
    """An SVG drawing `dark` (a square boolean matrix) as one path of horizontal runs."""
    n = dark.shape[1]
    # A run starts where a row steps from light to dark and ends where it steps back.
    edges = np.diff(np.pad(dark.astype(np.int8), ((0, 0), (1, 1))), axis=1)
    rows, starts = np.nonzero(edges == 1)
    ends = np.nonzero(edges == -1)[1]
    first = np.ones(len(rows), dtype=bool)  # a row's first run
    first[1:] = rows[1:] != rows[:-1]
    gaps = np.zeros_like(starts)  # from the previous run's end, in the same row
    gaps[1:] = starts[1:] - ends[:-1]
    gaps[first] = 0
    parts = _runs(n)[gaps, ends - starts]
    for i in np.flatnonzero(first).tolist():  # an absolute move to its left end, mid-module
        parts[i] = f"M{starts[i] + border} {rows[i] + border}.5h{ends[i] - starts[i]}"
    size = n + 2 * border
    pixels = size * scale
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{pixels}" height="{pixels}" '
            f'viewBox="0 0 {size} {size}"><path stroke="#000" d="{"".join(parts.tolist())}"/>'
            '</svg>\n')


def qr_svg(data: str) -> str:
    """The QR code of `data` as an SVG document."""
    return svg_of(qr_matrix(data))
