"""Stored rows to the shapes the API, the pages and the command line show."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from qunyun.i18n import gettext
from qunyun.livecodes.alerts import AlertRow
from qunyun.livecodes.lookup import code_members, pool_member
from qunyun.livecodes.models import LiveCode, LiveCodeMember
from qunyun.livecodes.rotation import Schedule, code_open, is_available, is_usable
from qunyun.livecodes.schemas import AlertOut, ChannelOut, LiveCodeOut, MemberOut, PoolOut
from qunyun.livecodes.service import ChannelRow, code_links, gate_of, main_link, short_url
from qunyun.livecodes.tokens import Signer, image_version
from qunyun.settings import Settings


@dataclass(frozen=True)
class PoolHealth:
    available: int
    usable: int
    total: int

    @property
    def level(self) -> str:
        """ok, warn (one left) or off (none): the badge of the pool."""
        if self.available == 0 and self.usable == 0:
            return "off"
        return "warn" if self.usable <= 1 else "ok"


def member_available(code: LiveCode, member: LiveCodeMember, now: datetime) -> bool:
    zone = ZoneInfo(code.timezone)
    return code_open(Schedule.parse(code.active_hours), now, zone) and is_available(
        pool_member(member), now, zone
    )


def pool_health(code: LiveCode, members: Sequence[LiveCodeMember], now: datetime) -> PoolHealth:
    pool = [pool_member(m) for m in members]
    usable = [m for m in pool if is_usable(m, now)]
    available = [m for m in members if member_available(code, m, now)]
    return PoolHealth(len(available), len(usable), len(members))


def code_out(
    session: Session, settings: Settings, code: LiveCode, now: datetime, views: int = 0
) -> LiveCodeOut:
    link = main_link(session, code.id)
    health = pool_health(code, code_members(session, code.id), now)
    return LiveCodeOut(
        id=code.id,
        name=code.name,
        kind=code.kind,
        strategy=code.strategy,
        status=code.status,
        merged_into_id=code.merged_into_id,
        slug=link.slug,
        short_url=short_url(settings, link.slug),
        title=code.title,
        description=code.description,
        sticky_days=code.sticky_days,
        default_threshold=code.default_threshold,
        default_expiry_days=code.default_expiry_days,
        timezone=code.timezone,
        active_hours=code.active_hours,
        fallback_message=code.fallback_message,
        fallback_contact=code.fallback_contact,
        has_fallback_image=code.fallback_image_type is not None,
        alert_webhook_url=code.alert_webhook_url,
        views=views or sum(link.human_visits for link in code_links(session, code.id)),
        pool=PoolOut(available=health.available, usable=health.usable, total=health.total),
        created_at=code.created_at,
        updated_at=code.updated_at,
        **gate_of(link),
    )


def member_out(
    code: LiveCode, member: LiveCodeMember, signer: Signer, settings: Settings, now: datetime
) -> MemberOut:
    return MemberOut(
        id=member.id,
        name=member.name,
        position=member.position,
        qr_text=member.qr_text,
        payload_kind=member.payload_kind,
        scan_threshold=member.scan_threshold,
        scans=member.scans,
        weight=member.weight,
        expires_at=member.expires_at,
        working_hours=member.working_hours,
        is_enabled=member.is_enabled,
        available=member_available(code, member, now),
        image_url=settings.base_url
        + signer.member_image_url(member.id, image_version(member.created_at)),
        created_at=member.created_at,
    )


def channel_out(settings: Settings, row: ChannelRow) -> ChannelOut:
    return ChannelOut(
        id=row.channel.id,
        name=row.channel.name,
        slug=row.link.slug,
        short_url=short_url(settings, row.link.slug),
        views=row.link.human_visits,
        created_at=row.channel.created_at,
    )


def alert_message(row: AlertRow, lang: str) -> str:
    return gettext(f"livecodes.alert.{row.alert.kind}", lang, code=row.code_name, **row.params)


def alert_out(row: AlertRow, lang: str) -> AlertOut:
    alert = row.alert
    return AlertOut(
        id=alert.id,
        live_code_id=alert.live_code_id,
        code_name=row.code_name,
        member_id=alert.member_id,
        kind=alert.kind,
        detail=row.params,
        message=alert_message(row, lang),
        created_at=alert.created_at,
        delivered_at=alert.delivered_at,
        delivery_attempts=alert.delivery_attempts,
        acknowledged_at=alert.acknowledged_at,
    )
