"""The figures as CSV for Excel: UTF-8 with a BOM, CRLF, Chinese headers, one row per
handling unit and a 合计 row; an empty denominator's rate is an empty cell, not 0%."""

from __future__ import annotations

import csv
import io

from flexunion.cases.figures.schemas import Figures, FiguresRead

HEADERS = ("统计期", "办理单位编码", "办理单位", "受理件数", "按时响应件数", "应响应件数",
           "响应率", "已办结件数", "解决率", "满意", "基本满意", "评价数", "满意率",
           "按时办结件数", "办结计时件数", "按时办结率", "重启件数", "曾办结件数", "重启率",
           "督办件数")


def _rate(value: float | None) -> str:
    return "" if value is None else f"{value * 100:.1f}%"


def _cells(f: Figures) -> tuple[object, ...]:
    return (f.received, f.responded_on_time, f.response_judged, _rate(f.response_rate),
            f.closed, _rate(f.resolution_rate), f.satisfied, f.basically_satisfied, f.rated,
            _rate(f.satisfaction_rate), f.resolved_on_time, f.resolution_stopped,
            _rate(f.on_time_rate), f.reopened, f.ever_closed, _rate(f.reopen_rate),
            f.supervised)


def csv_bytes(read: FiguresRead) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(HEADERS)
    for u in read.units:
        writer.writerow((read.period, u.unit.code, u.unit.name_zh, *_cells(u)))
    writer.writerow((read.period, "", "合计", *_cells(read.total)))
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def filename(read: FiguresRead) -> str:
    return f"case-figures-{read.period}.csv"
