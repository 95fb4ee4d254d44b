"""Alerts an operator must see: a member a day from expiry, a pool down to its last
member, the fallback served because nobody was left.

At most one alert of a kind per member (or code) per local day, enforced by a unique
key so several workers checking at once cannot double it. Alerts show on the live-code
pages and, when the code has a webhook URL, are POSTed there as JSON signed with
HMAC-SHA256 (``X-Qunyun-Signature: sha256=<hex>``, key from
:func:`~qunyun.livecodes.tokens.webhook_key`), by a background task, never by a request:
a failed delivery is tried again after 1, 2, 4 … minutes (at most
:data:`MAX_ATTEMPTS` tries); ``next_delivery_at`` doubles as a lease so two workers do
not send the same alert at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import socket
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import anyio
import httpx
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from qunyun.accounts.principal import Principal
from qunyun.accounts.roles import Role
from qunyun.background import WakeableTask
from qunyun.db.base import utcnow
from qunyun.db.engine import Database
from qunyun.errors import NotFound
from qunyun.links.urls import is_private_address, is_private_host, parse_url
from qunyun.livecodes.lookup import code_members, pool_member
from qunyun.livecodes.models import LiveCode, LiveCodeAlert, LiveCodeMember
from qunyun.livecodes.rotation import is_usable
from qunyun.livecodes.snapshot import CodeStatus
from qunyun.livecodes.tokens import sign_body, webhook_key
from qunyun.settings import Settings

if TYPE_CHECKING:
    from qunyun.web.context import AppContext

log = logging.getLogger("qunyun.livecodes.alerts")

EXPIRY_WARNING = timedelta(days=1)
MAX_ATTEMPTS = 8
RETRY_BASE = timedelta(minutes=1)
RETRY_CAP = timedelta(hours=6)
DELIVERY_LEASE = timedelta(minutes=2)
DELIVERY_TIMEOUT = 5.0
DELIVERY_BATCH = 50
CHECK_INTERVAL = 60.0
# Wake-ups (a fallback served, a member changed) run the task at most this often.
MIN_GAP = 5.0
USER_AGENT = "Qunyun-Webhook/0.1"

Sender = Callable[[str, bytes, Mapping[str, str]], int]


class AlertKind(StrEnum):
    member_expiring = "member_expiring"
    last_member = "last_member"
    fallback_served = "fallback_served"


# --- raising alerts ------------------------------------------------------------------


def _add(
    session: Session,
    code: LiveCode,
    kind: AlertKind,
    now: datetime,
    subject: LiveCodeMember | None = None,
    **detail: Any,
) -> bool:
    day = now.astimezone(ZoneInfo(code.timezone)).date().isoformat()
    key = f"{code.id}:{subject.id if subject else 0}:{kind.value}:{day}"
    if session.scalar(select(LiveCodeAlert.id).where(LiveCodeAlert.dedupe_key == key)):
        return False
    alert = LiveCodeAlert(
        live_code_id=code.id,
        member_id=subject.id if subject else None,
        kind=kind.value,
        detail=json.dumps(detail, ensure_ascii=False),
        created_at=now,
        dedupe_key=key,
        next_delivery_at=now if code.alert_webhook_url else None,
    )
    try:
        with session.begin_nested():
            session.add(alert)
            session.flush()
    except IntegrityError:  # another worker raised it a moment ago
        return False
    return True


def check_code_alerts(session: Session, code: LiveCode, now: datetime) -> int:
    """Raise the expiry and last-member alerts the code's pool calls for; how many."""
    if code.status != CodeStatus.active:
        return 0
    members = code_members(session, code.id)
    raised = 0
    for member in members:
        expires = member.expires_at
        if member.is_enabled and expires is not None and now < expires <= now + EXPIRY_WARNING:
            local = expires.astimezone(ZoneInfo(code.timezone)).strftime("%Y-%m-%d %H:%M")
            raised += _add(
                session,
                code,
                AlertKind.member_expiring,
                now,
                member,
                member=member.name,
                expires_at=local,
            )
    usable = [m for m in members if is_usable(pool_member(m), now)]
    if len(usable) == 1 and len(members) > 1:
        raised += _add(session, code, AlertKind.last_member, now, usable[0], member=usable[0].name)
    return raised


def record_fallbacks(session: Session, code_ids: Iterable[int], now: datetime) -> int:
    raised = 0
    for code_id in sorted(code_ids):
        code = session.get(LiveCode, code_id)
        if code is not None and code.status == CodeStatus.active:
            raised += _add(session, code, AlertKind.fallback_served, now)
    return raised


def check_all(session: Session, now: datetime) -> int:
    codes = session.scalars(select(LiveCode).where(LiveCode.status == CodeStatus.active))
    return sum(check_code_alerts(session, code, now) for code in codes)


# --- reading and acknowledging ---------------------------------------------------------


@dataclass(frozen=True)
class AlertRow:
    alert: LiveCodeAlert
    code_name: str

    @property
    def params(self) -> dict[str, Any]:
        try:
            found = json.loads(self.alert.detail or "{}")
        except ValueError:
            return {}
        return found if isinstance(found, dict) else {}


def list_alerts(
    session: Session,
    principal: Principal,
    community_id: int,
    *,
    code_id: int | None = None,
    include_acknowledged: bool = False,
    limit: int = 100,
) -> list[AlertRow]:
    principal.require(community_id, Role.viewer)
    query = (
        select(LiveCodeAlert, LiveCode.name)
        .join(LiveCode, LiveCode.id == LiveCodeAlert.live_code_id)
        .where(LiveCode.community_id == community_id, LiveCode.status != CodeStatus.deleted)
    )
    if code_id is not None:
        query = query.where(LiveCodeAlert.live_code_id == code_id)
    if not include_acknowledged:
        query = query.where(LiveCodeAlert.acknowledged_at.is_(None))
    rows = session.execute(
        query.order_by(LiveCodeAlert.created_at.desc(), LiveCodeAlert.id.desc()).limit(limit)
    ).all()
    return [AlertRow(alert, name) for alert, name in rows]


def acknowledge_alert(
    session: Session, principal: Principal, community_id: int, alert_id: int
) -> AlertRow:
    principal.require(community_id, Role.operator)
    found = None
    if 1 <= alert_id < 2**63:
        found = session.execute(
            select(LiveCodeAlert, LiveCode.name, LiveCode.community_id)
            .join(LiveCode, LiveCode.id == LiveCodeAlert.live_code_id)
            .where(LiveCodeAlert.id == alert_id)
        ).first()
    if found is None or found[2] != community_id:
        raise NotFound("livecode.alert_not_found", id=alert_id)
    alert: LiveCodeAlert = found[0]
    if alert.acknowledged_at is None:
        alert.acknowledged_at = utcnow()
        session.flush()
    return AlertRow(alert, found[1])


# --- webhook delivery -------------------------------------------------------------------


@dataclass(frozen=True)
class _Delivery:
    alert_id: int
    url: str
    body: bytes
    key: str
    attempts: int


def payload(settings: Settings, alert: LiveCodeAlert, code: LiveCode) -> dict[str, Any]:
    detail = AlertRow(alert, code.name).params
    return {
        "event": "live_code.alert",
        "alert_id": alert.id,
        "kind": alert.kind,
        "live_code": {"id": code.id, "name": code.name},
        "member_id": alert.member_id,
        "detail": detail,
        "created_at": alert.created_at.isoformat(),
        "url": f"{settings.base_url}/livecodes/{code.id}",
    }


def _claim_due(db: Database, settings: Settings, now: datetime) -> list[_Delivery]:
    with db.transaction() as session:
        rows = session.execute(
            select(LiveCodeAlert, LiveCode)
            .join(LiveCode, LiveCode.id == LiveCodeAlert.live_code_id)
            .where(
                LiveCodeAlert.delivered_at.is_(None),
                LiveCodeAlert.next_delivery_at.is_not(None),
                LiveCodeAlert.next_delivery_at <= now,
                LiveCodeAlert.delivery_attempts < MAX_ATTEMPTS,
                LiveCode.alert_webhook_url.is_not(None),
            )
            .order_by(LiveCodeAlert.id)
            .limit(DELIVERY_BATCH)
        ).all()
        claimed = []
        for alert, code in rows:
            taken = session.execute(
                update(LiveCodeAlert)
                .where(
                    LiveCodeAlert.id == alert.id,
                    LiveCodeAlert.next_delivery_at == alert.next_delivery_at,
                )
                .values(next_delivery_at=now + DELIVERY_LEASE)
                .execution_options(synchronize_session=False)
            )
            if not getattr(taken, "rowcount", 0):
                continue  # another worker has it
            body = json.dumps(payload(settings, alert, code), ensure_ascii=False).encode()
            claimed.append(
                _Delivery(
                    alert.id,
                    str(code.alert_webhook_url),
                    body,
                    webhook_key(settings.secret_key, code.id),
                    alert.delivery_attempts,
                )
            )
        return claimed


def retry_delay(attempts: int) -> timedelta:
    """The wait after ``attempts`` failed tries: 1, 2, 4 … minutes, at most 6 hours."""
    return min(RETRY_BASE * (1 << max(0, attempts - 1)), RETRY_CAP)


def deliver_due(db: Database, settings: Settings, now: datetime, send: Sender | None = None) -> int:
    """Send every alert whose delivery is due; how many were delivered."""
    sender = send or HttpSender(settings.allow_private_targets)
    delivered = 0
    for item in _claim_due(db, settings, now):
        headers = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            "X-Qunyun-Event": "live_code.alert",
            "X-Qunyun-Delivery": str(item.alert_id),
            "X-Qunyun-Signature": sign_body(item.key, item.body),
        }
        try:
            status = sender(item.url, item.body, headers)
        except Exception as exc:  # any failure is retried later
            log.warning("alert %s: webhook failed: %s", item.alert_id, exc)
            status = 0
        ok = 200 <= status < 300
        attempts = item.attempts + 1
        with db.transaction() as session:
            session.execute(
                update(LiveCodeAlert)
                .where(LiveCodeAlert.id == item.alert_id)
                .values(
                    delivery_attempts=attempts,
                    delivered_at=now if ok else None,
                    next_delivery_at=None if ok else now + retry_delay(attempts),
                )
                .execution_options(synchronize_session=False)
            )
        delivered += ok
    return delivered


class HttpSender:
    """POSTs with httpx: no proxies from the environment, no redirects, a short timeout,
    and (unless private targets are allowed) no private addresses after DNS."""

    def __init__(self, allow_private: bool, timeout: float = DELIVERY_TIMEOUT) -> None:
        self.allow_private = allow_private
        self.timeout = timeout

    def _vet(self, url: str) -> None:
        if self.allow_private:
            return
        target = parse_url(url)
        if is_private_host(target.host):
            raise PermissionError(f"{target.host} is private")
        infos = socket.getaddrinfo(target.host, target.effective_port, type=socket.SOCK_STREAM)
        for info in infos:
            if is_private_address(str(info[4][0])):
                raise PermissionError(f"{target.host} resolves to a private address")

    def __call__(self, url: str, body: bytes, headers: Mapping[str, str]) -> int:
        self._vet(url)
        with httpx.Client(timeout=self.timeout, follow_redirects=False, trust_env=False) as client:
            return client.post(url, content=body, headers=dict(headers)).status_code


# --- the background task ---------------------------------------------------------------


def worker_of(ctx: AppContext) -> AlertWorker | None:
    worker = ctx.extras.get("live_code_alerts")
    return worker if isinstance(worker, AlertWorker) else None


class AlertWorker(WakeableTask):
    task_name = "live-code-alerts"

    """Checks every active code each ``interval`` seconds, records the fallbacks the
    landing served, and delivers webhooks; woken early by changes and fallbacks."""

    def __init__(
        self,
        db: Database,
        settings: Settings,
        take_fallbacks: Callable[[], set[int]],
        interval: float = CHECK_INTERVAL,
        send: Sender | None = None,
    ) -> None:
        super().__init__()
        self.db = db
        self.settings = settings
        self.take_fallbacks = take_fallbacks
        self.interval = interval
        self.send = send
        self._lock: asyncio.Lock | None = None

    async def start(self) -> None:
        if not self.running:
            self._lock = asyncio.Lock()
        await super().start()

    async def _run(self) -> None:
        last = 0.0
        while not self.stopping():
            await self.wait(self.interval)
            if self.stopping():
                return
            gap = MIN_GAP - (time.monotonic() - last)
            if gap > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._sleep_unless_stopping(), timeout=gap)
                if self.stopping():
                    return
            self.clear_wake()
            last = time.monotonic()
            try:
                await self.run_once()
            except Exception:
                log.exception("live-code alert check failed")

    async def _sleep_unless_stopping(self) -> None:
        while not self.stopping():
            await asyncio.sleep(0.1)

    async def run_once(self, now: datetime | None = None) -> None:
        """One round: fallbacks served, pool checks, due webhooks."""
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            fallbacks = self.take_fallbacks()
            moment = now or utcnow()
            await anyio.to_thread.run_sync(self._work, fallbacks, moment)

    def _work(self, fallbacks: set[int], now: datetime) -> None:
        with self.db.transaction() as session:
            record_fallbacks(session, fallbacks, now)
            check_all(session, now)
        deliver_due(self.db, self.settings, now, self.send)
