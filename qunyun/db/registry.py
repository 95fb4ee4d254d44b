"""Every feature's models, imported so the metadata is complete (for Alembic and tests)."""

from qunyun.accounts import models as _accounts  # noqa: F401
from qunyun.community import models as _community  # noqa: F401
from qunyun.db.base import Base
from qunyun.entry import models as _entry  # noqa: F401
from qunyun.imports import models as _imports  # noqa: F401
from qunyun.links import models as _links  # noqa: F401
from qunyun.livecodes import models as _livecodes  # noqa: F401
from qunyun.moderation import models as _moderation  # noqa: F401
from qunyun.platforms import models as _platforms  # noqa: F401
from qunyun.stream import models as _stream  # noqa: F401
from qunyun.visits import models as _visits  # noqa: F401

metadata = Base.metadata
