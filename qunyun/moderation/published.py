"""The group's published rules: short Markdown for members, from the rule book. Pure."""

from __future__ import annotations

from qunyun.i18n import gettext
from qunyun.moderation.evaluate import duration_text
from qunyun.moderation.rulebook import LinkMode, RuleBook, StepAction


def _t(key: str, lang: str, **params: object) -> str:
    return gettext(f"moderation.published.{key}", lang, **params)


def render_rules(book: RuleBook, lang: str, *, group_name: str = "", appeal_url: str = "") -> str:
    sep = "、" if lang == "zh-CN" else ", "
    out: list[str] = [f"# {group_name or book.name.get(lang) or _t('title', lang)}", ""]
    for text in (book.topic.get(lang), book.welcome.get(lang)):
        if text:
            out += [text, ""]
    if book.dry_run:
        out += [f"> {_t('dry_run', lang)}", ""]

    banned = [c for c in book.categories.values() if c.enabled]
    if banned:
        out += [f"## {_t('not_allowed', lang)}", ""]
        for name, category in book.categories.items():
            if not category.enabled:
                continue
            label = category.label.get(lang) or name
            note = category.description.get(lang)
            out.append(
                f"- **{label}**" + (f"：{note}" if lang == "zh-CN" else f": {note}") * bool(note)
            )
        out.append("")

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
        rules.append(
            _t(
                "quiet",
                lang,
                start=quiet.start.strftime("%H:%M"),
                end=quiet.end.strftime("%H:%M"),
                days=days,
            )
        )
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
    if rules:
        out += [f"## {_t('group_rules', lang)}", ""] + [f"- {r}" for r in rules] + [""]

    out += [f"## {_t('enforcement', lang)}", ""]
    for index, step in enumerate(book.ladder.steps, start=1):
        if step.action is StepAction.mute:
            text = _t("step_mute", lang, duration=duration_text(step.seconds, lang))
        else:
            text = _t(f"step_{step.action.value}", lang)
        out.append(f"{index}. {_t('nth', lang, n=index)}{text}")
    out += ["", _t("expiry", lang, days=book.ladder.warning_expiry_days)]
    grave = [
        book.categories[c].label.get(lang) or c
        for c in book.ladder.grave_categories
        if c in book.categories
    ]
    if grave:
        out.append(_t("grave", lang, categories=sep.join(grave)))
    out.append("")

    out += [f"## {_t('exemptions', lang)}", ""]
    if not book.exemptions:
        out.append(_t("no_exemptions", lang))
    for entry in book.exemptions:
        who = [gettext(f"moderation.role.{r.value}", lang) for r in entry.roles]
        if entry.member_ids:
            who.append(_t("named_members", lang, n=len(entry.member_ids)))
        scope = (
            _t("all_rules", lang)
            if "all" in entry.rules
            else sep.join(_rule_name(book, r, lang) for r in entry.rules)
        )
        out.append(
            f"- {sep.join(who)}（{scope}）：{entry.reason.get(lang)}"
            if lang == "zh-CN"
            else f"- {sep.join(who)} ({scope}): {entry.reason.get(lang)}"
        )
    out.append("")

    out += [f"## {_t('appeal', lang)}", ""]
    if appeal_url or book.notice.appeal_url:
        out.append(_t("appeal_url", lang, url=appeal_url or book.notice.appeal_url))
    else:
        out.append(book.notice.appeal_text.get(lang) or gettext("moderation.explain.appeal", lang))
    return "\n".join(out).rstrip() + "\n"


def _rule_name(book: RuleBook, rule_id: str, lang: str) -> str:
    if rule_id.startswith("category:"):
        name = rule_id.removeprefix("category:")
        category = book.categories.get(name)
        return (category.label.get(lang) if category else "") or name
    return gettext(f"moderation.rule.{rule_id}", lang)
