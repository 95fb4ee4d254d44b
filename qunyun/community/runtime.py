"""What a merge or split must tell the running installation."""

from __future__ import annotations

from sqlalchemy.orm import Session

from qunyun.db.engine import after_commit
from qunyun.web.context import AppContext


def identities_changed(session: Session, ctx: AppContext) -> None:
    """After the commit, make the stream writer resolve people afresh: its ingestors
    remember which member each platform user is, and a merge or split changed that.

    Other worker processes drop what they remember within
    :data:`qunyun.platforms.ingress.CACHE_SECONDS`.
    """
    after_commit(session, ctx.stream_writer.forget_members)
