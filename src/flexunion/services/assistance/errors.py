"""The assistance ledger's refusals (each a stable code: docs/services.md, docs/api.md)."""

from __future__ import annotations

from flexunion.core.errors import Conflict, Forbidden, InvalidInput, NotFound


class CaseNotFound(NotFound):
    code = "assistance_case_not_found"
    title, title_en = "未找到该帮扶件", "Assistance case not found"


class StepNotAllowed(Conflict):
    code = "assistance_step_not_allowed"
    title, title_en = "帮扶件当前环节不能办理此步骤", "Step not allowed at this stage"


class RoleNotAllowed(Forbidden):
    code = "assistance_role_not_allowed"
    title, title_en = "你的角色不能办理此环节", "Your role cannot take this step"


class SamePerson(Conflict):
    code = "assistance_same_person"
    title, title_en = "核实须由受理人以外的第二人办理", "Verification needs a second person"


class DecisionIncomplete(InvalidInput):
    code = "assistance_decision_incomplete"
    title, title_en = "会商结论不完整", "Committee decision incomplete"


class YearlyCap(Conflict):
    code = "assistance_yearly_cap"
    title, title_en = "超出会员年度帮扶总额上限", "Member's yearly total cap exceeded"


class BudgetExceeded(Conflict):
    code = "assistance_budget_exceeded"
    title, title_en = "经费科目余额不足", "Budget line exhausted"


class OverApproved(Conflict):
    code = "assistance_over_approved"
    title, title_en = "发放金额超过会商同意金额", "Grant above the approved amount"


class UnknownBudgetLine(InvalidInput):
    code = "assistance_budget_line_unknown"
    title, title_en = "没有该经费科目", "No such budget line"


def no_such_case() -> CaseNotFound:
    return CaseNotFound("没有这个帮扶件，或不在你的管辖范围内。", "No such assistance case.")
