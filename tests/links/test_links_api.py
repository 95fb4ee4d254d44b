"""The short-link JSON API, end to end through the application (SQLite)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path

import pytest

from qunyun.accounts.roles import Role
from qunyun.db.engine import Database
from qunyun.links.title_fetch import PageMeta
from tests.conftest import App, _app

Headers = dict[str, str]


@pytest.fixture
def operator(app: App) -> Headers:
    return app.token("op", Role.operator)


def create(app: App, headers: Headers, **body: object) -> dict[str, object]:
    body.setdefault("url", "https://example.com/")
    response = app.client.post("/api/v1/links", json=body, headers=headers)
    assert response.status_code == 201, response.text
    result: dict[str, object] = response.json()
    return result


def test_create_answers_201_with_the_link(app: App, operator: Headers) -> None:
    response = app.client.post(
        "/api/v1/links",
        json={"url": "例子.中国/路径", "slug": "Hello", "tags": ["海报"], "utm_source": "qr"},
        headers=operator,
    )
    assert response.status_code == 201
    body = response.json()
    assert body["slug"] == "Hello"
    assert body["short_url"] == "http://testserver/Hello"
    assert body["target_url"] == "https://xn--fsqu00a.xn--fiqs8s/%E8%B7%AF%E5%BE%84"
    assert body["display_url"] == "https://例子.中国/路径"
    assert body["tags"] == ["海报"]
    assert body["state"] == "active"
    assert body["has_password"] is False
    assert body["redirect_status"] == 302


def test_created_link_resolves_in_the_very_next_request(app: App, operator: Headers) -> None:
    body = create(app, operator, url="https://example.com/next", utm_campaign="launch")
    response = app.client.get(f"/{body['slug']}", follow_redirects=False)
    assert response.status_code == 302
    assert response.headers["location"] == "https://example.com/next?utm_campaign=launch"
    assert response.headers["cache-control"] == "no-store"


def test_patch_shows_in_the_redirect_at_once(app: App, operator: Headers) -> None:
    create(app, operator, slug="moving", url="https://example.com/old")
    assert app.client.get("/moving", follow_redirects=False).headers["location"] == (
        "https://example.com/old"
    )  # now cached by the redirect
    response = app.client.patch(
        "/api/v1/links/MOVING",
        json={"url": "https://example.com/new", "redirect_status": 301},
        headers=operator,
    )
    assert response.status_code == 200
    assert response.json()["target_url"] == "https://example.com/new"
    redirect = app.client.get("/moving", follow_redirects=False)
    assert (redirect.status_code, redirect.headers["location"]) == (301, "https://example.com/new")


def test_slug_change_and_disable_and_delete_reach_the_redirect(app: App, operator: Headers) -> None:
    create(app, operator, slug="old-name")
    app.client.get("/old-name", follow_redirects=False)
    assert (
        app.client.patch(
            "/api/v1/links/old-name", json={"slug": "new-name"}, headers=operator
        ).status_code
        == 200
    )
    assert app.client.get("/old-name", follow_redirects=False).status_code == 404
    assert app.client.get("/new-name", follow_redirects=False).status_code == 302
    disabled = app.client.post("/api/v1/links/new-name/disable", headers=operator)
    assert disabled.json()["state"] == "disabled"
    assert app.client.get("/new-name", follow_redirects=False).status_code == 404
    assert app.client.post("/api/v1/links/new-name/enable", headers=operator).status_code == 200
    assert app.client.get("/new-name", follow_redirects=False).status_code == 302
    assert app.client.delete("/api/v1/links/new-name", headers=operator).status_code == 204
    assert app.client.get("/new-name", follow_redirects=False).status_code == 404
    assert app.client.get("/api/v1/links/new-name", headers=operator).status_code == 404


def test_patch_semantics(app: App, operator: Headers) -> None:
    create(app, operator, slug="pp", title="T", note="N", password="pw", max_visits=5)
    body = app.client.patch(
        "/api/v1/links/pp", json={"title": None, "password": ""}, headers=operator
    ).json()
    assert (body["title"], body["note"], body["has_password"], body["max_visits"]) == (
        None,
        "N",
        False,
        5,
    )
    refused = app.client.patch("/api/v1/links/pp", json={"url": None}, headers=operator)
    assert refused.status_code == 422


def test_errors_carry_code_and_message_in_the_request_language(app: App, operator: Headers) -> None:
    zh = app.client.post("/api/v1/links", json={"url": "javascript:alert(1)"}, headers=operator)
    assert zh.status_code == 400
    assert zh.json()["code"] == "url.dangerous_scheme"
    assert "浏览器" in zh.json()["message"]
    en = app.client.post(
        "/api/v1/links",
        json={"url": "javascript:alert(1)"},
        headers={**operator, "Accept-Language": "en"},
    )
    assert en.json()["code"] == "url.dangerous_scheme"
    assert "visitor's browser" in en.json()["message"]


@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("data:text/html,hi", "url.dangerous_scheme"),
        ("http://10.1.2.3/", "url.private_host"),
        ("http://localhost:8000/", "url.private_host"),
        ("https://admin:secret@example.com/", "url.credentials_not_allowed"),
        ("https://example.com/" + "x" * 5000, "url.too_long"),
        ("mailto:someone@example.com", "url.scheme_not_allowed"),
    ],
)
def test_url_refusals_are_400_with_their_code(
    app: App, operator: Headers, url: str, code: str
) -> None:
    response = app.client.post("/api/v1/links", json={"url": url}, headers=operator)
    assert (response.status_code, response.json()["code"]) == (400, code)
    assert app.client.get("/api/v1/links", headers=operator).json()["total"] == 0


def test_blocked_host_via_the_api(app: App) -> None:
    admin = app.token("boss", Role.admin)
    added = app.client.post(
        "/api/v1/blocked-hosts", json={"pattern": "Spam.Example", "reason": "spam"}, headers=admin
    )
    assert added.status_code == 201
    assert added.json()["pattern"] == "spam.example"
    refused = app.client.post(
        "/api/v1/links", json={"url": "https://a.spam.example/"}, headers=admin
    )
    assert refused.json()["code"] == "url.blocked_host"
    duplicate = app.client.post(
        "/api/v1/blocked-hosts", json={"pattern": "spam.example"}, headers=admin
    )
    assert duplicate.status_code == 409
    listed = app.client.get("/api/v1/blocked-hosts", headers=admin).json()
    assert [h["pattern"] for h in listed] == ["spam.example"]
    operator = app.token("op2", Role.operator)
    assert app.client.get("/api/v1/blocked-hosts", headers=operator).status_code == 403
    host_id = added.json()["id"]
    assert app.client.delete(f"/api/v1/blocked-hosts/{host_id}", headers=admin).status_code == 204
    assert app.client.delete(f"/api/v1/blocked-hosts/{host_id}", headers=admin).status_code == 404


@pytest.mark.parametrize(
    "body",
    [
        {"url": 5},
        {"url": "https://example.com", "title": "t" * 201},
        {"url": "https://example.com", "max_visits": 0},
        {"url": "https://example.com", "max_visits": 2**40},
        {"url": "https://example.com", "redirect_status": 307},
        {"url": "https://example.com", "tags": ["t"] * 21},
        {"url": "https://example.com", "slug": "s" * 65},
        {"url": "https://example.com", "unknown": 1},
        {"url": "https://example.com", "expires_at": "tomorrow"},
        {},
    ],
)
def test_malformed_bodies_are_422(app: App, operator: Headers, body: dict[str, object]) -> None:
    response = app.client.post("/api/v1/links", json=body, headers=operator)
    assert response.status_code == 422
    assert response.json()["code"] == "validation"
    assert response.json()["errors"]


def test_unstorable_text_is_refused_not_crashed(app: App, operator: Headers) -> None:
    response = app.client.post(
        "/api/v1/links", json={"url": "https://example.com", "note": "a\u0000b"}, headers=operator
    )
    assert (response.status_code, response.json()["code"]) == (400, "link.invalid_text")
    assert app.client.get("/api/v1/links/a%00b", headers=operator).status_code == 404
    assert app.client.get("/api/v1/links?q=%00", headers=operator).status_code == 200


def test_authentication_and_roles(app: App) -> None:
    anonymous = app.client.get("/api/v1/links")
    assert (anonymous.status_code, anonymous.json()["code"]) == (401, "auth.required")
    forged = app.client.post(
        "/api/v1/links",
        json={"url": "https://example.com"},
        headers={"Authorization": "Bearer qy_not-a-real-token"},
    )
    assert (forged.status_code, forged.json()["code"]) == (401, "auth.invalid_token")
    viewer = app.token("watcher", Role.viewer)
    refused = app.client.post("/api/v1/links", json={"url": "https://example.com"}, headers=viewer)
    assert (refused.status_code, refused.json()["code"]) == (403, "role.insufficient")
    operator = app.token("op", Role.operator)
    create(app, operator, slug="seen")
    assert app.client.get("/api/v1/links/seen", headers=viewer).status_code == 200
    for method, path in (
        ("PATCH", "/api/v1/links/seen"),
        ("DELETE", "/api/v1/links/seen"),
        ("POST", "/api/v1/links/seen/disable"),
    ):
        response = app.client.request(method, path, json={"title": "x"}, headers=viewer)
        assert response.status_code == 403, (method, path)
    assert app.client.delete("/api/v1/links/seen", headers=operator).status_code == 204
    restore = app.client.post("/api/v1/links/seen/restore", headers=operator)
    assert restore.status_code == 403
    admin = app.token("boss", Role.admin)
    deleted = app.client.get("/api/v1/links?state=deleted", headers=admin).json()
    assert [item["slug"] for item in deleted["items"]] == ["seen"]
    restored = app.client.post("/api/v1/links/seen/restore", headers=admin)
    assert (restored.status_code, restored.json()["state"]) == (200, "active")


def test_session_cookie_writes_need_the_csrf_token(app: App) -> None:
    token = app.login("cookie-user", Role.operator)
    refused = app.client.post("/api/v1/links", json={"url": "https://example.com"})
    assert (refused.status_code, refused.json()["code"]) == (403, "csrf.invalid")
    accepted = app.client.post(
        "/api/v1/links", json={"url": "https://example.com"}, headers={"X-CSRF-Token": token}
    )
    assert accepted.status_code == 201


@pytest.fixture
def limited_app(sqlite_db: Database, tmp_path: Path) -> Iterator[App]:
    yield from _app(sqlite_db, tmp_path, link_create_rate="2/minute")


def test_link_creation_is_rate_limited_per_user(limited_app: App) -> None:
    app = limited_app
    first, second = app.token("one", Role.operator), app.token("two", Role.operator)
    for _ in range(2):
        create(app, first)
    limited = app.client.post("/api/v1/links", json={"url": "https://e.com"}, headers=first)
    assert limited.status_code == 429
    assert limited.json()["code"] == "rate_limited"
    assert int(limited.headers["Retry-After"]) >= 1
    create(app, second)  # another user has their own allowance
    files = {"file": ("links.csv", b"url\nhttps://a.com\nhttps://b.com\nhttps://c.com\n")}
    imported = app.client.post("/api/v1/links/import", files=files, headers=second)
    assert imported.status_code == 200  # an import counts once, whatever its rows
    assert imported.json()["created"] == 3


def test_list_filters_sort_and_pages(app: App, operator: Headers) -> None:
    for i in range(5):
        create(app, operator, slug=f"item-{i}", tags=["even"] if i % 2 == 0 else [])
    page = app.client.get(
        "/api/v1/links?sort=slug&order=asc&per_page=2&page=2", headers=operator
    ).json()
    assert [i["slug"] for i in page["items"]] == ["item-2", "item-3"]
    assert (page["total"], page["page"], page["per_page"]) == (5, 2, 2)
    tagged = app.client.get("/api/v1/links?tag=even&q=ITEM", headers=operator).json()
    assert tagged["total"] == 3
    assert app.client.get("/api/v1/links?per_page=101", headers=operator).status_code == 422
    assert app.client.get("/api/v1/links?state=bogus", headers=operator).status_code == 422


def test_import_reports_each_row(app: App, operator: Headers) -> None:
    data = "url,slug,title\nhttps://example.com/1,one,第一\nftp://x,,\nhttps://e.com,one,\n"
    dry = app.client.post(
        "/api/v1/links/import?dry_run=true",
        files={"file": ("l.csv", data.encode("gbk"), "text/csv")},
        headers={**operator, "Accept-Language": "en"},
    ).json()
    assert dry["dry_run"] is True
    assert [(r["row"], r["ok"], r["code"]) for r in dry["rows"]] == [
        (2, True, None),
        (3, False, "url.scheme_not_allowed"),
        (4, False, "csv.duplicate_slug"),
    ]
    assert "Only http and https" in dry["rows"][1]["message"]
    assert app.client.get("/api/v1/links", headers=operator).json()["total"] == 0
    real = app.client.post(
        "/api/v1/links/import", files={"file": ("l.csv", data.encode())}, headers=operator
    ).json()
    assert (real["created"], real["failed"]) == (1, 2)
    assert app.client.get("/one", follow_redirects=False).status_code == 302


def test_import_refuses_undecodable_and_oversized_files(app: App, operator: Headers) -> None:
    bad = app.client.post(
        "/api/v1/links/import",
        files={"file": ("l.csv", b"url\nhttps://e.com/\xff\xfe\xff\n")},
        headers=operator,
    )
    assert (bad.status_code, bad.json()["code"]) == (400, "csv.bad_encoding")
    big = app.client.post(
        "/api/v1/links/import",
        files={"file": ("l.csv", b"url\n" + b"x" * (5 * 1024 * 1024))},
        headers=operator,
    )
    assert (big.status_code, big.json()["code"]) == (413, "csv.too_large")


def test_export_csv(app: App, operator: Headers) -> None:
    create(app, operator, slug="exp", title='导出, "quoted"', tags=["a", "b"])
    create(app, operator, slug="other")
    response = app.client.get("/api/v1/links/export.csv?q=exp", headers=operator)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    assert response.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert len(rows) == 1
    assert rows[0]["slug"] == "exp"
    assert rows[0]["title"] == '导出, "quoted"'
    assert rows[0]["tags"] == "a|b"
    assert rows[0]["short_url"] == "http://testserver/exp"
    assert rows[0]["state"] == "active"


def test_openapi_documents_the_error_responses(app: App) -> None:
    spec = app.client.get("/api/v1/openapi.json").json()
    create_op = spec["paths"]["/api/v1/links"]["post"]
    assert {"201", "400", "401", "403", "409", "422", "429"} <= set(create_op["responses"])
    assert create_op["responses"]["400"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ErrorOut"
    }
    validation = create_op["responses"]["422"]["content"]["application/json"]["schema"]
    assert validation == {"$ref": "#/components/schemas/ValidationErrorOut"}
    for path in ("/api/v1/links/{slug}", "/api/v1/links/import", "/api/v1/blocked-hosts"):
        assert path in spec["paths"]


def test_title_is_fetched_on_request_only(
    app: App, operator: Headers, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked: list[str] = []

    def fake_fetch(url: str, **_: object) -> PageMeta:
        asked.append(url)
        return PageMeta(url=url, title="页面标题")

    monkeypatch.setattr("qunyun.links.service.fetch_page_meta", fake_fetch)
    plain = create(app, operator, url="https://example.com/plain")
    assert plain["title"] is None
    assert asked == []
    fetched = create(app, operator, url="https://example.com/t", fetch_title=True, slug="tt")
    assert fetched["title"] == "页面标题"
    assert asked == ["https://example.com/t"]
    patched = app.client.patch(
        "/api/v1/links/tt", json={"fetch_title": True, "note": "n"}, headers=operator
    ).json()
    assert (patched["title"], patched["note"]) == ("页面标题", "n")
    kept = create(app, operator, url="https://example.com/k", fetch_title=True, title="Mine")
    assert kept["title"] == "Mine"
    assert len(asked) == 2
