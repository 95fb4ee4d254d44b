"""Signatures and the record schema, pure; the documentation's examples are checked."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from hypothesis import given
from hypothesis import strategies as st

from qunyun.platforms.webhook import signing
from qunyun.platforms.webhook.schema import RECORD, json_schema, parse_delivery, schema_text
from qunyun.stream.records import RecordKind
from tests.platforms.webhook.peer import message, sign

ROOT = Path(__file__).resolve().parents[3]
DOC = ROOT / "docs" / "platforms.md"
SCHEMA_FILE = ROOT / "docs" / "webhook-schema.json"
NOW = 1_718_000_000


@given(secret=st.text(min_size=1, max_size=40), body=st.binary(max_size=200))
def test_a_signature_verifies_and_any_change_breaks_it(secret: str, body: bytes) -> None:
    stamp = str(NOW)
    good = signing.signature(secret, stamp, body)
    # The documented construction, written independently with hashlib.
    assert good == sign(secret, stamp, body)
    assert signing.problem(secret, stamp, good, body, NOW) is None
    assert signing.problem(secret, stamp, good, body + b" ", NOW) == "bad signature"
    assert signing.problem(secret, str(NOW + 1), good, body, NOW) == "bad signature"
    assert signing.problem(secret + "x", stamp, good, body, NOW) == "bad signature"


@pytest.mark.parametrize(
    ("stamp", "now", "reason"),
    [
        (None, NOW, "missing timestamp"),
        ("-5", NOW, "malformed timestamp"),
        ("１７１８", NOW, "malformed timestamp"),
        ("9" * 20, NOW, "malformed timestamp"),
        (str(NOW), NOW + 301, "timestamp too far from now"),
        (str(NOW), NOW - 301, "timestamp too far from now"),
    ],
)
def test_timestamps_outside_the_window_fail(stamp: str | None, now: int, reason: str) -> None:
    supplied = sign("k", stamp or "0", b"{}")
    assert signing.problem("k", stamp, supplied, b"{}", now) == reason


def test_no_secret_means_no_delivery() -> None:
    assert signing.problem(None, str(NOW), "sha256=00", b"", NOW) == "no secret configured"


def test_the_published_json_schema_is_current() -> None:
    assert SCHEMA_FILE.read_text("utf-8") == schema_text(), (
        "regenerate: python -m qunyun.platforms.webhook.schema > docs/webhook-schema.json"
    )
    jsonschema.Draft202012Validator.check_schema(json_schema())


def _doc_examples() -> list[dict[str, Any]]:
    blocks = re.findall(r"```json\n(.*?)```", DOC.read_text("utf-8"), re.S)
    return [json.loads(block) for block in blocks]


def test_every_record_type_has_a_documented_example_that_validates() -> None:
    validator = jsonschema.Draft202012Validator(json_schema())
    seen: set[str] = set()
    for example in _doc_examples():
        if "action" in example:
            continue
        assert list(validator.iter_errors(example)) == [], example
        records, problems = parse_delivery(example)
        assert problems == [], example
        seen |= {r.kind.value for r in records}
    assert seen == {k.value for k in RecordKind}


def test_the_schema_and_the_models_agree_on_refusals() -> None:
    """The same bad records are refused by the JSON Schema and by the models."""
    validator = jsonschema.Draft202012Validator(json_schema())
    bad = [
        {**message(1), "type": "message_deleted"},
        {**message(1), "extra": 1},
        {k: v for k, v in message(1).items() if k != "message_id"},
        {**message(1), "message_kind": "gif"},
        {**message(1), "platform": "WeCom"},
        {**message(1), "id": ""},
        {"records": []},
    ]
    for record in bad:
        assert list(validator.iter_errors(record)), record
        assert parse_delivery(record)[1], record
    good = message(1)
    assert not list(validator.iter_errors(good))
    assert RECORD.validate_python(good).record().platform_record_id == "wecom:msg:1"
