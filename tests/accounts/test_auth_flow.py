"""Sign-in, sessions, CSRF, tokens and roles through real HTTP requests."""

from __future__ import annotations

import pytest

from qunyun.accounts.roles import Role
from tests.conftest import PASSWORD, App


def _csrf_from(html: str) -> str:
    return html.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]


def test_pages_redirect_to_login_and_api_answers_401(app: App) -> None:
    page = app.client.get("/tokens", follow_redirects=False)
    assert page.status_code == 303
    assert page.headers["location"] == "/login?next=/tokens"
    api = app.client.get("/api/v1/me")
    assert api.status_code == 401
    assert api.json()["code"] == "auth.required"
    assert api.json()["message"] == "请先登录"
    assert api.headers["www-authenticate"] == "Bearer"


def test_error_messages_follow_accept_language(app: App) -> None:
    api = app.client.get("/api/v1/me", headers={"Accept-Language": "en-US,en;q=0.9"})
    assert api.json()["message"] == "Please sign in first"


def test_login_sets_session_and_logout_clears_it(app: App) -> None:
    csrf = app.login("alice", Role.operator)
    me = app.client.get("/api/v1/me")
    assert me.status_code == 200
    assert me.json()["name"] == "alice"
    assert me.json()["roles"] == [{"community_id": 1, "role": "operator"}]
    out = app.client.post("/logout", data={"csrf_token": csrf}, follow_redirects=False)
    assert out.status_code == 303
    assert app.client.get("/api/v1/me").status_code == 401


def test_wrong_password_is_refused_without_saying_which_part(app: App) -> None:
    app.user("bob")
    csrf = _csrf_from(app.client.get("/login").text)
    for name in ("bob", "nobody"):
        r = app.client.post(
            "/login", data={"name": name, "password": "wrong-password", "csrf_token": csrf}
        )
        assert r.status_code == 401
        assert "用户名或密码错误" in r.text


def test_login_form_without_csrf_token_is_refused(app: App) -> None:
    app.user("carol")
    app.client.get("/login")
    r = app.client.post("/login", data={"name": "carol", "password": PASSWORD})
    assert r.status_code == 403
    assert app.client.get("/api/v1/me").status_code == 401


def test_login_is_rate_limited(app: App) -> None:
    app.user("dave")
    csrf = _csrf_from(app.client.get("/login").text)
    statuses = [
        app.client.post(
            "/login", data={"name": "dave", "password": "nope-nope", "csrf_token": csrf}
        ).status_code
        for _ in range(12)
    ]
    assert statuses[:10] == [401] * 10
    assert statuses[10:] == [429, 429]
    # Even the right password waits out the window.
    right = app.client.post(
        "/login", data={"name": "dave", "password": PASSWORD, "csrf_token": csrf}
    )
    assert right.status_code == 429


@pytest.mark.parametrize(
    "target", ["https://evil.example/", "//evil.example/", "/\\evil.example", "javascript:alert(1)"]
)
def test_login_never_redirects_off_site(app: App, target: str) -> None:
    app.user("erin")
    csrf = _csrf_from(app.client.get("/login").text)
    r = app.client.post(
        "/login",
        data={"name": "erin", "password": PASSWORD, "csrf_token": csrf, "next": target},
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert r.headers["location"] == "/links"


def test_session_cookie_is_http_only_and_same_site(app: App) -> None:
    app.user("frank")
    csrf = _csrf_from(app.client.get("/login").text)
    r = app.client.post(
        "/login",
        data={"name": "frank", "password": PASSWORD, "csrf_token": csrf},
        follow_redirects=False,
    )
    cookie = r.headers["set-cookie"].lower()
    assert "httponly" in cookie
    assert "samesite=lax" in cookie


def test_session_api_writes_need_the_csrf_header(app: App) -> None:
    csrf = app.login("gina")
    refused = app.client.post("/api/v1/tokens", json={"name": "laptop"})
    assert refused.status_code == 403
    assert refused.json()["code"] == "csrf.invalid"
    made = app.client.post(
        "/api/v1/tokens", json={"name": "laptop"}, headers={"X-CSRF-Token": csrf}
    )
    assert made.status_code == 201


def test_api_token_lifecycle(app: App) -> None:
    headers = app.token("henry", Role.viewer)
    assert app.client.get("/api/v1/me", headers=headers).json()["name"] == "henry"
    created = app.client.post("/api/v1/tokens", json={"name": "ci"}, headers=headers)
    assert created.status_code == 201
    body = created.json()
    assert body["token"].startswith("qy_")
    assert body["prefix"] == body["token"][:10]
    second = {"Authorization": f"Bearer {body['token']}"}
    assert app.client.get("/api/v1/me", headers=second).status_code == 200
    listed = app.client.get("/api/v1/tokens", headers=headers).json()
    assert {t["name"] for t in listed} == {"tests", "ci"}
    assert all("token" not in t for t in listed)
    assert app.client.delete(f"/api/v1/tokens/{body['id']}", headers=headers).status_code == 204
    revoked = app.client.get("/api/v1/me", headers=second)
    assert revoked.status_code == 401
    assert revoked.json()["code"] == "auth.invalid_token"


def test_forged_token_is_refused(app: App) -> None:
    r = app.client.get("/api/v1/me", headers={"Authorization": "Bearer qy_" + "A" * 43})
    assert r.status_code == 401


def test_tokens_page_shows_a_new_token_once(app: App) -> None:
    csrf = app.login("iris")
    page = app.client.post("/tokens", data={"name": "script", "csrf_token": csrf})
    assert page.status_code == 200
    token = page.text.split('id="new-token" class="copyable">', 1)[1].split("<", 1)[0]
    assert token.startswith("qy_")
    again = app.client.get("/tokens")
    assert token not in again.text
    assert "script" in again.text


def test_password_change_signs_out_other_sessions(app: App) -> None:
    from qunyun.accounts import service
    from qunyun.accounts.passwords import Passwords

    app.login("jack")
    assert app.client.get("/api/v1/me").status_code == 200
    with app.db.transaction() as session:
        user = service.get_user_by_name(session, "jack")
        assert user is not None
        service.change_password(session, Passwords("test"), user, "another password")
    assert app.client.get("/api/v1/me").status_code == 401


def test_language_switch_is_remembered_for_the_user(app: App) -> None:
    csrf = app.login("kate")
    assert "API 令牌" in app.client.get("/tokens").text
    r = app.client.post(
        "/language",
        data={"lang": "en", "next": "/tokens", "csrf_token": csrf},
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert "API tokens" in app.client.get("/tokens").text
    assert app.client.get("/api/v1/me").json()["language"] == "en"
