"""/api/v1/rulebook, /api/v1/audit and /api/v1/bans: auth, roles, refusals, CSV."""

from __future__ import annotations

import csv
import io

from sqlalchemy import select

from qunyun.accounts.roles import Role
from qunyun.community.models import Group
from qunyun.moderation.books import starter_book
from qunyun.moderation.yaml_io import dump_rulebook
from tests.community.helpers import seed
from tests.conftest import App

YAML = {"Content-Type": "application/yaml"}
GOOD = dump_rulebook(starter_book()).replace("dry_run: false", "dry_run: true")


def _group(app: App) -> int:
    with app.db.session(write=False) as s:
        gid = s.scalar(select(Group.id).where(Group.platform_group_id == "100"))
        assert gid is not None
        return gid


def test_everything_needs_a_sign_in(app: App) -> None:
    for path in ("/api/v1/rulebook", "/api/v1/audit", "/api/v1/bans", "/api/v1/bans/export.csv"):
        r = app.client.get(path)
        assert (r.status_code, r.json()["code"]) == (401, "auth.required"), path
    r = app.client.put("/api/v1/rulebook", content=GOOD, headers=YAML)
    assert r.status_code == 401
    r = app.client.get("/moderation/rulebook", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")


def test_roles_viewers_read_only_admins_save(app: App) -> None:
    viewer = app.token("vera", Role.viewer)
    operator = app.token("otto", Role.operator)
    admin = app.token("ada", Role.admin)
    r = app.client.get("/api/v1/rulebook", headers=viewer)
    assert r.status_code == 200
    body = r.json()
    assert body["version"] == 0 and body["document"]["categories"]["ads"]["severity"] == "medium"
    assert body["yaml"].startswith("# Qunyun rule book")
    for who in (viewer, operator):
        r = app.client.put("/api/v1/rulebook", content=GOOD, headers={**who, **YAML})
        assert (r.status_code, r.json()["code"]) == (403, "role.insufficient")
    r = app.client.put("/api/v1/rulebook?note=trial", content=GOOD, headers={**admin, **YAML})
    assert r.json() == {"version": 1}
    data = app.client.get("/api/v1/rulebook", headers=viewer).json()["document"]
    data["links"]["mode"] = "none"
    r = app.client.put("/api/v1/rulebook", json=data, headers=admin)
    assert r.json() == {"version": 2}
    r = app.client.put(
        "/api/v1/rulebook", content=b"{}", headers={**admin, "Content-Type": "image/png"}
    )
    assert r.status_code == 415
    # Bans: viewers list, operators add.
    assert app.client.get("/api/v1/bans", headers=viewer).status_code == 200
    r = app.client.post(
        "/api/v1/bans", json={"platform": "qq", "platform_user_id": "1"}, headers=viewer
    )
    assert r.status_code == 403
    r = app.client.post(
        "/api/v1/bans", json={"platform": "qq", "platform_user_id": "1"}, headers=operator
    )
    assert r.status_code == 201
    # Audit: viewers read, operators export.
    assert app.client.get("/api/v1/audit", headers=viewer).status_code == 200
    assert app.client.get("/api/v1/audit/export.csv", headers=viewer).status_code == 403


def test_refused_documents_answer_422_with_lines_and_keep_the_book(app: App) -> None:
    admin = app.token("ada", Role.admin)
    app.client.put("/api/v1/rulebook", content=GOOD, headers={**admin, **YAML})
    bad = (
        "version: 1\ncategories:\n  ads:\n    label: 广告\n"
        "    patterns: ['(a+)+$']\nflood: {oops: 1}\n"
    )
    r = app.client.put(
        "/api/v1/rulebook", content=bad, headers={**admin, **YAML, "Accept-Language": "en"}
    )
    assert r.status_code == 422
    body = r.json()
    assert [(p["code"], p["line"]) for p in body["problems"]] == [
        ("catastrophic_pattern", 5),
        ("unknown_key", 6),
    ]
    assert body["problems"][1]["message"] == 'Line 6 (flood.oops): Unknown field "oops"'
    r = app.client.put("/api/v1/rulebook", json={"version": 2}, headers=admin)
    assert r.status_code == 422 and r.json()["problems"][0]["line"] is None
    current = app.client.get("/api/v1/rulebook", headers=admin).json()
    assert current["version"] == 1 and current["document"]["dry_run"] is True
    audit = app.client.get("/api/v1/audit", headers=admin).json()
    assert [e["action"] for e in audit["items"]] == ["rulebook.saved"]


def test_versions_diff_restore_export_and_group_overrides(app: App) -> None:
    seed(app.db)
    gid = _group(app)
    admin = app.token("ada", Role.admin)
    app.client.put("/api/v1/rulebook", content=GOOD, headers={**admin, **YAML})
    versions = app.client.get("/api/v1/rulebook/versions", headers=admin).json()
    assert [(v["version"], v["author"], v["in_force"]) for v in versions] == [
        (1, "ada", True),
        (0, "", False),
    ]
    diff = app.client.get("/api/v1/rulebook/diff?old=0&new=1", headers=admin).json()["diff"]
    assert "-dry_run: false\n+dry_run: true" in diff
    assert app.client.get("/api/v1/rulebook/versions/7", headers=admin).status_code == 404
    r = app.client.post("/api/v1/rulebook/versions/0/restore", headers=admin)
    assert r.json() == {"version": 2}
    r = app.client.get("/api/v1/rulebook/export.yaml", headers=admin)
    assert r.headers["content-type"].startswith("application/yaml")
    assert 'filename="rulebook-v2.yaml"' in r.headers["content-disposition"]
    assert "dry_run: false" in r.text

    override = "notice:\n  where: private\nflood:\n  max_messages: 3\n"
    r = app.client.put(
        f"/api/v1/rulebook/groups/{gid}", content=override, headers={**admin, **YAML}
    )
    assert r.json() == {"version": 1}
    got = app.client.get(f"/api/v1/rulebook/groups/{gid}", headers=admin).json()
    assert got["document"] == {"notice": {"where": "private"}, "flood": {"max_messages": 3}}
    assert got["effective"]["flood"]["max_messages"] == 3
    assert got["effective"]["flood"]["window_seconds"] == 60
    r = app.client.put(
        f"/api/v1/rulebook/groups/{gid}",
        content="flood:\n  max_messages: 0\n",
        headers={**admin, **YAML},
    )
    assert r.status_code == 422 and r.json()["problems"][0]["line"] == 2
    assert app.client.get("/api/v1/rulebook/groups/999999", headers=admin).status_code == 404
    published = app.client.get(
        f"/api/v1/rulebook/groups/{gid}/published?lang=en", headers=admin
    ).json()
    assert "at most 3 messages in 60 seconds" in published["markdown"]
    assert published["url"] == f"http://testserver/rules/default/{gid}"
    audit = app.client.get(f"/api/v1/audit?group={gid}", headers=admin).json()
    assert [e["action"] for e in audit["items"]] == ["rulebook.saved"]


def test_bans_api_add_lift_import_export(app: App) -> None:
    ops = app.token("otto", Role.operator)
    r = app.client.post(
        "/api/v1/bans",
        json={"platform": "onebot", "platform_user_id": "10001", "reason": "<b>广告</b>"},
        headers=ops,
    )
    assert r.status_code == 201
    ban = r.json()
    assert ban["active"] and ban["reason"] == "<b>广告</b>"
    r = app.client.post(
        "/api/v1/bans", json={"platform": "on bot", "platform_user_id": "1"}, headers=ops
    )
    assert (r.status_code, r.json()["code"]) == (400, "ban.bad_platform")
    bad = "platform,platform_user_id\nonebot,2\nonebot,has space\n"
    r = app.client.post(
        "/api/v1/bans/import", files={"file": ("b.csv", bad.encode(), "text/csv")}, headers=ops
    )
    assert r.status_code == 422
    assert [(p["line"], p["code"]) for p in r.json()["problems"]] == [(3, "ban.bad_user_id")]
    good = "platform,platform_user_id,reason\nonebot,2,刷屏\ntelegram,3,\n"
    for expected in ((2, 0), (0, 2)):
        r = app.client.post(
            "/api/v1/bans/import", files={"file": ("b.csv", good.encode(), "text/csv")}, headers=ops
        )
        assert (r.json()["added"], r.json()["unchanged"]) == expected
    r = app.client.post(f"/api/v1/bans/{ban['id']}/lift", headers=ops)
    assert r.json()["active"] is False
    listing = app.client.get("/api/v1/bans?status=all&q=刷屏", headers=ops).json()
    assert [b["platform_user_id"] for b in listing["items"]] == ["2"]
    r = app.client.get("/api/v1/bans/export.csv", headers=ops)
    assert r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.text.removeprefix("\ufeff"))))
    assert sorted(row["platform_user_id"] for row in rows) == ["2", "3"]
    actions = [
        e["action"]
        for e in app.client.get("/api/v1/audit?action=ban.", headers=ops).json()["items"]
    ]
    assert actions == ["ban.lifted", "ban.added", "ban.added", "ban.added"]
    r = app.client.get("/api/v1/audit/export.csv?action=ban.lifted", headers=ops)
    lines = r.text.removeprefix("\ufeff").splitlines()
    assert lines[0].startswith("id,at,action") and len(lines) == 2 and "ban.lifted" in lines[1]
