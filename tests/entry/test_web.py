"""The entry API, the operator pages, the public invite and accept pages, and the CLI."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer
from sqlalchemy import func, select

from qunyun.accounts.roles import Role
from qunyun.db.engine import Database
from qunyun.entry import acceptance as acceptance_service
from qunyun.entry.cli import invite_app, join_app
from qunyun.entry.models import InviteCode, JoinRequest, RuleAcceptance
from qunyun.moderation.models import AuditEntry
from tests.cli_support import command_line, run
from tests.conftest import App
from tests.entry.conftest import (
    actions,
    drain,
    ingest,
    joined,
    make_group,
    request,
    set_entry,
)


def queue_requests(db: Database, *users: str) -> list[int]:
    """Pending requests (the book sends every request to a person)."""
    set_entry(db, auto_approve=False)
    ingest(db, [request(u, f"我是{u}") for u in users])
    drain(db)
    with db.session(write=False) as session:
        return list(session.scalars(select(JoinRequest.id).order_by(JoinRequest.id)))


def csrf_of(html: str) -> str:
    return html.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]


# --- API ------------------------------------------------------------------------------------


def test_the_api_lists_and_answers_join_requests(app: App) -> None:
    make_group(app.db)
    first, second = queue_requests(app.db, "501", "502")
    viewer = app.token("viewer", Role.viewer)
    op = app.token("op", Role.operator)

    listed = app.client.get("/api/v1/entry/requests", headers=viewer).json()
    assert listed["total"] == 2
    assert {i["platform_user_id"] for i in listed["items"]} == {"501", "502"}
    assert listed["items"][0]["verdict"] == {"code": "manual_review"}
    refused = app.client.post(f"/api/v1/entry/requests/{first}/approve", headers=viewer)
    assert (refused.status_code, refused.json()["code"]) == (403, "role.insufficient")

    approved = app.client.post(f"/api/v1/entry/requests/{first}/approve", headers=op)
    assert approved.status_code == 200, approved.text
    assert (approved.json()["status"], approved.json()["verdict"]) == (
        "approved",
        {"code": "operator"},
    )
    again = app.client.post(f"/api/v1/entry/requests/{first}/approve", headers=op)
    assert (again.status_code, again.json()["code"]) == (409, "join.already_decided")

    rejected = app.client.post(
        f"/api/v1/entry/requests/{second}/reject", headers=op, json={"reason": "名额已满，下期见"}
    )
    assert rejected.json()["status"] == "rejected"
    answers = {a.params["user"]: a.params for a in actions(app.db, "answer_join_request")}
    assert answers["501"]["approve"] is True
    assert answers["502"] == {
        "request_id": answers["502"]["request_id"],
        "approve": False,
        "reason": "名额已满，下期见",
        "user": "502",
    }
    assert app.client.get("/api/v1/entry/requests?status=all", headers=viewer).json()["total"] == 2
    assert app.client.get("/api/v1/entry/requests/999", headers=viewer).status_code == 404
    with app.db.session(write=False) as session:
        audited = list(session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))
    assert audited[-2:] == ["join.approved", "join.rejected"]


def test_the_api_creates_lists_and_revokes_invite_codes(app: App) -> None:
    gid = make_group(app.db)
    op = app.token("op", Role.operator)
    made = app.client.post(
        "/api/v1/entry/invites",
        headers=op,
        json={"code": "camp", "group_id": gid, "quota": 5, "label": "海报"},
    )
    assert made.status_code == 201, made.text
    body = made.json()
    assert (body["code"], body["used"], body["state"], body["group_name"]) == (
        "CAMP",
        0,
        "live",
        "测试群100",
    )
    assert body["url"] == "http://testserver/invite/default/CAMP"
    taken = app.client.post("/api/v1/entry/invites", headers=op, json={"code": "Camp"})
    assert (taken.status_code, taken.json()["code"]) == (409, "invite.code_taken")
    past = app.client.post(
        "/api/v1/entry/invites", headers=op, json={"expires_at": "2020-01-01T00:00:00Z"}
    )
    assert (past.status_code, past.json()["code"]) == (400, "invite.expiry_in_past")
    random = app.client.post("/api/v1/entry/invites", headers=op, json={}).json()
    assert len(random["code"]) == 8

    revoked = app.client.post(f"/api/v1/entry/invites/{body['id']}/revoke", headers=op)
    assert revoked.json()["state"] == "revoked"
    live = app.client.get("/api/v1/entry/invites?state=live", headers=op).json()
    assert [i["code"] for i in live["items"]] == [random["code"]]
    assert app.client.get(f"/api/v1/entry/invites/{body['id']}", headers=op).json()["revoked_at"]


# --- operator pages ----------------------------------------------------------------------------


def test_the_queue_page_approves_and_rejects(app: App) -> None:
    make_group(app.db)
    first, second = queue_requests(app.db, "601", "602")
    csrf = app.login("op", Role.operator)
    page = app.client.get("/entry/requests")
    assert page.status_code == 200
    assert f'data-request="{first}"' in page.text
    assert "我是601" in page.text
    assert 'href="/entry"' in page.text  # the nav link

    done = app.client.post(
        f"/entry/requests/{first}/approve", data={"csrf_token": csrf}, follow_redirects=False
    )
    assert done.status_code == 303
    app.client.post(
        f"/entry/requests/{second}/reject",
        data={"csrf_token": csrf, "reason": "<b>不合适</b>"},
        follow_redirects=True,
    )
    shown = app.client.get("/entry/requests?status=all").text
    assert 'data-status="approved"' in shown
    assert 'data-status="rejected"' in shown
    reasons = [a.params.get("reason") for a in actions(app.db, "answer_join_request")]
    assert "<b>不合适</b>" in reasons
    forged = app.client.post(f"/entry/requests/{first}/approve", data={"csrf_token": "nope"})
    assert forged.status_code == 403


def test_viewers_read_but_do_not_act(app: App) -> None:
    make_group(app.db)
    [pending] = queue_requests(app.db, "603")
    csrf = app.login("viewer", Role.viewer)
    page = app.client.get("/entry/requests")
    assert f'data-request="{pending}"' in page.text
    assert 'data-change="approve"' not in page.text
    assert 'id="invite-form"' not in app.client.get("/entry/invites").text
    refused = app.client.post(f"/entry/requests/{pending}/approve", data={"csrf_token": csrf})
    assert refused.status_code == 403


def test_the_invites_page_creates_and_revokes(app: App) -> None:
    gid = make_group(app.db)
    csrf = app.login("op", Role.operator)
    made = app.client.post(
        "/entry/invites",
        data={"csrf_token": csrf, "code": "wx-01", "group_id": str(gid), "quota": "3"},
        follow_redirects=True,
    )
    assert 'data-invite="WX-01"' in made.text
    assert 'data-notice="success"' in made.text
    bad = app.client.post(
        "/entry/invites", data={"csrf_token": csrf, "code": "x"}, follow_redirects=True
    )
    assert 'data-notice="error"' in bad.text
    with app.db.session(write=False) as session:
        invite_id = session.scalar(select(InviteCode.id).where(InviteCode.code == "WX-01"))
    app.client.post(f"/entry/invites/{invite_id}/revoke", data={"csrf_token": csrf})
    assert 'data-state="revoked"' in app.client.get("/entry/invites").text


def test_the_acceptances_page_marks_accepted(app: App) -> None:
    make_group(app.db)
    set_entry(app.db, accept_rules=True)
    ingest(app.db, [joined("604")])
    drain(app.db)
    csrf = app.login("op", Role.operator)
    page = app.client.get("/entry/acceptances")
    with app.db.session(write=False) as session:
        acc_id = session.scalar(select(RuleAcceptance.id))
    assert f'data-acceptance="{acc_id}"' in page.text
    app.client.post(f"/entry/acceptances/{acc_id}/accept", data={"csrf_token": csrf})
    with app.db.session(write=False) as session:
        found = session.get(RuleAcceptance, acc_id)
        assert found is not None
        assert (found.status, found.accepted_via) == ("accepted", "operator")
    assert actions(app.db, "mute")[-1].params == {"user": "604", "seconds": 0}


# --- public pages ------------------------------------------------------------------------------


def test_the_invite_page_shows_the_groups_and_counts_one_open_per_visitor(app: App) -> None:
    make_group(app.db, name="春季一群")
    make_group(app.db, "200", name="春季二群", capacity=10, member_count=10)
    op = app.token("op", Role.operator)
    code = app.client.post("/api/v1/entry/invites", headers=op, json={"code": "SPRING"}).json()

    page = app.client.get("/invite/default/spring")
    assert page.status_code == 200
    assert "春季一群" in page.text
    assert "春季二群" not in page.text  # full
    assert 'id="invite-code">SPRING<' in page.text
    app.client.get("/invite/default/SPRING")
    with app.db.session(write=False) as session:
        opened = session.scalar(select(func.count()).where(AuditEntry.action == "invite.opened"))
    assert opened == 1

    app.client.post(f"/api/v1/entry/invites/{code['id']}/revoke", headers=op)
    gone = app.client.get("/invite/default/SPRING?lang=en")
    assert (gone.status_code, "This invite code was withdrawn" in gone.text) == (410, True)
    assert app.client.get("/invite/default/NOSUCH").status_code == 404
    assert app.client.get("/invite/nowhere/SPRING").status_code == 404


def test_the_accept_page_accepts_with_its_token_and_csrf(app: App) -> None:
    make_group(app.db)
    set_entry(app.db, accept_rules=True)
    ingest(app.db, [joined("605")])
    drain(app.db)
    with app.db.session(write=False) as session:
        found = session.scalars(select(RuleAcceptance)).one()
        token = acceptance_service.token_for(app.settings.secret_key, found)

    page = app.client.get(f"/accept/{token}")
    assert page.status_code == 200
    assert "我同意" in page.text
    assert "本群用于成员之间交流与互助" in page.text  # the starter book's topic
    forged = app.client.post(f"/accept/{token}", data={"csrf_token": "wrong"})
    assert forged.status_code == 403
    done = app.client.post(f"/accept/{token}", data={"csrf_token": csrf_of(page.text)})
    assert done.status_code == 200
    assert 'id="accepted"' in done.text
    with app.db.session(write=False) as session:
        accepted = session.get(RuleAcceptance, found.id)
        assert accepted is not None
        assert (accepted.status, accepted.accepted_via) == ("accepted", "button")
    assert actions(app.db, "mute")[-1].params == {"user": "605", "seconds": 0}
    assert app.client.get(f"/accept/{token[:-2]}xx").status_code == 404
    assert app.client.get("/accept/" + "a" * 300).status_code in (404, 422)


# --- command line --------------------------------------------------------------------------------


@pytest.fixture
def cli(sqlite_db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> typer.Typer:
    return command_line(monkeypatch, sqlite_db, tmp_path, {"invite": invite_app, "join": join_app})


def test_the_command_line_handles_codes_and_requests(cli: typer.Typer, sqlite_db: Database) -> None:
    gid = make_group(sqlite_db)
    code, out = run(
        cli, "invite", "create", "--code", "cli-01", "--group", str(gid), "--quota", "2"
    )
    assert code == 0, out
    assert out.strip() == "CLI-01\thttp://127.0.0.1:8000/invite/default/CLI-01"
    code, out = run(cli, "invite", "list")
    assert out.strip().split("\t")[:4] == ["CLI-01", "live", "0/2", "测试群100"]
    code, out = run(cli, "invite", "revoke", "cli-01")
    assert (code, out.split("\t")[1]) == (0, "revoked")
    code, out = run(cli, "invite", "create", "--code", "x")
    assert code == 2 and "4–32" in out

    first, second = queue_requests(sqlite_db, "701", "702")
    code, out = run(cli, "join", "list")
    assert code == 0
    assert {line.split("\t")[0] for line in out.strip().splitlines()} == {str(first), str(second)}
    assert run(cli, "join", "approve", str(first))[1].strip() == f"{first}\tapproved"
    code, out = run(cli, "join", "reject", str(second), "--reason", "满了")
    assert (code, out.strip()) == (0, f"{second}\trejected")
    code, out = run(cli, "join", "approve", str(first))
    assert code == 2 and "already decided" in out
    assert run(cli, "join", "list")[1].strip() == ""
