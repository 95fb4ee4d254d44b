"""A live code's pool: add members from uploaded QR images, change, reorder, remove.

A member's ``scan_threshold`` of 0 means no limit (staff codes); its expiry defaults to
the earliest of the code's ``default_expiry_days`` after upload (0: none) and the
validity the app gives that kind of QR (a WeChat group's invitation: 7 days).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from qunyun.accounts.principal import Principal
from qunyun.accounts.roles import Role
from qunyun.db.base import utcnow
from qunyun.db.engine import after_commit
from qunyun.errors import Conflict, DomainError, NotFound
from qunyun.livecodes.alerts import check_code_alerts
from qunyun.livecodes.images import StoredImage, prepare_member_image
from qunyun.livecodes.lookup import code_members
from qunyun.livecodes.models import LiveCode, LiveCodeMember
from qunyun.livecodes.rotation import MAX_WEIGHT
from qunyun.livecodes.service import (
    MAX_THRESHOLD,
    LiveCodeEnv,
    changed,
    clean_hours,
    clean_int,
    clean_text,
    get_code,
)
from qunyun.livecodes.snapshot import CodeStatus
from qunyun.livecodes.tokens import image_version
from qunyun.qr import KNOWN_VALIDITY, classify_payload

MAX_MEMBERS = 100
MAX_MEMBER_NAME = 200
MEMBER_FIELDS = frozenset(
    {"name", "scan_threshold", "weight", "expires_at", "working_hours", "is_enabled"}
)


def get_member(session: Session, code: LiveCode, member_id: int) -> LiveCodeMember:
    member = session.get(LiveCodeMember, member_id) if 1 <= member_id < 2**63 else None
    if member is None or member.live_code_id != code.id:
        raise NotFound("livecode.member_not_found", id=member_id)
    return member


def member_image(session: Session, member_id: int, version: int) -> StoredImage | None:
    """The stored image, if the member still exists and is the one the address named."""
    row = session.execute(
        select(LiveCodeMember.image, LiveCodeMember.image_type, LiveCodeMember.created_at).where(
            LiveCodeMember.id == member_id
        )
    ).first()
    if row is None or image_version(row[2]) != version:
        return None
    return StoredImage(bytes(row[0]), row[1])


def _expiry(value: Any, zone: str) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip())
        except ValueError:
            raise DomainError("livecode.invalid_expiry") from None
    if not isinstance(value, datetime):
        raise DomainError("livecode.invalid_expiry")
    moment: datetime = value if value.tzinfo else value.replace(tzinfo=ZoneInfo(zone))
    try:
        moment = moment.astimezone(UTC)
    except (OverflowError, ValueError):
        raise DomainError("livecode.invalid_expiry") from None
    if moment <= utcnow():
        raise DomainError("livecode.expiry_in_past")
    return moment


def _clean_member_field(code: LiveCode, name: str, value: Any) -> Any:
    if name == "name":
        cleaned = clean_text(value, "name", MAX_MEMBER_NAME)
        if cleaned is None:
            raise DomainError("livecode.name_empty")
        return cleaned
    if name == "scan_threshold":
        return clean_int(value, "scan_threshold", 0, MAX_THRESHOLD)
    if name == "weight":
        return clean_int(value, "weight", 1, MAX_WEIGHT)
    if name == "expires_at":
        return _expiry(value, code.timezone)
    if name == "working_hours":
        return clean_hours(value, "working_hours")
    if name == "is_enabled":
        if not isinstance(value, bool):
            raise DomainError("livecode.invalid_flag", field=name)
        return value
    raise DomainError("livecode.unknown_field", field=name)


def _clean_member_fields(code: LiveCode, fields: Mapping[str, Any]) -> dict[str, Any]:
    unknown = set(fields) - MEMBER_FIELDS
    if unknown:
        raise DomainError("livecode.unknown_field", field=sorted(unknown)[0])
    return {name: _clean_member_field(code, name, value) for name, value in fields.items()}


def _writable(session: Session, principal: Principal, community_id: int, code_id: int) -> LiveCode:
    principal.require(community_id, Role.operator)
    return get_code(session, principal, community_id, code_id)


def default_expiry(code: LiveCode, qr_text: str, now: datetime) -> datetime | None:
    kind, encoded = classify_payload(qr_text)
    if encoded is not None:
        return encoded
    limits = []
    if code.default_expiry_days > 0:
        limits.append(now + timedelta(days=code.default_expiry_days))
    if kind in KNOWN_VALIDITY:
        limits.append(now + KNOWN_VALIDITY[kind])
    return min(limits) if limits else None


def add_member(
    session: Session,
    env: LiveCodeEnv,
    principal: Principal,
    community_id: int,
    code_id: int,
    image: bytes,
    fields: Mapping[str, Any] | None = None,
) -> LiveCodeMember:
    """Decode the uploaded image (exactly one QR), store a light copy, add it last."""
    code = _writable(session, principal, community_id, code_id)
    if code.status == CodeStatus.retired:
        raise Conflict("livecode.retired", name=code.name)
    values = _clean_member_fields(code, dict(fields or {}))
    count = session.scalar(select(func.count()).where(LiveCodeMember.live_code_id == code.id)) or 0
    if count >= MAX_MEMBERS:
        raise DomainError("livecode.too_many_members", max=MAX_MEMBERS)
    if not image:
        raise DomainError("livecode.image_required")
    prepared = prepare_member_image(image)
    duplicate = session.scalar(
        select(LiveCodeMember.name).where(
            LiveCodeMember.live_code_id == code.id, LiveCodeMember.qr_text == prepared.qr_text
        )
    )
    if duplicate is not None:
        raise Conflict("livecode.member_duplicate", name=duplicate)
    now = utcnow()
    last = session.scalar(
        select(func.max(LiveCodeMember.position)).where(LiveCodeMember.live_code_id == code.id)
    )
    kind, _ = classify_payload(prepared.qr_text)
    member = LiveCodeMember(
        live_code_id=code.id,
        name=values.get("name") or f"#{count + 1}",
        position=(last + 1) if last is not None else 0,
        image=prepared.image.data,
        image_type=prepared.image.mime,
        qr_text=prepared.qr_text,
        payload_kind=kind.value,
        scan_threshold=values.get("scan_threshold", code.default_threshold),
        weight=values.get("weight", 1),
        expires_at=(
            values["expires_at"]
            if "expires_at" in values
            else default_expiry(code, prepared.qr_text, now)
        ),
        working_hours=values.get("working_hours"),
        is_enabled=values.get("is_enabled", True),
        created_at=now,
    )
    session.add(member)
    session.flush()
    _after_pool_change(session, env, code)
    return member


def update_member(
    session: Session,
    env: LiveCodeEnv,
    principal: Principal,
    community_id: int,
    code_id: int,
    member_id: int,
    fields: Mapping[str, Any],
) -> LiveCodeMember:
    code = _writable(session, principal, community_id, code_id)
    member = get_member(session, code, member_id)
    for name, value in _clean_member_fields(code, fields).items():
        setattr(member, name, value)
    session.flush()
    _after_pool_change(session, env, code)
    return member


def reset_scans(
    session: Session,
    env: LiveCodeEnv,
    principal: Principal,
    community_id: int,
    code_id: int,
    member_id: int,
) -> LiveCodeMember:
    """Start counting again, e.g. after the group was cleaned up."""
    code = _writable(session, principal, community_id, code_id)
    member = get_member(session, code, member_id)
    member.scans = 0
    session.flush()
    _after_pool_change(session, env, code)
    return member


def delete_member(
    session: Session,
    env: LiveCodeEnv,
    principal: Principal,
    community_id: int,
    code_id: int,
    member_id: int,
) -> None:
    """Remove a member; its past views stay in the code's statistics, unattributed."""
    code = _writable(session, principal, community_id, code_id)
    session.delete(get_member(session, code, member_id))
    session.flush()
    _after_pool_change(session, env, code)


def reorder_members(
    session: Session,
    env: LiveCodeEnv,
    principal: Principal,
    community_id: int,
    code_id: int,
    member_ids: Sequence[int],
) -> list[LiveCodeMember]:
    """Put the pool in this order; ``member_ids`` must name every member once."""
    code = _writable(session, principal, community_id, code_id)
    members = code_members(session, code.id)
    if sorted(member_ids) != sorted(m.id for m in members):
        raise DomainError("livecode.order_mismatch")
    by_id = {m.id: m for m in members}
    for position, member_id in enumerate(member_ids):
        by_id[member_id].position = position
    session.flush()
    _after_pool_change(session, env, code)
    return [by_id[i] for i in member_ids]


def move_member(
    session: Session,
    env: LiveCodeEnv,
    principal: Principal,
    community_id: int,
    code_id: int,
    member_id: int,
    offset: int,
) -> list[LiveCodeMember]:
    """Move a member ``offset`` places (-1: up) in the pool's order."""
    code = _writable(session, principal, community_id, code_id)
    order = [m.id for m in code_members(session, code.id)]
    if member_id not in order:
        raise NotFound("livecode.member_not_found", id=member_id)
    index = order.index(member_id)
    target = max(0, min(len(order) - 1, index + offset))
    order.insert(target, order.pop(index))
    return reorder_members(session, env, principal, community_id, code_id, order)


def _after_pool_change(session: Session, env: LiveCodeEnv, code: LiveCode) -> None:
    changed(session, env, [code.id])
    if check_code_alerts(session, code, utcnow()):
        after_commit(session, env.alerts_ready)
