"""The team's side over HTTP: the queue, the review page, the case page, the JSON API."""

from __future__ import annotations

import re

from sqlalchemy import select

from qunyun.accounts.roles import Role
from qunyun.moderation.models import Appeal, ModerationCase
from tests.appeals.helpers import actions_after, seed_case
from tests.conftest import App


def _open_api(app: App, headers: dict[str, str], case_id: int, statement: str = "请复核") -> int:
    response = app.client.post(
        "/api/v1/appeals", json={"case_id": case_id, "statement": statement}, headers=headers
    )
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def test_api_open_list_show_decide(app: App) -> None:
    op = app.token("op", Role.operator)
    admin = app.token("boss", Role.admin)
    viewer = app.token("viewer", Role.viewer)
    first = seed_case(app.db, step="mute")
    second = seed_case(app.db, step="ban", user="20002")
    a1 = _open_api(app, op, first.case_id, "成员说是误判")
    a2 = _open_api(app, op, second.case_id)
    # One open appeal per case.
    again = app.client.post(
        "/api/v1/appeals", json={"case_id": first.case_id, "statement": "x"}, headers=op
    )
    assert again.status_code == 409 and again.json()["code"] == "appeal.already_open"
    refused = app.client.post(
        "/api/v1/appeals", json={"case_id": first.case_id, "statement": "x"}, headers=viewer
    )
    assert refused.status_code == 403
    shown = app.client.get(f"/api/v1/appeals/{a1}", headers=viewer).json()
    assert shown["statement"] == "成员说是误判" and shown["opened_by"] == "op"
    assert shown["case"]["rule"] == {"zh-CN": "广告", "en": "Advertising"}
    assert shown["case"]["evidence"][0] == {
        "text": "加微信",
        "span": [6, 9],
        "normalized": "加微信",
    }
    decided = app.client.post(
        f"/api/v1/appeals/{a2}/decision",
        json={"outcome": "overturn", "note": "误封"},
        headers=admin,
    )
    assert decided.status_code == 200, decided.text
    body = decided.json()
    assert body["appeal"]["status"] == "overturned" and body["appeal"]["reviewer"] == "boss"
    assert body["undo"] == ["not_restorable", "unban"] and body["message_lost"]
    assert len(body["lifted_ban_ids"]) == 1 and body["warning_revoked"]
    [unban] = [a for a in actions_after(app.db) if a.id in body["queued_action_ids"]]
    assert (unban.kind, unban.params) == ("unban", {"user": "20002"})
    # The operator who opened it may not decide; neither may anyone twice.
    assert (
        app.client.post(
            f"/api/v1/appeals/{a1}/decision", json={"outcome": "uphold"}, headers=op
        ).json()["code"]
        == "appeal.reviewer_role"
    )
    assert (
        app.client.post(
            f"/api/v1/appeals/{a2}/decision", json={"outcome": "uphold"}, headers=admin
        ).status_code
        == 409
    )
    listed = app.client.get("/api/v1/appeals", headers=viewer).json()
    assert [a["id"] for a in listed["items"]] == [a1, a2]  # open first
    assert listed["total"] == 2
    only = app.client.get("/api/v1/appeals?status=overturned", headers=viewer).json()
    assert [a["id"] for a in only["items"]] == [a2]
    assert app.client.get("/api/v1/appeals?status=bogus", headers=viewer).status_code == 422
    assert app.client.get("/api/v1/appeals/999999", headers=viewer).status_code == 404
    paged = app.client.get("/api/v1/appeals?per_page=1&page=2", headers=viewer).json()
    assert [a["id"] for a in paged["items"]] == [a2] and paged["total"] == 2


def test_queue_puts_open_appeals_first_oldest_first(app: App) -> None:
    op = app.token("op", Role.operator)
    admin = app.token("boss", Role.admin)
    ids = [_open_api(app, op, seed_case(app.db, user=f"2100{n}").case_id) for n in range(4)]
    for decided in (ids[0], ids[2]):
        app.client.post(
            f"/api/v1/appeals/{decided}/decision", json={"outcome": "uphold"}, headers=admin
        )
    listed = app.client.get("/api/v1/appeals", headers=op).json()["items"]
    assert [(a["id"], a["status"]) for a in listed] == [
        (ids[1], "open"),
        (ids[3], "open"),
        (ids[2], "upheld"),
        (ids[0], "upheld"),
    ]


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found is not None
    return found.group(1)


def test_pages_open_review_and_overturn(app: App) -> None:
    seeded = seed_case(app.db)
    app.user("opener", Role.operator)
    csrf = app.login("reviewer", Role.admin)
    queue = app.client.get("/appeals")
    assert queue.status_code == 200 and "没有申诉" in queue.text
    assert 'href="/appeals" aria-current="page"' in queue.text  # the nav link
    case_page = app.client.get(f"/appeals/cases/{seeded.case_id}")
    assert "广告" in case_page.text and "代为提起申诉" in case_page.text
    assert f"/appeal/{seeded.token}" in case_page.text
    forged = app.client.post(
        f"/appeals/cases/{seeded.case_id}", data={"statement": "x", "csrf_token": "no"}
    )
    assert forged.status_code == 403
    opened = app.client.post(
        f"/appeals/cases/{seeded.case_id}",
        data={"statement": "成员电话里说明了情况", "csrf_token": csrf},
        follow_redirects=False,
    )
    assert opened.status_code == 303
    review_url = opened.headers["location"]
    page = app.client.get(review_url)
    # The reviewer opened it: while they are the only admin/owner they may still
    # review it (marked as a self-review); once the team has another, they may not.
    assert "成员电话里说明了情况" in page.text
    assert 'id="self-review-warning"' in page.text
    app.user("another", Role.owner)
    page = app.client.get(review_url)
    assert 'id="cannot-review"' in page.text and "另一位管理员" in page.text
    refused = app.client.post(
        f"{review_url}/decide",
        data={"outcome": "overturn", "csrf_token": csrf},
        follow_redirects=True,
    )
    assert "复核人不能是" in refused.text
    with app.db.session() as s:
        assert s.scalars(select(Appeal.status)).one() == "open"


def test_review_page_overturns_and_reports_what_was_undone(app: App) -> None:
    seeded = seed_case(app.db)
    op = app.token("op", Role.operator)
    appeal_id = _open_api(app, op, seeded.case_id)
    csrf = app.login("boss", Role.admin)
    page = app.client.get(f"/appeals/{appeal_id}")
    assert "撤销处理" in page.text and "维持原处理" in page.text
    done = app.client.post(
        f"/appeals/{appeal_id}/decide",
        data={"outcome": "overturn", "note": "误判", "csrf_token": _csrf(page.text) or csrf},
        follow_redirects=True,
    )
    assert done.status_code == 200
    assert "已撤销处理" in done.text and "已排队解除禁言" in done.text
    assert "被撤回的消息无法恢复" in done.text and "提醒记录已撤销" in done.text
    assert 'id="appeal-status"' in done.text and "已撤销" in done.text
    with app.db.session() as s:
        assert s.get(ModerationCase, seeded.case_id).status == "overturned"  # type: ignore[union-attr]
    queue = app.client.get("/appeals?status=overturned")
    assert f'data-appeal="{appeal_id}"' in queue.text
    assert f'data-appeal="{appeal_id}"' not in app.client.get("/appeals?status=open").text


def test_viewers_read_but_cannot_open(app: App) -> None:
    seeded = seed_case(app.db)
    csrf = app.login("watcher", Role.viewer)
    page = app.client.get(f"/appeals/cases/{seeded.case_id}")
    assert page.status_code == 200 and "代为提起申诉" not in page.text
    refused = app.client.post(
        f"/appeals/cases/{seeded.case_id}",
        data={"statement": "x", "csrf_token": csrf},
        follow_redirects=True,
    )
    assert "此操作需要「operator」或更高的角色" in refused.text
    with app.db.session() as s:
        assert s.scalars(select(Appeal)).all() == []
