"""Setting who may open a link, its anti-block mode and share card, and the community's
defaults, through the API and the pages; what visitors get changes at once."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

import qunyun.links
from qunyun.accounts.roles import Role
from qunyun.i18n import LANGUAGES, catalog
from qunyun.links.access import APP_CHOICES, DEVICE_CHOICES, OS_CHOICES
from qunyun.links.title_fetch import PageMeta
from tests.conftest import App
from tests.links.test_access import DESKTOP, QQ_ANDROID, SAFARI_IOS, TELEGRAM, WECHAT_IOS
from tests.links.test_links_messages import TEMPLATE_KEYS

Headers = dict[str, str]


@pytest.fixture
def operator(app: App) -> Headers:
    return app.token("op", Role.operator)


@pytest.fixture
def admin(app: App) -> Headers:
    return app.token("boss", Role.admin)


def visit(app: App, slug: str, ua: str, lang: str = "zh-CN") -> tuple[int, str, str]:
    r = app.client.get(
        f"/{slug}", headers={"User-Agent": ua, "Accept-Language": lang}, follow_redirects=False
    )
    return r.status_code, r.headers.get("location", ""), r.text


def create(app: App, headers: Headers, **body: object) -> dict[str, object]:
    body.setdefault("url", "https://example.com/x")
    response = app.client.post("/api/v1/links", json=body, headers=headers)
    assert response.status_code == 201, response.text
    result: dict[str, object] = response.json()
    return result


def patch(app: App, headers: Headers, slug: str, **body: object) -> dict[str, object]:
    response = app.client.patch(f"/api/v1/links/{slug}", json=body, headers=headers)
    assert response.status_code == 200, response.text
    result: dict[str, object] = response.json()
    return result


# --- the API: a link's own settings ------------------------------------------------------


def test_api_sets_and_shows_every_field(app: App, operator: Headers) -> None:
    body = create(
        app,
        operator,
        slug="camp",
        allowed_apps=["qq", "WeChat"],
        allowed_devices=["phone"],
        allowed_os=["iOS"],
        anti_block_mode="landing",
        preview_title="训练营",
        preview_description="报名",
        preview_image_url="https://example.com/c.png",
    )
    assert body["allowed_apps"] == ["wechat", "qq"]
    assert (body["allowed_devices"], body["allowed_os"]) == (["phone"], ["iOS"])
    assert body["anti_block_mode"] == "landing"
    assert (body["preview_title"], body["preview_description"]) == ("训练营", "报名")
    assert body["preview_image_url"] == "https://example.com/c.png"
    assert body["preview_url"] == "http://testserver/camp?preview"
    assert app.client.get("/api/v1/links/camp", headers=operator).json() == body
    plain = create(app, operator, slug="plain")
    assert (plain["allowed_apps"], plain["anti_block_mode"], plain["preview_title"]) == (
        [],
        None,
        None,
    )


def test_patch_of_the_gate_reaches_visitors_at_once(app: App, operator: Headers) -> None:
    create(app, operator, slug="gate", anti_block_mode="direct")
    assert visit(app, "gate", DESKTOP)[0] == 302  # and now cached by the redirect
    body = patch(app, operator, "gate", allowed_apps=["wechat"])
    assert body["allowed_apps"] == ["wechat"]
    status, _, html = visit(app, "gate", DESKTOP)
    assert status == 403
    assert 'data-page="blocked"' in html
    assert "微信" in html
    assert visit(app, "gate", WECHAT_IOS)[0] == 302
    patch(app, operator, "gate", allowed_apps=[], allowed_devices=["desktop"])
    assert visit(app, "gate", DESKTOP)[0] == 302
    assert visit(app, "gate", SAFARI_IOS)[0] == 403
    patch(app, operator, "gate", allowed_devices=None)
    assert visit(app, "gate", SAFARI_IOS)[0] == 302


def test_patch_of_mode_and_card_reaches_visitors_at_once(app: App, operator: Headers) -> None:
    create(app, operator, slug="mode", anti_block_mode="direct")
    assert visit(app, "mode", SAFARI_IOS)[0] == 302
    patch(app, operator, "mode", anti_block_mode="landing", preview_title="新卡片")
    status, _, html = visit(app, "mode", SAFARI_IOS)
    assert status == 200
    assert 'data-page="landing"' in html
    assert 'content="新卡片"' in html
    patch(app, operator, "mode", anti_block_mode=None)  # the community's: guide
    assert visit(app, "mode", SAFARI_IOS)[0] == 302
    assert 'data-page="guide"' in visit(app, "mode", WECHAT_IOS)[2]
    patch(app, operator, "mode", preview_image_url="https://example.com/new.png")
    assert 'content="https://example.com/new.png"' in visit(app, "mode", TELEGRAM)[2]


@pytest.mark.parametrize(
    ("body", "code", "named"),
    [
        ({"allowed_apps": ["wechat", "myspace"]}, "link.unknown_platform", "myspace"),
        ({"allowed_devices": ["fridge"]}, "link.unknown_platform", "fridge"),
        ({"allowed_os": ["BeOS"]}, "link.unknown_platform", "BeOS"),
        ({"anti_block_mode": "cloak"}, "link.unknown_mode", "cloak"),
        ({"preview_image_url": "javascript:alert(1)"}, "url.dangerous_scheme", "javascript"),
    ],
)
def test_invalid_choices_are_refused_and_nothing_is_stored(
    app: App, operator: Headers, body: dict[str, object], code: str, named: str
) -> None:
    refused = app.client.post(
        "/api/v1/links", json={"url": "https://e.com", "slug": "new", **body}, headers=operator
    )
    assert refused.status_code == 400
    assert refused.json()["code"] == code
    assert named in refused.json()["message"]
    assert app.client.get("/api/v1/links", headers=operator).json()["total"] == 0
    create(app, operator, slug="kept", allowed_apps=["qq"], anti_block_mode="guide")
    refused = app.client.patch(
        "/api/v1/links/kept", json={"title": "changed", **body}, headers=operator
    )
    assert refused.status_code == 400
    assert refused.json()["code"] == code
    kept = app.client.get("/api/v1/links/kept", headers=operator).json()
    assert (kept["title"], kept["allowed_apps"], kept["anti_block_mode"]) == (
        None,
        ["qq"],
        "guide",
    )


def test_the_openapi_document_lists_the_choices(app: App) -> None:
    spec = app.client.get("/api/v1/openapi.json").json()
    schemas = spec["components"]["schemas"]

    def enum_of(prop: dict[str, Any]) -> list[str]:
        for part in [prop, prop.get("items"), *prop.get("anyOf", [])]:
            if isinstance(part, dict):
                if "enum" in part:
                    return list(part["enum"])
                if isinstance(part.get("items"), dict) and "enum" in part["items"]:
                    return list(part["items"]["enum"])
        raise AssertionError(prop)

    for model in ("LinkCreateIn", "LinkUpdateIn", "LinkOut"):
        props = schemas[model]["properties"]
        assert enum_of(props["allowed_apps"]) == list(APP_CHOICES)
        assert enum_of(props["allowed_devices"]) == list(DEVICE_CHOICES)
        assert enum_of(props["allowed_os"]) == list(OS_CHOICES)
        assert enum_of(props["anti_block_mode"]) == ["direct", "guide", "landing"]
    settings_in = schemas["LinkSettingsIn"]["properties"]
    assert "wechat" in enum_of(settings_in["guide_apps"])
    assert "browser" not in enum_of(settings_in["guide_apps"])
    assert "/api/v1/community/link-settings" in spec["paths"]


def test_api_fetches_the_card_from_the_target_on_request(
    app: App, operator: Headers, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked: list[str] = []

    def fake_fetch(url: str, **_: object) -> PageMeta:
        asked.append(url)
        return PageMeta(
            url=url,
            title="页面",
            og_description="页面描述",
            og_image="https://example.com/og.png",
        )

    monkeypatch.setattr("qunyun.links.service.fetch_page_meta", fake_fetch)
    plain = create(app, operator, slug="nofetch", preview_title="Mine")
    assert asked == []
    assert plain["preview_description"] is None
    body = create(app, operator, slug="fetched", fetch_preview=True, preview_title="Mine")
    assert asked == ["https://example.com/x"]
    assert body["preview_title"] == "Mine"  # given, so kept
    assert body["preview_description"] == "页面描述"
    assert body["preview_image_url"] == "https://example.com/og.png"
    assert body["title"] is None  # only the card was asked for
    changed = patch(app, operator, "nofetch", fetch_preview=True, fetch_title=True)
    assert len(asked) == 2  # one fetch for both
    assert (changed["title"], changed["preview_title"]) == ("页面", "页面")
    assert changed["preview_image_url"] == "https://example.com/og.png"


# --- the API: the community's defaults -----------------------------------------------------


def test_settings_are_readable_by_viewers(app: App) -> None:
    viewer = app.token("eye", Role.viewer)
    body = app.client.get("/api/v1/community/link-settings", headers=viewer).json()
    assert body["anti_block_mode"] == "guide"
    assert body["guide_apps_chosen"] is False
    assert "wechat" in body["guide_apps"]
    assert body["guide_apps"] == body["built_in_guide_apps"]


@pytest.mark.parametrize("role", [Role.viewer, Role.operator])
def test_only_admins_change_the_settings(app: App, role: Role) -> None:
    headers = app.token("someone", role)
    refused = app.client.patch(
        "/api/v1/community/link-settings", json={"anti_block_mode": "direct"}, headers=headers
    )
    assert refused.status_code == 403
    body = app.client.get("/api/v1/community/link-settings", headers=headers).json()
    assert body["anti_block_mode"] == "guide"


def test_default_mode_change_applies_to_cached_links_without_their_own(
    app: App, operator: Headers, admin: Headers
) -> None:
    create(app, operator, slug="follows")
    create(app, operator, slug="direct", anti_block_mode="direct")
    assert 'data-page="guide"' in visit(app, "follows", WECHAT_IOS)[2]  # cached now
    assert visit(app, "follows", SAFARI_IOS)[0] == 302
    assert visit(app, "direct", SAFARI_IOS)[0] == 302
    response = app.client.patch(
        "/api/v1/community/link-settings", json={"anti_block_mode": "landing"}, headers=admin
    )
    assert response.status_code == 200
    assert response.json()["anti_block_mode"] == "landing"
    assert 'data-page="landing"' in visit(app, "follows", SAFARI_IOS)[2]
    assert visit(app, "direct", SAFARI_IOS)[0] == 302  # its own mode wins


def test_guide_apps_change_applies_at_once(app: App, operator: Headers, admin: Headers) -> None:
    create(app, operator, slug="guided", anti_block_mode="guide")
    assert 'data-page="guide"' in visit(app, "guided", WECHAT_IOS)[2]
    assert visit(app, "guided", QQ_ANDROID)[0] == 200
    body = app.client.patch(
        "/api/v1/community/link-settings", json={"guide_apps": ["qq"]}, headers=admin
    ).json()
    assert (body["guide_apps"], body["guide_apps_chosen"]) == (["qq"], True)
    assert visit(app, "guided", WECHAT_IOS)[0] == 302
    assert 'data-page="guide"' in visit(app, "guided", QQ_ANDROID)[2]
    body = app.client.patch(
        "/api/v1/community/link-settings", json={"guide_apps": None}, headers=admin
    ).json()
    assert body["guide_apps_chosen"] is False
    assert body["anti_block_mode"] == "guide"  # not sent, kept
    assert 'data-page="guide"' in visit(app, "guided", WECHAT_IOS)[2]


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"guide_apps": ["wechat", "aol"]}, 400, "link.unknown_platform"),
        ({"anti_block_mode": "teleport"}, 400, "link.unknown_mode"),
        ({"anti_block_mode": None}, 422, "validation"),
        ({"colour": "red"}, 422, "validation"),
    ],
)
def test_invalid_settings_are_refused_and_nothing_changes(
    app: App, admin: Headers, body: dict[str, object], status: int, code: str
) -> None:
    response = app.client.patch("/api/v1/community/link-settings", json=body, headers=admin)
    assert response.status_code == status
    assert response.json()["code"] == code
    current = app.client.get("/api/v1/community/link-settings", headers=admin).json()
    assert (current["anti_block_mode"], current["guide_apps_chosen"]) == ("guide", False)


# --- the pages -------------------------------------------------------------------------------


def form(csrf: str, **fields: str | list[str]) -> dict[str, str | list[str]]:
    return {"csrf_token": csrf, "redirect_status": "302", **fields}


def test_form_offers_the_choices_with_names_and_the_community_default(app: App) -> None:
    app.login("op", Role.operator)
    page = app.client.get("/links/new").text
    assert "访问控制" in page and "分享卡片" in page
    boxes = re.findall(r'name="allowed_apps" value="([a-z_]+)"', page)
    assert boxes[0] == "browser"
    assert set(boxes) == set(APP_CHOICES)
    assert "手机或电脑浏览器" in page and "企业微信" in page
    assert re.findall(r'name="allowed_devices" value="(\w+)"', page) == list(DEVICE_CHOICES)
    assert re.findall(r'name="allowed_os" value="(\w+)"', page) == list(OS_CHOICES)
    assert re.findall(r'name="anti_block_mode" value="(\w*)"', page) == [
        "",
        "direct",
        "guide",
        "landing",
    ]
    assert "跟随社群默认（当前：引导用浏览器打开）" in page
    assert 'hx-post="/links/fetch-card"' in page
    english = app.client.get("/links/new", headers={"Accept-Language": "en"}).text
    assert "Who may open it" in english and "Share card" in english
    assert "Follow the community default (currently: Guide)" in english


def test_form_sets_every_field_and_the_visitor_outcome_follows(app: App) -> None:
    csrf = app.login("op", Role.operator)
    response = app.client.post(
        "/links/new",
        data=form(
            csrf,
            url="https://example.com/f",
            slug="formed",
            allowed_apps=["wechat", "qq"],
            allowed_devices=["phone"],
            allowed_os=["iOS", "Android"],
            anti_block_mode="direct",
            preview_title="表单卡片",
            preview_description="说明",
            preview_image_url="https://example.com/p.png",
        ),
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    body = app.client.get("/api/v1/links/formed").json()
    assert body["allowed_apps"] == ["wechat", "qq"]
    assert (body["allowed_devices"], body["allowed_os"]) == (["phone"], ["iOS", "Android"])
    assert (body["anti_block_mode"], body["preview_title"]) == ("direct", "表单卡片")
    assert visit(app, "formed", WECHAT_IOS)[0] == 302
    assert visit(app, "formed", DESKTOP)[0] == 403
    detail = app.client.get("/links/formed").text
    assert "微信、QQ" in detail
    assert "手机" in detail and "iOS、Android" in detail
    assert "直接跳转" in detail
    assert 'href="http://testserver/formed?preview"' in detail
    edit = app.client.get("/links/formed/edit").text
    assert re.search(r'value="wechat" checked', edit)
    assert not re.search(r'value="browser" checked', edit)
    assert re.search(r'name="anti_block_mode" value="direct" checked', edit)
    assert 'value="表单卡片"' in edit
    # Unticking everything lets anyone in again; the mode follows the community.
    response = app.client.post(
        "/links/formed/edit",
        data=form(csrf, url="https://example.com/f", slug="formed", anti_block_mode=""),
        follow_redirects=False,
    )
    assert response.status_code == 303
    body = app.client.get("/api/v1/links/formed").json()
    assert (body["allowed_apps"], body["allowed_os"], body["anti_block_mode"]) == ([], [], None)
    assert body["preview_title"] is None
    assert visit(app, "formed", DESKTOP)[0] == 302
    detail = app.client.get("/links/formed").text
    assert "所有人都能打开" in detail
    assert "引导用浏览器打开（社群默认）" in detail


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"allowed_apps": ["wechat", "friendster"]}, "allowed_apps"),
        ({"allowed_devices": ["toaster"]}, "allowed_devices"),
        ({"allowed_os": ["OS/2"]}, "allowed_os"),
        ({"anti_block_mode": "stealth"}, "anti_block_mode"),
        ({"preview_title": "t" * 201}, "preview_title"),
        ({"preview_image_url": "ftp://example.com/a.png"}, "preview_image_url"),
    ],
)
def test_form_refusals_land_on_their_field_and_store_nothing(
    app: App, fields: dict[str, str | list[str]], field: str
) -> None:
    csrf = app.login("op", Role.operator)
    response = app.client.post(
        "/links/new", data=form(csrf, url="https://example.com/", slug="bad", **fields)
    )
    assert response.status_code == 400
    assert f'id="{field}-error"' in response.text
    assert 'id="url-error"' not in response.text
    assert app.client.get("/api/v1/links").json()["total"] == 0


def test_fetch_button_fills_the_empty_card_fields(
    app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        "qunyun.links.service.fetch_page_meta",
        lambda url, **_: PageMeta(
            url=url, og_title="OG 标题", og_description="OG 描述", og_image="https://e.com/i.png"
        ),
    )
    csrf = app.login("op", Role.operator)
    response = app.client.post(
        "/links/fetch-card",
        data=form(csrf, url="https://e.com/page", preview_title="我的标题"),
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    assert "<html" not in response.text
    assert 'id="share-card"' in response.text
    assert 'value="我的标题"' in response.text  # typed, kept
    assert ">OG 描述</textarea>" in response.text
    assert 'value="https://e.com/i.png"' in response.text
    assert app.client.get("/api/v1/links").json()["total"] == 0  # nothing created
    refused = app.client.post(
        "/links/fetch-card",
        data=form(csrf, url="javascript:alert(1)"),
        headers={"HX-Request": "true"},
    )
    assert refused.status_code == 200  # shown inside the fieldset htmx swaps in
    assert 'class="alert error"' in refused.text


def test_fetch_button_needs_an_operator(app: App) -> None:
    csrf = app.login("eye", Role.viewer)
    response = app.client.post("/links/fetch-card", data=form(csrf, url="https://e.com/"))
    assert response.status_code == 403


def test_settings_page_changes_the_defaults_for_cached_links(app: App, operator: Headers) -> None:
    create(app, operator, slug="cached")
    assert visit(app, "cached", SAFARI_IOS)[0] == 302
    csrf = app.login("boss", Role.admin)
    assert 'href="/links/settings"' in app.client.get("/links").text
    page = app.client.get("/links/settings")
    assert page.status_code == 200
    assert re.search(r'name="anti_block_mode" value="guide" checked', page.text)
    assert re.search(r'name="guide_apps" value="wechat" checked', page.text)
    assert not re.search(r'name="guide_apps" value="line" checked', page.text)
    response = app.client.post(
        "/links/settings",
        data={"csrf_token": csrf, "anti_block_mode": "landing", "guide_apps": ["wechat", "line"]},
        follow_redirects=False,
    )
    assert (response.status_code, response.headers["location"]) == (
        303,
        "/links/settings?saved=1",
    )
    assert 'data-page="landing"' in visit(app, "cached", SAFARI_IOS)[2]
    saved = app.client.get("/links/settings?saved=1").text
    assert "已保存" in saved
    assert re.search(r'name="guide_apps" value="line" checked', saved)
    body = app.client.get("/api/v1/community/link-settings").json()
    assert (body["anti_block_mode"], body["guide_apps"]) == ("landing", ["wechat", "line"])


def test_settings_page_keeps_the_built_in_list_when_it_is_left_as_is(app: App) -> None:
    csrf = app.login("boss", Role.admin)
    built_in = app.client.get("/api/v1/community/link-settings").json()["built_in_guide_apps"]
    app.client.post(
        "/links/settings",
        data={"csrf_token": csrf, "anti_block_mode": "direct", "guide_apps": built_in},
    )
    body = app.client.get("/api/v1/community/link-settings").json()
    assert (body["anti_block_mode"], body["guide_apps_chosen"]) == ("direct", False)
    app.client.post("/links/settings", data={"csrf_token": csrf, "anti_block_mode": "guide"})
    body = app.client.get("/api/v1/community/link-settings").json()
    assert (body["guide_apps"], body["guide_apps_chosen"]) == ([], True)  # nothing ticked


def test_settings_page_refuses_a_bad_mode(app: App) -> None:
    csrf = app.login("boss", Role.admin)
    response = app.client.post(
        "/links/settings", data={"csrf_token": csrf, "anti_block_mode": "warp"}
    )
    assert response.status_code == 400
    assert 'class="alert error"' in response.text
    assert app.client.get("/api/v1/community/link-settings").json()["anti_block_mode"] == "guide"


@pytest.mark.parametrize("role", [Role.viewer, Role.operator])
def test_settings_page_is_for_admins_only(app: App, role: Role) -> None:
    csrf = app.login("someone", role)
    assert app.client.get("/links/settings").status_code == 403
    assert 'href="/links/settings"' not in app.client.get("/links").text
    response = app.client.post(
        "/links/settings", data={"csrf_token": csrf, "anti_block_mode": "direct"}
    )
    assert response.status_code == 403
    assert app.client.get("/api/v1/community/link-settings").json()["anti_block_mode"] == "guide"


def test_settings_form_needs_the_csrf_token(app: App) -> None:
    app.login("boss", Role.admin)
    response = app.client.post("/links/settings", data={"anti_block_mode": "direct"})
    assert response.status_code == 403
    assert app.client.get("/api/v1/community/link-settings").json()["anti_block_mode"] == "guide"


def test_message_keys_of_the_new_pages_exist() -> None:
    folder = Path(qunyun.links.__file__).parent / "templates" / "links"
    keys = set()
    for name in ("settings", "_share_card", "form", "detail"):
        keys |= set(TEMPLATE_KEYS.findall((folder / f"{name}.html").read_text(encoding="utf-8")))
    # Built in the templates from the choices.
    keys |= {f"links.mode.{m}" for m in ("direct", "guide", "landing")}
    keys |= {f"links.mode_hint.{m}" for m in ("direct", "guide", "landing")}
    keys |= {
        f"links.field.{n}" for n in ("preview_title", "preview_description", "preview_image_url")
    }
    keys |= {f"links.access.{n}" for n in ("apps", "devices", "os")}
    assert "links.settings_guide_apps" in keys
    for key in sorted(keys):
        entry = catalog().messages.get(key)
        assert entry is not None, key
        assert set(LANGUAGES) <= set(entry), key
