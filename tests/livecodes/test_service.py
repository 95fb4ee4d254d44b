"""Live-code services on SQLite and PostgreSQL: codes, links, pool, channels, merge."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from qunyun.accounts.principal import Principal
from qunyun.accounts.roles import Role
from qunyun.db.engine import Database
from qunyun.errors import DomainError
from qunyun.i18n import LANGUAGES, load_catalog
from qunyun.links.models import Link
from qunyun.livecodes import members as pool
from qunyun.livecodes import service
from qunyun.livecodes.lookup import code_members, load_live_snapshot, resolve_code
from qunyun.livecodes.models import LiveCode, LiveCodeMember
from qunyun.livecodes.service import LiveCodeEnv
from qunyun.livecodes.tokens import Signer
from tests.livecodes.conftest import Drops, MakeCode
from tests.livecodes.helpers import (
    FIXTURES,
    STAFF_CARDS,
    WECHAT_GROUPS,
    WECOM_GROUP,
    blank_png,
    invitation_card,
    qr_png,
    two_codes,
)

OWNER = service.installation_principal()
MESSAGES = load_catalog().messages


def refused(code: str, fn: object, *args: object, **kwargs: object) -> DomainError:
    """Expect DomainError ``code`` with a message in every language that formats."""
    assert callable(fn)
    with pytest.raises(DomainError) as caught:
        fn(*args, **kwargs)
    error = caught.value
    assert error.code == code, error
    for lang in LANGUAGES:
        MESSAGES[f"error.{code}"][lang].format(**error.params)
    return error


# --- codes and their links -----------------------------------------------------------


def test_a_code_gets_its_permanent_live_code_link(
    db: Database, env: LiveCodeEnv, drops: Drops
) -> None:
    with db.transaction() as s:
        code = service.create_code(
            s,
            env,
            OWNER,
            1,
            {
                "name": " 春季训练营 ",
                "title": "扫码进群",
                "allowed_apps": ["wechat"],
                "active_hours": {"days": [1, 2, 3, 4, 5], "start": "09:00", "end": "21:00"},
            },
            slug="Spring-Camp",
        )
        code_id = code.id
    with db.session(write=False) as s:
        stored = s.get(LiveCode, code_id)
        assert stored is not None
        assert stored.name == "春季训练营"
        assert (stored.kind, stored.strategy, stored.status) == ("group", "in_order", "active")
        assert (stored.default_threshold, stored.default_expiry_days, stored.sticky_days) == (
            200,
            7,
            7,
        )
        assert stored.active_hours == {"days": [1, 2, 3, 4, 5], "start": "09:00", "end": "21:00"}
        link = service.main_link(s, code_id)
        assert (link.slug, link.slug_key, link.kind) == ("Spring-Camp", "spring-camp", "live_code")
        assert (link.live_code_id, link.channel_id, link.target_url) == (code_id, None, "")
        assert link.allowed_apps == ["wechat"]
        assert link.anti_block_mode == "direct"
        assert link.preview_title == "扫码进群"
    assert "spring-camp" in drops.links


def test_staff_codes_default_to_no_expiry_and_no_threshold(db: Database, env: LiveCodeEnv) -> None:
    with db.transaction() as s:
        code = service.create_code(s, env, OWNER, 1, {"name": "客服", "kind": "staff"})
        assert (code.default_threshold, code.default_expiry_days) == (0, 0)


def test_slugs_share_the_link_namespace(
    db: Database, env: LiveCodeEnv, make_code: MakeCode
) -> None:
    make_code("A", slug="camp")
    with db.transaction() as s:
        refused("slug.taken", service.create_code, s, env, OWNER, 1, {"name": "B"}, slug="CAMP")
        refused(
            "slug.reserved", service.create_code, s, env, OWNER, 1, {"name": "B"}, slug="livecodes"
        )
    with db.session(write=False) as s:
        assert s.scalar(select(func.count()).select_from(LiveCode)) == 1


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"name": "  "}, "livecode.name_empty"),
        ({"name": "x", "kind": "vip"}, "livecode.invalid_kind"),
        ({"name": "x", "strategy": "random"}, "livecode.invalid_strategy"),
        ({"name": "x", "sticky_days": 400}, "livecode.invalid_number"),
        ({"name": "x", "default_threshold": -1}, "livecode.invalid_number"),
        ({"name": "x", "timezone": "Mars/Olympus"}, "livecode.invalid_timezone"),
        ({"name": "x", "active_hours": {"start": "9am"}}, "livecode.invalid_hours"),
        ({"name": "x", "allowed_apps": ["myspace"]}, "livecode.invalid_platform"),
        ({"name": "x", "alert_webhook_url": "http://127.0.0.1/hook"}, "url.private_host"),
        ({"name": "x", "alert_webhook_url": "javascript:alert(1)"}, "url.dangerous_scheme"),
        ({"name": "x" * 201}, "livecode.text_too_long"),
        ({"name": "x\x00y"}, "livecode.invalid_text"),
        ({"name": "x", "colour": "red"}, "livecode.unknown_field"),
    ],
)
def test_bad_code_settings_are_refused_before_writing(
    db: Database, env: LiveCodeEnv, fields: dict[str, object], code: str
) -> None:
    with db.transaction() as s:
        refused(code, service.create_code, s, env, OWNER, 1, fields)
    with db.session(write=False) as s:
        assert s.scalar(select(func.count()).select_from(LiveCode)) == 0
        assert s.scalar(select(func.count()).select_from(Link)) == 0


def test_viewers_read_operators_write(
    db: Database, env: LiveCodeEnv, people: dict[Role, Principal], make_code: MakeCode
) -> None:
    code = make_code("A")
    with db.transaction() as s:
        refused(
            "role.insufficient", service.create_code, s, env, people[Role.viewer], 1, {"name": "B"}
        )
        refused(
            "role.insufficient",
            service.update_code,
            s,
            env,
            people[Role.viewer],
            1,
            code.id,
            {"name": "B"},
        )
        refused(
            "role.insufficient",
            pool.add_member,
            s,
            env,
            people[Role.viewer],
            1,
            code.id,
            qr_png(WECHAT_GROUPS[0]),
        )
        assert service.get_code(s, people[Role.viewer], 1, code.id).name == "A"
        assert [c.id for c in service.list_codes(s, people[Role.viewer], 1)] == [code.id]
        refused("community.no_access", service.get_code, s, people[Role.viewer], 2, code.id)


def test_update_applies_the_gate_to_every_link(
    db: Database, env: LiveCodeEnv, drops: Drops, make_code: MakeCode
) -> None:
    code = make_code("A", slug="main1")
    with db.transaction() as s:
        service.add_channel(s, env, OWNER, 1, code.id, "海报", slug="poster1")
    drops.links.clear()
    drops.codes.clear()
    with db.transaction() as s:
        service.update_code(
            s,
            env,
            OWNER,
            1,
            code.id,
            {"allowed_devices": ["phone"], "description": "新人群", "strategy": "weighted"},
        )
    with db.session(write=False) as s:
        links = service.code_links(s, code.id)
        assert [link.allowed_devices for link in links] == [["phone"], ["phone"]]
        assert {link.preview_description for link in links} == {"新人群"}
        assert s.get(LiveCode, code.id).strategy == "weighted"  # type: ignore[union-attr]
    assert sorted(drops.links) == ["main1", "poster1"]
    assert drops.codes == [code.id]


def test_deleting_keeps_the_slug_taken(db: Database, env: LiveCodeEnv, make_code: MakeCode) -> None:
    code = make_code("A", slug="gone")
    with db.transaction() as s:
        service.delete_code(s, env, OWNER, 1, code.id)
    with db.transaction() as s:
        refused("livecode.not_found", service.get_code, s, OWNER, 1, code.id)
        assert service.list_codes(s, OWNER, 1) == []
        refused("slug.taken", service.create_code, s, env, OWNER, 1, {"name": "B"}, slug="gone")
        link = s.scalar(select(Link).where(Link.slug_key == "gone"))
        assert link is not None
        assert link.deleted_at is not None


# --- the pool ------------------------------------------------------------------------


def test_adding_members_decodes_the_qr_and_sets_defaults(
    db: Database, env: LiveCodeEnv, make_code: MakeCode, drops: Drops
) -> None:
    code = make_code("A", default_threshold=150, default_expiry_days=3)
    before = datetime.now(UTC)
    with db.transaction() as s:
        first = pool.add_member(s, env, OWNER, 1, code.id, invitation_card(WECHAT_GROUPS[0]))
        second = pool.add_member(
            s, env, OWNER, 1, code.id, qr_png(WECOM_GROUP), {"name": "二群", "weight": 3}
        )
        ids = (first.id, second.id)
    with db.session(write=False) as s:
        one, two = (s.get(LiveCodeMember, i) for i in ids)
        assert one is not None
        assert two is not None
        assert (one.qr_text, one.payload_kind, one.position) == (
            WECHAT_GROUPS[0],
            "wechat_group",
            0,
        )
        assert (two.qr_text, two.payload_kind, two.position) == (WECOM_GROUP, "wecom_group", 1)
        assert (one.name, two.name, two.weight) == ("#1", "二群", 3)
        assert one.scan_threshold == two.scan_threshold == 150
        assert one.image_type == "image/jpeg"  # the card was a JPEG, re-encoded as one
        assert two.image_type == "image/png"
        assert one.expires_at is not None
        # Three days (the code's default) beats WeChat's seven.
        assert (
            timedelta(days=3) - timedelta(minutes=1)
            < one.expires_at - before
            <= timedelta(days=3, minutes=1)
        )
    assert code.id in drops.codes


def test_a_wechat_group_never_outlives_its_seven_days(
    db: Database, env: LiveCodeEnv, make_code: MakeCode
) -> None:
    code = make_code("A", default_expiry_days=30)
    with db.transaction() as s:
        member = pool.add_member(s, env, OWNER, 1, code.id, qr_png(WECHAT_GROUPS[0]))
        assert member.expires_at is not None
        left = member.expires_at - datetime.now(UTC)
        assert timedelta(days=6, hours=23) < left <= timedelta(days=7)
        staff = pool.add_member(s, env, OWNER, 1, code.id, qr_png(STAFF_CARDS[0]))
        assert staff.expires_at is not None  # 30 days: no known validity for cards


def test_a_real_photo_of_a_qr_code_is_accepted(
    db: Database, env: LiveCodeEnv, make_code: MakeCode
) -> None:
    photo = FIXTURES / "qr_zxing" / "qrcode-3" / "01.png"
    expected = (photo.with_suffix(".txt")).read_text(encoding="utf-8")
    code = make_code("A")
    with db.transaction() as s:
        member = pool.add_member(s, env, OWNER, 1, code.id, photo.read_bytes())
        assert member.qr_text == expected
        assert member.payload_kind == "url"


def test_images_without_exactly_one_qr_are_refused(
    db: Database, env: LiveCodeEnv, make_code: MakeCode
) -> None:
    code = make_code("A")
    double = (FIXTURES / "qr_zxing" / "qrcode-2" / "16.png").read_bytes()
    with db.transaction() as s:
        refused("livecode.image_no_qr", pool.add_member, s, env, OWNER, 1, code.id, blank_png())
        error = refused(
            "livecode.image_several_qr", pool.add_member, s, env, OWNER, 1, code.id, two_codes()
        )
        assert error.params == {"count": 2}
        refused("livecode.image_several_qr", pool.add_member, s, env, OWNER, 1, code.id, double)
        refused("qr.image_not_an_image", pool.add_member, s, env, OWNER, 1, code.id, b"GIF8 no")
        refused("livecode.image_required", pool.add_member, s, env, OWNER, 1, code.id, b"")
    with db.session(write=False) as s:
        assert code_members(s, code.id) == []


def test_the_same_qr_twice_is_a_conflict(
    db: Database, env: LiveCodeEnv, make_code: MakeCode
) -> None:
    code = make_code("A", members=[WECHAT_GROUPS[0]], member_fields=[{"name": "一群"}])
    with db.transaction() as s:
        error = refused(
            "livecode.member_duplicate",
            pool.add_member,
            s,
            env,
            OWNER,
            1,
            code.id,
            invitation_card(WECHAT_GROUPS[0], "PNG"),
        )
        assert error.status == 409
        assert error.params == {"name": "一群"}


def test_member_changes_order_and_removal(
    db: Database, env: LiveCodeEnv, make_code: MakeCode
) -> None:
    code = make_code("A", members=WECHAT_GROUPS)
    with db.transaction() as s:
        ids = [m.id for m in code_members(s, code.id)]
        pool.move_member(s, env, OWNER, 1, code.id, ids[2], -1)
        assert [m.id for m in code_members(s, code.id)] == [ids[0], ids[2], ids[1]]
        pool.reorder_members(s, env, OWNER, 1, code.id, [ids[1], ids[0], ids[2]])
        refused(
            "livecode.order_mismatch", pool.reorder_members, s, env, OWNER, 1, code.id, [ids[0]]
        )
        soon = datetime.now(UTC) + timedelta(hours=5)
        pool.update_member(
            s,
            env,
            OWNER,
            1,
            code.id,
            ids[0],
            {
                "scan_threshold": 0,
                "weight": 5,
                "is_enabled": False,
                "expires_at": soon,
                "working_hours": {"start": "22:00", "end": "02:00"},
            },
        )
        refused(
            "livecode.expiry_in_past",
            pool.update_member,
            s,
            env,
            OWNER,
            1,
            code.id,
            ids[0],
            {"expires_at": "2001-01-01T00:00"},
        )
        refused(
            "livecode.invalid_number",
            pool.update_member,
            s,
            env,
            OWNER,
            1,
            code.id,
            ids[0],
            {"weight": 0},
        )
        pool.delete_member(s, env, OWNER, 1, code.id, ids[2])
        refused("livecode.member_not_found", pool.delete_member, s, env, OWNER, 1, code.id, ids[2])
    with db.session(write=False) as s:
        members = code_members(s, code.id)
        assert [m.id for m in members] == [ids[1], ids[0]]
        changed = members[1]
        assert (changed.scan_threshold, changed.weight, changed.is_enabled) == (0, 5, False)
        assert changed.working_hours == {"start": "22:00", "end": "02:00"}
        assert changed.expires_at is not None
        assert abs((changed.expires_at - soon).total_seconds()) < 1


def test_a_member_of_another_code_is_not_found(
    db: Database, env: LiveCodeEnv, make_code: MakeCode
) -> None:
    first = make_code("A", members=[WECHAT_GROUPS[0]])
    second = make_code("B")
    with db.transaction() as s:
        member_id = code_members(s, first.id)[0].id
        refused(
            "livecode.member_not_found",
            pool.update_member,
            s,
            env,
            OWNER,
            1,
            second.id,
            member_id,
            {"weight": 2},
        )


# --- channels ------------------------------------------------------------------------


def test_channels_get_their_own_links(db: Database, env: LiveCodeEnv, make_code: MakeCode) -> None:
    code = make_code("A", allowed_apps=["wechat", "qq"])
    with db.transaction() as s:
        poster = service.add_channel(s, env, OWNER, 1, code.id, "地铁海报", slug="metro")
        article = service.add_channel(s, env, OWNER, 1, code.id, "公众号文章")
        refused(
            "livecode.channel_exists", service.add_channel, s, env, OWNER, 1, code.id, "地铁海报"
        )
        refused("livecode.channel_name_empty", service.add_channel, s, env, OWNER, 1, code.id, " ")
        assert poster.link.slug == "metro"
        assert poster.link.channel_id == poster.channel.id
        assert article.link.allowed_apps == ["wechat", "qq"]
        assert article.link.title == "A · 公众号文章"
    with db.transaction() as s:
        service.delete_channel(s, env, OWNER, 1, code.id, poster.channel.id)
        names = [row.channel.name for row in service.list_channels(s, code.id)]
        assert names == ["公众号文章"]
        refused(
            "livecode.channel_not_found",
            service.delete_channel,
            s,
            env,
            OWNER,
            1,
            code.id,
            poster.channel.id,
        )


# --- merge ---------------------------------------------------------------------------


def test_merge_follows_chains_and_refuses_cycles(
    db: Database, env: LiveCodeEnv, drops: Drops, make_code: MakeCode
) -> None:
    a, b, c = make_code("A"), make_code("B"), make_code("C")
    with db.transaction() as s:
        refused("livecode.merge_self", service.merge_code, s, env, OWNER, 1, a.id, a.id)
        service.merge_code(s, env, OWNER, 1, a.id, b.id)
    assert drops.cleared == 1
    with db.transaction() as s:
        refused("livecode.already_retired", service.merge_code, s, env, OWNER, 1, a.id, c.id)
        # B into A would loop: A already leads to B.
        refused("livecode.merge_cycle", service.merge_code, s, env, OWNER, 1, b.id, a.id)
        service.merge_code(s, env, OWNER, 1, b.id, c.id)
    with db.session(write=False) as s:
        resolved = resolve_code(s, a.id)
        assert resolved is not None
        assert resolved.id == c.id
        assert s.get(LiveCode, a.id).status == "retired"  # type: ignore[union-attr]
    snapshot = load_live_snapshot(db, a.id, Signer("k"))
    assert snapshot is not None
    assert snapshot.id == c.id
    with db.transaction() as s:
        refused(
            "livecode.retired", pool.add_member, s, env, OWNER, 1, a.id, qr_png(WECHAT_GROUPS[0])
        )
        # Reactivating a retired code takes its links back.
        service.set_status(s, env, OWNER, 1, a.id, "active")
    with db.session(write=False) as s:
        back = resolve_code(s, a.id)
        assert back is not None
        assert back.id == a.id


def test_a_deleted_merge_target_leaves_nothing_to_serve(
    db: Database, env: LiveCodeEnv, make_code: MakeCode
) -> None:
    a, b = make_code("A"), make_code("B")
    with db.transaction() as s:
        service.merge_code(s, env, OWNER, 1, a.id, b.id)
        service.delete_code(s, env, OWNER, 1, b.id)
    assert load_live_snapshot(db, a.id, Signer("k")) is None


def test_snapshot_carries_the_pool_without_images(db: Database, make_code: MakeCode) -> None:
    code = make_code(
        "A",
        members=WECHAT_GROUPS[:2],
        member_fields=[{"name": "一群"}, {"scan_threshold": 0}],
        kind="staff",
        timezone="Europe/Berlin",
        active_hours={"start": "08:00"},
    )
    snapshot = load_live_snapshot(db, code.id, Signer("k"))
    assert snapshot is not None
    assert snapshot.kind.value == "staff"
    assert snapshot.zone.key == "Europe/Berlin"
    assert snapshot.active_hours is not None
    assert snapshot.active_hours.start == 8 * 60
    first, second = snapshot.members
    assert (first.threshold, second.threshold) == (None, None)
    assert snapshot.cards[first.id].name == "一群"
    assert snapshot.cards[first.id].image_url.startswith("/livecodes/img/")
