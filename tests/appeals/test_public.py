"""The member's appeal page over HTTP: no account, the link's token, a one-time code."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from sqlalchemy import select, update

from qunyun.db.base import utcnow
from qunyun.moderation.models import Appeal, AppealCode
from tests.appeals.helpers import Seeded, actions_after, seed_case, sent_code
from tests.conftest import App

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def _csrf(app: App, seeded: Seeded) -> str:
    """The session's token, from the page's form (or the first page that had one: a
    page with nothing to send has no form)."""
    found = CSRF.search(app.client.get(f"/appeal/{seeded.token}").text)
    if found is None:
        found = CSRF.search(app.client.get(f"/appeal/{seed_case(app.db, user='x').token}").text)
    assert found is not None
    return found.group(1)


def _post(app: App, seeded: Seeded, **form: str) -> Any:
    data = {"csrf_token": _csrf(app, seeded), "lang": "", **form}
    return app.client.post(f"/appeal/{seeded.token}", data=data, follow_redirects=False)


def _ask_code(app: App, seeded: Seeded) -> Any:
    return _post(app, seeded, step="code")


def _appeal(app: App, seeded: Seeded, code: str, statement: str = "这是物业通知") -> Any:
    return _post(app, seeded, step="appeal", code=code, statement=statement)


def _appeals(app: App) -> list[Appeal]:
    with app.db.session() as s:
        rows = list(s.scalars(select(Appeal)))
        s.expunge_all()
        return rows


def test_the_page_shows_the_case_in_the_members_language(app: App) -> None:
    seeded = seed_case(app.db)
    page = app.client.get(f"/appeal/{seeded.token}")
    assert page.status_code == 200
    assert page.headers["cache-control"] == "no-store"
    assert page.headers["referrer-policy"] == "no-referrer"
    text = page.text
    assert '<html lang="zh-CN">' in text
    for shown in ("业主交流群", "广告", "加微信", "第 7–9 个字", "撤回消息，禁言 1 小时"):
        assert shown in text
    assert "2026-03-02 09:30" in text  # the group's (community's) time zone
    assert "给我发送验证码" in text and 'name="code"' not in text
    mangled = app.client.get(f"/appeal/{seeded.token}?sent=yes&opened=%FF&lang=fr")
    assert mangled.status_code == 200 and "广告" in mangled.text
    english = app.client.get(f"/appeal/{seeded.token}?lang=en").text
    assert "Advertising" in english and "muted for 1 hour" in english
    assert "Send me a one-time code" in english
    member_in_english = seed_case(app.db, language="en", user="20009")
    page = app.client.get(
        f"/appeal/{member_in_english.token}", headers={"Accept-Language": "zh-CN"}
    )
    assert "Advertising" in page.text and '<html lang="en">' in page.text


def test_forged_tokens_get_a_clear_refusal(app: App) -> None:
    seeded = seed_case(app.db)
    for token in ("nope", "A" * 32, seeded.token[::-1], "<img src=x onerror=alert(1)>"):
        page = app.client.get(f"/appeal/{token}")
        assert page.status_code == 404
        assert "申诉链接无效" in page.text and "<img src=x" not in page.text
    page = app.client.post("/appeal/" + "A" * 32, data={"step": "code"})
    assert page.status_code == 404


def test_the_whole_member_flow(app: App) -> None:
    seeded = seed_case(app.db)
    asked = _ask_code(app, seeded)
    assert asked.status_code == 303
    assert asked.headers["location"] == f"/appeal/{seeded.token}?lang=zh-CN&sent=1"
    [private] = [a for a in actions_after(app.db) if a.kind == "send_private"]
    assert private.params["user"] == seeded.user
    page = app.client.get(asked.headers["location"])
    assert "验证码已私信发给您" in page.text and 'name="code"' in page.text
    code = sent_code(app.db)
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    refused = _appeal(app, seeded, wrong, "我的理由在这里")
    assert refused.status_code == 400
    assert "验证码不正确，还可以再试 4 次" in refused.text
    assert "我的理由在这里" in refused.text  # the statement is not lost
    assert _appeals(app) == []
    opened = _appeal(app, seeded, f"{code[:3]} {code[3:]}")
    assert opened.status_code == 303 and opened.headers["location"].endswith("opened=1")
    page = app.client.get(opened.headers["location"])
    assert "申诉已提交" in page.text and 'name="code"' not in page.text
    [appeal] = _appeals(app)
    assert (appeal.via, appeal.status, appeal.statement) == ("member", "open", "这是物业通知")
    assert "正在等待复核" in app.client.get(f"/appeal/{seeded.token}").text
    # A second appeal on the same case is refused, and nothing is sent.
    again = _ask_code(app, seeded)
    assert again.status_code == 409 and "已有一个待复核的申诉" in again.text
    assert len([a for a in actions_after(app.db) if a.kind == "send_private"]) == 1


def test_without_the_pages_csrf_token_nothing_happens(app: App) -> None:
    seeded = seed_case(app.db)
    app.client.get(f"/appeal/{seeded.token}")
    for token in ("", "forged"):
        page = app.client.post(
            f"/appeal/{seeded.token}", data={"step": "code", "csrf_token": token}
        )
        assert page.status_code == 403 and "页面已过期" in page.text
    assert [a for a in actions_after(app.db) if a.kind == "send_private"] == []


def test_an_expired_code_is_refused(app: App) -> None:
    seeded = seed_case(app.db)
    _ask_code(app, seeded)
    code = sent_code(app.db)
    with app.db.transaction() as s:
        s.execute(update(AppealCode).values(expires_at=utcnow() - timedelta(seconds=1)))
    refused = _appeal(app, seeded, code)
    assert refused.status_code == 400 and "验证码已过期" in refused.text
    assert _appeals(app) == []


def test_attempts_run_out(app: App) -> None:
    seeded = seed_case(app.db)
    _ask_code(app, seeded)
    code = sent_code(app.db)
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    for left in (4, 3, 2, 1, 0):
        assert f"还可以再试 {left} 次" in _appeal(app, seeded, wrong).text
    refused = _appeal(app, seeded, code)
    assert refused.status_code == 400 and "错误次数过多" in refused.text
    assert _appeals(app) == []
    # A new code starts over.
    assert _ask_code(app, seeded).status_code == 303
    assert _appeal(app, seeded, sent_code(app.db)).status_code == 303


def test_codes_are_limited_per_case_and_per_address(app: App) -> None:
    cases = [seed_case(app.db, user=f"3000{n}") for n in range(4)]
    for _ in range(3):
        assert _ask_code(app, cases[0]).status_code == 303
    refused = _ask_code(app, cases[0])
    assert refused.status_code == 429 and "每小时最多获取 3 次验证码" in refused.text
    for seeded in cases[1:3]:
        for _ in range(3):
            assert _ask_code(app, seeded).status_code == 303
    # Ten codes from one address in an hour: the eleventh is refused whatever the case.
    refused = _ask_code(app, cases[3])
    assert refused.status_code == 429 and "操作太频繁" in refused.text


def test_a_statement_is_required(app: App) -> None:
    seeded = seed_case(app.db)
    _ask_code(app, seeded)
    refused = _appeal(app, seeded, sent_code(app.db), "   ")
    assert refused.status_code == 400 and "请写下申诉理由" in refused.text
    with app.db.session() as s:
        assert s.scalars(select(AppealCode.attempts)).one() == 0
