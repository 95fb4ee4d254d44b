"""The statistics API end to end: links made through the API, visits through real
redirects, statistics and CSV read back."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete, select
from starlette.testclient import TestClient

from qunyun.accounts.models import CommunityRole
from qunyun.accounts.roles import Role
from qunyun.app import create_app
from qunyun.community.models import Community
from qunyun.db.engine import Database
from qunyun.visits.models import Visit
from tests.conftest import App, make_settings
from tests.visits.helpers import (
    ANDROID_CHROME,
    GOOGLEBOT,
    IPHONE_SAFARI,
    TELEGRAM_PREVIEW,
    WECHAT_IPHONE,
    make_link,
)

PROXY = ("10.0.0.1", 40000)


def create_link(
    app: App, headers: dict[str, str], slug: str, tags: list[str] | None = None
) -> None:
    response = app.client.post(
        "/api/v1/links",
        json={"url": "https://example.com/landing", "slug": slug, "tags": tags or []},
        headers=headers,
    )
    assert response.status_code == 201, response.text
    assert response.json()["slug"] == slug


def open_link(app: App, slug: str, ua: str, **headers: str) -> None:
    """Open the short link; in-app browsers and preview bots may get a page (200)
    instead of the redirect, and are recorded as visits all the same."""
    response = app.client.get(
        f"/{slug}", headers={"User-Agent": ua, **headers}, follow_redirects=False
    )
    assert response.status_code in (200, 302), response.text


def stats_of(app: App, path: str, headers: dict[str, str], **params: Any) -> dict[str, Any]:
    response = app.client.get(path, headers=headers, params=params)
    assert response.status_code == 200, response.text
    return response.json()


@pytest.fixture
def operator(app: App) -> dict[str, str]:
    return app.token("olivia", Role.operator)


@pytest.fixture
def viewer(app: App) -> dict[str, str]:
    return app.token("victor", Role.viewer)


def test_stats_of_real_redirects(app: App, operator, viewer):
    create_link(app, operator, "promo", ["camp"])
    for ua in (WECHAT_IPHONE, WECHAT_IPHONE, IPHONE_SAFARI, GOOGLEBOT, TELEGRAM_PREVIEW):
        open_link(app, "promo", ua, Referer="https://weibo.com/u/1")
    app.flush_visits()

    data = stats_of(app, "/api/v1/links/promo/stats", viewer)
    assert (data["scope"], data["name"], data["granularity"]) == ("link", "promo", "day")
    assert len(data["series"]) == 30
    # Without a trusted proxy every visitor is the test client's address: uniques are
    # told apart by user agent only.
    assert data["totals"] == {"people": 3, "uniques": 2, "bots": 2}
    assert data["series"][-1] == {"key": data["end"], "people": 3, "uniques": 2, "bots": 2}
    breakdowns = data["breakdowns"]
    assert {s["key"]: (s["people"], s["bots"]) for s in breakdowns["app"]} == {
        "wechat": (2, 0),
        "none": (1, 2),
    }
    assert breakdowns["referrer"] == [{"key": "weibo.com", "people": 3, "bots": 2}]
    assert {s["key"] for s in breakdowns["bot"]} == {"googlebot", "telegram"}

    link = app.client.get("/api/v1/links/promo", headers=viewer).json()
    assert (link["human_visits"], link["bot_visits"]) == (3, 2)


def test_hourly_and_explicit_ranges(app: App, operator, viewer):
    create_link(app, operator, "hours")
    open_link(app, "hours", ANDROID_CHROME)
    app.flush_visits()
    data = stats_of(app, "/api/v1/links/hours/stats", viewer, granularity="hour", days=2)
    assert data["granularity"] == "hour"
    assert len(data["series"]) == 48
    assert sum(b["people"] for b in data["series"]) == 1
    assert data["series"][0]["key"].endswith("T00:00:00+08:00")

    past = stats_of(app, "/api/v1/links/hours/stats", viewer, start="2020-01-01", end="2020-01-03")
    assert [b["key"] for b in past["series"]] == ["2020-01-01", "2020-01-02", "2020-01-03"]
    assert past["totals"] == {"people": 0, "uniques": 0, "bots": 0}


def test_tag_stats_add_up_the_tagged_links(app: App, operator, viewer):
    create_link(app, operator, "camp-a", ["训练营", "spring"])
    create_link(app, operator, "camp-b", ["训练营"])
    create_link(app, operator, "untagged")
    for slug in ("camp-a", "camp-b", "untagged"):
        open_link(app, slug, ANDROID_CHROME)
    open_link(app, "camp-b", IPHONE_SAFARI)
    app.flush_visits()

    data = stats_of(app, "/api/v1/tags/训练营/stats", viewer)
    assert (data["scope"], data["name"]) == ("tag", "训练营")
    # The Android phone opened both tagged links today: two visits, one visitor.
    assert data["totals"] == {"people": 3, "uniques": 2, "bots": 0}
    assert stats_of(app, "/api/v1/tags/spring/stats", viewer)["totals"]["people"] == 1


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"start": "2024-05-02", "end": "2024-05-01"}, "stats.range_reversed"),
        ({"start": "2023-01-01", "end": "2024-06-01"}, "stats.range_too_long"),
        (
            {"start": "2024-05-01", "end": "2024-05-20", "granularity": "hour"},
            "stats.hour_range_too_long",
        ),
        ({"start": "0001-01-01", "end": "2024-05-20"}, "stats.date_out_of_range"),
        ({"end": "9999-12-31"}, "stats.date_out_of_range"),
    ],
)
def test_bad_ranges_are_refused_with_their_code(app: App, operator, viewer, params, code):
    create_link(app, operator, "ranged")
    response = app.client.get("/api/v1/links/ranged/stats", headers=viewer, params=params)
    assert response.status_code == 400
    assert response.json()["code"] == code
    assert response.json()["message"]


@pytest.mark.parametrize(
    "params", [{"granularity": "minute"}, {"days": "0"}, {"days": "367"}, {"start": "May 1"}]
)
def test_malformed_parameters_are_422(app: App, operator, viewer, params):
    create_link(app, operator, "shaped")
    response = app.client.get("/api/v1/links/shaped/stats", headers=viewer, params=params)
    assert response.status_code == 422
    assert response.json()["code"] == "validation"


def test_who_may_see_what(app: App, operator, viewer):
    create_link(app, operator, "mine")
    with app.db.transaction() as session:
        session.add(Community(slug="elsewhere", name="Elsewhere"))
        session.flush()
        other = session.scalar(select(Community.id).where(Community.slug == "elsewhere"))
    assert other is not None
    make_link(app.db, "theirs", community_id=other, tags=("theirs",))

    assert app.client.get("/api/v1/links/mine/stats").status_code == 401
    assert app.client.get("/api/v1/links/mine/visits.csv").status_code == 401
    bad_token = {"Authorization": "Bearer qy_" + "x" * 43}
    assert app.client.get("/api/v1/links/mine/stats", headers=bad_token).status_code == 401

    for path in (
        "/api/v1/links/nope/stats",
        "/api/v1/links/theirs/stats",
        "/api/v1/links/theirs/visits.csv",
    ):
        response = app.client.get(path, headers=viewer)
        assert (response.status_code, response.json()["code"]) == (404, "link.not_found"), path
    response = app.client.get("/api/v1/tags/theirs/stats", headers=viewer)
    assert (response.status_code, response.json()["code"]) == (404, "stats.tag_not_found")
    response = app.client.get("/api/v1/tags/a%00b/stats", headers=viewer)
    assert response.status_code == 404

    # A user whose role was taken away has no community left to look in.
    user_id = app.user("gone", Role.viewer)
    with app.db.transaction() as session:
        session.execute(delete(CommunityRole).where(CommunityRole.user_id == user_id))
    from qunyun.accounts import service as accounts

    with app.db.transaction() as session:
        token = accounts.create_token(session, user_id, "t").plaintext
    response = app.client.get(
        "/api/v1/links/mine/stats", headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 403


def test_session_cookie_reads_stats_like_the_panel(app: App, operator):
    create_link(app, operator, "panel")
    app.login("pat", Role.viewer)
    response = app.client.get(
        "/api/v1/links/panel/stats", params={"days": 7}, headers={"Accept": "application/json"}
    )
    assert response.status_code == 200
    assert len(response.json()["series"]) == 7


def read_csv(response) -> list[dict[str, str]]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert 'filename="export-me-visits.csv"' in response.headers["content-disposition"]
    assert response.content.startswith("\ufeff".encode())
    return list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))


def test_csv_export_of_raw_visits(app: App, operator, viewer):
    create_link(app, operator, "export-me")
    open_link(app, "export-me", WECHAT_IPHONE, Referer="https://weibo.com/")
    open_link(app, "export-me", GOOGLEBOT)
    open_link(app, "export-me", '=HYPERLINK("http://evil.example")')
    app.flush_visits()

    rows = read_csv(app.client.get("/api/v1/links/export-me/visits.csv", headers=operator))
    assert len(rows) == 3
    first = rows[0]
    assert (first["user_agent"], first["referrer"], first["app"]) == (
        WECHAT_IPHONE,
        "https://weibo.com/",
        "wechat",
    )
    assert (first["browser"], first["os"], first["device"], first["is_bot"]) == (
        "WeChat",
        "iOS",
        "phone",
        "0",
    )
    assert first["ip"] == "testclient"  # the test client's peer name, within retention
    assert (rows[1]["is_bot"], rows[1]["bot_name"]) == ("1", "googlebot")
    assert rows[2]["user_agent"].startswith("'=")
    # Viewers get the visits without the addresses.
    assert {
        r["ip"]
        for r in read_csv(app.client.get("/api/v1/links/export-me/visits.csv", headers=viewer))
    } == {""}


def test_openapi_documents_the_stats_operations(app: App):
    spec = app.client.get("/api/v1/openapi.json").json()
    stats_op = spec["paths"]["/api/v1/links/{slug}/stats"]["get"]
    assert stats_op["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "/StatsOut"
    )
    assert {"400", "401", "403", "404", "422"} <= set(stats_op["responses"])
    assert {p["name"] for p in stats_op["parameters"]} >= {"start", "end", "days", "granularity"}
    assert "/api/v1/tags/{name}/stats" in spec["paths"]
    csv_op = spec["paths"]["/api/v1/links/{slug}/visits.csv"]["get"]
    assert "text/csv" in csv_op["responses"]["200"]["content"]


# --- client addresses behind a proxy -------------------------------------------------


def app_behind(db: Database, tmp_path: Path, trusted: list[str]) -> Iterator[App]:
    settings = make_settings(tmp_path, db, trusted_proxies=trusted)
    with TestClient(create_app(settings, db), base_url="http://testserver", client=PROXY) as client:
        yield App(client, db, settings)


@pytest.mark.parametrize(
    ("trusted", "stored", "uniques"),
    [
        (["10.0.0.0/8"], {"203.0.113.5", "203.0.113.6"}, 2),
        ([], {"10.0.0.1"}, 1),
    ],
    ids=["trusted-proxy", "untrusted-peer"],
)
def test_forwarded_for_only_from_trusted_proxies(sqlite_db, tmp_path, trusted, stored, uniques):
    for proxied in app_behind(sqlite_db, tmp_path, trusted):
        headers = proxied.token("otto", Role.operator)
        create_link(proxied, headers, "proxied")
        for client_ip in ("203.0.113.5", "203.0.113.6", "203.0.113.6"):
            open_link(
                proxied, "proxied", IPHONE_SAFARI, **{"X-Forwarded-For": f"{client_ip}, 10.0.0.9"}
            )
        proxied.flush_visits()
        data = stats_of(proxied, "/api/v1/links/proxied/stats", headers, days=1)
        assert data["totals"] == {"people": 3, "uniques": uniques, "bots": 0}
        with sqlite_db.transaction(write=False) as session:
            assert set(session.scalars(select(Visit.ip))) == stored
