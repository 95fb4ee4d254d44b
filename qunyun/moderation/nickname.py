"""Nickname format: does a nickname fit, and is a reminder or an action due? Pure.

Checked when a member joins and whenever their nickname changes. A wrong nickname gets
a reminder at once (and again every ``remind_every_hours`` when set); after
``grace_hours`` the format's action (mute or remove) is due, unless it only reminds.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from qunyun.moderation.rulebook import NicknameAction, NicknameFormat


def nickname_fits(fmt: NicknameFormat, nickname: str | None) -> bool:
    """Whether the whole nickname (surrounding spaces ignored) fits; True when not enabled."""
    if not fmt.enabled or not fmt.pattern:
        return True
    return re.fullmatch(fmt.pattern, (nickname or "").strip()) is not None


@dataclass(frozen=True, slots=True)
class NicknameDue:
    fits: bool
    remind: bool = False
    act: bool = False
    # When the action becomes due (None when the nickname fits).
    deadline: datetime | None = None
    action: NicknameAction = NicknameAction.remind_only


def nickname_due(
    fmt: NicknameFormat,
    nickname: str | None,
    *,
    wrong_since: datetime,
    last_reminded_at: datetime | None,
    now: datetime,
) -> NicknameDue:
    """What to do about ``nickname``, wrong since ``wrong_since`` (joined or changed then)."""
    if nickname_fits(fmt, nickname):
        return NicknameDue(fits=True, action=fmt.action)
    deadline = wrong_since + timedelta(hours=fmt.grace_hours)
    never_reminded = last_reminded_at is None or last_reminded_at < wrong_since
    again = (
        not never_reminded
        and fmt.remind_every_hours > 0
        and last_reminded_at is not None
        and now - last_reminded_at >= timedelta(hours=fmt.remind_every_hours)
        and now < deadline
    )
    act = fmt.action is not NicknameAction.remind_only and now >= deadline
    return NicknameDue(
        fits=False,
        remind=never_reminded or again,
        act=act,
        deadline=deadline,
        action=fmt.action,
    )
