"""The pages: community switcher, group tree, directory, profile, merge with confirmation."""

from __future__ import annotations

from sqlalchemy import select

from qunyun.accounts.roles import Role
from qunyun.community import service as communities
from qunyun.community.models import Member, MemberIdentity
from tests.community.helpers import ingest, joined, seed
from tests.conftest import App


def _member(app: App, uid: str) -> int:
    with app.db.session(write=False) as s:
        found = s.scalar(
            select(MemberIdentity.member_id).where(MemberIdentity.platform_user_id == uid)
        )
        assert found is not None
        return found


def test_switcher_changes_the_community_of_every_page(app: App) -> None:
    seed(app.db)
    with app.db.transaction() as s:
        other = communities.create_community(
            s, communities.cli_principal(s), slug="camp", name="训练营"
        ).id
    ingest(app.db, [joined("900", "x1", "外人", 0)], community_id=other)
    csrf = app.login("ops", Role.admin)
    page = app.client.get("/members")
    assert "张三" in page.text and "外人" not in page.text
    assert 'id="community-switch"' not in page.text  # one community: no switcher
    with app.db.transaction() as s:
        communities.grant_role(s, communities.cli_principal(s), other, "ops", Role.viewer)
    page = app.client.get("/members")
    assert 'id="community-switch"' in page.text and "训练营" in page.text
    r = app.client.post(
        "/communities/switch",
        data={"community": str(other), "next": "/members/5?x=1", "csrf_token": csrf},
        follow_redirects=False,
    )
    assert (r.status_code, r.headers["location"]) == (303, "/members")
    page = app.client.get("/members")
    assert "外人" in page.text and "张三" not in page.text
    # A community without a role cannot be chosen.
    r = app.client.post("/communities/switch", data={"community": "999", "csrf_token": csrf})
    assert r.status_code == 404


def test_group_tree_detail_and_form_errors(app: App) -> None:
    seed(app.db)
    csrf = app.login("ops", Role.operator)
    r = app.client.post(
        "/groups/new",
        data={"name": "营", "standing": "temporary", "capacity": "50", "csrf_token": csrf},
    )
    assert r.status_code == 400 and "临时群需要填写结束日期" in r.text
    r = app.client.post(
        "/groups/new",
        data={"name": "营", "standing": "temporary", "ends_on": "2026-06-01", "csrf_token": csrf},
        follow_redirects=False,
    )
    assert r.status_code == 303
    page = app.client.get("/groups")
    assert page.status_code == 200
    assert page.text.count('role="progressbar"') == 3
    assert 'aria-valuenow="2" aria-valuemax="500"' in page.text
    detail = app.client.get(r.headers["location"])
    assert "joins-chart" in detail.text and "营" in detail.text


def test_directory_filters_profile_and_merge_needs_confirmation(app: App) -> None:
    seed(app.db)
    csrf = app.login("boss", Role.admin)
    page = app.client.get("/members", params={"q": "李"})
    assert "李四" in page.text and "张三" not in page.text
    page = app.client.get("/members", params={"source": "invite", "lang": "en"})
    assert "李四" in page.text and "Members" in page.text
    zs, ls = _member(app, "u1"), _member(app, "u2")
    profile = app.client.get(f"/members/{zs}")
    assert profile.status_code == 200
    assert profile.text.count('data-timeline="') == 4
    assert "李四" in profile.text  # invitee
    r = app.client.post(f"/members/{zs}/merge", data={"other_id": str(ls), "csrf_token": csrf})
    assert "请先勾选确认" in r.text
    with app.db.session(write=False) as s:
        assert s.get(Member, ls).merged_into_id is None  # type: ignore[union-attr]
    r = app.client.post(
        f"/members/{zs}/merge", data={"other_id": str(ls), "confirm": "1", "csrf_token": csrf}
    )
    assert "已合并" in r.text
    with app.db.session(write=False) as s:
        assert s.get(Member, ls).merged_into_id == zs  # type: ignore[union-attr]
    r = app.client.post(
        f"/members/{zs}/edit",
        data={"display_name": "张三", "titles": "首席整理官", "tags": "vip", "csrf_token": csrf},
    )
    assert "首席整理官" in r.text and "成员已保存" in r.text


def test_viewer_sees_no_edit_forms_and_other_community_is_404(app: App) -> None:
    seed(app.db)
    with app.db.transaction() as s:
        other = communities.create_community(
            s, communities.cli_principal(s), slug="camp", name="训练营"
        ).id
    ingest(app.db, [joined("900", "x1", "外人", 0)], community_id=other)
    app.login("look", Role.viewer)
    zs = _member(app, "u1")
    page = app.client.get(f"/members/{zs}")
    assert (
        page.status_code == 200 and 'id="edit"' not in page.text and 'id="merge"' not in page.text
    )
    assert app.client.get(f"/members/{_member(app, 'x1')}").status_code == 404
    assert app.client.get(f"/communities/{other}/settings").status_code == 404
