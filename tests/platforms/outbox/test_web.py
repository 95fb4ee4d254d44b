"""The API and the pages: permissions, secrets shown once, to-dos, retries."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from qunyun.accounts.roles import Role
from qunyun.platforms import registry
from qunyun.platforms.actions import ActionResult
from qunyun.platforms.models import PlatformAction
from tests.conftest import App
from tests.platforms.outbox.conftest import Platform, make_group


@pytest.fixture
def live(any_app: App, platform: Platform) -> Iterator[App]:
    """The application with the fake platform and the delivery task running."""
    platform.install(any_app.ctx)
    portal = any_app.client.portal
    assert portal is not None
    portal.call(registry.start, any_app.ctx)
    yield any_app
    portal.call(registry.stop, any_app.ctx)


def wait_for(app: App, action_id: int, status: str) -> PlatformAction:
    deadline = time.monotonic() + 10
    while True:
        with app.db.session(write=False) as session:
            found = session.get(PlatformAction, action_id)
            assert found is not None
            if found.status == status or time.monotonic() > deadline:
                return found
        time.sleep(0.02)


def test_admins_manage_connections_and_see_the_secret_once(live: App) -> None:
    admin = live.token("ada", Role.admin)
    made = live.client.post(
        "/api/v1/connections",
        json={"platform": "onebot", "name": "QQ 机器人", "access_token": "tok-Zq81x"},
        headers=admin,
    )
    assert made.status_code == 201, made.text
    body = made.json()
    assert body["inbound_secret"] and body["has_access_token"] is True
    assert body["inbound_url"].endswith(f"/hooks/onebot/{body['inbound_url'].rsplit('/', 1)[1]}")
    assert "access_token" not in body
    listed = live.client.get("/api/v1/connections", headers=admin).json()
    assert listed[0]["inbound_secret"] is None and listed[0]["inbound_url"]
    viewer = live.token("vic", Role.viewer)
    seen = live.client.get("/api/v1/connections", headers=viewer).json()
    assert seen[0]["name"] == "QQ 机器人"
    assert seen[0]["inbound_url"] is None and seen[0]["inbound_secret"] is None
    assert "tok-Zq81x" not in str(seen) and body["inbound_secret"] not in str(seen)
    operator = live.token("oli", Role.operator)
    refused = live.client.post(
        "/api/v1/connections", json={"platform": "manual", "name": "x"}, headers=operator
    )
    assert refused.status_code == 403
    rotated = live.client.post(f"/api/v1/connections/{body['id']}/rotate", headers=admin)
    assert rotated.json()["inbound_secret"] not in ("", body["inbound_secret"])
    patched = live.client.patch(
        f"/api/v1/connections/{body['id']}", json={"enabled": False}, headers=admin
    )
    assert patched.json()["enabled"] is False
    bad = live.client.post(
        "/api/v1/connections",
        json={"platform": "webhook", "name": "桥", "api_url": "javascript:x"},
        headers={**admin, "Accept-Language": "en"},
    )
    assert bad.status_code == 400 and bad.json()["code"] == "url.dangerous_scheme"
    gone = live.client.delete(f"/api/v1/connections/{body['id']}", headers=admin)
    assert gone.status_code == 204
    assert live.client.get("/api/v1/connections", headers=admin).json() == []


def test_an_action_is_sent_by_the_running_worker(live: App, platform: Platform) -> None:
    group = make_group(live.db)
    operator = live.token("oli", Role.operator)
    made = live.client.post(
        "/api/v1/actions",
        json={"group_id": group.id, "kind": "send_message", "params": {"text": "开课啦"}},
        headers=operator,
    )
    assert made.status_code == 201, made.text
    assert made.json()["status"] == "pending"
    assert wait_for(live, made.json()["id"], "sent").status == "sent"
    assert platform.client.performed[0].params == {"text": "开课啦"}
    page = live.client.get("/api/v1/actions?status=sent", headers=operator).json()
    assert page["total"] == 1 and page["items"][0]["reason"].startswith("user:")
    viewer = live.token("vic", Role.viewer)
    refused = live.client.post(
        "/api/v1/actions",
        json={"group_id": group.id, "kind": "send_message", "params": {"text": "x"}},
        headers=viewer,
    )
    assert refused.status_code == 403


def test_a_manual_todo_through_the_api(live: App) -> None:
    group = make_group(live.db, "微信一群", platform="manual")
    operator = {**live.token("oli", Role.operator), "Accept-Language": "zh-CN"}
    made = live.client.post(
        "/api/v1/actions",
        json={"group_id": group.id, "kind": "mute", "params": {"user": "wxid_9", "seconds": 600}},
        headers=operator,
    ).json()
    assert made["status"] == "todo"
    assert made["todo"]["instruction"] == "在群「微信一群」中禁言 wxid_9 10 分钟"
    todos = live.client.get("/api/v1/actions?status=todo", headers=operator).json()
    assert [item["id"] for item in todos["items"]] == [made["id"]]
    viewer = live.token("vic", Role.viewer)
    assert live.client.post(f"/api/v1/actions/{made['id']}/done", headers=viewer).status_code == 403
    done = live.client.post(f"/api/v1/actions/{made['id']}/done", headers=operator)
    assert done.json()["status"] == "done" and done.json()["done_by_id"]
    again = live.client.post(f"/api/v1/actions/{made['id']}/done", headers=operator)
    assert again.status_code == 409 and again.json()["code"] == "action.cannot_mark_done"


def test_a_failed_action_shows_on_the_page_and_the_retry_button_works(
    live: App, platform: Platform
) -> None:
    platform.client.then = ActionResult.failure("retcode 1400: 权限不足", retryable=False)
    group = make_group(live.db, "QQ 三群")
    operator = live.token("oli", Role.operator)
    made = live.client.post(
        "/api/v1/actions",
        json={"group_id": group.id, "kind": "kick", "params": {"user": "123"}},
        headers=operator,
    ).json()
    assert wait_for(live, made["id"], "failed").status == "failed"
    csrf = live.login("steward", Role.operator)
    page = live.client.get("/actions")
    assert page.status_code == 200
    assert f'id="action-{made["id"]}"' in page.text
    assert "retcode 1400: 权限不足" in page.text
    assert "将 123 移出群「QQ 三群」" in page.text
    viewer_refused = live.client.post(f"/actions/{made['id']}/retry")
    assert viewer_refused.status_code == 403  # no CSRF token
    platform.client.then = ActionResult.success()
    card = live.client.post(
        f"/actions/{made['id']}/retry", headers={"X-CSRF-Token": csrf, "HX-Request": "true"}
    )
    assert card.status_code == 200
    assert card.text.lstrip().startswith("<article")
    assert 'data-status="pending"' in card.text
    assert wait_for(live, made["id"], "sent").status == "sent"


def test_todos_are_marked_done_through_the_page(live: App) -> None:
    group = make_group(live.db, "微信二群", platform=None)
    operator = live.token("oli", Role.operator)
    made = live.client.post(
        "/api/v1/actions",
        json={"group_id": group.id, "kind": "send_message", "params": {"text": "今晚 8 点直播"}},
        headers=operator,
    ).json()
    csrf = live.login("steward", Role.operator)
    page = live.client.get("/actions", headers={"Accept-Language": "en"})
    assert "今晚 8 点直播" in page.text and 'id="todos"' in page.text
    form = live.client.post(
        f"/actions/{made['id']}/done", data={"csrf_token": csrf}, follow_redirects=False
    )
    assert form.status_code == 303
    with live.db.session(write=False) as session:
        action = session.get(PlatformAction, made["id"])
        assert action is not None and action.status == "done"


def test_viewers_see_the_pages_without_secrets_or_buttons(live: App) -> None:
    admin = live.token("ada", Role.admin)
    made = live.client.post(
        "/api/v1/connections", json={"platform": "webhook", "name": "桥接"}, headers=admin
    ).json()
    make_group(live.db, "群", platform="manual")
    live.login("vic", Role.viewer)
    page = live.client.get("/connections")
    assert page.status_code == 200 and "桥接" in page.text
    assert made["inbound_secret"] not in page.text
    assert "/hooks/webhook/" not in page.text
    assert 'action="/connections/new"' not in page.text
    assert live.client.post("/connections/new", data={}).status_code == 403
    assert live.client.get("/actions").status_code == 200


def test_the_connection_page_shows_the_secret_once(live: App) -> None:
    csrf = live.login("ada", Role.admin)
    made = live.client.post(
        "/connections/new",
        data={"csrf_token": csrf, "platform": "onebot", "name": "QQ 机器人", "api_url": ""},
    )
    assert made.status_code == 200
    assert 'id="secret-once"' in made.text
    secret = made.text.split('<code id="new-secret">', 1)[1].split("<", 1)[0]
    assert len(secret) >= 40
    assert "/hooks/onebot/" in made.text and "/ws" in made.text
    again = live.client.get("/connections")
    assert secret not in again.text and 'id="secret-once"' not in again.text
    bad = live.client.post(
        "/connections/new",
        data={"csrf_token": csrf, "platform": "webhook", "name": "x", "api_url": "ftp://a.b"},
    )
    assert bad.status_code == 400 and 'class="alert error"' in bad.text
