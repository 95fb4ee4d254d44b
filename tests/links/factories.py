"""Links made straight in the database, for tests of what reads them."""

from __future__ import annotations

from typing import Any

from qunyun.db.engine import Database
from qunyun.links.models import Link
from qunyun.links.slugs import slug_key


def make_link(
    db: Database, slug: str, target: str = "https://example.com/page", **fields: Any
) -> int:
    with db.transaction() as session:
        link = Link(community_id=1, slug=slug, slug_key=slug_key(slug), target_url=target, **fields)
        session.add(link)
        session.flush()
        return link.id
