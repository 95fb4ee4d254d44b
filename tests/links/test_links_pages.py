"""The short-link pages: forms, list, detail, import, the block list."""

from __future__ import annotations

import re

import pytest

from qunyun.accounts.roles import Role
from qunyun.links.title_fetch import PageMeta
from tests.conftest import App


def form(csrf: str, **fields: str) -> dict[str, str]:
    return {"csrf_token": csrf, "redirect_status": "302", **fields}


@pytest.fixture
def operator(app: App) -> str:
    return app.login("op", Role.operator)


def test_create_through_the_form(app: App, operator: str) -> None:
    page = app.client.get("/links/new")
    assert page.status_code == 200
    assert 'name="csrf_token"' in page.text
    assert 'name="url"' in page.text
    response = app.client.post(
        "/links/new",
        data=form(
            operator,
            url="https://example.com/活动",
            slug="Event",
            title="春季活动",
            tags="海报, 朋友圈",
            expires_at="2031-06-30T18:00",
            max_visits="100",
            utm_source="poster",
        ),
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/links/Event?created=1"
    detail = app.client.get(response.headers["location"])
    assert detail.status_code == 200
    assert "http://testserver/Event" in detail.text
    assert "https://example.com/活动" in detail.text  # shown readable
    assert "2031-06-30 18:00" in detail.text  # in the configured zone
    assert 'data-copy="#short-url"' in detail.text
    redirect = app.client.get("/event", follow_redirects=False)
    assert (
        redirect.headers["location"] == "https://example.com/%E6%B4%BB%E5%8A%A8?utm_source=poster"
    )


def test_form_errors_are_shown_next_to_the_field_with_values_kept(app: App, operator: str) -> None:
    response = app.client.post(
        "/links/new",
        data=form(operator, url="javascript:alert(1)", title="我的标题", note="备注", tags="x"),
    )
    assert response.status_code == 400
    assert 'id="url-error"' in response.text
    assert "浏览器" in response.text
    assert 'value="javascript:alert(1)"' in response.text
    assert 'value="我的标题"' in response.text
    assert ">备注</textarea>" in response.text
    assert app.client.get("/api/v1/links").json()["total"] == 0


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"slug": "login"}, "slug"),
        ({"max_visits": "many"}, "max_visits"),
        ({"max_visits": "0"}, "max_visits"),
        ({"expires_at": "2001-01-01T00:00"}, "expires_at"),
        ({"expires_at": "someday"}, "expires_at"),
        ({"tags": ",".join(f"t{i}" for i in range(21))}, "tags"),
        ({"utm_source": "u" * 101}, "utm_source"),
        ({"redirect_status": "307"}, "redirect_status"),
    ],
)
def test_each_field_error_lands_on_its_field(
    app: App, operator: str, fields: dict[str, str], field: str
) -> None:
    data = form(operator, url="https://example.com", **fields)
    response = app.client.post("/links/new", data=data)
    assert response.status_code == 400
    assert f'id="{field}-error"' in response.text


def test_taken_slug_is_409_on_the_form(app: App, operator: str) -> None:
    app.client.post("/links/new", data=form(operator, url="https://a.example", slug="dup"))
    response = app.client.post(
        "/links/new", data=form(operator, url="https://b.example", slug="DUP")
    )
    assert response.status_code == 409
    assert 'id="slug-error"' in response.text


def test_form_without_csrf_token_is_refused(app: App, operator: str) -> None:
    response = app.client.post("/links/new", data={"url": "https://example.com"})
    assert response.status_code == 403
    assert app.client.get("/api/v1/links").json()["total"] == 0


def test_list_search_full_page_and_htmx_partial(app: App, operator: str) -> None:
    for slug, title in (("apple", "苹果 Apple"), ("banana", "香蕉")):
        app.client.post(
            "/links/new", data=form(operator, url="https://e.com", slug=slug, title=title)
        )
    full = app.client.get("/links?q=苹果")
    assert full.status_code == 200
    assert "<html" in full.text
    assert 'hx-get="/links"' in full.text
    assert "delay:300ms" in full.text
    assert 'data-slug="apple"' in full.text
    assert 'data-slug="banana"' not in full.text
    partial = app.client.get("/links?q=香蕉", headers={"HX-Request": "true"})
    assert "<html" not in partial.text
    assert 'data-slug="banana"' in partial.text
    assert 'data-slug="apple"' not in partial.text
    restored = app.client.get(
        "/links?q=香蕉", headers={"HX-Request": "true", "HX-History-Restore-Request": "true"}
    )
    assert "<html" in restored.text
    nonsense = app.client.get("/links?state=bogus&sort=nope&page=-3&per_page=9999")
    assert nonsense.status_code == 200
    assert 'data-slug="apple"' in nonsense.text


def test_list_pagination_links_work_without_js(app: App, operator: str) -> None:
    for i in range(3):
        app.client.post("/links/new", data=form(operator, url="https://e.com", slug=f"page-{i}"))
    first = app.client.get("/links?per_page=2&sort=slug&order=asc")
    assert 'data-slug="page-0"' in first.text
    assert 'data-slug="page-2"' not in first.text
    next_href = re.search(r'href="([^"]+)"[^>]*rel="next"', first.text)
    assert next_href is not None
    second = app.client.get(next_href.group(1).replace("&amp;", "&"))
    assert 'data-slug="page-2"' in second.text


def test_row_actions_disable_enable_delete(app: App, operator: str) -> None:
    app.client.post("/links/new", data=form(operator, url="https://e.com", slug="act"))
    back = "/links?q=act"
    response = app.client.post(
        "/links/act/disable", data={"csrf_token": operator, "back": back}, follow_redirects=False
    )
    assert (response.status_code, response.headers["location"]) == (303, back)
    assert app.client.get("/act", follow_redirects=False).status_code == 404
    app.client.post("/links/act/enable", data={"csrf_token": operator})
    assert app.client.get("/act", follow_redirects=False).status_code == 302
    evil = app.client.post(
        "/links/act/disable",
        data={"csrf_token": operator, "back": "https://evil.example/"},
        follow_redirects=False,
    )
    assert evil.headers["location"] == "/links"
    app.client.post("/links/act/delete", data={"csrf_token": operator})
    assert 'data-slug="act"' not in app.client.get("/links").text
    assert app.client.get("/links/act").status_code == 404


def test_edit_form(app: App, operator: str) -> None:
    app.client.post(
        "/links/new",
        data=form(operator, url="https://e.com/a", slug="ed", title="Old", password="secret"),
    )
    page = app.client.get("/links/ed/edit")
    assert page.status_code == 200
    assert 'value="Old"' in page.text
    assert 'name="remove_password"' in page.text
    assert "secret" not in page.text
    refused = app.client.post(
        "/links/ed/edit", data=form(operator, url="file:///etc", slug="ed", title="New")
    )
    assert refused.status_code == 400
    assert 'value="New"' in refused.text
    saved = app.client.post(
        "/links/ed/edit",
        data=form(operator, url="https://e.com/b", slug="edited", title="New", remove_password="1"),
        follow_redirects=False,
    )
    assert saved.headers["location"] == "/links/edited"
    link = app.client.get("/api/v1/links/edited").json()
    assert (link["target_url"], link["title"], link["has_password"]) == (
        "https://e.com/b",
        "New",
        False,
    )
    assert app.client.get("/ed", follow_redirects=False).status_code == 404


def test_viewer_sees_no_write_buttons_and_cannot_post(app: App) -> None:
    operator = app.token("op", Role.operator)
    app.client.post("/api/v1/links", json={"url": "https://e.com", "slug": "ro"}, headers=operator)
    csrf = app.login("viewer", Role.viewer)
    listing = app.client.get("/links")
    assert listing.status_code == 200
    assert 'data-slug="ro"' in listing.text
    assert "/links/new" not in listing.text
    assert "/links/ro/delete" not in listing.text
    assert "/links/ro/edit" not in listing.text
    detail = app.client.get("/links/ro")
    assert detail.status_code == 200
    assert "/links/ro/edit" not in detail.text
    for path, data in (
        ("/links/new", form(csrf, url="https://e.com")),
        ("/links/ro/delete", {"csrf_token": csrf}),
        ("/links/ro/disable", {"csrf_token": csrf}),
        ("/links/ro/edit", form(csrf, url="https://e.com", slug="ro")),
    ):
        assert app.client.post(path, data=data).status_code == 403, path
    assert app.client.get("/links/new").status_code == 403
    assert app.client.get("/ro", follow_redirects=False).status_code == 302


def test_pages_need_a_sign_in(app: App) -> None:
    response = app.client.get("/links", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login")


def test_english_pages(app: App, operator: str) -> None:
    page = app.client.get("/links?lang=en")
    assert "Short links" in page.text
    assert "New short link" in page.text
    assert "短链接" in app.client.get("/links").text


def test_import_page_shows_the_report(app: App, operator: str) -> None:
    assert app.client.get("/links/import").status_code == 200
    data = "url,slug\nhttps://e.com/1,imp-one\njavascript:x,\n".encode("gbk")
    response = app.client.post(
        "/links/import",
        data={"csrf_token": operator},
        files={"file": ("links.csv", data, "text/csv")},
    )
    assert response.status_code == 200
    assert "imp-one" in response.text
    assert "url.dangerous_scheme" in response.text
    assert "已创建 1 条，失败 1 条" in response.text
    empty = app.client.post(
        "/links/import", data={"csrf_token": operator}, files={"file": ("", b"", "text/csv")}
    )
    assert empty.status_code == 400
    assert "CSV" in empty.text


def test_export_from_the_list(app: App, operator: str) -> None:
    app.client.post("/links/new", data=form(operator, url="https://e.com", slug="out", tags="t"))
    listing = app.client.get("/links?tag=t")
    assert 'href="/links/export.csv?tag=t"' in listing.text
    exported = app.client.get("/links/export.csv?tag=t")
    assert exported.status_code == 200
    assert exported.content.startswith(b"\xef\xbb\xbfurl,slug")
    assert b"\r\nhttps://e.com/,out," in exported.content


def test_blocked_hosts_page_is_for_admins(app: App) -> None:
    csrf = app.login("admin", Role.admin)
    assert app.client.get("/links/blocked-hosts").status_code == 200
    added = app.client.post(
        "/links/blocked-hosts",
        data={"csrf_token": csrf, "pattern": "*.Bad.Example", "reason": "钓鱼"},
        follow_redirects=False,
    )
    assert added.status_code == 303
    page = app.client.get("/links/blocked-hosts")
    assert "*.bad.example" in page.text
    assert "钓鱼" in page.text
    invalid = app.client.post(
        "/links/blocked-hosts", data={"csrf_token": csrf, "pattern": "not a host"}
    )
    assert invalid.status_code == 400
    assert 'value="not a host"' in invalid.text
    host_id = re.search(r"/links/blocked-hosts/(\d+)/delete", page.text)
    assert host_id is not None
    app.client.post(f"/links/blocked-hosts/{host_id.group(1)}/delete", data={"csrf_token": csrf})
    assert "*.bad.example" not in app.client.get("/links/blocked-hosts").text


def test_operators_cannot_open_the_block_list(app: App, operator: str) -> None:
    assert app.client.get("/links/blocked-hosts").status_code == 403
    assert "/links/blocked-hosts" not in app.client.get("/links").text


def test_admin_sees_deleted_links_and_restores_them(app: App) -> None:
    csrf = app.login("admin", Role.admin)
    app.client.post("/links/new", data=form(csrf, url="https://e.com", slug="bin"))
    app.client.post("/links/bin/delete", data={"csrf_token": csrf})
    deleted = app.client.get("/links?state=deleted")
    assert 'data-slug="bin"' in deleted.text
    assert "/links/bin/restore" in deleted.text
    assert app.client.get("/links/bin").status_code == 200  # admins can still open it
    app.client.post("/links/bin/restore", data={"csrf_token": csrf})
    assert app.client.get("/bin", follow_redirects=False).status_code == 302


def test_form_fetches_the_title_when_asked(
    app: App, operator: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        "qunyun.links.service.fetch_page_meta",
        lambda url, **_: PageMeta(url=url, og_title="Open Graph 标题"),
    )
    app.client.post(
        "/links/new", data=form(operator, url="https://e.com/og", slug="og", fetch_title="1")
    )
    assert app.client.get("/api/v1/links/og").json()["title"] == "Open Graph 标题"
    app.client.post(
        "/links/og/edit",
        data=form(operator, url="https://e.com/og2", slug="og", title="", fetch_title="1"),
    )
    link = app.client.get("/api/v1/links/og").json()
    assert (link["title"], link["target_url"]) == ("Open Graph 标题", "https://e.com/og2")
