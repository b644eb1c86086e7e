"""周研判 page over HTTP (the browser test draws its map in chromium): signals computed by the
real weekly run — through the page's 重新计算 button — over planted cases; the list with value
against baseline and why; the map's GeoJSON with one point per placed signal (the station's
point, the zone's centroid) and the partner's signal listed beside it; a judgement refused
field by field and then recorded; a station officer sees its own station's signal and no run
button, another region nothing; the week picker — against the real app and database."""

from __future__ import annotations

import html
import re

import pytest

from tests.support.console import csrf_of, signed_in
from tests.support.factories import Federation
from tests.support.weekly import STATION_AT, plant_week

PAGE = "/console/cases/weekly-review"


def error(page: str, name: str) -> str:
    found = re.search(rf'id="{name}-error" role="alert">([^<]*)<', page)
    assert found, f"no error next to {name}"
    return html.unescape(found.group(1))


async def test_the_week_is_computed_listed_mapped_and_judged(
        live, owner, clock, federation: Federation) -> None:
    fed = federation
    r1, r2 = fed.regions
    station = fed.stations[r2][0]
    week = await plant_week(owner, fed, clock)
    async with signed_in(live.url, owner, r2, "regional_admin") as c:
        page = await c.get(PAGE, params={"week": week.code})
        assert page.status_code == 200, page.text
        assert 'data-testid="no-signals"' in page.text and 'data-testid="run"' in page.text
        assert 'data-testid="tab-weekly"' in page.text
        ran = await c.post(f"{PAGE}/run", data={"_csrf": csrf_of(page.text),
                                                 "week": week.code})
        assert ran.status_code == 303, ran.text
        assert ran.headers["location"] == f"{PAGE}?week={week.code}&done=run"

        page = await c.get(ran.headers["location"])
        rows = re.findall(r'data-signal="([0-9a-f-]{36})" data-kind="(\w+)" data-place="([^"]+)"'
                          r' data-judged="(\w+)"', page.text)
        assert {(k, p, j) for _, k, p, j in rows} == {
            ("cases", f"station/{station}", "no"), ("cases", "zone/z9", "no"),
            ("cases", "partner/beta", "no")}
        assert "前 4 周均值 0.0" in page.text and "<strong>6</strong> / 0.0" in page.text
        ids = {p: i for i, _, p, _ in rows}
        unplaced = re.findall(r'data-testid="unplaced-signal" data-signal="([^"]+)"', page.text)
        assert unplaced == [ids["partner/beta"]]

        geo = await c.get(f"{PAGE}/map.geojson", params={"week": week.code})
        assert geo.status_code == 200 and geo.headers["content-type"].startswith(
            "application/geo+json")
        points = {f["id"]: f["geometry"]["coordinates"] for f in geo.json()["features"]}
        assert points[ids[f"station/{station}"]] == list(STATION_AT)
        assert points[ids["zone/z9"]] == pytest.approx([121.42, 31.12])
        assert len(points) == 2
        assert {f["properties"]["fill"] for f in geo.json()["features"]} == {"#b42318"}

        # a judgement: every missing or bad field named next to it, then recorded
        target = ids["zone/z9"]
        path = f"{PAGE}/signals/{target}/judgement"
        csrf = csrf_of(page.text)
        refused = await c.post(path, data={"_csrf": csrf, "week": week.code,
                                           "judgement": "bogus", "action": "",
                                           "follow_up_node": "两周后复核",
                                           "follow_up_due": "12/21"})
        assert refused.status_code == 422
        assert error(refused.text, "judgement") == "请从列表中选择。"
        assert error(refused.text, "action") == "此项必填。"
        assert "2026-12-21" in error(refused.text, "follow_up_due")
        assert 'value="两周后复核"' in refused.text  # what was typed is kept
        done = await c.post(path, data={"_csrf": csrf, "week": week.code,
                                        "judgement": "system_flaw",
                                        "action": "约谈平台，核查片区派单规则",
                                        "follow_up_node": "两周后复核",
                                        "follow_up_due": "2026-12-21"})
        assert done.status_code == 303, done.text
        assert done.headers["location"] == f"{PAGE}?week={week.code}&done=judged#signal-{target}"
        page = await c.get(f"{PAGE}?week={week.code}&done=judged")
        assert 'data-place="zone/z9" data-judged="yes"' in page.text
        assert "制度瑕疵" in page.text and "约谈平台，核查片区派单规则" in page.text

        # no CSRF token: refused, nothing run
        assert (await c.post(f"{PAGE}/run", data={"week": week.code})).status_code == 403

        # the week picker: the week before has nothing and links forward; a bad week is 4xx
        before = week.previous()
        prev = await c.get(PAGE, params={"week": before.code})
        assert 'data-testid="no-signals"' in prev.text
        assert f'href="{PAGE}?week={week.code}" data-testid="next-week"' in prev.text
        assert f'href="{PAGE}?week={before.code}" data-testid="prev-week"' in page.text
        assert (await c.get(PAGE, params={"week": "2026-W54"})).status_code == 422

    async with signed_in(live.url, owner, station, "station_officer") as c:
        page = await c.get(PAGE, params={"week": week.code})
        assert page.status_code == 200, page.text
        kinds = re.findall(r'data-kind="(\w+)" data-place="([^"]+)"', page.text)
        assert kinds == [("cases", f"station/{station}")]
        assert 'data-testid="run-form"' not in page.text
        assert 'data-testid="tab-weekly"' in page.text
        ran = await c.post(f"{PAGE}/run", data={"_csrf": csrf_of(page.text),
                                                 "week": week.code})
        assert ran.status_code == 403
        assert "周研判由总部或地区工会运行" in ran.text

    async with signed_in(live.url, owner, r1, "regional_admin") as c:
        page = await c.get(PAGE, params={"week": week.code})
        assert 'data-testid="no-signals"' in page.text
        geo = await c.get(f"{PAGE}/map.geojson", params={"week": week.code})
        assert geo.json()["features"] == []
        other = await c.post(f"{PAGE}/signals/{target}/judgement", data={
            "_csrf": csrf_of(page.text), "week": week.code, "judgement": "individual",
            "action": "x", "follow_up_node": "y", "follow_up_due": "2026-12-21"})
        assert other.status_code == 404

    async with signed_in(live.url, owner, r2, "hotline_operator") as c:  # not their page
        assert (await c.get(PAGE, params={"week": week.code})).status_code == 404
        assert 'data-testid="tab-weekly"' not in (await c.get("/console/cases")).text
