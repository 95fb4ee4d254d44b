"""The rule-book, audit and ban pages, and the public rules page: forms, CSRF, escaping."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from qunyun.accounts.roles import Role
from qunyun.community.models import Group, MemberIdentity
from qunyun.moderation import public_rules
from qunyun.moderation.books import starter_book
from qunyun.moderation.yaml_io import dump_rulebook
from tests.community.helpers import seed
from tests.conftest import App

SCRIPT = "<script>alert(1)</script>"


def _group(app: App, gid: str = "100") -> int:
    with app.db.session(write=False) as s:
        found = s.scalar(select(Group.id).where(Group.platform_group_id == gid))
        assert found is not None
        return found


def _member(app: App, uid: str) -> int:
    with app.db.session(write=False) as s:
        found = s.scalar(
            select(MemberIdentity.member_id).where(MemberIdentity.platform_user_id == uid)
        )
        assert found is not None
        return found


def _book_with(extra: str) -> str:
    return dump_rulebook(starter_book()).replace("exemptions: []\n", extra)


def test_forms_need_the_csrf_token(app: App) -> None:
    csrf = app.login("ada", Role.admin)
    text = dump_rulebook(starter_book())
    for path, data in (
        ("/moderation/rulebook", {"document": text}),
        ("/moderation/rulebook/switches", {"dry_run": "1"}),
        ("/bans", {"platform": "qq", "platform_user_id": "1"}),
    ):
        r = app.client.post(path, data=data, follow_redirects=False)
        assert r.status_code == 403, path
        r = app.client.post(path, data={**data, "csrf_token": csrf}, follow_redirects=False)
        assert r.status_code == 303, path


def test_editor_shows_each_problem_and_keeps_the_book(app: App) -> None:
    csrf = app.login("ada", Role.admin)
    bad = (
        "version: 1\ncategories:\n  ads:\n    label: 广告\n"
        "    patterns: ['(a+)+$']\nlinks: {mode: nothing}\n"
    )
    r = app.client.post("/moderation/rulebook", data={"document": bad, "csrf_token": csrf})
    assert r.status_code == 422
    assert "第 5 行（categories.ads.patterns[0]）：正则表达式可能无限回溯" in r.text
    assert "第 6 行" in r.text
    # The refused text stays in the editor (escaped), the book in force is the starter.
    assert "patterns: [&#39;(a+)+$&#39;]" in r.text
    assert "默认群规（尚未保存）" in r.text
    r = app.client.get("/moderation/rulebook?lang=en")
    assert "Starter book (not yet saved)" in r.text


def test_saving_switches_history_diff_restore(app: App) -> None:
    csrf = app.login("ada", Role.admin)
    r = app.client.post(
        "/moderation/rulebook/switches",
        data={
            "dry_run": "1",
            "notice_where": "private",
            "links_mode": "allow_list",
            "allow_domains": "example.com，qq.com",
            "quiet_enabled": "1",
            "quiet_start": "22:00",
            "quiet_end": "07:00",
            "csrf_token": csrf,
        },
    )
    assert r.status_code == 200 and "已保存为第 1 版" in r.text
    assert "群规试运行中" in r.text and "只可发以下网站的链接：example.com、qq.com。" in r.text
    assert "免打扰时段：每天 22:00–07:00 请勿发言。" in r.text
    # Nothing changed: no new version.
    r = app.client.post(
        "/moderation/rulebook/switches",
        data={
            "dry_run": "1",
            "notice_where": "private",
            "links_mode": "allow_list",
            "allow_domains": "example.com, qq.com",
            "quiet_enabled": "1",
            "quiet_start": "22:00",
            "quiet_end": "07:00",
            "csrf_token": csrf,
        },
    )
    assert "没有改动" in r.text
    r = app.client.post(
        "/moderation/rulebook/switches",
        data={"quiet_enabled": "1", "quiet_start": "25:00", "csrf_token": csrf},
    )
    assert 'data-notice="error"' in r.text and "quiet_hours.start" in r.text
    history = app.client.get("/moderation/rulebook/versions")
    assert 'data-version="1"' in history.text and "ada" in history.text
    diff = app.client.get("/moderation/rulebook/diff?old=0&new=1")
    assert '<div class="add">+dry_run: true</div>' in diff.text
    assert '<div class="del">-  where: group</div>' in diff.text
    r = app.client.post("/moderation/rulebook/versions/0/restore", data={"csrf_token": csrf})
    assert "已将第 0 版恢复为第 2 版" in r.text
    view = app.client.get("/moderation/rulebook/versions/1")
    assert "dry_run: true" in view.text and "恢复此版本" in view.text


def test_viewers_and_operators_read_but_do_not_get_the_editor(app: App) -> None:
    app.login("otto", Role.operator)
    r = app.client.get("/moderation/rulebook")
    assert r.status_code == 200
    assert 'id="rulebook-form"' not in r.text and 'id="switches"' not in r.text
    assert "只有社群管理员和所有者可以修改群规" in r.text


def test_labels_and_reasons_are_escaped_everywhere(app: App) -> None:
    seed(app.db)
    gid = _group(app)
    text = (
        dump_rulebook(starter_book())
        .replace("label: {zh-CN: 赌博, en: Gambling}", f"label: '{SCRIPT}'")
        .replace(
            "exemptions: []\n",
            f"exemptions:\n- roles: [owner]\n  rules: [links]\n  reason: '{SCRIPT}'\n",
        )
    )
    assert SCRIPT in text
    csrf = app.login("ada", Role.admin)
    r = app.client.post("/moderation/rulebook", data={"document": text, "csrf_token": csrf})
    assert "已保存为第 1 版" in r.text
    for path in (
        "/moderation/rulebook",
        f"/moderation/rulebook/groups/{gid}",
        "/moderation/rulebook/versions/1",
        "/moderation/rulebook/diff?old=0&new=1",
        f"/rules/default/{gid}",
        "/audit",
    ):
        page = app.client.get(path)
        assert page.status_code == 200, path
        assert SCRIPT not in page.text, path
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in app.client.get(f"/rules/default/{gid}").text
    app.client.post(
        "/bans",
        data={"platform": "qq", "platform_user_id": "9", "reason": SCRIPT, "csrf_token": csrf},
    )
    page = app.client.get("/bans")
    assert SCRIPT not in page.text and "&lt;script&gt;" in page.text


def test_group_override_page_saves_and_shows_the_merge(app: App) -> None:
    seed(app.db)
    gid = _group(app)
    csrf = app.login("ada", Role.admin)
    r = app.client.post(
        f"/moderation/rulebook/groups/{gid}",
        data={"document": "flood:\n  max_messages: 3\n", "note": "小群", "csrf_token": csrf},
    )
    assert "已保存为第 1 版" in r.text
    assert "不刷屏：60 秒内最多 3 条消息。" in r.text
    assert 'id="effective-yaml"' in r.text and "max_messages: 3" in r.text
    r = app.client.post(
        f"/moderation/rulebook/groups/{gid}/switches",
        data={"notice_where": "none", "links_mode": "own_short_links", "csrf_token": csrf},
    )
    assert "已保存为第 2 版" in r.text
    r = app.client.get(f"/api/v1/rulebook/groups/{gid}")
    # Only what differs from the community book is written into the override.
    assert r.json()["document"] == {"flood": {"max_messages": 3}, "notice": {"where": "none"}}
    book = app.client.get("/moderation/rulebook")
    assert f'data-group="{gid}"' in book.text and "第 2 版" in book.text
    audit = app.client.get(f"/audit?group={gid}&action=rulebook.saved")
    assert audit.text.count("data-audit=") == 2


def test_audit_page_filters_by_member_actor_and_dates(app: App) -> None:
    seed(app.db)
    zs = _member(app, "u1")
    csrf = app.login("otto", Role.operator)
    app.client.post(
        "/bans",
        data={"platform": "onebot", "platform_user_id": "u1", "reason": "骂人", "csrf_token": csrf},
    )
    app.client.post(
        "/bans", data={"platform": "onebot", "platform_user_id": "u9", "csrf_token": csrf}
    )
    page = app.client.get(f"/audit?member={zs}")
    assert page.text.count("data-audit=") == 1 and "张三" in page.text
    page = app.client.get("/audit?action=ban.added")
    assert page.text.count("data-audit=") == 2 and "加入封禁名单" in page.text
    page = app.client.get("/audit?since=2001-01-01&until=2001-01-02")
    assert page.text.count("data-audit=") == 0
    page = app.client.get("/audit?since=2030-01-02&until=2030-01-01")
    assert "开始日期晚于结束日期" in page.text
    assert 'href="/api/v1/audit/export.csv' in page.text


def test_bans_page_import_refuses_with_line_numbers_then_lifts(app: App) -> None:
    csrf = app.login("otto", Role.operator)
    bad = "platform,platform_user_id\nonebot,1\nonebot,\n"
    r = app.client.post(
        "/bans/import",
        data={"csrf_token": csrf},
        files={"file": ("b.csv", bad.encode(), "text/csv")},
    )
    assert r.status_code == 422 and "第 3 行：平台用户 ID 无效" in r.text
    good = "platform,platform_user_id,display_name\nonebot,1,小王\n"
    r = app.client.post(
        "/bans/import",
        data={"csrf_token": csrf},
        files={"file": ("b.csv", good.encode(), "text/csv")},
    )
    assert "新增 1 条" in r.text and "小王" in r.text
    ban_id = r.text.split('data-ban="', 1)[1].split('"', 1)[0]
    r = app.client.post(f"/bans/{ban_id}/lift", data={"csrf_token": csrf})
    assert "已解除 onebot:1 的封禁" in r.text and 'data-ban="' not in r.text
    assert 'data-ban="' in app.client.get("/bans?status=all").text


def test_public_rules_page_languages_exemptions_archived_and_rate_limit(
    app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed(app.db)
    gid = _group(app)
    zs = _member(app, "u1")
    csrf = app.login("ada", Role.admin)
    text = _book_with(
        "exemptions:\n"
        "- roles: [owner]\n  rules: [links, flood.mentions]\n"
        "  reason: {zh-CN: 群主发布官方通知, en: The owner posts official notices}\n"
        f"- member_ids: [{zs}]\n  rules: [all]\n"
        "  reason: {zh-CN: 物业客服, en: Property help desk}\n"
    )
    r = app.client.post("/moderation/rulebook", data={"document": text, "csrf_token": csrf})
    assert "已保存为第 1 版" in r.text
    app.client.post("/logout", data={"csrf_token": csrf})
    app.client.cookies.clear()

    page = app.client.get(f"/rules/default/{gid}")
    assert page.status_code == 200 and "set-cookie" not in page.headers
    assert page.headers["cache-control"] == "public, max-age=60"
    assert '<html lang="zh-CN">' in page.text
    for words in (
        "社群公约",
        "广告与引流",
        "不刷屏：60 秒内最多 10 条消息。",
        "第 2 次：禁言 1 小时",
        "群主（链接、过多@提及）",
        "群主发布官方通知",
        "张三（全部规则）",
        "物业客服",
        "如有异议",
    ):
        assert words in page.text, words
    en = app.client.get(f"/rules/default/{gid}", headers={"Accept-Language": "en-US,en;q=0.9"})
    assert '<html lang="en">' in en.text and "Property help desk" in en.text
    assert "The group owner (Links, Too many mentions)" in en.text
    assert "Community rules" in app.client.get(f"/rules/default/{gid}?lang=en").text
    assert app.client.get(f"/rules/DEFAULT/{gid}").status_code == 200
    assert app.client.get("/rules/default/999999").status_code == 404
    assert app.client.get(f"/rules/nobody/{gid}").status_code == 404
    with app.db.transaction() as s:
        group = s.get(Group, gid)
        assert group is not None
        group.status = "archived"
    gone = app.client.get(f"/rules/default/{gid}")
    assert gone.status_code == 404 and "没有找到群规" in gone.text
    monkeypatch.setattr(public_rules, "RULES_RATE", "2/minute")
    codes = [app.client.get(f"/rules/default/{_group(app, '200')}").status_code for _ in range(4)]
    assert codes[-1] == 429
