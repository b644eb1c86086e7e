"""The API docs UIs under /schema load nothing from another host: every script, stylesheet
and icon their pages name is served by the app itself from the package, so they work
offline and where the public CDNs are blocked."""

from __future__ import annotations

import re
import tomllib
from fnmatch import fnmatch
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import httpx
from litestar import Litestar
from litestar.routes import HTTPRoute

from tests.support.server import LiveServer

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "flexunion"
CSS_URL = re.compile(r"""url\(\s*['"]?([^'")\s]+)|@import\s+(?:url\()?\s*['"]?([^'");\s]+)""")
CONTENT_TYPES = {".js": ("text/javascript", "application/javascript"), ".css": ("text/css",),
                 ".png": ("image/png",), ".svg": ("image/svg+xml",)}


class References(HTMLParser):
    """The URLs a page makes the browser fetch: src/href attributes, and url()/@import in
    its <style> elements and style attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if value and name in ("src", "href"):
                self.urls.append(value.strip())
            elif value and name == "style":
                self.urls += css_urls(value)
        self._in_style = tag == "style"

    def handle_endtag(self, tag: str) -> None:
        self._in_style = False

    def handle_data(self, data: str) -> None:
        if self._in_style:
            self.urls += css_urls(data)


def css_urls(css: str) -> list[str]:
    return [a or b for a, b in CSS_URL.findall(css)]


def fetched(url: str) -> bool:
    """Whether the browser goes to the network for it (not data:, blob:, a fragment)."""
    return not url.startswith(("data:", "blob:", "#", "about:", "javascript:"))


def schema_pages(app: Litestar) -> list[str]:
    """Every HTML page mounted under /schema (without path parameters)."""
    pages = set()
    for route in app.routes:
        if not isinstance(route, HTTPRoute) or "{" in route.path:
            continue
        if route.path != "/schema" and not route.path.startswith("/schema/"):
            continue
        for handler in route.route_handlers:
            if "GET" in handler.http_methods and handler.media_type == "text/html":
                pages.add(route.path)
    return sorted(pages)


def assert_same_host(base: str, url: str, where: str) -> str:
    absolute = urljoin(base, url)
    assert urlsplit(absolute).netloc == urlsplit(base).netloc, (
        f"{where} loads {url!r} from another host")
    assert not url.startswith(("http://", "https://", "//")), f"{where}: {url!r} names a host"
    return absolute


async def test_docs_pages_load_nothing_from_another_host(client: httpx.AsyncClient,
                                                        live: LiveServer) -> None:
    app = live.server.config.app
    assert isinstance(app, Litestar)
    pages = schema_pages(app)
    assert {"/schema", "/schema/redoc", "/schema/swagger"} <= set(pages), pages
    assets: dict[str, str] = {}
    for page in pages:
        response = await client.get(page)
        assert response.status_code == 200, (page, response.status_code)
        assert response.headers["content-type"].startswith("text/html")
        parser = References()
        parser.feed(response.text)
        for url in filter(fetched, parser.urls):
            assets[assert_same_host(str(response.url), url, page)] = page

    # The pages do use the shipped copies.
    paths = {urlsplit(url).path for url in assets}
    assert {"/schema-assets/redoc/redoc.standalone.js", "/schema-assets/swagger-ui/swagger-ui.css",
            "/schema-assets/swagger-ui/swagger-ui-bundle.js",
            "/schema-assets/swagger-ui/swagger-ui-standalone-preset.js"} <= paths, paths

    for url, page in assets.items():
        response = await client.get(url)
        assert response.status_code == 200, (page, url, response.status_code)
        suffix = Path(urlsplit(url).path).suffix
        content_type = response.headers["content-type"].split(";")[0].strip()
        assert content_type in CONTENT_TYPES[suffix], (url, content_type)
        assert len(response.content) == int(response.headers["content-length"])
        if suffix == ".css":  # and the stylesheets fetch nothing from elsewhere either
            for inner in filter(fetched, css_urls(response.text)):
                absolute = assert_same_host(url, inner, url)
                assert (await client.get(absolute)).status_code == 200, absolute


async def test_no_ui_is_mounted_that_would_load_from_a_cdn(client: httpx.AsyncClient) -> None:
    for page in ("/schema/rapidoc", "/schema/elements", "/schema/scalar"):
        assert (await client.get(page)).status_code == 404, page


async def test_the_openapi_document_is_where_it_was(client: httpx.AsyncClient) -> None:
    document = await client.get("/schema/openapi.json")
    assert document.status_code == 200
    assert document.headers["content-type"].startswith("application/vnd.oai.openapi+json")
    assert document.json()["openapi"].startswith("3.")
    assert "/schema-assets/{file_path}" not in document.json()["paths"]
    assert (await client.get("/schema/openapi.yaml")).status_code == 200


async def test_the_licences_ship_beside_the_assets(client: httpx.AsyncClient) -> None:
    for ui in ("redoc", "swagger-ui"):
        licence = await client.get(f"/schema-assets/{ui}/LICENSE")
        assert licence.status_code == 200 and "License" in licence.text, ui


def test_a_wheel_carries_the_assets() -> None:
    """Every file under static/ matches a package-data pattern (setuptools leaves out the
    rest of a package's non-Python files)."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    patterns = config["tool"]["setuptools"]["package-data"]["flexunion"]
    files = [p.relative_to(PACKAGE).as_posix() for p in (PACKAGE / "static").rglob("*")
             if p.is_file()]
    assert files
    left_out = [f for f in files if not any(fnmatch(f, pattern) for pattern in patterns)]
    assert left_out == [], left_out
