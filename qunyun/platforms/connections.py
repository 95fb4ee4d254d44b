"""Connections to chat platforms: create, change, rotate secrets, enable, delete.

The caller checks roles (admins manage connections) and owns the transaction. The
``key`` in the inbound URL is unguessable but not a secret; ``inbound_secret`` and
``access_token`` are, and are never logged: the secret is shown once, when created or
rotated, and the access token never leaves the server again.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from qunyun.db.engine import after_commit
from qunyun.errors import DomainError, NotFound
from qunyun.links.urls import normalise_url
from qunyun.platforms.hooks import connections_changed
from qunyun.platforms.models import PlatformAction, PlatformConnection
from qunyun.settings import Settings

PLATFORMS = ("onebot", "telegram", "webhook", "manual")
# Platforms that sign or tag what they post to us with a shared secret.
SIGNED_INBOUND = frozenset({"onebot", "telegram", "webhook"})
MAX_NAME = 200
MAX_SECRET = 256
KEY_BYTES = 24
SECRET_BYTES = 32
_UNSET: Any = object()


def _name(value: str) -> str:
    name = " ".join(value.split())
    if not name:
        raise DomainError("connection.name_required", field="name")
    if len(name) > MAX_NAME:
        raise DomainError("connection.name_too_long", field="name", max_length=MAX_NAME)
    return name


def _platform(value: str) -> str:
    platform = value.strip().lower()
    if platform not in PLATFORMS:
        raise DomainError(
            "connection.unknown_platform",
            field="platform",
            platform=value[:32],
            choices=", ".join(PLATFORMS),
        )
    return platform


def _secret(value: str | None, field: str) -> str | None:
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    if len(value) > MAX_SECRET or any(c.isspace() or not c.isprintable() for c in value):
        raise DomainError("connection.invalid_secret", field=field, max_length=MAX_SECRET)
    return value


def _api_url(value: str | None, platform: str, allow_private: bool) -> str | None:
    if value is None or not value.strip():
        return None
    if platform == "manual":
        raise DomainError("connection.manual_has_no_api", field="api_url")
    # A OneBot implementation (NapCat, Lagrange) usually runs beside Qunyun, on loopback.
    url = normalise_url(value, allow_private=allow_private or platform == "onebot")
    return url.rstrip("/")


def new_key() -> str:
    return secrets.token_urlsafe(KEY_BYTES)


def new_secret() -> str:
    return secrets.token_urlsafe(SECRET_BYTES)


def create_connection(
    session: Session,
    community_id: int,
    platform: str,
    name: str,
    *,
    inbound_secret: str | None = None,
    access_token: str | None = None,
    api_url: str | None = None,
    allow_private: bool = False,
) -> PlatformConnection:
    """A new enabled connection; a signing secret is generated when the platform needs
    one and none is given. ``allow_private`` lets api_url name a private address
    (always allowed for OneBot)."""
    platform = _platform(platform)
    secret = _secret(inbound_secret, "inbound_secret")
    if secret is None and platform in SIGNED_INBOUND:
        secret = new_secret()
    if platform == "manual":
        secret = None
    connection = PlatformConnection(
        community_id=community_id,
        platform=platform,
        name=_name(name),
        key=new_key(),
        inbound_secret=secret,
        access_token=_secret(access_token, "access_token"),
        api_url=_api_url(api_url, platform, allow_private),
        enabled=True,
    )
    session.add(connection)
    session.flush()
    return connection


def get_connection(session: Session, community_id: int, connection_id: int) -> PlatformConnection:
    found = session.get(PlatformConnection, connection_id) if 1 <= connection_id < 2**63 else None
    if found is None or found.community_id != community_id:
        raise NotFound("connection.not_found", id=connection_id)
    return found


def list_connections(session: Session, community_id: int) -> list[PlatformConnection]:
    return list(
        session.scalars(
            select(PlatformConnection)
            .where(PlatformConnection.community_id == community_id)
            .order_by(PlatformConnection.id)
        )
    )


def connection_by_key(session: Session, platform: str, key: str) -> PlatformConnection | None:
    """The connection an inbound URL names, whatever its state (the caller checks
    ``enabled``)."""
    if not key or len(key) > 64:
        return None
    return session.scalar(
        select(PlatformConnection).where(
            PlatformConnection.key == key, PlatformConnection.platform == platform
        )
    )


def update_connection(
    session: Session,
    community_id: int,
    connection_id: int,
    fields: Mapping[str, Any],
    *,
    allow_private: bool = False,
) -> PlatformConnection:
    """Change name, access_token, api_url, inbound_secret or enabled (only those given;
    an empty access token or URL clears it)."""
    connection = get_connection(session, community_id, connection_id)
    unknown = set(fields) - {"name", "access_token", "api_url", "inbound_secret", "enabled"}
    if unknown:
        raise DomainError("connection.unknown_field", field=sorted(unknown)[0])
    if "name" in fields:
        connection.name = _name(str(fields["name"] or ""))
    if "access_token" in fields:
        connection.access_token = _secret(fields["access_token"], "access_token")
    if "api_url" in fields:
        connection.api_url = _api_url(fields["api_url"], connection.platform, allow_private)
    if "inbound_secret" in fields:
        secret = _secret(fields["inbound_secret"], "inbound_secret")
        if secret is None and connection.platform in SIGNED_INBOUND:
            raise DomainError("connection.secret_required", field="inbound_secret")
        connection.inbound_secret = secret
    if "enabled" in fields:
        connection.enabled = bool(fields["enabled"])
    session.flush()
    after_commit(session, connections_changed)
    return connection


def rotate_secret(session: Session, community_id: int, connection_id: int) -> str:
    """Replace the inbound secret with a new random one and return it (shown once)."""
    connection = get_connection(session, community_id, connection_id)
    if connection.platform == "manual":
        raise DomainError("connection.manual_has_no_secret")
    connection.inbound_secret = new_secret()
    session.flush()
    after_commit(session, connections_changed)
    return connection.inbound_secret


def set_enabled(
    session: Session, community_id: int, connection_id: int, enabled: bool
) -> PlatformConnection:
    return update_connection(session, community_id, connection_id, {"enabled": enabled})


def disable(session: Session, community_id: int, connection_id: int) -> PlatformConnection:
    """Stop accepting deliveries and sending actions; queued actions wait, visible."""
    return set_enabled(session, community_id, connection_id, False)


def enable(session: Session, community_id: int, connection_id: int) -> PlatformConnection:
    return set_enabled(session, community_id, connection_id, True)


def delete(session: Session, community_id: int, connection_id: int) -> int:
    """Delete the connection; its unsent actions become to-dos for a steward (an action
    is never silently lost). Returns how many actions were turned into to-dos."""
    connection = get_connection(session, community_id, connection_id)
    t = PlatformAction
    moved = session.execute(
        update(t)
        .where(t.connection_id == connection.id, t.status.in_(("pending", "sending", "failed")))
        .values(status="todo", next_attempt_at=None)
        .execution_options(synchronize_session=False)
    )
    session.delete(connection)
    session.flush()
    after_commit(session, connections_changed)
    return int(getattr(moved, "rowcount", 0) or 0)


@dataclass(frozen=True)
class InboundUrls:
    http: str | None
    websocket: str | None = None


def inbound_url(settings: Settings, connection: PlatformConnection) -> InboundUrls:
    """Where the platform posts to us: ``/hooks/<platform>/<key>`` (and OneBot's
    reverse WebSocket at ``.../ws``); nothing for manual connections."""
    if connection.platform == "manual":
        return InboundUrls(None)
    base = settings.base_url.rstrip("/")
    http = f"{base}/hooks/{connection.platform}/{connection.key}"
    if connection.platform == "onebot":
        ws_base = "wss://" + base[8:] if base.startswith("https://") else "ws://" + base[7:]
        return InboundUrls(http, f"{ws_base}/hooks/onebot/{connection.key}/ws")
    return InboundUrls(http)
