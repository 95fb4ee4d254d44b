"""Shared test data for visit tests: realistic user agents and links made with the ORM."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select

from qunyun.db.engine import Database
from qunyun.links.models import Link, Tag
from qunyun.links.slugs import slug_key

WECHAT_IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Mobile/15E148 MicroMessenger/8.0.47(0x18002f2c) NetType/WIFI "
    "Language/zh_CN"
)
IPHONE_SAFARI = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1"
)
ANDROID_CHROME = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Mobile Safari/537.36"
)
DESKTOP_CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36"
)
TELEGRAM_PREVIEW = "TelegramBot (like TwitterBot)"
GOOGLEBOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"

SHANGHAI = ZoneInfo("Asia/Shanghai")


def at(text: str, zone: ZoneInfo = SHANGHAI) -> float:
    """Epoch seconds of a local wall-clock time such as ``2024-05-01 10:20``."""
    return datetime.fromisoformat(text).replace(tzinfo=zone).timestamp()


def utc(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


def make_link(
    db: Database,
    slug: str,
    *,
    tags: tuple[str, ...] = (),
    community_id: int = 1,
    deleted: bool = False,
    target: str = "https://example.com/landing",
) -> int:
    with db.transaction() as session:
        tag_rows = []
        for name in tags:
            tag = session.scalar(
                select(Tag).where(Tag.community_id == community_id, Tag.name == name)
            )
            if tag is None:
                tag = Tag(community_id=community_id, name=name)
                session.add(tag)
            tag_rows.append(tag)
        link = Link(
            community_id=community_id,
            slug=slug,
            slug_key=slug_key(slug),
            target_url=target,
            tags=tag_rows,
            deleted_at=datetime.now(UTC) if deleted else None,
        )
        session.add(link)
        session.flush()
        return link.id
