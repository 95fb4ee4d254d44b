"""The group's published rules, from its rule book, short and readable by members. Pure.

:func:`published_rules` builds the structure (title, sections, items) that the public
rules page renders as HTML; :func:`render_rules` writes the same as plain Markdown for
posting into a chat or a group announcement.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from qunyun.i18n import gettext
from qunyun.moderation.evaluate import duration_text
from qunyun.moderation.rulebook import Exemption, LinkMode, RuleBook, Severity, StepAction


def _t(key: str, lang: str, **params: object) -> str:
    return gettext(f"moderation.published.{key}", lang, **params)


@dataclass(frozen=True)
class Item:
    text: str
    # A lead-in shown in bold before the text (a category's name).
    label: str = ""


@dataclass(frozen=True)
class Section:
    # "not_allowed", "group_rules", "enforcement", "exemptions", "appeal".
    key: str
    heading: str
    items: tuple[Item, ...]
    ordered: bool = False
    # Sentences after the list.
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class PublishedRules:
    title: str
    group_name: str
    topic: str
    welcome: str
    # The trial-mode notice, or "".
    dry_run: str
    sections: tuple[Section, ...]


def published_rules(
    book: RuleBook,
    lang: str,
    *,
    group_name: str = "",
    appeal_url: str = "",
    member_names: Mapping[int, str] | None = None,
) -> PublishedRules:
    """What members read. ``member_names`` names the members an exemption lists by id
    (an exemption nobody can see would not be one); ids without a name are counted."""
    sections = [
        _not_allowed(book, lang),
        _group_rules(book, lang),
        _enforcement(book, lang),
        _exemptions(book, lang, member_names or {}),
        _appeal(book, lang, appeal_url),
    ]
    return PublishedRules(
        title=book.name.get(lang) or _t("title", lang),
        group_name=group_name,
        topic=book.topic.get(lang),
        welcome=book.welcome.get(lang),
        dry_run=_t("dry_run", lang) if book.dry_run else "",
        sections=tuple(s for s in sections if s.items or s.notes),
    )


def _sep(lang: str) -> str:
    return "、" if lang == "zh-CN" else ", "


def _not_allowed(book: RuleBook, lang: str) -> Section:
    items = tuple(
        Item(category.description.get(lang), label=category.label.get(lang) or name)
        for name, category in book.categories.items()
        if category.enabled
    )
    return Section("not_allowed", _t("not_allowed", lang), items)


def _group_rules(book: RuleBook, lang: str) -> Section:
    sep = _sep(lang)
    rules: list[str] = []
    links = book.links
    if links.mode is LinkMode.none:
        rules.append(_t("links_none", lang))
    elif links.mode is LinkMode.own_short_links:
        rules.append(_t("links_own", lang))
    elif links.mode is LinkMode.allow_list:
        rules.append(_t("links_allow", lang, domains=sep.join(links.allow_domains) or "—"))
    if book.media.banned:
        kinds = sep.join(gettext(f"moderation.kind.{k.value}", lang) for k in book.media.banned)
        rules.append(_t("media", lang, kinds=kinds))
    flood = book.flood
    if flood.enabled:
        rules.append(_t("flood", lang, n=flood.max_messages, seconds=flood.window_seconds))
        if flood.repeat_count:
            rules.append(_t("repeat", lang, n=flood.repeat_count))
        if flood.max_mentions:
            rules.append(_t("mentions", lang, n=flood.max_mentions, seconds=flood.window_seconds))
        if not flood.allow_mention_all:
            rules.append(_t("mention_all", lang))
    quiet = book.quiet_hours
    if quiet.enabled:
        days = (
            _t("every_day", lang)
            if len(set(quiet.days)) == 7
            else sep.join(gettext(f"moderation.day.{d.value}", lang) for d in quiet.days)
        )
        text = _t(
            "quiet",
            lang,
            start=quiet.start.strftime("%H:%M"),
            end=quiet.end.strftime("%H:%M"),
            days=days,
        )
        if quiet.enforce_whole_mute:
            text += " " + _t("quiet_whole_mute", lang)
        rules.append(text)
    nick = book.nickname
    if nick.enabled:
        rules.append(
            _t(
                "nickname",
                lang,
                description=nick.description.get(lang) or nick.pattern,
                hours=nick.grace_hours,
            )
            + (f" {_t('example', lang, example=nick.example)}" if nick.example else "")
        )
    newcomer = book.newcomer
    if newcomer.limits and (newcomer.hours or newcomer.messages):
        what = sep.join(gettext(f"moderation.newcomer.{x.value}", lang) for x in newcomer.limits)
        if newcomer.hours and newcomer.messages:
            rules.append(
                _t("newcomer_both", lang, hours=newcomer.hours, n=newcomer.messages, what=what)
            )
        elif newcomer.hours:
            rules.append(_t("newcomer_hours", lang, hours=newcomer.hours, what=what))
        else:
            rules.append(_t("newcomer_messages", lang, n=newcomer.messages, what=what))
    if book.entry.accept_rules and book.entry.accept_keywords:
        rules.append(_t("accept", lang, keyword=book.entry.accept_keywords[0]))
    if book.reports.enabled and book.reports.keywords:
        quoted = [f"“{k}”" if lang == "zh-CN" else f'"{k}"' for k in book.reports.keywords]
        keywords = _t("or", lang).join(quoted)
        rules.append(_t("reports", lang, keywords=keywords))
    return Section("group_rules", _t("group_rules", lang), tuple(Item(r) for r in rules))


def _enforcement(book: RuleBook, lang: str) -> Section:
    steps: list[Item] = []
    for index, step in enumerate(book.ladder.steps, start=1):
        if step.action is StepAction.mute:
            text = _t("step_mute", lang, duration=duration_text(step.seconds, lang))
        else:
            text = _t(f"step_{step.action.value}", lang)
        steps.append(Item(f"{_t('nth', lang, n=index)}{text}"))
    notes = [_t("expiry", lang, days=book.ladder.warning_expiry_days)]
    heavy = book.ladder.weight(Severity.high)
    if heavy > 1 and any(
        c.enabled and c.severity is Severity.high for c in book.categories.values()
    ):
        notes.append(_t("heavy", lang, n=heavy))
    if book.notice.delete_message:
        notes.append(_t("deleted", lang))
    grave = [
        book.categories[c].label.get(lang) or c
        for c in book.ladder.grave_categories
        if c in book.categories and book.categories[c].enabled
    ]
    if grave:
        notes.append(_t("grave", lang, categories=_sep(lang).join(grave)))
    return Section(
        "enforcement", _t("enforcement", lang), tuple(steps), ordered=True, notes=tuple(notes)
    )


def _exemptions(book: RuleBook, lang: str, names: Mapping[int, str]) -> Section:
    sep = _sep(lang)
    items: list[Item] = []
    for entry in book.exemptions:
        scope = (
            _t("all_rules", lang)
            if "all" in entry.rules
            else sep.join(_rule_name(book, r, lang) for r in entry.rules)
        )
        who = sep.join(_who(entry, lang, names))
        label = f"{who}（{scope}）" if lang == "zh-CN" else f"{who} ({scope})"
        items.append(Item(entry.reason.get(lang), label=label))
    notes = () if items else (_t("no_exemptions", lang),)
    return Section("exemptions", _t("exemptions", lang), tuple(items), notes=notes)


def _who(entry: Exemption, lang: str, names: Mapping[int, str]) -> list[str]:
    who = [gettext(f"moderation.role.{r.value}", lang) for r in entry.roles]
    who += [names[m] for m in entry.member_ids if names.get(m)]
    unnamed = sum(1 for m in entry.member_ids if not names.get(m))
    if unnamed:
        who.append(_t("named_members", lang, n=unnamed))
    return who


def _appeal(book: RuleBook, lang: str, appeal_url: str) -> Section:
    url = appeal_url or book.notice.appeal_url
    if url:
        text = _t("appeal_url", lang, url=url)
    else:
        text = book.notice.appeal_text.get(lang) or gettext("moderation.explain.appeal", lang)
    return Section("appeal", _t("appeal", lang), (), notes=(text,))


def render_rules(
    book: RuleBook,
    lang: str,
    *,
    group_name: str = "",
    appeal_url: str = "",
    member_names: Mapping[int, str] | None = None,
) -> str:
    """The published rules as short Markdown."""
    rules = published_rules(
        book, lang, group_name=group_name, appeal_url=appeal_url, member_names=member_names
    )
    colon = "：" if lang == "zh-CN" else ": "
    title = f"{rules.group_name} · {rules.title}" if rules.group_name else rules.title
    out: list[str] = [f"# {title}", ""]
    for text in (rules.topic, rules.welcome):
        if text:
            out += [text, ""]
    if rules.dry_run:
        out += [f"> {rules.dry_run}", ""]
    for section in rules.sections:
        out += [f"## {section.heading}", ""]
        for index, item in enumerate(section.items, start=1):
            bullet = f"{index}." if section.ordered else "-"
            if item.label and section.key == "not_allowed":
                lead = f"**{item.label}**"
            else:
                lead = item.label
            if lead and item.text:
                out.append(f"{bullet} {lead}{colon}{item.text}")
            else:
                out.append(f"{bullet} {lead or item.text}")
        if section.items and section.notes:
            out.append("")
        out += list(section.notes)
        out.append("")
    return "\n".join(out).rstrip() + "\n"


def _rule_name(book: RuleBook, rule_id: str, lang: str) -> str:
    if rule_id.startswith("category:"):
        name = rule_id.removeprefix("category:")
        category = book.categories.get(name)
        return (category.label.get(lang) if category else "") or name
    return gettext(f"moderation.rule.{rule_id}", lang)
