"""What the case routers share: the staff audience, the case id in a path, and the problem
descriptions the case steps answer with (docs/cases.md)."""

from __future__ import annotations

import uuid
from typing import Annotated

from litestar.params import PathParameter

from flexunion.config import AUDIENCE_ADMIN
from flexunion.core.context import ADMIN_ROLES, Role
from flexunion.core.http import access

CASE_STAFF = access(AUDIENCE_ADMIN, roles={*ADMIN_ROLES, Role.HOTLINE_OPERATOR})
CaseId = Annotated[uuid.UUID, PathParameter()]
STEP_404 = "case_not_found (also a case outside my scope)"
STEP_403 = "case_step_not_yours: another unit's step"
# Every step re-derives the case's SLA clocks: one the clock cannot take is refused too.
STEP_409 = "invalid_case_step, clock_step_refused"
