"""Chinese first, English second: the language a page speaks, chosen by a cookie the
language switch sets (zh by default), and Beijing time for every date shown."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

LANG_COOKIE = "flexunion_lang"
LANGS = ("zh", "en")
BEIJING = ZoneInfo("Asia/Shanghai")


def lang_of(cookies: dict[str, str]) -> str:
    lang = cookies.get(LANG_COOKIE, "zh")
    return lang if lang in LANGS else "zh"


@dataclass(frozen=True, slots=True)
class Speaker:
    """`t(zh, en)` in templates and pages: the text in the page's language."""

    lang: str

    def __call__(self, zh: str, en: str) -> str:
        return en if self.lang == "en" else zh

    def of(self, obj: Any, field: str = "name") -> str:
        """`name_zh`/`name_en` (or `<field>_zh`/`_en`) of a row, in the page's language."""
        zh = getattr(obj, f"{field}_zh", None)
        en = getattr(obj, f"{field}_en", None)
        return str(en if self.lang == "en" and en else zh or en or "")

    def problem(self, exc: Any) -> str:
        """A domain error's detail (or title) in the page's language."""
        if self.lang == "en":
            return str(exc.detail_en or exc.title_en)
        return str(exc.detail or exc.title)


def beijing(value: datetime | date | str | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A time as Beijing reads it (dates stay as they are; an ISO string, as a read schema
    carries it, is read first)."""
    if value is None:
        return "—"
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if isinstance(value, datetime):
        return value.astimezone(BEIJING).strftime(fmt)
    return value.strftime("%Y-%m-%d")
