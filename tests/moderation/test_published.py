"""The published rules: every enabled category and every exemption is shown, in both
languages, whatever the book says."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from qunyun.i18n import gettext
from qunyun.moderation.books import starter_book
from qunyun.moderation.published import published_rules, render_rules
from qunyun.moderation.rulebook import RULE_IDS, RuleBook, merge_data

CATEGORIES = sorted(starter_book().categories)
reasons = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1, max_size=30
).filter(lambda s: s.strip() == s and s)
exemption = st.fixed_dictionaries(
    {
        "roles": st.lists(
            st.sampled_from(["owner", "secretary", "steward", "key_member"]),
            min_size=1,
            max_size=2,
            unique=True,
        ),
        "member_ids": st.lists(st.integers(1, 50), max_size=2, unique=True),
        "rules": st.lists(
            st.sampled_from(["all", *RULE_IDS, *(f"category:{c}" for c in CATEGORIES)]),
            min_size=1,
            max_size=3,
            unique=True,
        ),
        "reason": st.fixed_dictionaries({"zh-CN": reasons, "en": reasons}),
    }
)


@settings(max_examples=60, deadline=None)
@given(
    disabled=st.sets(st.sampled_from(CATEGORIES)),
    exemptions=st.lists(exemption, max_size=3),
    names=st.dictionaries(st.integers(1, 50), st.sampled_from(["张三", "李四", "Ann"]), max_size=5),
    delete=st.booleans(),
)
def test_every_category_and_exemption_is_published(
    disabled: set[str], exemptions: list[dict[str, Any]], names: dict[int, str], delete: bool
) -> None:
    override: dict[str, Any] = {
        "categories": {c: {"enabled": False} for c in disabled},
        "exemptions": exemptions,
        "notice": {"delete_message": delete},
        "ladder": {"grave_categories": [c for c in ("porn", "gambling") if c not in disabled]},
    }
    book = RuleBook.model_validate(merge_data(starter_book().to_data(), override))
    for lang in ("zh-CN", "en"):
        rules = published_rules(book, lang, member_names=names)
        shown = {s.key: s for s in rules.sections}
        labels = [i.label for i in shown["not_allowed"].items] if "not_allowed" in shown else []
        assert labels == [
            c.label.get(lang) for n, c in book.categories.items() if n not in disabled
        ]
        listed = shown["exemptions"].items
        assert [i.text for i in listed] == [e["reason"][lang] for e in exemptions]
        for item, entry in zip(listed, exemptions, strict=True):
            for member in entry["member_ids"]:
                if member in names:
                    assert names[member] in item.label
        deleted = gettext("moderation.published.deleted", lang)
        assert (deleted in shown["enforcement"].notes) == delete
        text = render_rules(book, lang, member_names=names)
        for entry in exemptions:
            assert entry["reason"][lang] in text
