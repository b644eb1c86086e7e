"""The ledger's code lists, each code with its Chinese label first and its English second.
The migration (0015) holds frozen copies of the channel, status, route and tier codes."""

from __future__ import annotations

Labels = dict[str, tuple[str, str]]

# The paper's seven (工资分配 … 子女托管) and the platform workers' eleven.
CATEGORIES: Labels = {
    "wage_distribution": ("工资分配", "Wage distribution"),
    "leave_scheduling": ("休假排班", "Leave and scheduling"),
    "labour_protection": ("劳动防护", "Labour protection"),
    "housing_commute": ("住宿通勤", "Housing and commuting"),
    "skills_promotion": ("技能晋升", "Skills and promotion"),
    "women_protection": ("女职工特殊保护", "Special protection of women workers"),
    "childcare": ("子女托管", "Childcare"),
    "dispatch": ("派单", "Order dispatch"),
    "commission": ("抽成", "Commission"),
    "overtime_judgement": ("超时判定", "Late-delivery judgement"),
    "appeal_review": ("申诉复核", "Appeal review"),
    "fines_points": ("罚款扣分", "Fines and demerit points"),
    "account_ban": ("封号", "Account suspension"),
    "wage_arrears": ("欠薪", "Unpaid wages"),
    "social_insurance": ("社保", "Social insurance"),
    "work_injury": ("工伤", "Work injury"),
    "legal_advice": ("法律咨询", "Legal advice"),
    "hardship_aid": ("困难帮扶", "Hardship assistance"),
}
PLATFORM_CATEGORIES = frozenset(list(CATEGORIES)[7:])

CHANNELS: Labels = {
    "app": ("App 提交", "Worker app"),
    "station": ("现场受理", "Station walk-in"),
    "visit": ("走访", "Cadre visit"),
    "hotline": ("12351 热线", "12351 hotline (operator)"),
    "hotline_platform": ("12351 工单平台", "12351 hotline platform (work order)"),
    "qr_suggestion": ("意见收集二维码", "Anonymous suggestion (QR code)"),
    "followup": ("回访发现", "New problem found at a follow-up"),
    "contract_breach": ("协议核验违约", "Agreement clause breached at a checkpoint"),
}
# Who may enter which channel: staff enter walk-ins, visits and calls.
STAFF_CHANNELS = ("station", "visit", "hotline")

TAGS: Labels = {
    "night_shift": ("夜班", "Night shift"),
    "heat_outdoor": ("高温外勤", "Outdoor work in heat"),
    "crowdsourced_dedicated": ("众包/专送", "Crowdsourced / dedicated"),
    "seasonal": ("季节性", "Seasonal"),
    "subcontracted": ("外协", "Subcontracted"),
}

TIERS: Labels = {
    "general": ("一般", "General"),
    "difficult": ("难点", "Difficult"),
    "complex": ("特别复杂", "Especially complex"),
}

ROUTES: Labels = {
    "instant": ("即时答复", "Instant answer (same working day)"),
    "coordinate": ("限期协调", "Coordination within a deadline (3–5 working days)"),
    "bargaining": ("集体协商", "Collective bargaining (agenda board)"),
    "policy": ("政策释明", "Policy explanation"),
}
# 限期协调: working days by complexity tier (the paper's 3–5).
COORDINATION_DAYS = {"general": 3, "difficult": 4, "complex": 5}

STATUSES: Labels = {
    "received": ("已受理", "Received"),
    "assigned": ("已派单", "Assigned"),
    "accepted": ("办理中", "Accepted, in handling"),
    "returned": ("已退单", "Returned"),
    "answered": ("已答复", "Answered"),
    "merged": ("已并单", "Merged into another case"),
    "followed_up": ("跟进中", "Followed up, next node pending"),
    "closed": ("已办结", "Closed"),
    "reopened": ("已重启", "Reopened by the worker"),
}
# Cases no longer in handling: answered (waiting for its follow-up), merged, closed.
ENDED = frozenset({"answered", "merged", "closed"})
OPEN = frozenset(STATUSES) - ENDED

# 回访复核: the three states of a follow-up; only 已解决 closes the case.
OUTCOMES: Labels = {
    "resolved": ("已解决", "Resolved"),
    "in_progress": ("阶段推进", "In progress"),
    "hard": ("暂难解决", "Hard to resolve for now"),
}
RATINGS: Labels = {
    "satisfied": ("满意", "Satisfied"),
    "basically_satisfied": ("基本满意", "Basically satisfied"),
    "dissatisfied": ("不满意", "Dissatisfied"),
}

ASSIGNMENT_STATUSES: Labels = {
    "assigned": ("待接单", "Assigned"),
    "accepted": ("已接单", "Accepted"),
    "answered": ("已反馈", "Feedback given"),
    "returned": ("已退单", "Returned"),
    "reassigned": ("已改派", "Reassigned"),
    "closed": ("已结束", "Closed"),
}

# What each case_events kind is called on a timeline (the steps, and the rows that are no step).
EVENTS: Labels = {
    "intake": ("受理", "Received"),
    "route": ("分流", "Routed"),
    "assign": ("派单", "Assigned"),
    "accept": ("接单", "Accepted"),
    "return": ("退单", "Returned"),
    "reassign": ("改派", "Reassigned"),
    "answer": ("答复", "Answered"),
    "merge": ("并单", "Merged"),
    "merged_from": ("并入一条诉求", "A case merged in"),
    "feedback": ("协办反馈", "Feedback"),
    "evidence": ("上传证据", "Evidence added"),
    "close": ("回访办结", "Followed up: closed"),
    "follow_up": ("回访跟进", "Followed up: still open"),
    "reopen": ("重启", "Reopened"),
    "rate": ("满意度评价", "Rated"),
    "pause": ("暂停计时", "Clocks paused"),
    "resume": ("恢复计时", "Clocks resumed"),
    "extension_request": ("申请延期", "Extension asked"),
    "extension_decision": ("审批延期", "Extension decided"),
    # Written by the SLA sweep (cases/clocks/sweep.py); no clock reads them (clocks/rules.py).
    "reminder": ("临期提醒", "Deadline reminder"),
    "escalation": ("超期升级", "Escalated: deadline passed"),
    # Written by the case-follow-transfer job (cases/moves/): the case followed the worker's
    # transfer to another region; no clock reads it (clocks/rules.py): elapsed time is kept.
    "moved": ("随转会移交", "Moved with the worker's transfer"),
    # 争议处置 (cases/disputes/): the dispute opened on the case, and each rung of its ladder.
    "dispute": ("立为争议", "Opened as a dispute"),
    "dispute_step": ("争议处置", "Dispute step"),
    # Written by a trigger when a referral's provider records its receipt (migration 0041:
    # cases/provider_desk/); no clock reads it (clocks/rules.py).
    "referral_receipt": ("机构回执", "Provider's receipt"),
}

# Why staff read a case their scope does not hold (case_sight.reason, migrations 0029 / 0045):
# read only, never a step.
SIGHTS: Labels = {
    "moved": ("只读 · 原办理工会（随转会移交）", "Read only: it handled the case before it moved"),
    "home": ("只读 · 会员所属工会", "Read only: the member's home union"),
}
