"""The redirect's two database calls: load a link's snapshot, consume one capped visit."""

from __future__ import annotations

from sqlalchemy import select, update

from qunyun.db.base import utcnow
from qunyun.db.engine import Database
from qunyun.links.models import Link
from qunyun.links.snapshot import LinkSnapshot
from qunyun.links.urls import append_utm


def snapshot_of(link: Link) -> LinkSnapshot:
    return LinkSnapshot(
        id=link.id,
        community_id=link.community_id,
        slug=link.slug,
        location=append_utm(
            link.target_url,
            source=link.utm_source,
            medium=link.utm_medium,
            campaign=link.utm_campaign,
            term=link.utm_term,
            content=link.utm_content,
        ),
        redirect_status=link.redirect_status,
        enabled=link.is_enabled,
        deleted=link.deleted_at is not None,
        expires_at=link.expires_at.timestamp() if link.expires_at else None,
        max_visits=link.max_visits,
        human_visits=link.human_visits,
        password_hash=link.password_hash,
        title=link.title,
    )


def load_snapshot(db: Database, slug_key: str) -> LinkSnapshot | None:
    with db.session(write=False) as session:
        link = session.scalar(select(Link).where(Link.slug_key == slug_key))
        return None if link is None else snapshot_of(link)


def consume_capped_visit(db: Database, link_id: int) -> bool:
    """Count one human visit against the link's cap, atomically; False when used up."""
    with db.transaction() as session:
        result = session.execute(
            update(Link)
            .where(Link.id == link_id, Link.human_visits < Link.max_visits)
            .values(human_visits=Link.human_visits + 1, last_visit_at=utcnow())
            .execution_options(synchronize_session=False)
        )
        return bool(getattr(result, "rowcount", 0))
