"""A stored census run as files an admin can open: CSV (Excel-friendly), GeoJSON, a PNG map.

The map is a choropleth of coverage % (members / roster workers) per zone, zones without
workers hatched grey. Labels are Chinese first when a CJK font is installed (found
through fontconfig, `fc-list :lang=zh`); without one, Chinese would print as empty boxes
(tofu), so the map is labelled in English only.
"""

from __future__ import annotations

import csv
import functools
import io
import subprocess
import threading
from typing import Any

import shapely
from shapely.geometry import shape

from flexunion.geo.crs import Crs, geometry_from_wgs84

CSV_COLUMNS = ("zone_code", "name_zh", "name_en", "kind", "tenant", "platform", "workers",
               "members", "coverage_pct", "members_in_contact", "contact_pct",
               "effective_coverage_pct", "stations", "stations_per_1000_workers", "area_km2")
KIND_LABELS = {"delivery_zone": ("配送片区", "delivery zone"),
               "jurisdiction": ("工会辖区", "jurisdiction")}
_PLOT_LOCK = threading.Lock()  # matplotlib's font cache and rcParams are process-global


def zones_csv(zones: list[dict[str, Any]]) -> bytes:
    """UTF-8 with a byte-order mark, so that Excel shows the Chinese names; empty cells for
    percentages without a denominator."""
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for z in zones:
        writer.writerow(["" if z.get(c) is None else z.get(c) for c in CSV_COLUMNS])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def zones_geojson(zones: list[dict[str, Any]], crs: Crs, run_id: str) -> dict[str, Any]:
    """A FeatureCollection of the zones with their figures as properties, in `crs`."""
    features = []
    for z in zones:
        geom = geometry_from_wgs84(shape(z["geometry"]), crs)
        features.append({"type": "Feature", "id": z["zone_code"],
                         "properties": {c: z.get(c) for c in CSV_COLUMNS},
                         "geometry": shapely.geometry.mapping(geom)})
    return {"type": "FeatureCollection", "features": features,
            "flexunion:crs": crs.value, "flexunion:census_run": run_id}


@functools.cache
def cjk_font() -> str | None:
    """The family name of an installed font with Chinese glyphs, if matplotlib can use it."""
    try:
        listed = subprocess.run(["fc-list", ":lang=zh", "family", "file"], capture_output=True,
                                text=True, timeout=10, check=False).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    from matplotlib import font_manager

    for line in listed.splitlines():
        path, _, families = line.partition(":")
        path = path.strip()
        if not path or not families.strip():
            continue
        try:
            font_manager.fontManager.addfont(path)
            return font_manager.FontProperties(fname=path).get_name()
        except (OSError, RuntimeError, ValueError):
            continue
    return None


def map_png(zones: list[dict[str, Any]], *, kind: str, scope: str, as_of: str,
            chinese: bool | None = None) -> bytes:
    """The choropleth as PNG bytes (matplotlib's Agg backend, no display needed). Delivery
    zones of different platforms overlap, so each platform gets its own panel."""
    import geopandas
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import Normalize
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch

    font = cjk_font() if chinese is not False else None
    zh = font is not None
    kind_zh, kind_en = KIND_LABELS.get(kind, (kind, kind))
    when = as_of[:16].replace("T", " ") + " UTC"
    title = (f"{scope} {kind_zh}会员覆盖率 Member coverage % by {kind_en}" if zh
             else f"{scope}: member coverage % by {kind_en}")
    subtitle = (f"会员数 ÷ 花名册从业人数 members / roster workers · 截至 as of {when}" if zh
                else f"members / roster workers · as of {when}")
    panels: dict[str | None, list[dict[str, Any]]] = {}
    for z in zones:
        panels.setdefault(z.get("platform") if kind == "delivery_zone" else None, []).append(z)
    if not panels:
        panels[None] = []
    values = [z["coverage_pct"] for z in zones if z.get("coverage_pct") is not None]
    norm = Normalize(vmin=0, vmax=max([100.0, *values]))
    cols = min(len(panels), 3)
    rows = -(-len(panels) // cols)
    with _PLOT_LOCK:
        import matplotlib

        with matplotlib.rc_context({"font.family": [font, "DejaVu Sans"] if zh
                                    else ["DejaVu Sans"], "axes.unicode_minus": False}):
            fig = Figure(figsize=(6.5 * cols + 1.5, 6 * rows + 1), dpi=110, layout="constrained")
            FigureCanvasAgg(fig)
            axes = fig.subplots(rows, cols, squeeze=False).ravel()
            for ax, (platform, group) in zip(axes, panels.items(), strict=False):
                _panel(ax, geopandas, group, norm, zh)
                if platform is not None:
                    ax.set_title(f"平台 platform: {platform}" if zh else f"platform: {platform}",
                                 fontsize=10)
            for ax in axes[len(panels):]:
                ax.set_axis_off()
            fig.colorbar(ScalarMappable(norm=norm, cmap="YlGn"), ax=list(axes), shrink=0.6,
                         label="覆盖率 coverage %" if zh else "coverage %")
            fig.legend(handles=[Patch(facecolor="#eeeeee", edgecolor="#999999", hatch="///",
                                      label="无从业者 no workers" if zh else "no workers")],
                       loc="lower left", fontsize=8, frameon=False)
            fig.suptitle(title + "\n" + subtitle, fontsize=11)
            buf = io.BytesIO()
            fig.savefig(buf, format="png")
    return buf.getvalue()


def _panel(ax: Any, geopandas: Any, zones: list[dict[str, Any]], norm: Any, zh: bool) -> None:
    if not zones:
        ax.text(0.5, 0.5, "没有区域 no zones" if zh else "no zones", ha="center",
                transform=ax.transAxes)
        ax.set_axis_off()
        return
    frame = geopandas.GeoDataFrame(
        {"coverage": [z.get("coverage_pct") for z in zones]},
        geometry=[shape(z["geometry"]) for z in zones], crs=4326)
    frame["coverage"] = frame["coverage"].astype(float)
    frame.plot(ax=ax, column="coverage", cmap="YlGn", norm=norm, edgecolor="#555555",
               linewidth=0.6, missing_kwds={"color": "#eeeeee", "hatch": "///",
                                            "edgecolor": "#999999"})
    for point, z in zip(frame.geometry.representative_point(), zones, strict=True):
        ax.annotate(_label(z), (point.x, point.y), ha="center", va="center", fontsize=7)
    ax.set_xlabel("经度 longitude (WGS84)" if zh else "longitude (WGS84)", fontsize=8)
    ax.set_ylabel("纬度 latitude" if zh else "latitude", fontsize=8)
    ax.tick_params(labelsize=7)
    ax.set_aspect("equal", adjustable="datalim")


def _label(z: dict[str, Any]) -> str:
    pct = "–" if z.get("coverage_pct") is None else f"{z['coverage_pct']:.0f}%"
    return f"{z['zone_code']}\n{pct} ({z['members']}/{z['workers']})"
