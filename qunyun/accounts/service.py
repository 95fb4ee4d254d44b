"""Users, roles and API tokens. Services take a session and never commit."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from qunyun.accounts.models import ApiToken, CommunityRole, User
from qunyun.accounts.passwords import MIN_PASSWORD_LENGTH, Passwords
from qunyun.accounts.principal import Principal
from qunyun.accounts.roles import Role
from qunyun.accounts.tokens import looks_like_token, new_token, token_digest
from qunyun.db.base import utcnow
from qunyun.errors import Conflict, DomainError, NotFound
from qunyun.i18n import LANGUAGES

_NAME_RE = re.compile(r"^[\w.@-]{2,64}$")
# Verifying against this when a user does not exist keeps failed logins equally slow.
_DUMMY_HASH_CACHE: dict[int, str] = {}


def _name_key(name: str) -> str:
    return name.strip().casefold()


def validate_user_name(name: str) -> str:
    name = name.strip()
    if not _NAME_RE.match(name):
        raise DomainError("user.invalid_name")
    return name


def validate_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise DomainError("user.password_too_short", min=MIN_PASSWORD_LENGTH)
    if len(password) > 1024:
        raise DomainError("user.password_too_long")
    return password


def create_user(
    session: Session,
    passwords: Passwords,
    name: str,
    password: str,
    role: Role,
    community_id: int = 1,
) -> User:
    name = validate_user_name(name)
    validate_password(password)
    if session.scalar(select(User.id).where(User.name_key == _name_key(name))) is not None:
        raise Conflict("user.exists", name=name)
    user = User(name=name, name_key=_name_key(name), password_hash=passwords.hash(password))
    session.add(user)
    session.flush()
    session.add(CommunityRole(user_id=user.id, community_id=community_id, role=role))
    session.flush()
    return user


def set_role(session: Session, user_id: int, community_id: int, role: Role) -> None:
    existing = session.scalar(
        select(CommunityRole).where(
            CommunityRole.user_id == user_id, CommunityRole.community_id == community_id
        )
    )
    if existing is None:
        session.add(CommunityRole(user_id=user_id, community_id=community_id, role=role))
    else:
        existing.role = role
    session.flush()


def get_user_by_name(session: Session, name: str) -> User | None:
    return session.scalar(select(User).where(User.name_key == _name_key(name)))


def list_users(session: Session) -> list[User]:
    return list(session.scalars(select(User).order_by(User.id)))


def authenticate(session: Session, passwords: Passwords, name: str, password: str) -> User | None:
    user = get_user_by_name(session, name)
    if user is None or not user.is_active:
        key = id(passwords)
        if key not in _DUMMY_HASH_CACHE:
            _DUMMY_HASH_CACHE[key] = passwords.hash("not-a-real-password")
        passwords.verify(_DUMMY_HASH_CACHE[key], password)
        return None
    if not passwords.verify(user.password_hash, password):
        return None
    if passwords.needs_rehash(user.password_hash):
        user.password_hash = passwords.hash(password)
    user.last_login_at = utcnow()
    return user


def change_password(session: Session, passwords: Passwords, user: User, new_password: str) -> None:
    validate_password(new_password)
    user.password_hash = passwords.hash(new_password)
    user.session_version += 1
    session.flush()


def roles_of(session: Session, user_id: int) -> dict[int, Role]:
    rows = session.execute(
        select(CommunityRole.community_id, CommunityRole.role).where(
            CommunityRole.user_id == user_id
        )
    )
    return {community_id: Role(role) for community_id, role in rows}


def principal_for(session: Session, user: User, via: str = "session") -> Principal:
    return Principal(
        user_id=user.id,
        name=user.name,
        roles=roles_of(session, user.id),
        via=via,  # type: ignore[arg-type]
        language=user.language,
    )


def set_language(session: Session, user_id: int, language: str) -> None:
    if language not in LANGUAGES:
        raise DomainError("user.unknown_language", language=language)
    session.execute(update(User).where(User.id == user_id).values(language=language))


@dataclass(frozen=True)
class IssuedToken:
    token: ApiToken
    plaintext: str


def create_token(session: Session, user_id: int, name: str) -> IssuedToken:
    name = name.strip()
    if not 1 <= len(name) <= 100:
        raise DomainError("token.invalid_name")
    plaintext = new_token()
    token = ApiToken(
        user_id=user_id, name=name, token_hash=token_digest(plaintext), prefix=plaintext[:10]
    )
    session.add(token)
    session.flush()
    return IssuedToken(token, plaintext)


def list_tokens(session: Session, user_id: int) -> list[ApiToken]:
    return list(
        session.scalars(
            select(ApiToken).where(ApiToken.user_id == user_id).order_by(ApiToken.id.desc())
        )
    )


def revoke_token(session: Session, user_id: int, token_id: int) -> None:
    token = session.get(ApiToken, token_id)
    if token is None or token.user_id != user_id:
        raise NotFound("token.not_found")
    if token.revoked_at is None:
        token.revoked_at = utcnow()


def user_for_token(session: Session, plaintext: str) -> User | None:
    if not looks_like_token(plaintext):
        return None
    token = session.scalar(select(ApiToken).where(ApiToken.token_hash == token_digest(plaintext)))
    if token is None or token.revoked_at is not None:
        return None
    user = session.get(User, token.user_id)
    if user is None or not user.is_active:
        return None
    return user
