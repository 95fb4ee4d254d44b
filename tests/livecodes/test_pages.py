"""The live-code pages, driven like a person with a browser would."""

from __future__ import annotations

import re

from sqlalchemy import select

from qunyun.accounts.roles import Role
from qunyun.livecodes.lookup import code_members
from qunyun.livecodes.models import LiveCode
from tests.conftest import App
from tests.livecodes.helpers import WECHAT_GROUPS, blank_png, invitation_card, qr_png


def create_by_form(app: App, csrf: str, **fields: str | list[str]) -> int:
    data: dict[str, str | list[str]] = {
        "csrf_token": csrf,
        "name": "春季训练营",
        "kind": "group",
        "strategy": "in_order",
        "sticky_days": "7",
        "default_threshold": "200",
        "default_expiry_days": "7",
        "timezone": "Asia/Shanghai",
        **fields,
    }
    response = app.client.post("/livecodes/new", data=data, follow_redirects=False)
    assert response.status_code == 303, response.text
    match = re.fullmatch(r"/livecodes/(\d+)\?created=1", response.headers["location"])
    assert match is not None
    return int(match.group(1))


def test_an_operator_builds_a_code_from_the_pages(app: App) -> None:
    csrf = app.login("op", Role.operator)
    assert app.client.get("/livecodes/new").status_code == 200
    code_id = create_by_form(
        app,
        csrf,
        slug="spring",
        active_days=["6", "7"],
        active_start="09:00",
        active_end="21:00",
        allowed_apps=["wechat"],
        fallback_message="群满了",
    )
    detail = app.client.get(f"/livecodes/{code_id}?created=1")
    assert detail.status_code == 200
    assert "http://testserver/spring" in detail.text
    assert f'data-api="/api/v1/livecodes/{code_id}/stats"' in detail.text
    assert "<svg" in detail.text  # the code's QR, inline
    with app.db.session(write=False) as s:
        code = s.get(LiveCode, code_id)
        assert code is not None
        assert code.active_hours == {"days": [6, 7], "start": "09:00", "end": "21:00"}

    uploaded = app.client.post(
        f"/livecodes/{code_id}/members",
        data={"csrf_token": csrf, "name": "一群", "scan_threshold": "120"},
        files={"image": ("card.jpg", invitation_card(WECHAT_GROUPS[0]), "image/jpeg")},
        follow_redirects=False,
    )
    assert uploaded.status_code == 303
    assert uploaded.headers["location"] == f"/livecodes/{code_id}#pool"
    app.client.post(
        f"/livecodes/{code_id}/members",
        data={"csrf_token": csrf},
        files={"image": ("g2.png", qr_png(WECHAT_GROUPS[1]), "image/png")},
    )
    with app.db.session(write=False) as s:
        first, second = code_members(s, code_id)
    assert (first.name, first.scan_threshold, second.name) == ("一群", 120, "#2")

    refused = app.client.post(
        f"/livecodes/{code_id}/members",
        data={"csrf_token": csrf},
        files={"image": ("blank.png", blank_png(), "image/png")},
    )
    assert refused.status_code == 400
    assert "图片中没有找到二维码" in refused.text
    assert 'id="pool"' in refused.text  # the detail page, not a bare error

    for action in ("down", "disable"):
        moved = app.client.post(
            f"/livecodes/{code_id}/members/{first.id}/{action}",
            data={"csrf_token": csrf},
            follow_redirects=False,
        )
        assert moved.status_code == 303
    edited = app.client.post(
        f"/livecodes/{code_id}/members/{second.id}/edit",
        data={
            "csrf_token": csrf,
            "name": "二群",
            "scan_threshold": "0",
            "weight": "2",
            "work_days": ["1"],
            "work_start": "10:00",
            "work_end": "12:00",
        },
        follow_redirects=False,
    )
    assert edited.status_code == 303
    with app.db.session(write=False) as s:
        one, two = code_members(s, code_id)
    assert (one.name, two.name, two.is_enabled) == ("二群", "一群", False)
    assert one.working_hours == {"days": [1], "start": "10:00", "end": "12:00"}
    assert one.scan_threshold == 0

    channel = app.client.post(
        f"/livecodes/{code_id}/channels",
        data={"csrf_token": csrf, "name": "地铁海报", "slug": "metro"},
        follow_redirects=False,
    )
    assert channel.status_code == 303
    page = app.client.get(f"/livecodes/{code_id}")
    assert "http://testserver/metro" in page.text
    assert "地铁海报" in page.text
    png = app.client.get(f"/livecodes/{code_id}/qr.png")
    assert png.content[:8] == b"\x89PNG\r\n\x1a\n"
    assert "attachment" in png.headers["content-disposition"]

    listing = app.client.get("/livecodes")
    assert "春季训练营" in listing.text
    assert 'data-pool="warn"' in listing.text  # one usable member left


def test_form_refusals_are_shown_next_to_the_field(app: App) -> None:
    csrf = app.login("op", Role.operator)
    page = app.client.post(
        "/livecodes/new",
        data={
            "csrf_token": csrf,
            "name": "A",
            "alert_webhook_url": "http://10.0.0.1/x",
            "sticky_days": "7",
            "default_threshold": "200",
            "default_expiry_days": "7",
            "timezone": "Asia/Shanghai",
        },
    )
    assert page.status_code == 400
    assert 'id="alert_webhook_url-error"' in page.text
    bad_hours = app.client.post(
        "/livecodes/new",
        data={
            "csrf_token": csrf,
            "name": "A",
            "active_start": "9 点",
            "sticky_days": "7",
            "default_threshold": "200",
            "default_expiry_days": "7",
            "timezone": "Asia/Shanghai",
        },
    )
    assert bad_hours.status_code == 400
    assert "时段设置有误" in bad_hours.text
    with app.db.session(write=False) as s:
        assert list(s.scalars(select(LiveCode))) == []


def test_viewers_see_everything_and_change_nothing(app: App) -> None:
    csrf = app.login("op", Role.operator)
    code_id = create_by_form(app, csrf)
    app.client.post("/logout", data={"csrf_token": csrf})
    viewer_csrf = app.login("viewer", Role.viewer)
    detail = app.client.get(f"/livecodes/{code_id}")
    assert detail.status_code == 200
    assert f'action="/livecodes/{code_id}/members"' not in detail.text
    assert f'href="/livecodes/{code_id}/edit"' not in detail.text
    assert 'href="/livecodes/new"' not in app.client.get("/livecodes").text
    forbidden = app.client.post(f"/livecodes/{code_id}/pause", data={"csrf_token": viewer_csrf})
    assert forbidden.status_code == 403
    assert app.client.get(f"/livecodes/{code_id}/edit").status_code == 403


def test_forms_need_the_csrf_token(app: App) -> None:
    csrf = app.login("op", Role.operator)
    code_id = create_by_form(app, csrf)
    refused = app.client.post(f"/livecodes/{code_id}/pause", data={})
    assert refused.status_code == 403
    with app.db.session(write=False) as s:
        code = s.get(LiveCode, code_id)
        assert code is not None
        assert code.status == "active"
    paused = app.client.post(
        f"/livecodes/{code_id}/pause", data={"csrf_token": csrf}, follow_redirects=False
    )
    assert paused.status_code == 303


def test_merge_and_acknowledge_from_the_pages(app: App) -> None:
    csrf = app.login("op", Role.operator)
    old = create_by_form(app, csrf, name="旧营")
    new = create_by_form(app, csrf, name="新营")
    form = app.client.get(f"/livecodes/{old}/merge")
    assert f'<option value="{new}">' in form.text
    merged = app.client.post(
        f"/livecodes/{old}/merge",
        data={"csrf_token": csrf, "into_id": str(new)},
        follow_redirects=False,
    )
    assert merged.status_code == 303
    detail = app.client.get(f"/livecodes/{old}")
    assert "此活码已合并" in detail.text
    again = app.client.post(
        f"/livecodes/{old}/merge", data={"csrf_token": csrf, "into_id": str(new)}
    )
    assert again.status_code == 409
    assert "已经合并过了" in again.text

    for text in WECHAT_GROUPS[:2]:
        app.client.post(
            f"/livecodes/{new}/members",
            data={"csrf_token": csrf},
            files={"image": ("g.png", qr_png(text), "image/png")},
        )
    with app.db.session(write=False) as s:
        first = code_members(s, new)[0]
    app.client.post(f"/livecodes/{new}/members/{first.id}/disable", data={"csrf_token": csrf})
    listing = app.client.get("/livecodes")
    assert 'data-alert="last_member"' in listing.text
    alert_id = re.search(r'action="/livecodes/alerts/(\d+)/ack"', listing.text)
    assert alert_id is not None
    done = app.client.post(
        f"/livecodes/alerts/{alert_id.group(1)}/ack",
        data={"csrf_token": csrf, "back": "https://evil.example/"},
        follow_redirects=False,
    )
    assert done.headers["location"] == "/livecodes"
    assert 'data-alert="last_member"' not in app.client.get("/livecodes").text


def test_the_nav_and_english(app: App) -> None:
    app.login("op", Role.operator)
    page = app.client.get("/livecodes", headers={"Accept-Language": "en"})
    assert 'href="/livecodes"' in page.text
    assert "Live codes" in page.text
