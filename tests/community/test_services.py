"""Communities, groups and members: the services, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from qunyun.accounts import service as accounts
from qunyun.accounts.models import CommunityRole
from qunyun.accounts.passwords import Passwords
from qunyun.accounts.roles import Role
from qunyun.community import groups, members
from qunyun.community import service as communities
from qunyun.community.members import DirectoryQuery
from qunyun.community.models import Group, GroupMembership, Member, MemberIdentity
from qunyun.db.engine import Database
from qunyun.errors import DomainError
from tests.community.helpers import ingest, joined, owner, said, seed

OWNER = owner()


def _member(db: Database, uid: str) -> int:
    with db.session(write=False) as s:
        found = s.scalar(
            select(MemberIdentity.member_id).where(MemberIdentity.platform_user_id == uid)
        )
        assert found is not None
        return found


def _group(db: Database, gid: str) -> int:
    with db.session(write=False) as s:
        found = s.scalar(select(Group.id).where(Group.platform_group_id == gid))
        assert found is not None
        return found


# --- communities and roles -----------------------------------------------------------


def test_create_community_grant_and_last_owner(db: Database) -> None:
    with db.transaction() as s:
        alice = accounts.create_user(s, Passwords("test"), "alice", "x" * 12, Role.owner)
        bob = accounts.create_user(s, Passwords("test"), "bob", "x" * 12, Role.viewer)
    with db.transaction() as s:
        p = accounts.principal_for(s, alice)
        c = communities.create_community(s, p, slug="Camp-2026", name="训练营")
        assert c.slug == "camp-2026"
        cid = c.id
    with db.transaction() as s:
        p = accounts.principal_for(s, s.get(type(alice), alice.id))  # type: ignore[arg-type]
        assert p.roles[cid] == Role.owner
        assert [x.slug for x in communities.list_communities(s, p)] == ["default", "camp-2026"]
        communities.grant_role(s, p, cid, "bob", Role.admin)
        with pytest.raises(DomainError) as exc:
            communities.revoke_role(s, p, cid, "alice")
        assert exc.value.code == "community.last_owner"
    with db.transaction() as s:
        bob_p = accounts.principal_for(s, s.get(type(bob), bob.id))  # type: ignore[arg-type]
        with pytest.raises(DomainError) as exc:
            communities.grant_role(s, bob_p, cid, "bob", Role.owner)
        assert exc.value.code == "community.owner_only"
        with pytest.raises(DomainError) as exc:
            communities.create_community(s, bob_p, slug="mine", name="x")
        assert exc.value.code == "community.create_forbidden"
        with pytest.raises(DomainError) as exc:
            communities.create_community(
                s,
                accounts.principal_for(s, s.get(type(alice), alice.id)),
                slug="camp-2026",
                name="x",
            )  # type: ignore[arg-type]
        assert exc.value.code == "community.slug_taken"
    with db.session(write=False) as s:
        n = s.scalar(
            select(func.count()).select_from(CommunityRole).where(CommunityRole.community_id == cid)
        )
        assert n == 2


def test_settings_kinds_and_tiers(db: Database) -> None:
    with db.transaction() as s:
        c = communities.update_community(
            s,
            OWNER,
            1,
            {
                "group_kinds": ["main", "camp", "camp", " "],
                "tier_bands": [{"name": "founder", "upto": 2}, {"name": "partner", "upto": None}],
                "tier_cap": 3,
            },
        )
        assert c.group_kinds == ["main", "camp"]
        assert communities.tier_scheme(c).tier_of(3) == "partner"
        with pytest.raises(DomainError) as exc:
            communities.update_community(s, OWNER, 1, {"tier_cap": 1})
        assert exc.value.code == "tier.cap_below_band"
        with pytest.raises(DomainError) as exc:
            communities.update_community(s, owner(role=Role.operator), 1, {"name": "x"})
        assert exc.value.code == "role.insufficient"
        with pytest.raises(DomainError) as exc:
            communities.update_community(s, OWNER, 1, {"timezone": "Mars/Base"})
        assert exc.value.code == "community.invalid_timezone"


# --- groups --------------------------------------------------------------------------


def test_group_validation_tree_and_archive(db: Database) -> None:
    with db.transaction() as s:
        main = groups.create_group(s, OWNER, 1, {"name": "总群", "capacity": 500})
        branch = groups.create_group(
            s, OWNER, 1, {"name": "分群", "kind": "branch", "parent_id": main.id}
        )
        camp = groups.create_group(
            s,
            OWNER,
            1,
            {
                "name": "训练营",
                "kind": "trial",
                "standing": False,
                "ends_on": "2026-04-01",
                "parent_id": branch.id,
                "timezone": "Asia/Tokyo",
            },
        )
        assert camp.ends_on == date(2026, 4, 1)
        ids = (main.id, branch.id, camp.id)
    bad = [
        ({"name": "x", "capacity": 0}, "group.capacity_range"),
        ({"name": "x", "capacity": 100_001}, "group.capacity_range"),
        ({"name": "x", "standing": False}, "group.ends_on_required"),
        ({"name": "x", "kind": "nope"}, "group.invalid_kind"),
        ({"name": "x", "timezone": "Nowhere/City"}, "community.invalid_timezone"),
        ({"name": "x", "parent_id": 999_999}, "group.parent_not_found"),
        ({"name": ""}, "group.invalid_name"),
    ]
    for fields, code in bad:
        with db.transaction() as s, pytest.raises(DomainError) as exc:
            groups.create_group(s, OWNER, 1, fields)
        assert exc.value.code == code, fields
    with db.transaction() as s, pytest.raises(DomainError) as exc:
        groups.update_group(s, OWNER, 1, ids[0], {"parent_id": ids[2]})
    assert exc.value.code == "group.parent_cycle"
    with db.transaction() as s:
        tree = groups.group_tree(s, OWNER, 1)
        assert [n.row.name for n in tree] == ["总群"]
        assert tree[0].children[0].children[0].row.name == "训练营"
        with pytest.raises(DomainError):
            groups.set_status(s, owner(role=Role.operator), 1, ids[2], "archived")
        groups.set_status(s, OWNER, 1, ids[2], "archived")
        assert [g.name for g in groups.list_groups(s, OWNER, 1, include_archived=False)] == [
            "分群",
            "总群",
        ]
    # Another community's group is invisible.
    with db.transaction() as s:
        other = communities.create_community(s, communities.cli_principal(s), slug="b", name="B")
        other_id = other.id
    with db.transaction() as s:
        p2 = owner(other_id)
        with pytest.raises(DomainError) as exc:
            groups.get_group(s, p2, other_id, ids[0])
        assert exc.value.status == 404
        with pytest.raises(DomainError) as exc:
            groups.create_group(s, p2, other_id, {"name": "x", "parent_id": ids[0]})
        assert exc.value.code == "group.parent_not_found"


def test_capacity_use_follows_ingested_joins(db: Database) -> None:
    seed(db)
    with db.transaction() as s:
        g = groups.get_group(s, OWNER, 1, _group(db, "100"))
        groups.update_group(s, OWNER, 1, g.id, {"capacity": 4})
        assert g.member_count == 2  # 王五 left
        assert groups.capacity_use(g) == 0.5
        days = groups.joins_per_day(s, g, "Asia/Shanghai", days=10_000)
        assert sum(d.joined for d in days) == 3 and sum(d.left for d in days) == 1


# --- the directory -------------------------------------------------------------------


def test_directory_filters_sorts_and_pages(db: Database) -> None:
    seed(db)
    zs, ls, ww = _member(db, "u1"), _member(db, "u2"), _member(db, "u3")
    g100, g200 = _group(db, "100"), _group(db, "200")
    with db.transaction() as s:
        communities.update_community(
            s, OWNER, 1, {"tier_bands": [{"name": "founder", "upto": 1}, {"name": "early"}]}
        )
        members.update_member(s, OWNER, 1, ls, {"tags": ["vip", "北京"]})
        members.set_group_role(s, OWNER, 1, zs, g100, "owner")

    def ids(**kw: object) -> list[int]:
        with db.session(write=False) as s:
            page = members.directory(s, OWNER, 1, DirectoryQuery(**kw))  # type: ignore[arg-type]
            return [r.member.id for r in page.items]

    assert ids() == [zs, ls, ww]
    assert ids(q="三哥") == [zs]  # group nickname
    assert ids(q="李") == [ls]
    assert ids(q="u3") == [ww]  # platform user id
    assert ids(q="%") == []
    assert ids(group_id=g200) == [zs]
    assert ids(group_id=g100, status="left") == [ww]
    assert ids(role="owner") == [zs]
    assert ids(tag="vip") == [ls]
    assert ids(source="invite") == [ls]
    assert ids(tier="founder") == [zs]
    assert ids(tier="early") == [ls, ww]
    assert ids(sort="last_active") == [zs, ls, ww]
    assert ids(sort="name")[0] in (zs, ls, ww)
    assert ids(per_page=2, page=2) == [ww]
    with db.session(write=False) as s:
        page = members.directory(s, OWNER, 1, DirectoryQuery(per_page=2))
        assert (page.total, page.pages) == (3, 2)
        assert page.items[0].tier == "founder" and page.items[0].groups == ["群100", "群200"]
        with pytest.raises(DomainError) as exc:
            members.directory(s, OWNER, 1, DirectoryQuery(tier="nope"))
        assert exc.value.code == "member.unknown_tier"
        text = members.export_csv(s, OWNER, 1, DirectoryQuery(tag="vip"))
        assert text.startswith("\ufeffid,join_order,tier")
        assert "李四" in text and "onebot:u2" in text and "张三" not in text
        with pytest.raises(DomainError):
            members.export_csv(s, owner(role=Role.viewer), 1, DirectoryQuery())


def test_profile_timeline_and_edits(db: Database) -> None:
    seed(db)
    zs, ls = _member(db, "u1"), _member(db, "u2")
    with db.transaction() as s:
        m = members.update_member(
            s,
            OWNER,
            1,
            zs,
            {"titles": "首席整理官, 群主", "notes": "老朋友", "display_name": "张三丰"},
        )
        assert m.titles == ["首席整理官", "群主"]
        with pytest.raises(DomainError) as exc:
            members.update_member(s, OWNER, 1, zs, {"inviter_id": ls})
        assert exc.value.code == "member.inviter_cycle"
        with pytest.raises(DomainError) as exc:
            members.update_member(s, owner(role=Role.viewer), 1, zs, {"notes": "x"})
        assert exc.value.code == "role.insufficient"
        assert members.change_tags(s, OWNER, 1, zs, add=["a", "b"], remove=["a"]) == ["b"]
    with db.session(write=False) as s:
        p = members.profile(s, OWNER, 1, zs)
        assert [i.platform_user_id for i in p.identities] == ["u1"]
        assert [v.group.platform_group_id for v in p.memberships] == ["100", "200"]
        assert p.memberships[0].membership.nickname == "三哥"
        assert [r.member.id for r in p.invitees] == [ls]
        assert members.profile(s, OWNER, 1, ls).inviter is not None
        page = members.timeline(s, OWNER, 1, zs, per_page=3)
        assert page.total == 4  # two joins, two messages
        assert [(i.type, i.text or i.change) for i in page.items] == [
            ("message", "第二个群"),
            ("message", "大家好"),
            ("change", "joined"),
        ]
        assert page.items[0].group_name == "群200"
        assert [i.change for i in members.timeline(s, OWNER, 1, zs, page=2, per_page=3).items] == [
            "joined"
        ]
        with pytest.raises(DomainError) as exc:
            members.profile(s, owner(2), 2, zs)
        assert exc.value.status == 404


# --- merge, split, undo --------------------------------------------------------------


def test_merge_split_and_undo_round_trip(db: Database) -> None:
    from qunyun.community import identities

    seed(db)
    # The same person with a second QQ account, in group 100 too and in group 300.
    ingest(
        db,
        [
            joined("100", "t9", "Zhang", 1),
            joined("300", "t9", "Zhang", 2),
            said("300", "t9", "hi", 50),
        ],
    )
    zs, tg = _member(db, "u1"), _member(db, "t9")
    g100 = _group(db, "100")
    with db.transaction() as s:
        members.update_member(s, OWNER, 1, tg, {"tags": ["tg"], "titles": ["桥"]})
        with pytest.raises(DomainError) as exc:
            identities.merge(s, owner(role=Role.operator), 1, zs, tg)
        assert exc.value.code == "role.insufficient"
        change = identities.merge(s, OWNER, 1, zs, tg, note="same person")
        merge_id = change.id
    with db.session(write=False) as s:
        z = s.get(Member, zs)
        t = s.get(Member, tg)
        assert z is not None and t is not None
        assert t.merged_into_id == zs
        assert z.message_count == 3 and z.titles == ["桥"]
        assert z.join_order == 1
        assert {i.platform_user_id for i in members.profile(s, OWNER, 1, zs).identities} == {
            "u1",
            "t9",
        }
        # Both were in group 100: one membership, the group counted once.
        assert (
            s.scalar(
                select(func.count())
                .select_from(GroupMembership)
                .where(GroupMembership.member_id == zs)
            )
            == 3
        )
        assert s.get(Group, g100).member_count == 2  # type: ignore[union-attr]
        assert members.timeline(s, OWNER, 1, zs).total == 7
        assert tg not in [
            r.member.id for r in members.directory(s, OWNER, 1, DirectoryQuery()).items
        ]
        assert members.tags_of(s, [zs])[zs] == ["tg"]
        history = members.identity_history(s, 1, zs)
        assert [h.change.change for h in history] == ["merge"]
        with pytest.raises(DomainError) as exc:
            members.update_member(s, OWNER, 1, tg, {"notes": "x"})
        assert exc.value.code == "member.merged"
    with db.transaction() as s:
        identities.undo(s, OWNER, 1, merge_id)
    with db.session(write=False) as s:
        t = s.get(Member, tg)
        assert t is not None and t.merged_into_id is None
        assert t.message_count == 1
        assert {i.platform_user_id for i in members.profile(s, OWNER, 1, tg).identities} == {"t9"}
        assert members.timeline(s, OWNER, 1, zs).total == 4
        assert members.timeline(s, OWNER, 1, tg).total == 3
        assert s.get(Group, g100).member_count == 3  # type: ignore[union-attr]
        assert s.get(Member, zs).join_order == 1  # type: ignore[union-attr]
        assert [h.change.change for h in members.identity_history(s, 1, zs)] == ["split", "merge"]
    with db.transaction() as s, pytest.raises(DomainError) as exc:
        identities.undo(s, OWNER, 1, merge_id)
    assert exc.value.code == "member.undo_stale"
    # Split: merge again, then split the Telegram identity off onto a new member.
    with db.transaction() as s:
        identities.merge(s, OWNER, 1, zs, tg)
        tg_identity = s.scalar(
            select(MemberIdentity.id).where(MemberIdentity.platform_user_id == "t9")
        )
        assert tg_identity is not None
        with pytest.raises(DomainError) as exc:
            identities.split(s, OWNER, 1, zs, [tg_identity, 10**9])
        assert exc.value.code == "member.split_unknown_identity"
        change = identities.split(s, OWNER, 1, zs, [tg_identity], display_name="张三 (TG)")
        new_id = change.other_member_id
        split_id = change.id
    with db.session(write=False) as s:
        new = s.get(Member, new_id)
        assert new is not None and new.display_name == "张三 (TG)" and new.message_count == 1
        assert new.join_order == 5  # numbered after everyone else
        assert members.timeline(s, OWNER, 1, new_id).total == 3  # type: ignore[arg-type]
        assert members.timeline(s, OWNER, 1, zs).total == 4
    with db.transaction() as s:
        identities.undo(s, OWNER, 1, split_id)
    with db.session(write=False) as s:
        assert s.get(Member, new_id).merged_into_id == zs  # type: ignore[union-attr]
        assert members.timeline(s, OWNER, 1, zs).total == 7


def test_split_refuses_to_empty_a_member(db: Database) -> None:
    from qunyun.community import identities

    seed(db)
    zs = _member(db, "u1")
    with db.transaction() as s:
        only = s.scalar(select(MemberIdentity.id).where(MemberIdentity.member_id == zs))
        assert only is not None
        with pytest.raises(DomainError) as exc:
            identities.split(s, OWNER, 1, zs, [only])
        assert exc.value.code == "member.split_all"
        with pytest.raises(DomainError) as exc:
            identities.merge(s, OWNER, 1, zs, zs)
        assert exc.value.code == "member.merge_self"
