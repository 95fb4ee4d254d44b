"""``qunyun user`` and ``qunyun token``."""

from __future__ import annotations

import sys
from typing import NoReturn

import typer

from qunyun.accounts import service
from qunyun.accounts.passwords import Passwords
from qunyun.accounts.roles import Role
from qunyun.db.engine import Database
from qunyun.db.migrate import upgrade
from qunyun.errors import DomainError
from qunyun.i18n import error_text
from qunyun.settings import load_settings

user_app = typer.Typer(
    help="Accounts: add, list, set a role, change a password.", no_args_is_help=True
)
token_app = typer.Typer(help="API tokens: create, list, revoke.", no_args_is_help=True)


def _db() -> tuple[Database, Passwords, str]:
    settings = load_settings()
    db = Database(settings.database_url)
    upgrade(db)
    return db, Passwords(settings.argon2_profile), settings.language


def _fail(exc: DomainError, lang: str) -> NoReturn:
    typer.echo(error_text(exc, lang), err=True)
    raise typer.Exit(2)


def _read_password(password_stdin: bool) -> str:
    if password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return str(typer.prompt("Password / 密码", hide_input=True, confirmation_prompt=True))


@user_app.command("add")
def add(
    name: str,
    role: Role = typer.Option(Role.operator, help="owner, admin, operator or viewer"),
    community: int = typer.Option(1, help="community id"),
    password_stdin: bool = typer.Option(
        False, "--password-stdin", help="read the password from stdin"
    ),
) -> None:
    """Add a user with a role in a community (the password is prompted)."""
    db, passwords, lang = _db()
    password = _read_password(password_stdin)
    try:
        with db.transaction() as session:
            user = service.create_user(session, passwords, name, password, role, community)
            typer.echo(f"user {user.name} added as {role.value} (id {user.id})")
    except DomainError as exc:
        _fail(exc, lang)


@user_app.command("list")
def list_users() -> None:
    """List users and their roles."""
    db, _, _ = _db()
    with db.transaction(write=False) as session:
        for user in service.list_users(session):
            roles = ", ".join(
                f"{c}:{r.value}" for c, r in service.roles_of(session, user.id).items()
            )
            state = "" if user.is_active else " (disabled)"
            typer.echo(f"{user.id}\t{user.name}\t{roles}{state}")


@user_app.command("role")
def set_role(name: str, role: Role, community: int = typer.Option(1)) -> None:
    """Give NAME the ROLE in a community."""
    db, _, _ = _db()
    with db.transaction() as session:
        user = service.get_user_by_name(session, name)
        if user is None:
            typer.echo(f"no user {name}", err=True)
            raise typer.Exit(1)
        service.set_role(session, user.id, community, role)
    typer.echo(f"{name} is now {role.value} in community {community}")


@user_app.command("password")
def set_password(name: str, password_stdin: bool = typer.Option(False, "--password-stdin")) -> None:
    """Change NAME's password (signs out all of their sessions)."""
    db, passwords, lang = _db()
    password = _read_password(password_stdin)
    try:
        with db.transaction() as session:
            user = service.get_user_by_name(session, name)
            if user is None:
                typer.echo(f"no user {name}", err=True)
                raise typer.Exit(1)
            service.change_password(session, passwords, user, password)
    except DomainError as exc:
        _fail(exc, lang)
    typer.echo("password changed")


@token_app.command("create")
def create(
    name: str,
    user: str | None = typer.Option(None, help="owner of the token (default: the only owner)"),
) -> None:
    """Create an API token; it is printed once."""
    db, _, lang = _db()
    try:
        with db.transaction() as session:
            if user is None:
                owners = [
                    u
                    for u in service.list_users(session)
                    if Role.owner in service.roles_of(session, u.id).values()
                ]
                if len(owners) != 1:
                    typer.echo("name the token's user with --user", err=True)
                    raise typer.Exit(1)
                account = owners[0]
            else:
                found = service.get_user_by_name(session, user)
                if found is None:
                    typer.echo(f"no user {user}", err=True)
                    raise typer.Exit(1)
                account = found
            issued = service.create_token(session, account.id, name)
    except DomainError as exc:
        _fail(exc, lang)
    typer.echo(issued.plaintext)


@token_app.command("list")
def list_tokens(user: str) -> None:
    """List USER's tokens (never their secret)."""
    db, _, _ = _db()
    with db.transaction(write=False) as session:
        account = service.get_user_by_name(session, user)
        if account is None:
            typer.echo(f"no user {user}", err=True)
            raise typer.Exit(1)
        for t in service.list_tokens(session, account.id):
            state = "revoked" if t.revoked_at else "active"
            typer.echo(f"{t.id}\t{t.name}\t{t.prefix}…\t{state}")


@token_app.command("revoke")
def revoke(user: str, token_id: int) -> None:
    """Revoke one of USER's tokens."""
    db, _, lang = _db()
    try:
        with db.transaction() as session:
            account = service.get_user_by_name(session, user)
            if account is None:
                typer.echo(f"no user {user}", err=True)
                raise typer.Exit(1)
            service.revoke_token(session, account.id, token_id)
    except DomainError as exc:
        _fail(exc, lang)
    typer.echo("revoked")
