"""Every model's table in one metadata, for Alembic and the model/migration drift test.

The one module allowed to import every domain (the layering contracts in pyproject.toml
exempt it); nothing in the service imports it except operator commands that need every
table mapped."""

from flexunion.audit import models as _audit  # noqa: F401
from flexunion.auth import models as _auth  # noqa: F401
from flexunion.bargaining.ballots import models as _ballots  # noqa: F401
from flexunion.bargaining.board import models as _board  # noqa: F401
from flexunion.bargaining.evidence import models as _evidence  # noqa: F401
from flexunion.bargaining.participation import models as _participation  # noqa: F401
from flexunion.bargaining.reports import models as _reports  # noqa: F401
from flexunion.bargaining.rounds import models as _rounds  # noqa: F401
from flexunion.calendars import models as _calendars  # noqa: F401
from flexunion.cases.attachments import models as _case_attachments  # noqa: F401
from flexunion.cases.clocks import models as _case_clocks  # noqa: F401
from flexunion.cases.disputes import models as _case_disputes  # noqa: F401
from flexunion.cases.followup import models as _case_followup  # noqa: F401
from flexunion.cases.ledger import models as _cases  # noqa: F401
from flexunion.cases.policies import models as _case_policies  # noqa: F401
from flexunion.cases.rectification import models as _rectification  # noqa: F401
from flexunion.cases.referrals import models as _referrals  # noqa: F401
from flexunion.cases.weekly import models as _weekly  # noqa: F401
from flexunion.consent import models as _consent  # noqa: F401
from flexunion.contracts.agreements import models as _agreements  # noqa: F401
from flexunion.contracts.checkpoints import models as _checkpoints  # noqa: F401
from flexunion.contracts.rules import models as _platform_rules  # noqa: F401
from flexunion.contracts.templates import models as _clause_templates  # noqa: F401
from flexunion.core import events as _events  # noqa: F401
from flexunion.core import idempotency_models as _idempotency  # noqa: F401
from flexunion.db.base import Base
from flexunion.federation import models as _federation  # noqa: F401
from flexunion.geo import models as _geo  # noqa: F401
from flexunion.geo.areas import models as _areas  # noqa: F401
from flexunion.geo.census import models as _census  # noqa: F401
from flexunion.geo.checkins import models as _checkins  # noqa: F401
from flexunion.geo.stations import models as _stations  # noqa: F401
from flexunion.inbox import models as _inbox  # noqa: F401
from flexunion.membership import models as _membership  # noqa: F401
from flexunion.services.applications import models as _service_applications  # noqa: F401
from flexunion.services.assistance import models as _assistance  # noqa: F401
from flexunion.services.catalogue import models as _service_catalogue  # noqa: F401
from flexunion.services.events import models as _platform_events  # noqa: F401
from flexunion.services.groups import models as _service_groups  # noqa: F401
from flexunion.transfers import models as _transfers  # noqa: F401

metadata = Base.metadata
