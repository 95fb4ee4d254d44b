"""Users, roles and tokens in the database, on every backend."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from qunyun.accounts import service
from qunyun.accounts.passwords import Passwords
from qunyun.accounts.principal import Principal
from qunyun.accounts.roles import Role
from qunyun.db.engine import Database
from qunyun.errors import DomainError


def test_create_and_authenticate(db: Database, passwords: Passwords) -> None:
    with db.transaction() as s:
        user = service.create_user(s, passwords, "Alice", "long enough pw", Role.admin)
        assert user.password_hash.startswith("$argon2id$")
    with db.transaction() as s:
        assert service.authenticate(s, passwords, "alice", "long enough pw") is not None
        assert service.authenticate(s, passwords, "ALICE", "long enough pw") is not None
        assert service.authenticate(s, passwords, "alice", "wrong") is None
        assert service.authenticate(s, passwords, "nobody", "long enough pw") is None
        found = service.get_user_by_name(s, "alice")
        assert found is not None
        assert service.roles_of(s, found.id) == {1: Role.admin}


def test_user_names_are_unique_regardless_of_case(db: Database, passwords: Passwords) -> None:
    with db.transaction() as s:
        service.create_user(s, passwords, "Bob", "long enough pw", Role.viewer)
    with pytest.raises(DomainError) as err, db.transaction() as s:
        service.create_user(s, passwords, "BOB", "long enough pw", Role.viewer)
    assert err.value.code == "user.exists"
    with db.transaction(write=False) as s:
        assert len(service.list_users(s)) == 1


@pytest.mark.parametrize(
    ("name", "password", "code"),
    [
        ("x", "long enough pw", "user.invalid_name"),
        ("has space", "long enough pw", "user.invalid_name"),
        ("okname", "short", "user.password_too_short"),
    ],
)
def test_bad_accounts_are_refused(
    db: Database, passwords: Passwords, name: str, password: str, code: str
) -> None:
    with pytest.raises(DomainError) as err, db.transaction() as s:
        service.create_user(s, passwords, name, password, Role.viewer)
    assert err.value.code == code


def test_tokens_are_stored_hashed(db: Database, passwords: Passwords) -> None:
    with db.transaction() as s:
        user = service.create_user(s, passwords, "carol", "long enough pw", Role.operator)
        issued = service.create_token(s, user.id, "deploy")
        assert issued.token.token_hash != issued.plaintext
        assert issued.plaintext not in issued.token.token_hash
    with db.transaction() as s:
        found = service.user_for_token(s, issued.plaintext)
        assert found is not None and found.name == "carol"
        service.revoke_token(s, user.id, issued.token.id)
    with db.transaction() as s:
        assert service.user_for_token(s, issued.plaintext) is None


@given(st.sampled_from(list(Role)), st.sampled_from(list(Role)))
def test_roles_are_ordered(have: Role, need: Role) -> None:
    principal = Principal(user_id=1, name="x", roles={1: have})
    allowed = principal.can(1, need)
    assert allowed == (have.rank >= need.rank)
    assert not principal.can(2, need)
    if allowed:
        assert principal.require(1, need) is have
    else:
        with pytest.raises(DomainError) as err:
            principal.require(1, need)
        assert err.value.code == "role.insufficient"
