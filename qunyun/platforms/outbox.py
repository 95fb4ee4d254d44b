"""The outbox: every action Qunyun asks of a platform, kept until it is done.

An action for a group whose connection has an API is ``pending`` and a background
task delivers it: a failure worth retrying is tried again after 10 s, 20 s, 40 s …
(at most 30 minutes apart, :data:`~qunyun.platforms.backoff.MAX_ATTEMPTS` tries), then
the action is ``failed`` (never deleted: visible, and an operator can retry it). A
failure the platform calls final (no permission, bad request) fails at once.

Claiming an action increments ``attempts`` and moves ``next_attempt_at`` a lease
ahead, both conditional on the values read, so two workers (or two processes) never
send the same action at once; a worker that dies mid-send leaves a ``sending`` row
whose lease expires and another worker takes it again (delivery is at least once).

An action for a group with no connection, or a manual one (a personal WeChat group),
is a ``todo`` for a human steward, with the text ready to copy; they mark it done.
An action whose connection is disabled stays ``pending`` and waits, visible, until
the connection is enabled again.

Queries (group info, member lists) are not queued: :func:`perform_now` asks at once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import anyio
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from qunyun.background import WakeableTask
from qunyun.community.models import Group, MemberIdentity
from qunyun.db.base import utcnow
from qunyun.db.engine import Database, after_commit
from qunyun.errors import Conflict, DomainError, NotFound
from qunyun.platforms.actions import QUERIES, Action, ActionKind, ActionResult
from qunyun.platforms.backoff import gives_up, retry_delay
from qunyun.platforms.models import PlatformAction, PlatformConnection
from qunyun.platforms.registry import client_for, snapshot
from qunyun.platforms.todo import TodoText, todo_text
from qunyun.stream.models import StreamRecord

if TYPE_CHECKING:
    from qunyun.web.context import AppContext

log = logging.getLogger("qunyun.platforms.outbox")

EXTRAS_KEY = "platform_outbox"
STATUSES = ("pending", "sending", "sent", "failed", "todo", "done", "cancelled")
OPEN_STATUSES = ("pending", "sending", "failed", "todo")
LEASE = timedelta(minutes=2)
PERFORM_TIMEOUT = 60.0
BATCH = 50
CONCURRENCY = 8
# Another process may have queued something: look at the table at least this often.
POLL_SECONDS = 5.0
MAX_ERROR = 2000
MAX_REASON = 200

Wake = Callable[[], None]


# --- queueing ------------------------------------------------------------------------


def _kind(kind: str | ActionKind) -> ActionKind:
    try:
        return ActionKind(kind)
    except ValueError:
        raise DomainError("action.unknown_kind", field="kind", kind=str(kind)[:40]) from None


def validate(kind: str | ActionKind, group: Group, params: Mapping[str, Any]) -> Action:
    """The action as an adapter will see it, or a DomainError saying what is wrong."""
    action_kind = _kind(kind)
    try:
        return Action(action_kind, group.platform_group_id, dict(params))
    except ValueError as exc:
        raise DomainError("action.invalid_params", field="params", detail=str(exc)) from None


def enqueue(
    session: Session,
    *,
    community_id: int,
    group: Group,
    kind: str | ActionKind,
    params: Mapping[str, Any],
    reason: str | None = None,
    requested_by_id: int | None = None,
    wake: Wake | None = None,
) -> PlatformAction:
    """Queue an action for ``group`` (a to-do when nobody can send it); ``wake`` (see
    :func:`waker`) has the delivery task start on it once the caller commits."""
    if group.community_id != community_id:
        raise NotFound("action.group_not_found", id=group.id)
    action = validate(kind, group, params)
    if action.kind in QUERIES:
        raise DomainError("action.query_not_queued", field="kind", kind=action.kind.value)
    connection = (
        session.get(PlatformConnection, group.connection_id) if group.connection_id else None
    )
    manual = connection is None or connection.platform == "manual"
    now = utcnow()
    row = PlatformAction(
        community_id=community_id,
        connection_id=connection.id if connection is not None else None,
        group_id=group.id,
        kind=action.kind.value,
        params=dict(action.params),
        status="todo" if manual else "pending",
        attempts=0,
        next_attempt_at=None if manual else now,
        reason=(reason or None) and reason[:MAX_REASON],
        requested_by_id=requested_by_id,
        created_at=now,
    )
    session.add(row)
    session.flush()
    if not manual and wake is not None:
        after_commit(session, wake)
    return row


@dataclass(frozen=True)
class ActionRow:
    action: PlatformAction
    group_name: str | None
    group_platform: str | None
    connection_name: str | None
    connection_platform: str | None
    connection_enabled: bool | None

    @property
    def waiting_for_connection(self) -> bool:
        """Queued for a connection that is switched off."""
        return self.action.status == "pending" and self.connection_enabled is False


def _rows_query() -> Any:
    return (
        select(
            PlatformAction,
            Group.name,
            Group.platform,
            PlatformConnection.name,
            PlatformConnection.platform,
            PlatformConnection.enabled,
        )
        .outerjoin(Group, Group.id == PlatformAction.group_id)
        .outerjoin(PlatformConnection, PlatformConnection.id == PlatformAction.connection_id)
    )


def list_actions(
    session: Session,
    community_id: int,
    *,
    statuses: Sequence[str] | None = None,
    group_id: int | None = None,
    kind: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[ActionRow], int]:
    """A page of the community's actions, newest first, and how many match in all."""
    conditions: list[Any] = [PlatformAction.community_id == community_id]
    if statuses:
        unknown = [s for s in statuses if s not in STATUSES]
        if unknown:
            raise DomainError("action.unknown_status", field="status", state=unknown[0][:20])
        conditions.append(PlatformAction.status.in_(list(statuses)))
    if group_id is not None:
        conditions.append(PlatformAction.group_id == group_id)
    if kind is not None:
        conditions.append(PlatformAction.kind == _kind(kind).value)
    total = int(
        session.scalar(select(func.count()).select_from(PlatformAction).where(*conditions)) or 0
    )
    found = session.execute(
        _rows_query()
        .where(*conditions)
        .order_by(PlatformAction.created_at.desc(), PlatformAction.id.desc())
        .limit(limit)
        .offset(offset)
    ).all()
    return [ActionRow(*row) for row in found], total


def get_action(session: Session, community_id: int, action_id: int) -> ActionRow:
    found = None
    if 1 <= action_id < 2**63:
        found = session.execute(_rows_query().where(PlatformAction.id == action_id)).first()
    if found is None or found[0].community_id != community_id:
        raise NotFound("action.not_found", id=action_id)
    return ActionRow(*found)


def count_open(session: Session, community_id: int) -> dict[str, int]:
    rows = session.execute(
        select(PlatformAction.status, func.count())
        .where(
            PlatformAction.community_id == community_id,
            PlatformAction.status.in_(OPEN_STATUSES),
        )
        .group_by(PlatformAction.status)
    ).all()
    return {status: int(n) for status, n in rows}


def retry(
    session: Session, community_id: int, action_id: int, *, wake: Wake | None = None
) -> PlatformAction:
    """Send a failed (or cancelled) action again from a clean slate."""
    action = get_action(session, community_id, action_id).action
    if action.status not in ("failed", "cancelled"):
        raise Conflict("action.cannot_retry", id=action_id, state=action.status)
    connection = (
        session.get(PlatformConnection, action.connection_id) if action.connection_id else None
    )
    if connection is None or connection.platform == "manual":
        action.status, action.next_attempt_at = "todo", None
    else:
        action.status, action.next_attempt_at = "pending", utcnow()
        if wake is not None:
            after_commit(session, wake)
    action.attempts = 0
    action.done_at = None
    session.flush()
    return action


def cancel(session: Session, community_id: int, action_id: int) -> PlatformAction:
    """Give up on an action not yet done; one being sent right now cannot be stopped."""
    action = get_action(session, community_id, action_id).action
    if action.status not in ("pending", "failed", "todo"):
        raise Conflict("action.cannot_cancel", id=action_id, state=action.status)
    changed = session.execute(
        update(PlatformAction)
        .where(PlatformAction.id == action.id, PlatformAction.status == action.status)
        .values(status="cancelled", next_attempt_at=None, done_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if not getattr(changed, "rowcount", 0):  # a worker claimed it meanwhile
        raise Conflict("action.cannot_cancel", id=action_id, state="sending")
    session.refresh(action)
    return action


def mark_done(
    session: Session, community_id: int, action_id: int, user_id: int | None
) -> PlatformAction:
    """A steward did it by hand (a to-do, or an action the platform refused)."""
    action = get_action(session, community_id, action_id).action
    if action.status not in ("todo", "failed"):
        raise Conflict("action.cannot_mark_done", id=action_id, state=action.status)
    action.status = "done"
    action.params = without_secret(action.params)
    action.done_by_id = user_id or None
    action.done_at = utcnow()
    action.next_attempt_at = None
    session.flush()
    return action


def todo_for(session: Session, row: ActionRow, lang: str) -> TodoText:
    """The steward's instruction for an action, with people's names where known."""
    action = row.action
    params = action.params or {}
    users = {str(params[k]) for k in ("user",) if params.get(k) is not None}
    users |= {str(m) for m in params.get("mentions") or ()}
    names: dict[str, str] = {}
    if users and row.group_platform:
        for user_id, name in session.execute(
            select(MemberIdentity.platform_user_id, MemberIdentity.display_name).where(
                MemberIdentity.community_id == action.community_id,
                MemberIdentity.platform == row.group_platform,
                MemberIdentity.platform_user_id.in_(sorted(users)),
            )
        ):
            if name:
                names[user_id] = name
    excerpt = None
    if action.kind == ActionKind.delete_message and action.group_id is not None:
        text = session.scalar(
            select(StreamRecord.text)
            .where(
                StreamRecord.group_id == action.group_id,
                StreamRecord.message_id == str(params.get("message_id", "")),
                StreamRecord.kind == "message_posted",
            )
            .limit(1)
        )
        if text:
            excerpt = text if len(text) <= 60 else text[:59] + "…"
    return todo_text(
        action.kind, params, lang, group=row.group_name or "?", names=names, excerpt=excerpt
    )


# --- delivery ------------------------------------------------------------------------


@dataclass(frozen=True)
class Claim:
    action_id: int
    attempts: int
    action: Action
    connection: PlatformConnection


def claim_due(db: Database, now: datetime, limit: int = BATCH) -> list[Claim]:
    """Take up to ``limit`` due actions for this worker (see the module's lease)."""
    t = PlatformAction
    with db.transaction() as session:
        rows = session.execute(
            select(t, PlatformConnection, Group.platform_group_id)
            .join(PlatformConnection, PlatformConnection.id == t.connection_id)
            .join(Group, Group.id == t.group_id)
            .where(
                t.status.in_(("pending", "sending")),
                t.next_attempt_at.is_not(None),
                t.next_attempt_at <= now,
                PlatformConnection.enabled.is_(True),
            )
            .order_by(t.next_attempt_at, t.id)
            .limit(limit)
        ).all()
        claimed: list[Claim] = []
        for action, connection, group_key in rows:
            guard = (t.id == action.id, t.status == action.status, t.attempts == action.attempts)
            if connection.platform == "manual":
                session.execute(
                    update(t)
                    .where(*guard)
                    .values(status="todo", next_attempt_at=None)
                    .execution_options(synchronize_session=False)
                )
                continue
            try:
                wanted = Action(
                    ActionKind(action.kind),
                    group_key,
                    dict(action.params or {}),
                    id=f"qunyun-action-{action.id}",
                )
            except ValueError as exc:
                session.execute(
                    update(t)
                    .where(*guard)
                    .values(status="failed", next_attempt_at=None, last_error=str(exc))
                    .execution_options(synchronize_session=False)
                )
                continue
            taken = session.execute(
                update(t)
                .where(*guard, t.next_attempt_at <= now)
                .values(status="sending", attempts=action.attempts + 1, next_attempt_at=now + LEASE)
                .execution_options(synchronize_session=False)
            )
            if getattr(taken, "rowcount", 0):
                claimed.append(Claim(action.id, action.attempts + 1, wanted, snapshot(connection)))
        return claimed


BLANKED = "••••••"


def without_secret(params: Mapping[str, Any]) -> dict[str, Any]:
    """The params as kept once delivered: a ``secret`` (a one-time code) is blanked from
    the text, so the outbox's history does not hold a code someone could still use."""
    out = dict(params)
    secret = out.pop("secret", None)
    if isinstance(secret, str) and secret and isinstance(out.get("text"), str):
        out["text"] = out["text"].replace(secret, BLANKED)
    return out


def record_outcome(db: Database, claim: Claim, result: ActionResult | None, now: datetime) -> str:
    """Store what became of a claimed action; returns its new status. ``None``: the
    connection has no client after all (manual), so it becomes a to-do."""
    t = PlatformAction
    values: dict[str, Any]
    if result is None:
        values = {"status": "todo", "next_attempt_at": None, "attempts": claim.attempts - 1}
    elif result.ok:
        data = result.data if isinstance(result.data, dict) else {"data": result.data}
        values = {
            "status": "sent",
            "next_attempt_at": None,
            "done_at": now,
            "last_error": None,
            "result": _jsonable(data),
        }
        if "secret" in claim.action.params:
            values["params"] = without_secret(claim.action.params)
    elif gives_up(claim.attempts, retryable=result.retryable):
        values = {"status": "failed", "next_attempt_at": None, "last_error": _error(result)}
    else:
        values = {
            "status": "pending",
            "next_attempt_at": now + retry_delay(claim.attempts),
            "last_error": _error(result),
        }
    with db.transaction() as session:
        changed = session.execute(
            update(t)
            .where(t.id == claim.action_id, t.status == "sending", t.attempts == claim.attempts)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
    if not getattr(changed, "rowcount", 0):
        log.warning("action %s changed hands while it was sent", claim.action_id)
    return str(values["status"])


def _error(result: ActionResult) -> str:
    return (result.error or "unknown error")[:MAX_ERROR]


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return str(value)


async def perform(
    ctx: AppContext, connection: PlatformConnection, action: Action
) -> ActionResult | None:
    """One call to the platform; never raises. ``None`` when the connection has no client."""
    try:
        client = client_for(connection, ctx)
    except ImportError as exc:
        return ActionResult.failure(f"no adapter for {connection.platform}: {exc}")
    if client is None:
        return None
    try:
        return await asyncio.wait_for(client.perform(action), timeout=PERFORM_TIMEOUT)
    except TimeoutError:
        return ActionResult.failure(f"no answer within {PERFORM_TIMEOUT:.0f} s")
    except Exception as exc:  # an adapter must not raise; if it does, treat it as transient
        log.exception("platform client raised on action %s", action.kind.value)
        return ActionResult.failure(f"{type(exc).__name__}: {exc}")


def next_due(db: Database) -> datetime | None:
    t = PlatformAction
    with db.session(write=False) as session:
        return session.scalar(
            select(func.min(t.next_attempt_at))
            .join(PlatformConnection, PlatformConnection.id == t.connection_id)
            .where(t.status.in_(("pending", "sending")), PlatformConnection.enabled.is_(True))
        )


class OutboxWorker(WakeableTask):
    """Delivers due actions in the background; woken at once by :meth:`wake`."""

    task_name = "qunyun-outbox"
    stop_timeout = PERFORM_TIMEOUT + 5

    def __init__(self, ctx: AppContext, poll_seconds: float = POLL_SECONDS) -> None:
        super().__init__()
        self.ctx = ctx
        self.poll_seconds = poll_seconds
        self.sent = 0
        self.failed = 0

    async def _run(self) -> None:
        while not self.stopping():
            self.clear_wake()
            try:
                await self.run_once()
                delay = await self._delay()
            except Exception:
                log.exception("outbox round failed")
                delay = self.poll_seconds
            if self.stopping():
                return
            await self.wait(delay)

    async def _delay(self) -> float:
        due = await anyio.to_thread.run_sync(next_due, self.ctx.db)
        if due is None:
            return self.poll_seconds
        wait = (due - utcnow()).total_seconds()
        return min(max(wait, 0.05), self.poll_seconds)

    async def run_once(self, now: Callable[[], datetime] = utcnow) -> int:
        """Deliver every action due now; how many were tried."""
        tried = 0
        limit = anyio.Semaphore(CONCURRENCY)
        while True:
            claims = await anyio.to_thread.run_sync(claim_due, self.ctx.db, now())
            if not claims:
                return tried

            async def deliver(claim: Claim) -> None:
                async with limit:
                    result = await perform(self.ctx, claim.connection, claim.action)
                    status = await anyio.to_thread.run_sync(
                        record_outcome, self.ctx.db, claim, result, now()
                    )
                    self.sent += status == "sent"
                    self.failed += status == "failed"

            async with anyio.create_task_group() as group:
                for claim in claims:
                    group.start_soon(deliver, claim)
            tried += len(claims)
            if len(claims) < BATCH or self._stopping:
                return tried


def install(ctx: AppContext) -> OutboxWorker:
    worker = outbox_of(ctx)
    if worker is None:
        worker = OutboxWorker(ctx)
        ctx.extras[EXTRAS_KEY] = worker
    return worker


def outbox_of(ctx: AppContext) -> OutboxWorker | None:
    worker = ctx.extras.get(EXTRAS_KEY)
    return worker if isinstance(worker, OutboxWorker) else None


def waker(ctx: AppContext) -> Wake | None:
    """What to pass as ``wake`` to :func:`enqueue` and :func:`retry` from a request."""
    worker = outbox_of(ctx)
    return worker.wake_threadsafe if worker is not None else None


# --- queries, answered at once ---------------------------------------------------------


def _connection_of(session: Session, group: Group) -> PlatformConnection:
    connection = (
        session.get(PlatformConnection, group.connection_id) if group.connection_id else None
    )
    if connection is None:
        raise DomainError("action.no_connection", group=group.name)
    if connection.platform == "manual":
        raise DomainError("action.manual_connection", group=group.name)
    if not connection.enabled:
        raise DomainError("action.connection_disabled", connection=connection.name)
    return snapshot(connection)


async def perform_now(
    ctx: AppContext, group: Group, kind: str | ActionKind, params: Mapping[str, Any]
) -> ActionResult:
    """Ask the platform now (for queries: group info, member lists); not queued."""
    action = validate(kind, group, params)

    def load() -> PlatformConnection:
        with ctx.db.session(write=False) as session:
            return _connection_of(session, group)

    connection = await anyio.to_thread.run_sync(load)
    result = await perform(ctx, connection, action)
    if result is None:
        raise DomainError("action.manual_connection", group=group.name)
    return result


def group_of(session: Session, community_id: int, group_id: int) -> Group:
    group = session.get(Group, group_id) if 1 <= group_id < 2**63 else None
    if group is None or group.community_id != community_id:
        raise NotFound("action.group_not_found", id=group_id)
    return group


def statuses_of(values: Iterable[str] | None) -> list[str] | None:
    """``["failed,todo"]`` or ``["failed", "todo"]`` -> ``["failed", "todo"]``."""
    if not values:
        return None
    out = [part.strip() for value in values for part in value.split(",") if part.strip()]
    return out or None
