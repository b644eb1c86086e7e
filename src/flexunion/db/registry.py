"""Every model's table in one metadata, for Alembic and the model/migration drift test.

The one module allowed to import every domain (the layering contracts in pyproject.toml
exempt it); nothing in the service imports it except operator commands that need every
table mapped."""

from flexunion.audit import models as _audit  # noqa: F401
from flexunion.auth import models as _auth  # noqa: F401
from flexunion.bargaining import models as _bargaining  # noqa: F401
from flexunion.consent import models as _consent  # noqa: F401
from flexunion.core import events as _events  # noqa: F401
from flexunion.core import idempotency_models as _idempotency  # noqa: F401
from flexunion.db.base import Base
from flexunion.federation import models as _federation  # noqa: F401
from flexunion.geo import models as _geo  # noqa: F401
from flexunion.membership import models as _membership  # noqa: F401
from flexunion.transfers import models as _transfers  # noqa: F401

metadata = Base.metadata
