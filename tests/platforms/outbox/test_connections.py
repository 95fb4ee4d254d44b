"""Connections: keys and secrets, address checks, inbound URLs, the client registry."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from qunyun.db.engine import Database
from qunyun.errors import DomainError
from qunyun.platforms import connections, registry
from qunyun.web.context import AppContext
from tests.conftest import make_settings, run_async
from tests.platforms.outbox.conftest import Platform


def test_creating_generates_an_unguessable_key_and_a_secret(db: Database, tmp_path: Path) -> None:
    with db.transaction() as session:
        bot = connections.create_connection(
            session, 1, "onebot", "  QQ  机器人 ", api_url="http://127.0.0.1:3000/"
        )
        hook = connections.create_connection(session, 1, "webhook", "桥", inbound_secret="s3cret")
        manual = connections.create_connection(session, 1, "manual", "个人微信群")
        keys = {bot.key, hook.key, manual.key}
    assert len(keys) == 3 and all(len(k) >= 32 for k in keys)
    assert bot.name == "QQ 机器人"
    assert bot.api_url == "http://127.0.0.1:3000"  # loopback is where OneBot lives
    assert bot.inbound_secret and len(bot.inbound_secret) >= 40
    assert hook.inbound_secret == "s3cret"
    assert manual.inbound_secret is None
    settings = make_settings(tmp_path, db, base_url="https://q.example.cn")
    urls = connections.inbound_url(settings, bot)
    assert urls.http == f"https://q.example.cn/hooks/onebot/{bot.key}"
    assert urls.websocket == f"wss://q.example.cn/hooks/onebot/{bot.key}/ws"
    assert connections.inbound_url(settings, hook).websocket is None
    assert connections.inbound_url(settings, manual).http is None
    with db.session(write=False) as session:
        found = connections.connection_by_key(session, "onebot", bot.key)
        assert found is not None and found.id == bot.id
        assert connections.connection_by_key(session, "webhook", bot.key) is None
        assert connections.connection_by_key(session, "onebot", "x" * 100) is None


@pytest.mark.parametrize(
    ("platform", "url", "code"),
    [
        ("webhook", "javascript:alert(1)", "url.dangerous_scheme"),
        ("webhook", "ftp://example.com/x", "url.scheme_not_allowed"),
        ("webhook", "http://10.0.0.5/hook", "url.private_host"),
        ("manual", "https://example.com", "connection.manual_has_no_api"),
        ("wechat", None, "connection.unknown_platform"),
    ],
)
def test_bad_input_is_refused_with_a_clear_code(
    sqlite_db: Database, platform: str, url: str | None, code: str
) -> None:
    with sqlite_db.transaction() as session, pytest.raises(DomainError) as refused:
        connections.create_connection(session, 1, platform, "x", api_url=url)
    assert refused.value.code == code


def test_update_rotate_and_enable(db: Database) -> None:
    with db.transaction() as session:
        bot = connections.create_connection(session, 1, "telegram", "TG", access_token="1:abc")
        old = bot.inbound_secret
    with db.transaction() as session:
        new = connections.rotate_secret(session, 1, bot.id)
        changed = connections.update_connection(
            session,
            1,
            bot.id,
            {"name": "TG 2", "access_token": "", "api_url": "https://api.example.org/"},
        )
        assert (changed.name, changed.access_token, changed.api_url) == (
            "TG 2",
            None,
            "https://api.example.org",
        )
        connections.disable(session, 1, bot.id)
    assert new != old and len(new) >= 40
    with db.session(write=False) as session:
        (listed,) = connections.list_connections(session, 1)
        assert (listed.inbound_secret, listed.enabled) == (new, False)
    with db.transaction() as session, pytest.raises(DomainError) as missing:
        connections.get_connection(session, 2, bot.id)  # another community
    assert missing.value.status == 404


def test_clients_are_built_once_and_rebuilt_when_the_connection_changes(
    db: Database, ctx: AppContext, platform: Platform
) -> None:
    with db.transaction() as session:
        bot = connections.create_connection(session, 1, "onebot", "QQ")
        manual = connections.create_connection(session, 1, "manual", "微信")
    assert registry.client_for(bot, ctx) is platform.client
    assert registry.client_for(bot, ctx) is platform.client
    assert platform.built == 1
    bot.api_url = "http://127.0.0.1:5700"
    # Off this thread: a browser test's Playwright may leave an event loop running here,
    # on which the replaced client's close would be scheduled and never run.
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(registry.client_for, bot, ctx).result()
    assert platform.built == 2
    assert registry.client_for(manual, ctx) is None
    run_async(registry.close_all(ctx))
    assert platform.client.closed == 2  # the replaced one and the current one


def test_without_a_factory_the_platform_package_is_imported(db: Database, tmp_path: Path) -> None:
    from qunyun.app import build_context

    context = build_context(make_settings(tmp_path, db), db)
    with db.transaction() as session:
        manual = connections.create_connection(session, 1, "manual", "微信")
        odd = connections.create_connection(session, 1, "webhook", "桥")
    assert registry.client_for(manual, context) is None
    odd.platform = "nosuchplatform"
    with pytest.raises(ImportError):
        registry.client_for(odd, context)
