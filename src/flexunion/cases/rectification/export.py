"""The quarter's list as CSV for Excel: UTF-8 with a BOM, Chinese headers, one row per item."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence

from flexunion.cases.rectification.schemas import ItemRead

HEADERS = ("季度", "整改项编号", "问题类别", "地点维度", "地点", "责任单位", "问题",
           "整改措施", "下一节点", "完成时限", "是否超期", "状态", "关联诉求数", "本季满意率",
           "上季满意率", "满意度趋势", "结转自")
TRENDS = {"up": "上升", "down": "下降", "flat": "持平", "unknown": "无评价"}


def _rate(value: float | None) -> str:
    return "" if value is None else f"{value * 100:.1f}%"


def csv_bytes(items: Sequence[ItemRead]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(HEADERS)
    for i in items:
        trend = i.trend
        writer.writerow((
            i.quarter, i.id, i.category.zh, i.dimension.zh, i.place,
            f"{i.owner.name}（{i.owner.code}）", i.problem, i.measure, i.next_node,
            i.next_due_on, "是" if i.overdue else "否", i.status.zh, len(i.cases or ()),
            _rate(trend.this_quarter.satisfied_rate) if trend else "",
            _rate(trend.last_quarter.satisfied_rate) if trend else "",
            TRENDS[trend.direction] if trend else "", i.carried_from or ""))
    return ("\ufeff" + out.getvalue()).encode("utf-8")
