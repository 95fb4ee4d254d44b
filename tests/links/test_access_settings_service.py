"""Who may open a link, its anti-block mode and share card, and the community's defaults,
set through the services. Both databases."""

from __future__ import annotations

from dataclasses import dataclass, replace

import pytest
from sqlalchemy import select

from qunyun.accounts.principal import Principal
from qunyun.accounts.roles import Role
from qunyun.clients import App
from qunyun.community.models import Community
from qunyun.db.engine import Database
from qunyun.errors import DomainError
from qunyun.links import defaults, service
from qunyun.links.access import DEFAULT_GUIDE_APPS, Gate, Mode
from qunyun.links.csv_io import export_lines, read_link_rows
from qunyun.links.inputs import LinkChanges, LinkDefaultsChanges, LinkQuery, NewLink
from qunyun.links.lookup import load_snapshot
from qunyun.links.models import Link
from qunyun.links.service import LinkEnv
from qunyun.links.title_fetch import PageMeta
from tests.links.conftest import Invalidations, counts

OWNER = service.installation_principal()
TZ = "Asia/Shanghai"


@dataclass
class Clears:
    count: int = 0

    def __call__(self) -> None:
        self.count += 1


def create(db: Database, env: LinkEnv, **fields: object) -> Link:
    fields.setdefault("url", "https://example.com/")
    with db.transaction() as session:
        return service.create_link(session, env, OWNER, 1, NewLink(**fields))  # type: ignore[arg-type]


def change(db: Database, env: LinkEnv, slug: str, **fields: object) -> Link:
    with db.transaction() as session:
        return service.update_link(session, env, OWNER, 1, slug, LinkChanges(**fields))  # type: ignore[arg-type]


def stored(db: Database, slug: str) -> Link:
    with db.session(write=False) as session:
        return service.get_link_by_slug(session, slug)


def community(db: Database) -> Community:
    with db.session(write=False) as session:
        found = session.scalar(select(Community).where(Community.id == 1))
        assert found is not None
        return found


# --- a link's own settings -------------------------------------------------------------


def test_create_stores_the_gate_mode_and_card(
    db: Database, env: LinkEnv, invalidations: Invalidations
) -> None:
    link = create(
        db,
        env,
        slug="gated",
        allowed_apps=("QQ", "wechat", "Browser", "wechat"),
        allowed_devices=("tablet", "phone"),
        allowed_os=("ios", "Android"),
        anti_block_mode=" Landing ",
        preview_title="  春季训练营  ",
        preview_description="报名入口",
        preview_image_url="例子.中国/封面.png",
    )
    # Canonical names and order, whatever was typed.
    assert link.allowed_apps == ["browser", "wechat", "qq"]
    assert link.allowed_devices == ["phone", "tablet"]
    assert link.allowed_os == ["iOS", "Android"]
    assert link.anti_block_mode == "landing"
    assert (link.preview_title, link.preview_description) == ("春季训练营", "报名入口")
    assert link.preview_image_url == "https://xn--fsqu00a.xn--fiqs8s/%E5%B0%81%E9%9D%A2.png"
    assert invalidations.keys == ["gated"]
    snapshot = load_snapshot(db, "gated")
    assert snapshot is not None
    assert snapshot.gate == Gate.of(
        ["browser", "wechat", "qq"], ["phone", "tablet"], ["iOS", "Android"]
    )
    assert snapshot.mode is Mode.landing
    assert (snapshot.title, snapshot.description) == ("春季训练营", "报名入口")


def test_empty_lists_and_no_mode_mean_anyone_and_the_community_default(
    db: Database, env: LinkEnv
) -> None:
    link = create(db, env, slug="open", allowed_apps=(), allowed_os=(" ",), anti_block_mode="")
    assert (link.allowed_apps, link.allowed_devices, link.allowed_os) == (None, None, None)
    assert link.anti_block_mode is None
    snapshot = load_snapshot(db, "open")
    assert snapshot is not None
    assert snapshot.gate.open_to_all
    assert snapshot.mode is Mode.guide  # the community's, out of the box


def test_update_sets_and_clears_each_setting(
    db: Database, env: LinkEnv, invalidations: Invalidations
) -> None:
    create(db, env, slug="editable", title="Link title", allowed_devices=("desktop",))
    invalidations.keys.clear()
    link = change(
        db,
        env,
        "editable",
        allowed_apps=("wechat",),
        anti_block_mode="direct",
        preview_title="Card",
        preview_image_url="https://example.com/c.png",
    )
    assert link.allowed_apps == ["wechat"]
    assert link.allowed_devices == ["desktop"]  # not sent, kept
    assert (link.anti_block_mode, link.preview_title) == ("direct", "Card")
    assert invalidations.keys == ["editable"]
    link = change(
        db,
        env,
        "editable",
        allowed_apps=None,
        allowed_devices=(),
        anti_block_mode=None,
        preview_title=None,
        preview_image_url="",
    )
    assert (link.allowed_apps, link.allowed_devices) == (None, None)
    assert (link.anti_block_mode, link.preview_title, link.preview_image_url) == (None, None, None)
    snapshot = load_snapshot(db, "editable")
    assert snapshot is not None
    assert snapshot.title == "Link title"  # the card falls back to the link's title


@pytest.mark.parametrize(
    ("fields", "field", "value"),
    [
        ({"allowed_apps": ("wechat", "myspace")}, "allowed_apps", "myspace"),
        ({"allowed_devices": ("watch",)}, "allowed_devices", "watch"),
        ({"allowed_os": ("Symbian",)}, "allowed_os", "Symbian"),
        ({"allowed_devices": ("bot",)}, "allowed_devices", "bot"),  # not a choice for people
    ],
)
def test_unknown_platforms_are_refused_by_name(
    db: Database, env: LinkEnv, fields: dict[str, object], field: str, value: str
) -> None:
    before = counts(db)
    with pytest.raises(DomainError) as caught:
        create(db, env, slug="nope", **fields)
    assert caught.value.code == "link.unknown_platform"
    assert caught.value.params["field"] == field
    assert caught.value.params["value"] == value
    assert counts(db) == before
    create(db, env, slug="there", allowed_apps=("qq",))
    with pytest.raises(DomainError) as caught:
        change(db, env, "there", title="changed", **fields)
    assert caught.value.code == "link.unknown_platform"
    kept = stored(db, "there")
    assert (kept.allowed_apps, kept.title) == (["qq"], None)


@pytest.mark.parametrize("mode", ["redirect", "guided", "\x00"])
def test_unknown_modes_are_refused(db: Database, env: LinkEnv, mode: str) -> None:
    before = counts(db)
    with pytest.raises(DomainError) as caught:
        create(db, env, anti_block_mode=mode)
    assert caught.value.code in ("link.unknown_mode", "link.invalid_text")
    assert counts(db) == before


@pytest.mark.parametrize(
    ("fields", "code", "field"),
    [
        ({"preview_title": "标" * 201}, "link.text_too_long", "preview_title"),
        ({"preview_description": "d" * 501}, "link.text_too_long", "preview_description"),
        ({"preview_title": "a\x00b"}, "link.invalid_text", "preview_title"),
        ({"preview_image_url": "javascript:alert(1)"}, "url.dangerous_scheme", "preview_image_url"),
        ({"preview_image_url": "http://127.0.0.1/x.png"}, "url.private_host", "preview_image_url"),
        (
            {"preview_image_url": "https://exa mple.com/"},
            "url.invalid_characters",
            "preview_image_url",
        ),
    ],
)
def test_card_refusals_name_their_field(
    db: Database, env: LinkEnv, fields: dict[str, object], code: str, field: str
) -> None:
    before = counts(db)
    with pytest.raises(DomainError) as caught:
        create(db, env, **fields)
    assert caught.value.code == code
    assert caught.value.params["field"] == field
    assert counts(db) == before


def test_card_lengths_at_the_limit_are_kept(db: Database, env: LinkEnv) -> None:
    link = create(db, env, preview_title="标" * 200, preview_description="d" * 500)
    assert len(link.preview_title or "") == 200
    assert len(link.preview_description or "") == 500


def test_card_image_follows_the_block_list(db: Database, env: LinkEnv) -> None:
    with db.transaction() as session:
        service.add_blocked_host(session, OWNER, 1, "spam.example")
    with pytest.raises(DomainError) as caught:
        create(db, env, preview_image_url="https://img.spam.example/a.png")
    assert (caught.value.code, caught.value.params["field"]) == (
        "url.blocked_host",
        "preview_image_url",
    )
    create(db, env, slug="ok")
    with pytest.raises(DomainError):
        change(db, env, "ok", preview_image_url="https://spam.example/b.png")
    assert stored(db, "ok").preview_image_url is None


def test_fetch_card_reads_the_open_graph_tags(db: Database, env: LinkEnv) -> None:
    def page(url: str) -> PageMeta:
        return PageMeta(
            url=url,
            title="Plain",
            og_title="活动",
            og_description="说" * 600,
            og_image="https://cdn.example.com/og.png",
        )

    card = service.fetch_card(replace(env, fetch_meta=page), "example.com/a")
    assert card.title == "活动"
    assert card.description == "说" * 500
    assert card.image_url == "https://cdn.example.com/og.png"


def test_fetch_card_leaves_out_an_image_no_link_could_hold(db: Database, env: LinkEnv) -> None:
    def page(url: str) -> PageMeta:
        return PageMeta(url=url, description="meta", og_image="http://10.0.0.1/x.png")

    card = service.fetch_card(replace(env, fetch_meta=page), "https://example.com/")
    assert (card.title, card.description, card.image_url) == (None, "meta", None)


# --- CSV ---------------------------------------------------------------------------------


def test_csv_round_trip_of_the_new_columns(db: Database, env: LinkEnv) -> None:
    create(
        db,
        env,
        slug="full",
        allowed_apps=("wechat", "browser"),
        allowed_devices=("phone",),
        allowed_os=("iOS", "HarmonyOS"),
        anti_block_mode="guide",
        preview_title='=标题, "quoted"',
        preview_description="两行\n描述",
        preview_image_url="https://example.com/i.png",
    )
    create(db, env, slug="bare")
    with db.session(write=False) as session:
        rows = list(service.iter_export_rows(session, env, 1, LinkQuery()))
    exported = "".join(export_lines(rows, TZ))
    header = exported.split("\r\n", 1)[0]
    for column in ("allowed_apps", "allowed_devices", "allowed_os", "anti_block_mode"):
        assert column in header
    assert ",browser|wechat,phone,iOS|HarmonyOS,guide," in exported
    renamed = exported.replace(",full,", ",full-copy,").replace(",bare,", ",bare-copy,")
    with db.transaction() as session:
        report = service.import_links(
            session, env, OWNER, 1, read_link_rows(renamed.encode("utf-8"), TZ)
        )
    assert report.failed == 0, report.rows
    names = (
        "allowed_apps",
        "allowed_devices",
        "allowed_os",
        "anti_block_mode",
        "preview_title",
        "preview_description",
        "preview_image_url",
    )
    for original, copy in (("full", "full-copy"), ("bare", "bare-copy")):
        a, b = stored(db, original), stored(db, copy)
        for name in names:
            assert getattr(b, name) == getattr(a, name), (copy, name)
    assert stored(db, "bare-copy").allowed_apps is None


def test_csv_import_refuses_an_unknown_platform_per_row(db: Database, env: LinkEnv) -> None:
    data = (
        b"url,slug,allowed_apps,allowed_os,anti_block_mode\n"
        b"https://e.com/1,one,WeChat|qq,iOS,direct\n"
        b"https://e.com/2,two,wechat|icq,,\n"
        b"https://e.com/3,three,,,teleport\n"
    )
    with db.transaction() as session:
        report = service.import_links(session, env, OWNER, 1, read_link_rows(data, TZ))
    outcomes = {r.row: (r.slug, r.error.code if r.error else None) for r in report.rows}
    assert outcomes == {
        2: ("one", None),
        3: (None, "link.unknown_platform"),
        4: (None, "link.unknown_mode"),
    }
    assert report.rows[1].error is not None
    assert report.rows[1].error.params["value"] == "icq"
    assert stored(db, "one").allowed_apps == ["wechat", "qq"]


# --- the community's defaults ------------------------------------------------------------


def update_defaults(
    db: Database, env: LinkEnv, who: Principal = OWNER, **fields: object
) -> defaults.LinkDefaults:
    with db.transaction() as session:
        return defaults.update_link_defaults(
            session,
            env,
            who,
            1,
            LinkDefaultsChanges(**fields),  # type: ignore[arg-type]
        )


def test_defaults_out_of_the_box(db: Database, people: dict[Role, Principal]) -> None:
    with db.session(write=False) as session:
        found = defaults.get_link_defaults(session, people[Role.viewer], 1)
    assert found.anti_block_mode is Mode.guide
    assert set(found.guide_apps) == DEFAULT_GUIDE_APPS
    assert found.guide_apps == defaults.BUILT_IN_GUIDE_APPS
    assert not found.guide_apps_chosen


def test_admin_changes_the_defaults_and_every_cached_link_is_dropped(
    db: Database, env: LinkEnv, people: dict[Role, Principal]
) -> None:
    clears = Clears()
    env = replace(env, invalidate_all=clears)
    create(db, env, slug="follows")
    create(db, env, slug="own", anti_block_mode="direct")
    found = update_defaults(
        db, env, people[Role.admin], anti_block_mode="landing", guide_apps=("QQ", "wechat")
    )
    assert clears.count == 1
    assert found.anti_block_mode is Mode.landing
    assert found.guide_apps == ("wechat", "qq")
    assert found.guide_apps_chosen
    assert community(db).guide_apps == ["wechat", "qq"]
    follows, own = load_snapshot(db, "follows"), load_snapshot(db, "own")
    assert follows is not None and own is not None
    assert follows.mode is Mode.landing
    assert own.mode is Mode.direct
    assert follows.guide_apps == frozenset({"wechat", "qq"})


def test_guide_apps_none_returns_to_the_built_in_list_and_empty_means_none(
    db: Database, env: LinkEnv
) -> None:
    assert update_defaults(db, env, guide_apps=()).guide_apps == ()
    assert community(db).guide_apps == []
    create(db, env, slug="gd")
    snapshot = load_snapshot(db, "gd")
    assert snapshot is not None and snapshot.guide_apps == frozenset()
    back = update_defaults(db, env, guide_apps=None)
    assert (back.guide_apps, back.guide_apps_chosen) == (defaults.BUILT_IN_GUIDE_APPS, False)
    assert community(db).guide_apps is None
    # Only the fields sent change.
    assert update_defaults(db, env, anti_block_mode="direct").guide_apps_chosen is False


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"guide_apps": ("wechat", "browser")}, "link.unknown_platform"),  # no app
        ({"guide_apps": ("telegram",)}, "link.unknown_platform"),
        ({"anti_block_mode": "sideways"}, "link.unknown_mode"),
        ({"anti_block_mode": ""}, "link.unknown_mode"),  # a community always has one
    ],
)
def test_invalid_defaults_are_refused_and_nothing_changes(
    db: Database, env: LinkEnv, fields: dict[str, object], code: str
) -> None:
    clears = Clears()
    with pytest.raises(DomainError) as caught:
        update_defaults(
            db,
            replace(env, invalidate_all=clears),
            OWNER,
            **{"anti_block_mode": "landing", **fields},
        )
    assert caught.value.code == code
    found = community(db)
    assert (found.anti_block_mode, found.guide_apps) == ("guide", None)
    assert clears.count == 0


@pytest.mark.parametrize("role", [Role.viewer, Role.operator])
def test_only_admins_change_the_defaults(
    db: Database, env: LinkEnv, people: dict[Role, Principal], role: Role
) -> None:
    clears = Clears()
    with pytest.raises(DomainError) as caught:
        update_defaults(
            db, replace(env, invalidate_all=clears), people[role], anti_block_mode="direct"
        )
    assert caught.value.status == 403
    assert community(db).anti_block_mode == "guide"
    assert clears.count == 0


def test_the_cache_is_not_cleared_when_the_change_rolls_back(db: Database, env: LinkEnv) -> None:
    clears = Clears()
    with pytest.raises(RuntimeError), db.transaction() as session:
        defaults.update_link_defaults(
            session,
            replace(env, invalidate_all=clears),
            OWNER,
            1,
            LinkDefaultsChanges(anti_block_mode="direct"),
        )
        raise RuntimeError("the request failed later")
    assert clears.count == 0
    assert community(db).anti_block_mode == "guide"


def test_every_app_choice_is_a_known_app() -> None:
    assert set(defaults.GUIDE_APP_CHOICES) == {a.value for a in App}
