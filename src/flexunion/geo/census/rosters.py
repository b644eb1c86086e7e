"""Reading and checking a partner roster (花名册), without the database.

A roster is checked whole before anything is written: every row's problems are collected
(the first `MAX_ERRORS` are reported, with row numbers) and one bad row refuses the
upload. Personal data must not come in: a `worker_ref` that looks like a phone number or a
resident ID number is refused, and only ASCII pseudonyms pass. Coordinates come back in
WGS84. Storing it, and filing each entry under the tenant owning its place, is the
service's (service.py, counting.py).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from typing import Any

import msgspec

from flexunion.core.errors import InvalidInput, MalformedRequest
from flexunion.geo.census.schemas import RosterCreate, RosterRowError
from flexunion.geo.crs import AbsurdCoordinate, Crs, to_wgs84

MAX_BYTES = 20 * 1024 * 1024
MAX_ERRORS = 50
BATCH = 20_000
CSV_COLUMNS = ("worker_ref", "platform", "lon", "lat", "zone_code", "active_days")
CSV_REQUIRED = ("worker_ref", "active_days")

_REF = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:=/+-]{0,63}\Z")
_PLATFORM = re.compile(r"[a-z0-9][a-z0-9_.-]{0,31}\Z")
_DIGIT_RUNS = re.compile(r"\d+[Xx]?")
_MOBILE = re.compile(r"(?:0{0,2}86)?1[3-9]\d{9}\Z")
_SERVICE_NO = re.compile(r"[48]00\d{7}\Z")
_SEPARATORS = re.compile(r"[\s\-.()/]")


@dataclass(slots=True)
class Checked:  # a roster that passed every check, as columns (WGS84)
    refs: list[str] = field(default_factory=list)
    platforms: list[str] = field(default_factory=list)
    lons: list[float | None] = field(default_factory=list)
    lats: list[float | None] = field(default_factory=list)
    zones: list[str | None] = field(default_factory=list)
    days: list[int] = field(default_factory=list)


class RosterRejected(InvalidInput):
    code, title, title_en = "roster_invalid", "花名册未通过校验", "Roster rejected"


_UNREADABLE = object()  # a CSV cell already reported as not a number


def personal_data_kind(ref: str) -> str | None:
    """'phone' or 'resident ID number' when the reference looks like one, else None."""
    from stdnum.cn import ric

    compact = _SEPARATORS.sub("", ref)
    runs = set(_DIGIT_RUNS.findall(ref))
    if compact.lstrip("+").isdigit():
        runs.add(compact.lstrip("+"))
    for run in runs:
        if len(run) == 18 and ric.is_valid(run.upper()):
            return "resident ID number"
        digits = run.rstrip("Xx")
        if _MOBILE.match(digits) or _SERVICE_NO.match(digits):
            return "phone number"
    if compact.startswith(("0", "+86")) and compact.lstrip("+").isdigit():
        import phonenumbers

        try:
            if phonenumbers.is_valid_number(phonenumbers.parse(compact, "CN")):
                return "phone number"
        except phonenumbers.NumberParseException:
            pass
    return None


class RowErrors:
    def __init__(self, csv_lines: bool) -> None:
        self.items: list[RosterRowError] = []
        self.count = 0
        self.csv_lines = csv_lines

    def add(self, row: int, code: str, message: str, field_: str | None = None) -> None:
        self.count += 1
        if len(self.items) < MAX_ERRORS:
            self.items.append(RosterRowError(row=row, code=code, message=message, field=field_,
                                             line=row + 1 if self.csv_lines else None))

    def raise_if_any(self) -> None:
        if self.count:
            raise RosterRejected(
                f"花名册中有 {self.count} 处问题，未保存任何内容；前 {len(self.items)} 处列在 "
                "`errors` 中（行号从 1 起数从业者）。",
                f"{self.count} problem(s) in the roster; nothing was stored. The first "
                f"{len(self.items)} are listed in `errors` (row numbers count workers from 1).",
                extra={"errors": [msgspec.to_builtins(e) for e in self.items],
                       "error_count": self.count})


# ---- reading the body ----------------------------------------------------------------------
Row = tuple[object, object, object, object, object, object]  # ref, platform, lon, lat, zone, days


def parse_json(body: bytes) -> tuple[Crs, list[Row]]:
    try:
        roster = msgspec.json.decode(body, type=RosterCreate)
    except msgspec.ValidationError as exc:
        message = str(exc)
        found = re.search(r"\$\.workers\[(\d+)\](?:\.(\w+))?", message)
        errors = RowErrors(csv_lines=False)
        if found:
            errors.add(int(found.group(1)) + 1, "value_invalid", message, found.group(2))
            errors.raise_if_any()
        raise RosterRejected(f"花名册格式有误：{message}", message,
                             extra={"errors": [], "error_count": 1}) from exc
    except msgspec.DecodeError as exc:
        raise MalformedRequest("请求体不是有效的 JSON。",
                               "The request body is not valid JSON.") from exc
    return roster.crs, [(w.worker_ref, w.platform, w.lon, w.lat, w.zone_code, w.active_days)
                        for w in roster.workers]


def parse_csv(body: bytes) -> tuple[list[Row | None], RowErrors]:
    """Rows of a CSV roster, converted; type problems are reported like every other."""
    try:
        content = body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidInput("CSV 文件不是 UTF-8 编码，请另存为“CSV UTF-8”。",
                           "The CSV file is not UTF-8 text; save it as CSV UTF-8.",
                           code="csv_encoding_invalid") from exc
    reader = csv.reader(io.StringIO(content, newline=""))
    try:
        header = [h.strip().lower() for h in next(reader, [])]
    except csv.Error as exc:
        raise InvalidInput(f"无法读取 CSV 表头：{exc}", f"The CSV header cannot be read: {exc}",
                           code="csv_header_invalid") from exc
    unknown = [h for h in header if h not in CSV_COLUMNS]
    missing = [h for h in CSV_REQUIRED if h not in header]
    if not header or unknown or missing or len(set(header)) != len(header):
        raise InvalidInput(
            f"第一行须为表头 {','.join(CSV_COLUMNS)}（worker_ref 与 active_days 必填，列序不限）。"
            f"未知列：{unknown or '-'}；缺少：{missing or '-'}。",
            f"The first line must be the header {','.join(CSV_COLUMNS)} (worker_ref and "
            f"active_days required; columns in any order). Unknown: {unknown or '-'}; "
            f"missing: {missing or '-'}.", code="csv_header_invalid")
    where = {name: header.index(name) if name in header else None for name in CSV_COLUMNS}
    errors = RowErrors(csv_lines=True)
    rows: list[Row | None] = []
    for n, values in enumerate(_lines(reader), start=1):
        if isinstance(values, csv.Error):
            errors.add(n, "csv_row_malformed", f"unreadable CSV: {values}")
            rows.append(None)
            break
        if not any(v.strip() for v in values):
            continue  # blank lines (a trailing newline, an empty spreadsheet row)
        if len(values) != len(header):
            errors.add(n, "csv_row_malformed",
                       f"{len(values)} fields where the header has {len(header)}")
            rows.append(None)
            continue
        cell = {name: (values[i].strip() or None) if i is not None else None
                for name, i in where.items()}
        lon = _number(cell["lon"], n, "lon", errors)
        lat = _number(cell["lat"], n, "lat", errors)
        days_raw = cell["active_days"]
        days: object = None
        if days_raw is None or not re.fullmatch(r"\d{1,3}", days_raw):
            errors.add(n, "active_days_invalid", "active_days must be a whole number 0–366",
                       "active_days")
        else:
            days = int(days_raw)
        rows.append((cell["worker_ref"] or "", cell["platform"], lon, lat, cell["zone_code"],
                     days))
    return rows, errors


def _lines(reader: Any) -> Iterator[list[str] | csv.Error]:
    try:
        yield from reader
    except csv.Error as exc:  # a broken quote or a huge field: the rest cannot be read
        yield exc


def _number(raw: str | None, row: int, name: str, errors: RowErrors) -> object:
    try:
        return None if raw is None else float(raw)
    except ValueError:
        errors.add(row, "coordinate_invalid", f"{name} is not a number", name)
        return _UNREADABLE


# ---- checking ------------------------------------------------------------------------------
def check_rows(rows: list[Row | None], crs: Crs, partner_code: str,
               zone_codes: Collection[str], errors: RowErrors | None = None) -> Checked:
    """Every row checked; all-or-nothing. Coordinates come back in WGS84. `None` rows were
    unreadable (their problem is already in `errors`)."""
    if not rows:
        raise InvalidInput("花名册中没有从业者。", "The roster has no workers.",
                           code="roster_empty")
    errors = errors or RowErrors(csv_lines=False)
    out = Checked()
    first_row: dict[str, int] = {}
    for n, row in enumerate(rows, start=1):
        if row is None:
            continue
        ref, platform, lon, lat, zone, days = row
        ref = str(ref)
        kind = personal_data_kind(ref)
        if kind:
            errors.add(n, "worker_ref_personal_data", f"worker_ref looks like a {kind}: send "
                       "the platform's pseudonym, never personal data", "worker_ref")
        elif not _REF.match(ref):
            errors.add(n, "worker_ref_invalid", "worker_ref must be 1–64 of A-Z a-z 0-9 "
                       ". _ : = / + - (a pseudonym, starting with a letter or digit)",
                       "worker_ref")
        elif ref in first_row:
            errors.add(n, "worker_ref_duplicate",
                       f"worker_ref repeats row {first_row[ref]}", "worker_ref")
        else:
            first_row[ref] = n
        if platform is not None and not _PLATFORM.match(str(platform)):
            errors.add(n, "platform_invalid", "platform must be 1–32 of a-z 0-9 _ . -",
                       "platform")
        # (days None: a CSV row already said so)
        if days is not None and (not isinstance(days, int) or not 0 <= days <= 366):
            errors.add(n, "active_days_invalid", "active_days must be 0–366", "active_days")
        if zone is not None and zone not in zone_codes:
            errors.add(n, "zone_unknown", f"zone_code {zone!r} is not a delivery zone of "
                       f"{partner_code}", "zone_code")
        wlon = wlat = None
        if lon is _UNREADABLE or lat is _UNREADABLE:
            pass
        elif (lon is None) != (lat is None):
            errors.add(n, "location_incomplete", "give both lon and lat, or neither",
                       "lon" if lon is None else "lat")
        elif isinstance(lon, int | float) and isinstance(lat, int | float):
            try:
                if float(lon) == 0.0 and float(lat) == 0.0:
                    raise AbsurdCoordinate("(0, 0) is a failed GPS fix, not a work place")
                wlon, wlat = to_wgs84(float(lon), float(lat), crs)
            except AbsurdCoordinate as exc:
                errors.add(n, "coordinate_out_of_range", str(exc), "lon")
        elif zone is None:
            errors.add(n, "location_missing", "give lon and lat, or a zone_code", "zone_code")
        out.refs.append(ref)
        out.platforms.append(str(platform) if platform is not None else partner_code)
        out.lons.append(wlon)
        out.lats.append(wlat)
        out.zones.append(str(zone) if zone is not None else None)
        out.days.append(days if isinstance(days, int) else 0)  # refused below if not an int
    errors.raise_if_any()
    return out
