"""争议处置's code lists (Chinese label first, English second): the kinds, the evidence slots
and each kind's checklist, the ladder, the hand-over targets, and which case categories a
dispute of each kind may be opened from. Migration 0030 holds frozen copies of the codes."""

from __future__ import annotations

from dataclasses import dataclass

Labels = dict[str, tuple[str, str]]

KINDS: Labels = {
    "unpaid_pay": ("欠薪", "Unpaid pay"),
    "social_insurance": ("欠保", "Social insurance not paid"),
    "overtime": ("超时", "Working time beyond the negotiated maximum"),
    "protection": ("职业防护", "Occupational protection"),
    "penalty": ("罚款/扣分", "Fines and demerit points"),
    "deactivation": ("封号/限单", "Deactivation or order restriction"),
    "work_injury": ("工伤", "Work injury"),
}

SLOTS: Labels = {
    "attendance": ("考勤/接单记录", "Attendance or order records"),
    "payroll": ("工资表/收入明细", "Payroll or income statement"),
    "insurance": ("参保记录", "Social insurance records"),
    "job_notice": ("岗位告知/规则公示", "Job notice or published rules"),
    "site": ("现场资料", "Site materials (photos, inspection notes)"),
    "platform_notice": ("平台通知截图", "Screenshots of the platform's notices"),
    "contract": ("协议/合同", "Agreement or contract"),
    "appeal": ("申诉记录", "Appeal record"),
    "medical": ("诊断证明/医疗记录", "Medical certificate or records"),
    "accident": ("事故经过/证人证言", "Account of the accident, witness statements"),
}


@dataclass(frozen=True)
class Checklist:
    required: tuple[str, ...]
    optional: tuple[str, ...]

    @property
    def slots(self) -> tuple[str, ...]:
        return self.required + self.optional


# 固定证据: what each kind needs before the ladder may go past 提示 (paper 3.3: 考勤, 工资表,
# 参保记录, 岗位告知 and 作业现场资料; for the platform kinds its notices and rules).
CHECKLISTS: dict[str, Checklist] = {
    "unpaid_pay": Checklist(("attendance", "payroll"), ("contract", "platform_notice")),
    "social_insurance": Checklist(("insurance", "contract"), ("payroll",)),
    "overtime": Checklist(("attendance", "job_notice"), ("platform_notice", "payroll")),
    "protection": Checklist(("job_notice", "site"), ("platform_notice",)),
    "penalty": Checklist(("platform_notice", "job_notice"), ("attendance", "appeal")),
    "deactivation": Checklist(("platform_notice", "attendance"), ("appeal", "job_notice")),
    "work_injury": Checklist(("medical", "accident"), ("attendance", "site", "insurance")),
}

# The case categories (cases/ledger/codes.py) a dispute of each kind may be opened from.
# 法律咨询 may turn out to be any dispute; a worker's app case of these categories may be
# opened as one by staff (the worker asks, the union decides).
CATEGORIES: dict[str, frozenset[str]] = {
    "unpaid_pay": frozenset({"wage_arrears", "wage_distribution", "commission"}),
    "social_insurance": frozenset({"social_insurance"}),
    "overtime": frozenset({"leave_scheduling", "overtime_judgement", "dispatch"}),
    "protection": frozenset({"labour_protection", "women_protection"}),
    "penalty": frozenset({"fines_points", "appeal_review", "overtime_judgement"}),
    "deactivation": frozenset({"account_ban", "appeal_review", "dispatch"}),
    "work_injury": frozenset({"work_injury", "labour_protection"}),
}
ANY_KIND = frozenset({"legal_advice"})

# The ladder, in order: no step may be skipped.
STEPS: Labels = {
    "reminder": ("提示", "Reminder to the platform"),
    "consultation": ("会商", "Consultation"),
    "letter": ("发函", "Formal letter"),
    "review": ("整改复核", "Correction review"),
    "handover": ("衔接", "Hand-over"),
}
LADDER = tuple(STEPS)

# The platform's deadlines in a dispute, as the 督办 list labels their escalation (the SLA
# sweep, cases/disputes/sweep.py; a clock's metrics are cases/clocks/rules.py METRICS).
DEADLINES: Labels = {
    "platform_reply": ("平台书面答复", "Platform's written reasons"),
    "evidence_request": ("平台调取证据", "Evidence requested from the platform"),
}

REFERRALS: Labels = {
    "superior_union": ("上级工会", "Superior union"),
    "labour_inspection": ("劳动监察", "Labour inspection"),
    "arbitration": ("劳动争议仲裁", "Labour dispute arbitration"),
}

# 算法决定: kinds whose subject is a platform's (often automated) decision about a worker — it
# owes its written reasons by a deadline (settings.cases.platform_reply_days) and the union
# reviews them by a human (docs/disputes.md). Migration 0033 freezes OUTCOMES.
ALGORITHMIC = frozenset({"penalty", "deactivation"})
OUTCOMES: Labels = {
    "upheld": ("维持", "Upheld"),
    "reversed": ("撤销", "Reversed"),
    "compensated": ("补偿", "Compensated"),
}

# 分类处置: after sorting the cause (原因研判), one resolution path; each schedules a 回访.
CAUSES: Labels = {
    "system_flaw": ("制度瑕疵", "Flaw in the rules"),
    "execution_deviation": ("执行偏差", "Deviation in carrying them out"),
    "individual": ("个案争议", "Individual dispute"),
}
PATHS: Labels = {
    "explanation": ("释法答疑", "Explaining the law"),
    "mediation": ("内部调解", "Internal mediation"),
    "settlement": ("和解协议", "Settlement agreement"),
    "transfer": ("分流转办", "Transferred to the competent body"),
}
KEPT: Labels = {
    "kept": ("已履行", "Kept"),
    "broken": ("未履行", "Broken"),
}

SUPPLIERS: Labels = {
    "worker": ("劳动者", "Worker"),
    "cadre": ("工会干部", "Union cadre"),
    "partner": ("平台企业", "Platform"),
}


def next_step(current: str | None) -> str | None:
    """The step after `current` (None: not started → 提示); None after 衔接."""
    if current is None:
        return LADDER[0]
    i = LADDER.index(current)
    return LADDER[i + 1] if i + 1 < len(LADDER) else None


def kind_fits(kind: str, category: str) -> bool:
    return category in ANY_KIND or category in CATEGORIES[kind]
