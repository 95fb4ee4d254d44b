"""The pure parts: one-time codes, who may review, what undoing each action means."""

from __future__ import annotations

import hashlib

from hypothesis import given, settings
from hypothesis import strategies as st

from qunyun.accounts.roles import Role
from qunyun.appeals import codes
from qunyun.appeals.rules import (
    ActionFacts,
    UndoKind,
    is_self_review,
    member_was_removed,
    plan_undo,
    review_right,
)

STATUSES = ("pending", "sending", "sent", "failed", "todo", "done", "cancelled")
KINDS = ("send_message", "delete_message", "mute", "kick", "ban", "unban", "whole_mute")


def test_codes_are_six_random_digits_stored_as_sha256() -> None:
    seen = {codes.new_code() for _ in range(200)}
    assert all(len(c) == 6 and c.isdigit() for c in seen)
    assert len(seen) > 150  # random, not a counter
    code = "042137"
    assert codes.hash_code(code) == hashlib.sha256(b"042137").hexdigest()
    assert codes.matches(code, codes.hash_code(code))
    assert not codes.matches("042138", codes.hash_code(code))


@settings(deadline=None)
@given(st.integers(min_value=0, max_value=999_999))
def test_typed_codes_are_forgiven_full_width_digits_and_spaces(n: int) -> None:
    code = f"{n:06d}"
    full_width = "".join(chr(ord(c) + 0xFEE0) for c in code)
    assert codes.clean_input(code) == code
    assert codes.clean_input(f" {code[:3]} {code[3:]} ") == code
    assert codes.clean_input(full_width) == code
    assert codes.clean_input(code[:5]) is None
    assert codes.clean_input(code + "1") is None


def test_typed_codes_that_are_not_digits_are_refused() -> None:
    for text in ("", "abcdef", "12345x", "١٢٣٤٥٦", "12 34 5", "1234567"):
        assert codes.clean_input(text) is None


USERS = st.one_of(st.none(), st.integers(min_value=1, max_value=5))
ROLES = st.one_of(st.none(), st.sampled_from(list(Role)))


@settings(deadline=None)
@given(
    reviewer=st.integers(min_value=1, max_value=5),
    role=ROLES,
    acted=USERS,
    opened=USERS,
    team=st.integers(min_value=0, max_value=4),
)
def test_review_right(
    reviewer: int, role: Role | None, acted: int | None, opened: int | None, team: int
) -> None:
    right = review_right(
        reviewer_id=reviewer,
        reviewer_role=role,
        acted_by_id=acted,
        opened_by_id=opened,
        reviewers_in_team=team,
    )
    involved = reviewer in (acted, opened)
    if role not in (Role.admin, Role.owner):
        assert (right.allowed, right.refusal) == (False, "appeal.reviewer_role")
    elif not involved:
        assert right.allowed and not right.self_review
    elif team <= 1:
        assert right.allowed and right.self_review
    else:
        assert (right.allowed, right.refusal) == (False, "appeal.reviewer_involved")
    if right.allowed:
        assert right.self_review == is_self_review(reviewer, acted, opened)


def test_the_system_acting_leaves_every_admin_free_to_review() -> None:
    right = review_right(
        reviewer_id=3,
        reviewer_role=Role.admin,
        acted_by_id=None,
        opened_by_id=None,
        reviewers_in_team=5,
    )
    assert right.allowed and not right.self_review


def test_undo_of_delivered_actions() -> None:
    plan = plan_undo(
        [
            ActionFacts(1, "delete_message", "sent", 7, {"message_id": "9"}),
            ActionFacts(2, "mute", "sent", 7, {"user": "42", "seconds": 3600}),
            ActionFacts(3, "ban", "done", 8, {"user": 42}),
            ActionFacts(4, "kick", "sending", 7, {"user": "42"}),
            ActionFacts(5, "send_message", "sent", 7, {"text": "notice"}),
            ActionFacts(6, "mute", "sent", 7, {"user": "42", "seconds": 0}),
            ActionFacts(7, "mute", "cancelled", 7, {"user": "42", "seconds": 60}),
        ]
    )
    assert [(u.kind, u.action_id, u.user, u.group_id) for u in plan] == [
        (UndoKind.not_restorable, 1, None, 7),
        (UndoKind.unmute, 2, "42", 7),
        (UndoKind.unban, 3, "42", 8),
        (UndoKind.may_rejoin, 4, "42", 7),
    ]
    assert member_was_removed(plan)
    assert not member_was_removed(plan[:2])


@settings(deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(KINDS), st.sampled_from(STATUSES), st.integers(0, 7200)),
        max_size=8,
    )
)
def test_undo_plan_properties(rows: list[tuple[str, str, int]]) -> None:
    facts = [
        ActionFacts(i + 1, kind, status, 1, {"user": "u", "seconds": seconds, "text": "t"})
        for i, (kind, status, seconds) in enumerate(rows)
    ]
    plan = plan_undo(facts)
    by_id = {f.id: f for f in facts}
    assert [u.action_id for u in plan] == sorted(u.action_id for u in plan)
    for undo in plan:
        original = by_id[undo.action_id]
        # Only what may have reached the platform is reversed; the rest is cancelled.
        if undo.kind is UndoKind.cancel:
            assert original.status in ("pending", "failed", "todo")
        else:
            assert original.status in ("sending", "sent", "done")
        assert original.kind not in ("unban", "whole_mute")
        if undo.kind is UndoKind.unmute:
            assert original.kind == "mute" and int(original.params["seconds"]) > 0
    for fact in facts:
        if fact.status == "cancelled":
            assert fact.id not in {u.action_id for u in plan}
