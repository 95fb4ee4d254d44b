"""The redirect's two database calls: load a link's snapshot, consume one capped visit."""

from __future__ import annotations

from sqlalchemy import select, update

from qunyun.community.models import Community
from qunyun.db.base import utcnow
from qunyun.db.engine import Database
from qunyun.links.access import DEFAULT_GUIDE_APPS, Gate, Mode
from qunyun.links.models import Link
from qunyun.links.snapshot import LinkSnapshot
from qunyun.links.urls import append_utm


def snapshot_of(link: Link, community: Community | None = None) -> LinkSnapshot:
    default_mode = community.anti_block_mode if community is not None else Mode.direct.value
    guide_apps = (
        frozenset(community.guide_apps)
        if community is not None and community.guide_apps is not None
        else DEFAULT_GUIDE_APPS
    )
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
        title=link.preview_title or link.title,
        kind=link.kind,
        live_code_id=link.live_code_id,
        channel_id=link.channel_id,
        mode=Mode(link.anti_block_mode or default_mode),
        gate=Gate.of(link.allowed_apps, link.allowed_devices, link.allowed_os),
        guide_apps=guide_apps,
        description=link.preview_description,
        image_url=link.preview_image_url,
    )


def load_snapshot(db: Database, slug_key: str) -> LinkSnapshot | None:
    with db.session(write=False) as session:
        row = session.execute(
            select(Link, Community)
            .join(Community, Community.id == Link.community_id)
            .where(Link.slug_key == slug_key)
        ).first()
        return None if row is None else snapshot_of(row[0], row[1])


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
