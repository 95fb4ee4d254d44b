"""Pages, API and command line of enforcement: who may read and act, filters, CSV,
the evidence highlighted and escaped, the review queue and operators' actions."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from qunyun.accounts.roles import Role
from qunyun.db.engine import Database
from qunyun.enforcement.cli import case_app
from tests.cli_support import command_line, run
from tests.conftest import App
from tests.enforcement.support import (
    AD,
    actions,
    cases,
    follower,
    group_of,
    ingest,
    member_of,
    message,
    stored_reports,
)

XSS = "<script>alert(1)</script> 加我薇❤信 qunyun2024"


def _judged(db: Database) -> None:
    ingest(
        db,
        [
            message(1, AD, user="10001"),
            message(2, XSS, user="20002"),
            message(3, "周末有人一起去爬山吗", user="30003"),
            message(4, "举报 拉人", user="10001", reply_to="3"),
        ],
    )
    follower(db).drain()


def _csrf(page: str) -> str:
    return page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]


def test_viewers_read_cases_with_filters_and_operators_export(app: App) -> None:
    _judged(app.db)
    app.login("viewer1", Role.viewer)
    page = app.client.get("/cases")
    assert page.status_code == 200
    assert page.text.count("data-case=") == 2
    assert 'href="/cases"' in page.text  # the nav link
    only = app.client.get("/cases", params={"member": member_of(app.db, "10001").id})
    assert only.text.count("data-case=") == 1
    none = app.client.get("/cases", params={"status": "dry_run"})
    assert 'id="case-none"' in none.text
    bad = app.client.get("/cases", params={"since": "yesterday"})
    assert bad.status_code == 200 and "YYYY-MM-DD" in bad.text
    assert app.client.get("/api/v1/cases/export.csv").status_code == 403

    app.client.post("/logout", data={"csrf_token": _csrf(page.text)})
    app.login("operator1", Role.operator)
    exported = app.client.get("/api/v1/cases/export.csv", params={"rule": "category:"})
    assert exported.status_code == 200
    assert exported.text.startswith("\ufeff")
    rows = list(csv.DictReader(io.StringIO(exported.text.lstrip("\ufeff"))))
    assert len(rows) == 2 and {r["rule_id"] for r in rows} == {"category:ads"}
    assert any("薇❤信" in r["matched"] for r in rows)
    # A formula-looking cell is defused.
    assert all(not r["message_text"].startswith(("=", "+", "@")) for r in rows)


def test_a_case_page_highlights_the_match_escaped(app: App) -> None:
    _judged(app.db)
    case = next(c for c in cases(app.db) if c.message_id == "2")
    app.login("viewer2", Role.viewer)
    page = app.client.get(f"/cases/{case.id}")
    assert page.status_code == 200
    assert "<script>alert(1)</script>" not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    assert "<mark>薇❤信</mark>" in page.text
    assert "薇信" in page.text  # the normalised form
    assert f"/appeal/{case.appeal_token}" in page.text
    assert 'data-kind="delete_message"' in page.text and 'data-kind="notice"' in page.text
    assert app.client.get("/cases/999999").status_code == 404


def test_the_review_queue_and_its_actions(app: App) -> None:
    _judged(app.db)
    (report,) = stored_reports(app.db)
    csrf = app.login("viewer3", Role.viewer)
    queue = app.client.get("/reports")
    assert f'data-report="{report.id}"' in queue.text and "周末有人一起去爬山吗" in queue.text
    assert 'data-change="apply"' not in queue.text  # viewers read only
    refused = app.client.post(
        f"/reports/{report.id}/dismiss", data={"csrf_token": csrf}, follow_redirects=False
    )
    assert refused.status_code == 403
    app.client.post("/logout", data={"csrf_token": csrf})

    csrf = app.login("operator2", Role.operator)
    queue = app.client.get("/reports")
    assert 'data-change="apply"' in queue.text and 'value="category:ads"' in queue.text
    forged = app.client.post(
        f"/reports/{report.id}/apply", data={"rule": "links"}, follow_redirects=False
    )
    assert forged.status_code == 403  # no CSRF token
    done = app.client.post(
        f"/reports/{report.id}/apply",
        data={"rule": "category:abuse", "csrf_token": csrf},
        follow_redirects=False,
    )
    assert done.status_code == 303 and done.headers["location"].startswith("/cases/")
    made = cases(app.db)[-1]
    assert (made.source, made.rule_id, made.message_id) == ("report", "category:abuse", "3")
    again = app.client.post(
        f"/reports/{report.id}/dismiss", data={"csrf_token": csrf}, follow_redirects=True
    )
    assert "该举报已处理过" in again.text or "already been handled" in again.text


def test_an_operator_acts_on_a_member_from_their_record(app: App) -> None:
    _judged(app.db)
    member = member_of(app.db, "30003")
    csrf = app.login("operator3", Role.operator)
    page = app.client.get(f"/moderation/members/{member.id}")
    assert page.status_code == 200 and 'id="member-act"' in page.text
    missing = app.client.post(
        f"/moderation/members/{member.id}/act",
        data={"csrf_token": csrf, "group": group_of(app.db).id, "action": "mute", "reason": ""},
        follow_redirects=True,
    )
    assert "请写明处理原因" in missing.text or "Give a reason" in missing.text
    done = app.client.post(
        f"/moderation/members/{member.id}/act",
        data={
            "csrf_token": csrf,
            "group": group_of(app.db).id,
            "action": "mute",
            "minutes": "30",
            "reason": "刷屏",
        },
        follow_redirects=False,
    )
    assert done.status_code == 303
    made = cases(app.db)[-1]
    assert (made.source, made.step_action, made.step_seconds) == ("operator", "mute", 1800)
    assert ("mute", {"user": "30003", "seconds": 1800}) in [
        (a.kind, a.params) for a in actions(app.db)
    ]


def test_the_api(app: App) -> None:
    _judged(app.db)
    viewer = app.token("api-viewer", Role.viewer)
    listed = app.client.get("/api/v1/cases", headers=viewer, params={"source": "auto"})
    assert listed.status_code == 200
    body = listed.json()
    assert body["total"] == 2
    item = body["items"][0]
    assert item["appeal_url"].startswith("http://testserver/appeal/")
    detail = app.client.get(f"/api/v1/cases/{item['id']}", headers=viewer).json()
    assert [a["kind"] for a in detail["actions"]] == ["delete_message"]
    assert detail["notice"]["kind"] == "send_message"
    assert detail["notice"]["status"] == "todo"  # the group has no connection: a to-do
    reports_page = app.client.get("/api/v1/reports", headers=viewer).json()
    assert reports_page["total"] == 1
    assert reports_page["items"][0]["reported_record"] == {
        "active_warnings": 0,
        "cases": 0,
        "last_case_at": None,
    }
    body = {
        "member_id": member_of(app.db, "30003").id,
        "group_id": group_of(app.db).id,
        "action": "warn",
        "reason": "提醒一下",
    }
    assert app.client.post("/api/v1/cases", headers=viewer, json=body).status_code == 403
    operator = app.token("api-operator", Role.operator)
    made = app.client.post("/api/v1/cases", headers=operator, json=body)
    assert made.status_code == 201 and made.json()["source"] == "operator"
    assert made.json()["notice"]["kind"] == "send_message"
    report_id = reports_page["items"][0]["id"]
    dismissed = app.client.post(
        f"/api/v1/reports/{report_id}/dismiss", headers=operator, json={"note": "正常聊天"}
    )
    assert dismissed.status_code == 200 and dismissed.json()["status"] == "dismissed"
    again = app.client.post(f"/api/v1/reports/{report_id}/delete", headers=operator)
    assert again.status_code == 409


def test_the_command_line(
    monkeypatch: pytest.MonkeyPatch, sqlite_db: Database, tmp_path: Path
) -> None:
    _judged(sqlite_db)
    cli = command_line(
        monkeypatch, sqlite_db, tmp_path, {"case": case_app}, base_url="https://qy.example"
    )
    code, out = run(cli, "case", "list")
    assert code == 0, out
    lines = [line for line in out.splitlines() if not line.startswith("#")]
    assert len(lines) == 2 and all("category:ads" in line for line in lines)
    case_id = lines[0].split("\t")[0]
    code, out = run(cli, "case", "show", case_id)
    assert code == 0, out
    assert "evidence  薇❤信" in out and "https://qy.example/appeal/" in out
    code, out = run(cli, "case", "list", "--status", "nonsense")
    assert code == 2 and "nonsense" in out
    code, out = run(cli, "case", "show", "99999")
    assert code == 2
