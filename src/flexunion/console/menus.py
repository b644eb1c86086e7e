"""Which menus exist, for which roles: a menu a role cannot use is not shown (and its pages
answer 404 to that role, as a missing page would)."""

from __future__ import annotations

from dataclasses import dataclass

from flexunion.core.context import Role

HQ, REGION, STATION = Role.HQ_ADMIN, Role.REGIONAL_ADMIN, Role.STATION_OFFICER
HOTLINE = Role.HOTLINE_OPERATOR  # 12351 话务员: the demand ledger only
ALL = frozenset({HQ, REGION, STATION})
UNIONS = frozenset({HQ, REGION})
LEDGER = ALL | {HOTLINE}


@dataclass(frozen=True, slots=True)
class Menu:
    key: str
    path: str
    zh: str
    en: str
    roles: frozenset[Role]


MENUS = (
    Menu("dashboard", "/console/", "待办", "To do", ALL),
    Menu("members", "/console/members", "会员", "Members", ALL),
    Menu("transfers", "/console/transfers", "接转", "Transfers", UNIONS),
    Menu("organisation", "/console/organisation", "组织", "Organisation", ALL),
    Menu("stations", "/console/stations", "驿站", "Stations", ALL),
    Menu("areas", "/console/areas", "服务区域", "Service areas", UNIONS),
    Menu("census", "/console/census", "摸清底数", "Census", UNIONS),
    Menu("cases", "/console/cases", "需求台账", "Demand ledger", LEDGER),
    Menu("assistance", "/console/assistance", "帮扶台账", "Assistance ledger", ALL),
    Menu("board", "/console/board", "协商清单", "Agenda board", UNIONS),
    Menu("rules", "/console/rules", "平台规则", "Platform rules", ALL),
    Menu("groups", "/console/service-groups", "分类清单", "Service groups", ALL),
    Menu("service_triggers", "/console/service-triggers", "触发规则", "Trigger rules", ALL),
    Menu("review", "/console/service-review", "月度复盘", "Monthly review", ALL),
    Menu("contracts", "/console/contracts", "协议条款", "Agreements", UNIONS),
    Menu("compliance", "/console/compliance", "合规核查", "Compliance run", UNIONS),
    Menu("service_window", "/console/service-window", "服务窗口", "Service window", ALL),
    Menu("service_catalogue", "/console/service-catalogue", "服务目录", "Service catalogue", ALL),
    Menu("cards", "/console/cards", "会员卡核验", "Card check", ALL),
    Menu("audit", "/console/audit", "审计", "Audit", UNIONS),
)
BY_KEY = {m.key: m for m in MENUS}


def menus_for(role: Role) -> list[Menu]:
    return [m for m in MENUS if role in m.roles]


def allows(key: str, role: Role) -> bool:
    return role in BY_KEY[key].roles
