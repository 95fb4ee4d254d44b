"""The JSON API: permissions per role, communities kept apart, the active community."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from qunyun.accounts.roles import Role
from qunyun.community import service as communities
from qunyun.community.models import MemberIdentity
from qunyun.links.models import Link
from tests.community.helpers import ingest, joined, said, seed
from tests.conftest import App


def _member(app: App, uid: str) -> int:
    with app.db.session(write=False) as s:
        found = s.scalar(
            select(MemberIdentity.member_id).where(MemberIdentity.platform_user_id == uid)
        )
        assert found is not None
        return found


def _second_community(app: App) -> int:
    with app.db.transaction() as s:
        return communities.create_community(
            s, communities.cli_principal(s), slug="camp", name="训练营"
        ).id


@pytest.mark.parametrize(
    ("role", "read", "edit", "merge"),
    [
        (Role.viewer, 200, 403, 403),
        (Role.operator, 200, 200, 403),
        (Role.admin, 200, 200, 200),
    ],
)
def test_permission_matrix(app: App, role: Role, read: int, edit: int, merge: int) -> None:
    seed(app.db)
    headers = app.token(f"user-{role.value}", role)
    zs, ls = _member(app, "u1"), _member(app, "u2")
    assert app.client.get("/api/v1/members", headers=headers).status_code == read
    assert app.client.get(f"/api/v1/members/{zs}", headers=headers).status_code == read
    assert app.client.get(f"/api/v1/members/{zs}/timeline", headers=headers).status_code == read
    assert app.client.get("/api/v1/groups/tree", headers=headers).status_code == read
    r = app.client.patch(f"/api/v1/members/{zs}", json={"notes": "hi"}, headers=headers)
    assert r.status_code == edit, r.text
    r = app.client.post("/api/v1/groups", json={"name": "新群"}, headers=headers)
    assert r.status_code == (201 if edit == 200 else 403)
    r = app.client.get("/api/v1/members/export.csv", headers=headers)
    assert r.status_code == edit
    r = app.client.post(f"/api/v1/members/{zs}/merge", json={"other_id": ls}, headers=headers)
    assert r.status_code == merge, r.text
    if merge == 403:
        assert r.json()["code"] == "role.insufficient"


def test_directory_profile_and_edits(app: App) -> None:
    seed(app.db)
    headers = app.token("op", Role.admin)
    zs = _member(app, "u1")
    r = app.client.get(
        "/api/v1/members", params={"q": "张", "sort": "last_active"}, headers=headers
    )
    assert r.status_code == 200
    body = r.json()
    assert body["total"] == 1 and body["items"][0]["display_name"] == "张三"
    assert body["items"][0]["groups"] == ["群100", "群200"]
    r = app.client.patch(
        f"/api/v1/members/{zs}",
        json={"titles": ["首席整理官"], "tags": ["vip"], "source": "live_code"},
        headers=headers,
    )
    assert r.status_code == 200
    assert (r.json()["titles"], r.json()["tags"], r.json()["source"]) == (
        ["首席整理官"],
        ["vip"],
        "live_code",
    )
    group_id = r.json()["memberships"][0]["group_id"]
    r = app.client.put(
        f"/api/v1/members/{zs}/groups/{group_id}/role", json={"role": "secretary"}, headers=headers
    )
    assert r.json()["memberships"][0]["role"] == "secretary"
    assert (
        app.client.get("/api/v1/members", params={"role": "secretary"}, headers=headers).json()[
            "total"
        ]
        == 1
    )
    r = app.client.post(
        f"/api/v1/members/{zs}/tags", json={"add": ["新"], "remove": ["vip"]}, headers=headers
    )
    assert r.json() == ["新"]
    timeline = app.client.get(f"/api/v1/members/{zs}/timeline", headers=headers).json()
    assert timeline["total"] == 4
    assert timeline["items"][0]["type"] == "message"
    r = app.client.get("/api/v1/members", params={"tier": "nope"}, headers=headers)
    assert (r.status_code, r.json()["code"]) == (400, "member.unknown_tier")
    csv_text = app.client.get("/api/v1/members/export.csv", params={"tag": "新"}, headers=headers)
    assert csv_text.headers["content-type"].startswith("text/csv")
    assert "张三" in csv_text.text and "李四" not in csv_text.text


def test_merge_split_undo_over_the_api(app: App) -> None:
    seed(app.db)
    ingest(app.db, [joined("300", "u9", "小号", 1), said("300", "u9", "hi", 60)])
    headers = app.token("boss", Role.admin)
    zs, alt = _member(app, "u1"), _member(app, "u9")
    r = app.client.post(
        f"/api/v1/members/{zs}/merge", json={"other_id": alt, "note": "小号"}, headers=headers
    )
    assert r.status_code == 200, r.text
    merge_id = r.json()["id"]
    profile = app.client.get(f"/api/v1/members/{zs}", headers=headers).json()
    assert {i["platform_user_id"] for i in profile["identities"]} == {"u1", "u9"}
    assert profile["merged_from"] == [alt]
    assert app.client.get(f"/api/v1/members/{alt}", headers=headers).json()["merged_into_id"] == zs
    r = app.client.post(f"/api/v1/members/changes/{merge_id}/undo", headers=headers)
    assert r.status_code == 200 and r.json()["change"] == "split"
    r = app.client.post(f"/api/v1/members/changes/{merge_id}/undo", headers=headers)
    assert (r.status_code, r.json()["code"]) == (409, "member.undo_stale")
    ident = next(
        i["id"]
        for i in app.client.get(f"/api/v1/members/{alt}", headers=headers).json()["identities"]
    )
    r = app.client.post(
        f"/api/v1/members/{alt}/split", json={"identity_ids": [ident]}, headers=headers
    )
    assert (r.status_code, r.json()["code"]) == (400, "member.split_all")


def test_groups_crud_and_tree(app: App) -> None:
    headers = app.token("op", Role.admin)
    parent = app.client.post(
        "/api/v1/groups", json={"name": "总群", "capacity": 200}, headers=headers
    ).json()
    child = app.client.post(
        "/api/v1/groups",
        json={
            "name": "一期",
            "kind": "trial",
            "standing": False,
            "ends_on": "2026-05-01",
            "parent_id": parent["id"],
        },
        headers=headers,
    )
    assert child.status_code == 201, child.text
    r = app.client.post("/api/v1/groups", json={"name": "x", "standing": False}, headers=headers)
    assert (r.status_code, r.json()["code"]) == (400, "group.ends_on_required")
    r = app.client.patch(
        f"/api/v1/groups/{parent['id']}", json={"parent_id": child.json()["id"]}, headers=headers
    )
    assert r.json()["code"] == "group.parent_cycle"
    tree = app.client.get("/api/v1/groups/tree", headers=headers).json()
    assert [n["name"] for n in tree] == ["总群"] and tree[0]["children"][0]["name"] == "一期"
    assert (
        app.client.post(f"/api/v1/groups/{child.json()['id']}/archive", headers=headers).json()[
            "status"
        ]
        == "archived"
    )
    names = [
        g["name"]
        for g in app.client.get(
            "/api/v1/groups", params={"include_archived": False}, headers=headers
        ).json()
    ]
    assert names == ["总群"]


def test_other_community_is_invisible_and_the_header_switches(app: App) -> None:
    seed(app.db)
    other = _second_community(app)
    ingest(app.db, [joined("900", "x1", "外人", 0)], community_id=other)
    outsider = _member(app, "x1")
    headers = app.token("op", Role.admin)  # a role in community 1 only
    assert app.client.get(f"/api/v1/members/{outsider}", headers=headers).status_code == 404
    assert app.client.get(f"/api/v1/communities/{other}", headers=headers).status_code == 404
    r = app.client.get("/api/v1/members", headers={**headers, "X-Qunyun-Community": "camp"})
    assert (r.status_code, r.json()["code"]) == (404, "community.not_found")
    # Given a role there, the header chooses it.
    with app.db.transaction() as s:
        communities.grant_role(s, communities.cli_principal(s), other, "op", Role.viewer)
    for named in ("camp", str(other)):
        body = app.client.get(
            "/api/v1/members", headers={**headers, "X-Qunyun-Community": named}
        ).json()
        assert [m["display_name"] for m in body["items"]] == ["外人"]
    assert app.client.get("/api/v1/members", headers=headers).json()["total"] == 3
    listed = app.client.get("/api/v1/communities", headers=headers).json()
    assert [(c["slug"], c["role"]) for c in listed] == [("default", "admin"), ("camp", "viewer")]


def test_a_link_created_in_community_b_is_invisible_from_a(app: App) -> None:
    other = _second_community(app)
    headers = app.token("op", Role.operator)
    with app.db.transaction() as s:
        communities.grant_role(s, communities.cli_principal(s), other, "op", Role.operator)
    in_b = {**headers, "X-Qunyun-Community": "camp"}
    r = app.client.post(
        "/api/v1/links", json={"url": "https://example.com/b", "slug": "only-b"}, headers=in_b
    )
    assert r.status_code == 201, r.text
    with app.db.session(write=False) as s:
        assert s.scalar(select(Link.community_id).where(Link.slug == "only-b")) == other
    slugs_a = [x["slug"] for x in app.client.get("/api/v1/links", headers=headers).json()["items"]]
    slugs_b = [x["slug"] for x in app.client.get("/api/v1/links", headers=in_b).json()["items"]]
    assert "only-b" in slugs_b and "only-b" not in slugs_a


def test_communities_settings_and_roles(app: App) -> None:
    headers = app.token("owner1", Role.owner)
    r = app.client.post(
        "/api/v1/communities", json={"slug": "school", "name": "学校"}, headers=headers
    )
    assert r.status_code == 201 and r.json()["role"] == "owner"
    cid = r.json()["id"]
    r = app.client.patch(
        f"/api/v1/communities/{cid}",
        json={
            "tier_bands": [{"name": "founder", "upto": 10}, {"name": "partner"}],
            "tier_cap": 199,
            "group_kinds": ["main", "class"],
        },
        headers=headers,
    )
    assert r.status_code == 200, r.text
    assert r.json()["tier_cap"] == 199 and r.json()["group_kinds"] == ["main", "class"]
    r = app.client.patch(
        f"/api/v1/communities/{cid}",
        json={"tier_bands": [{"name": "a", "upto": 5}, {"name": "b", "upto": 3}]},
        headers=headers,
    )
    assert r.json()["code"] == "tier.not_ascending"
    app.user("helper", Role.viewer)
    r = app.client.put(
        f"/api/v1/communities/{cid}/roles/helper", json={"role": "admin"}, headers=headers
    )
    assert r.status_code == 200
    names = [
        h["name"]
        for h in app.client.get(f"/api/v1/communities/{cid}/roles", headers=headers).json()
    ]
    assert names == ["helper", "owner1"]
    r = app.client.delete(f"/api/v1/communities/{cid}/roles/owner1", headers=headers)
    assert (r.status_code, r.json()["code"]) == (409, "community.last_owner")
    assert (
        app.client.delete(f"/api/v1/communities/{cid}/roles/helper", headers=headers).status_code
        == 204
    )
    viewer = app.token("vw", Role.viewer)
    r = app.client.post("/api/v1/communities", json={"slug": "v", "name": "v"}, headers=viewer)
    assert r.status_code == 403
