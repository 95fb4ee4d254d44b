"""The landing's per-worker cache and the signed values visitors carry. Pure."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from qunyun.livecodes.cache import LiveCodeCache
from qunyun.livecodes.rotation import PoolMember, Strategy
from qunyun.livecodes.snapshot import CodeKind, CodeStatus, LiveCodeSnapshot
from qunyun.livecodes.tokens import Signer, sign_body, webhook_key


def snapshot(code_id: int) -> LiveCodeSnapshot:
    return LiveCodeSnapshot(
        id=code_id,
        community_id=1,
        name="A",
        kind=CodeKind.group,
        strategy=Strategy.in_order,
        title=None,
        description=None,
        sticky_days=7,
        zone=ZoneInfo("Asia/Shanghai"),
        active_hours=None,
        status=CodeStatus.active,
        members=(PoolMember(id=1),),
        cards={},
    )


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_entries_expire_after_the_ttl() -> None:
    clock = Clock()
    cache = LiveCodeCache(2.0, clock)
    cache.put(5, snapshot(5))
    assert cache.get(5) is not None
    clock.now += 2.5
    assert cache.get(5) is None


def test_a_merged_code_shares_the_served_code_and_its_counts() -> None:
    clock = Clock()
    cache = LiveCodeCache(2.0, clock)
    cache.put(7, snapshot(9))  # code 7 was merged into 9
    cache.put(9, snapshot(9))
    cache.note_scan(9, 1)
    cache.note_scan(9, 1)
    assert cache.scans_since_load(9) == {1: 2}
    cache.invalidate([9])  # a change to 9 drops 7's alias too
    assert cache.get(7) is None
    assert cache.get(9) is None
    cache.put(9, snapshot(9))
    assert cache.scans_since_load(9) == {}  # counting starts again from stored values


def test_round_robin_counter_and_fallback_notes() -> None:
    cache = LiveCodeCache(2.0)
    assert [cache.next_round(3) for _ in range(3)] == [0, 1, 2]
    cache.note_fallback(3)
    cache.note_fallback(3)
    assert cache.take_fallbacks() == {3}
    assert cache.take_fallbacks() == set()


def test_no_ttl_means_no_cache() -> None:
    cache = LiveCodeCache(0)
    cache.put(1, snapshot(1))
    assert cache.get(1) is None


def test_signed_values_are_single_purpose() -> None:
    signer = Signer("secret")
    other = Signer("another secret")
    image = signer.member_image_url(42, 7).removeprefix("/livecodes/img/")
    assert signer.read_image(image) == ("member", 42, 7)
    assert other.read_image(image) is None
    sticky = signer.sticky_value(1, 42, 2000)
    assert signer.read_sticky(sticky, 1, now=1999) == 42
    assert signer.read_sticky(sticky, 1, now=2000) is None  # expired
    assert signer.read_sticky(sticky, 2, now=1999) is None  # another code
    press = signer.press_token(1, 42, 7)
    assert signer.read_press(press) == (1, 42, 7)
    # A token made for one purpose is refused for another.
    assert signer.read_press(sticky) is None
    assert signer.read_image(press) is None
    assert signer.read_sticky(image, 1, now=0) is None


def test_webhook_keys_differ_per_code_and_sign_the_body() -> None:
    assert webhook_key("s", 1) != webhook_key("s", 2)
    assert webhook_key("s", 1) != webhook_key("t", 1)
    signature = sign_body(webhook_key("s", 1), b'{"a":1}')
    assert signature.startswith("sha256=")
    assert len(signature) == len("sha256=") + 64
