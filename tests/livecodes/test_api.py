"""The JSON API under /api/v1/livecodes, with bearer tokens and with the session."""

from __future__ import annotations

import io
import json
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from PIL import Image

from qunyun.accounts.roles import Role
from tests.conftest import App
from tests.livecodes.helpers import (
    DESKTOP_UA,
    STAFF_CARDS,
    WECHAT_GROUPS,
    WECHAT_UA,
    blank_png,
    invitation_card,
    qr_png,
)

BASE = "/api/v1/livecodes"


def upload(app: App, headers: dict[str, str], code_id: int, image: bytes, **data: str) -> object:
    return app.client.post(
        f"{BASE}/{code_id}/members",
        files={"file": ("一群.jpg", image, "image/jpeg")},
        data=data,
        headers=headers,
    )


def test_the_whole_round_trip(app: App) -> None:
    h = app.token("op", Role.operator)
    created = app.client.post(
        BASE,
        json={
            "name": "春季训练营",
            "slug": "spring",
            "title": "扫码进群",
            "allowed_apps": ["wechat"],
            "fallback_message": "群都满了，请联系助教",
        },
        headers=h,
    )
    assert created.status_code == 201, created.text
    code = created.json()
    assert code["short_url"] == "http://testserver/spring"
    assert code["allowed_apps"] == ["wechat"]
    assert code["pool"] == {"available": 0, "usable": 0, "total": 0}
    cid = code["id"]

    first = upload(app, h, cid, invitation_card(WECHAT_GROUPS[0]), scan_threshold="100")
    assert first.status_code == 201, first.text  # type: ignore[attr-defined]
    member = first.json()  # type: ignore[attr-defined]
    assert (member["name"], member["scan_threshold"], member["payload_kind"]) == (
        "一群",
        100,
        "wechat_group",
    )
    assert member["image_url"].startswith("http://testserver/livecodes/img/")
    # Working hours around the present moment: the visit below falls inside them.
    local = datetime.now(ZoneInfo("Asia/Shanghai"))
    hours = {
        "start": (local - timedelta(hours=1)).strftime("%H:%M"),
        "end": (local + timedelta(hours=2)).strftime("%H:%M"),
    }
    second = upload(
        app, h, cid, qr_png(WECHAT_GROUPS[1]), name="二群", working_hours=json.dumps(hours)
    )
    assert second.status_code == 201  # type: ignore[attr-defined]
    second_id = second.json()["id"]  # type: ignore[attr-defined]

    listed = app.client.get(f"{BASE}/{cid}/members", headers=h).json()
    assert [m["name"] for m in listed] == ["一群", "二群"]
    assert listed[1]["working_hours"] == hours
    order = app.client.put(
        f"{BASE}/{cid}/members/order",
        json={"member_ids": [second_id, member["id"]]},
        headers=h,
    )
    assert [m["name"] for m in order.json()] == ["二群", "一群"]
    changed = app.client.patch(
        f"{BASE}/{cid}/members/{member['id']}",
        json={"is_enabled": False, "weight": 4, "reset_scans": True},
        headers=h,
    )
    assert changed.status_code == 200, changed.text
    assert (changed.json()["is_enabled"], changed.json()["weight"]) == (False, 4)

    channel = app.client.post(
        f"{BASE}/{cid}/channels", json={"name": "公众号文章", "slug": "article"}, headers=h
    )
    assert channel.status_code == 201, channel.text
    assert channel.json()["short_url"] == "http://testserver/article"

    # A visit through the channel, shown the enabled member.
    page = app.client.get("/article", headers={"User-Agent": WECHAT_UA})
    assert page.status_code == 200
    assert "二群" in page.text
    assert app.client.get("/article", headers={"User-Agent": DESKTOP_UA}).status_code == 403
    app.flush_visits()

    stats = app.client.get(f"{BASE}/{cid}/stats?days=7", headers=h)
    assert stats.status_code == 200, stats.text
    body = stats.json()
    assert body["totals"]["people"] == 2
    assert {m["name"]: m["people"] for m in body["members"]} == {"二群": 1, None: 1}
    channels = {c["slug"]: c["people"] for c in body["channels"]}
    assert channels == {"spring": 0, "article": 2}
    by_channel = app.client.get(
        f"{BASE}/{cid}/stats?channel_id={channel.json()['id']}", headers=h
    ).json()
    assert by_channel["totals"]["people"] == 2
    by_member = app.client.get(f"{BASE}/{cid}/stats?member_id={second_id}", headers=h).json()
    assert by_member["totals"]["people"] == 1
    assert {s["key"]: s["people"] for s in by_member["breakdowns"]["app"]} == {"wechat": 1}

    png = app.client.get(f"{BASE}/{cid}/qr", headers=h)
    assert png.headers["content-type"] == "image/png"
    assert Image.open(io.BytesIO(png.content)).format == "PNG"
    svg = app.client.get(f"{BASE}/{cid}/qr?format=svg&channel_id={channel.json()['id']}", headers=h)
    assert svg.text.startswith("<svg")

    patched = app.client.patch(f"{BASE}/{cid}", json={"status": "paused"}, headers=h)
    assert patched.json()["status"] == "paused"
    assert (
        app.client.delete(f"{BASE}/{cid}/channels/{channel.json()['id']}", headers=h).status_code
        == 204
    )
    assert app.client.get("/article", headers={"User-Agent": WECHAT_UA}).status_code == 404
    assert app.client.delete(f"{BASE}/{cid}/members/{second_id}", headers=h).status_code == 204
    assert app.client.delete(f"{BASE}/{cid}", headers=h).status_code == 204
    assert app.client.get(f"{BASE}/{cid}", headers=h).status_code == 404


def test_refusals_answer_with_codes(app: App) -> None:
    h = app.token("op", Role.operator)
    cid = app.client.post(BASE, json={"name": "A"}, headers=h).json()["id"]
    no_qr = upload(app, h, cid, blank_png())
    assert no_qr.status_code == 400  # type: ignore[attr-defined]
    assert no_qr.json()["code"] == "livecode.image_no_qr"  # type: ignore[attr-defined]
    assert upload(app, h, cid, b"not an image").json()["code"] == "qr.image_not_an_image"  # type: ignore[attr-defined]
    upload(app, h, cid, qr_png(STAFF_CARDS[0]))
    again = upload(app, h, cid, qr_png(STAFF_CARDS[0]))
    assert again.status_code == 409  # type: ignore[attr-defined]
    bad_hours = app.client.post(
        BASE, json={"name": "B", "active_hours": {"start": "25:00"}}, headers=h
    )
    assert bad_hours.json()["code"] == "livecode.invalid_hours"
    assert app.client.post(BASE, json={"name": "B", "kind": "vip"}, headers=h).status_code == 422
    assert app.client.post(BASE, json={"name": "B", "slug": "a"}, headers=h).json()["code"] == (
        "slug.reserved"
    )
    merge_self = app.client.post(f"{BASE}/{cid}/merge", json={"into_id": cid}, headers=h)
    assert merge_self.json()["code"] == "livecode.merge_self"
    assert app.client.get(f"{BASE}/999", headers=h).json()["code"] == "livecode.not_found"
    assert app.client.get(f"{BASE}/{cid}/members/abc", headers=h).status_code in (404, 405)


def test_viewers_read_only_and_the_session_needs_csrf(app: App) -> None:
    op = app.token("op", Role.operator)
    cid = app.client.post(BASE, json={"name": "A"}, headers=op).json()["id"]
    viewer = app.token("viewer", Role.viewer)
    assert app.client.get(f"{BASE}/{cid}", headers=viewer).status_code == 200
    refused = app.client.patch(f"{BASE}/{cid}", json={"name": "B"}, headers=viewer)
    assert refused.status_code == 403
    assert refused.json()["code"] == "role.insufficient"
    assert app.client.get(BASE).status_code == 401
    csrf = app.login("sess-op", Role.operator)
    without = app.client.post(BASE, json={"name": "C"})
    assert without.status_code == 403
    assert without.json()["code"] == "csrf.invalid"
    ok = app.client.post(BASE, json={"name": "C"}, headers={"X-CSRF-Token": csrf})
    assert ok.status_code == 201


def test_merge_and_alerts_over_the_api(app: App) -> None:
    h = app.token("op", Role.operator)
    old = app.client.post(BASE, json={"name": "旧", "slug": "old1"}, headers=h).json()["id"]
    new = app.client.post(BASE, json={"name": "新"}, headers=h).json()["id"]
    upload(app, h, new, qr_png(WECHAT_GROUPS[0]))
    upload(app, h, new, qr_png(WECHAT_GROUPS[1]))
    merged = app.client.post(f"{BASE}/{old}/merge", json={"into_id": new}, headers=h)
    assert merged.status_code == 200, merged.text
    assert (merged.json()["status"], merged.json()["merged_into_id"]) == ("retired", new)
    assert (
        app.client.post(f"{BASE}/{old}/merge", json={"into_id": new}, headers=h).status_code == 409
    )
    members = app.client.get(f"{BASE}/{new}/members", headers=h).json()
    app.client.patch(
        f"{BASE}/{new}/members/{members[0]['id']}", json={"is_enabled": False}, headers=h
    )
    found = app.client.get(f"{BASE}/{new}/alerts", headers=h).json()
    assert [a["kind"] for a in found] == ["last_member"]
    assert "只剩一个可用成员" in found[0]["message"]
    english = app.client.get(f"{BASE}/alerts", headers={**h, "Accept-Language": "en"}).json()
    assert "down to its last member" in english[0]["message"]
    done = app.client.post(f"{BASE}/alerts/{found[0]['id']}/acknowledge", headers=h)
    assert done.json()["acknowledged_at"] is not None
    assert app.client.get(f"{BASE}/alerts", headers=h).json() == []


def test_the_api_is_documented(app: App) -> None:
    spec = json.loads(app.client.get("/api/v1/openapi.json").text)
    paths = spec["paths"]
    assert {"post", "get"} <= set(paths[BASE])
    upload_op = paths[BASE + "/{code_id}/members"]["post"]
    assert {"400", "409", "413", "422"} <= set(upload_op["responses"])
    assert "multipart/form-data" in upload_op["requestBody"]["content"]
    assert "LiveCodeOut" in spec["components"]["schemas"]
    assert "/livecodes/press" not in json.dumps(paths)


def test_live_code_links_are_not_listed_or_edited_as_short_links(app: App) -> None:
    headers = app.token("lc-owner", Role.owner)
    made = app.client.post(
        "/api/v1/livecodes", json={"name": "训练营", "slug": "camp-lc"}, headers=headers
    )
    assert made.status_code == 201, made.text
    listed = app.client.get("/api/v1/links", headers=headers).json()
    assert all(item["slug"] != "camp-lc" for item in listed["items"])
    edit = app.client.patch(
        "/api/v1/links/camp-lc", json={"url": "https://example.com/"}, headers=headers
    )
    assert edit.status_code == 409
    assert edit.json()["code"] == "link.managed_by_live_code"
    assert app.client.delete("/api/v1/links/camp-lc", headers=headers).status_code == 409
