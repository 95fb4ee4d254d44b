"""Rule books to and from YAML, with every refusal pointing at a line. Pure.

A document that fails is refused whole (:class:`RulebookInvalid` lists every problem with
its line); the caller keeps the running rule book in force.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import yaml
from pydantic import ValidationError

from qunyun.errors import DomainError
from qunyun.i18n import gettext
from qunyun.moderation.rulebook import RuleBook, merge_data
from qunyun.moderation.text.matcher import check_regex

__all__ = [
    "MAX_DOCUMENT_BYTES",
    "RulebookInvalid",
    "RulebookProblem",
    "dump_data",
    "dump_rulebook",
    "load_override",
    "load_rulebook",
    "parse_document",
    "regex_problem",
]

MAX_DOCUMENT_BYTES = 256 * 1024

# Why a pattern would be refused (a reason code), or None: the text matcher's own check.
regex_problem = check_regex
MAX_PROBLEMS = 20

# Problems whose message key exists (error.moderation.rulebook.<code>); any other
# validation failure is reported as "invalid_value" with pydantic's own words.
PROBLEM_CODES: frozenset[str] = frozenset(
    {
        "bad_yaml",
        "bad_encoding",
        "too_large",
        "empty",
        "aliases",
        "duplicate_key",
        "not_mapping",
        "unknown_key",
        "missing_key",
        "invalid_value",
        "bad_version",
        "bad_pattern",
        "pattern_too_long",
        "catastrophic_pattern",
        "bad_clock",
        "bad_timezone",
        "quiet_empty",
        "bad_name",
        "bad_domain",
        "nickname_pattern_missing",
        "nickname_example_mismatch",
        "exemption_nobody",
        "exemption_reason",
        "mute_seconds",
        "seconds_only_mute",
        "ladder_descends",
        "bad_weight",
        "unknown_category",
        "unknown_rule",
        "too_many",
        "unknown_list",
        "unknown_detector",
    }
)
_OWN_TYPES = PROBLEM_CODES
_PYDANTIC_CODES = {"extra_forbidden": "unknown_key", "missing": "missing_key"}


@dataclass(frozen=True)
class RulebookProblem:
    code: str
    line: int | None
    path: str
    params: Mapping[str, Any] = field(default_factory=dict)

    def message(self, lang: str) -> str:
        """The problem for people: "第 12 行（flood.max_messages）：…"."""
        text = gettext(f"error.moderation.rulebook.{self.code}", lang, **self.params)
        where = gettext(
            "moderation.rulebook.at_line" if self.line else "moderation.rulebook.at_path",
            lang,
            line=self.line or 0,
            path=self.path or "/",
        )
        return f"{where}{text}"


class RulebookInvalid(DomainError):
    """The document is refused; ``problems`` says where and why (the first is the code)."""

    def __init__(self, problems: Sequence[RulebookProblem]) -> None:
        first = problems[0]
        super().__init__(
            f"moderation.rulebook.{first.code}",
            status=422,
            line=first.line or 0,
            path=first.path or "/",
            **first.params,
        )
        self.problems = tuple(problems)

    def messages(self, lang: str) -> list[str]:
        return [p.message(lang) for p in self.problems]


class _Loader(yaml.SafeLoader):
    """Safe YAML without aliases, and without YAML 1.1's base-60 numbers ("06:30" stays text)."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()  # type: ignore[no-untyped-call]
            raise _Refused("aliases", event.start_mark.line + 1)
        if self.check_event(yaml.ScalarEvent, yaml.SequenceStartEvent, yaml.MappingStartEvent):
            event = self.peek_event()  # type: ignore[no-untyped-call]
            if getattr(event, "anchor", None):
                raise _Refused("aliases", event.start_mark.line + 1)
        return super().compose_node(parent, index)


def _sexagesimal_as_text(loader: yaml.SafeLoader, node: yaml.Node) -> Any:
    value = loader.construct_scalar(node)  # type: ignore[arg-type]
    if isinstance(value, str) and ":" in value:
        return value
    if node.tag.endswith(":int"):
        return loader.construct_yaml_int(node)  # type: ignore[arg-type]
    return loader.construct_yaml_float(node)  # type: ignore[arg-type]


_Loader.add_constructor("tag:yaml.org,2002:int", _sexagesimal_as_text)
_Loader.add_constructor("tag:yaml.org,2002:float", _sexagesimal_as_text)


class _Refused(Exception):
    def __init__(self, code: str, line: int | None, **params: Any) -> None:
        super().__init__(code)
        self.problem = RulebookProblem(code, line, "", params)


def parse_document(text: str | bytes, *, allow_empty: bool = False) -> tuple[dict[str, Any], Any]:
    """YAML text -> (plain data, the YAML node tree for line numbers). Raises RulebookInvalid."""
    if isinstance(text, bytes):
        if len(text) > MAX_DOCUMENT_BYTES:
            raise RulebookInvalid([RulebookProblem("too_large", None, "", _limit())])
        try:
            text = text.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise RulebookInvalid(
                [RulebookProblem("bad_encoding", None, "", {"detail": str(exc.reason)})]
            ) from None
    if len(text.encode("utf-8")) > MAX_DOCUMENT_BYTES:
        raise RulebookInvalid([RulebookProblem("too_large", None, "", _limit())])
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            if allow_empty:
                return {}, None
            raise _Refused("empty", None)
        if not isinstance(node, yaml.MappingNode):
            raise _Refused("not_mapping", node.start_mark.line + 1)
        _check_duplicates(node)
        data = loader.construct_document(node)
    except _Refused as refused:
        raise RulebookInvalid([refused.problem]) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        detail = exc.problem or exc.context or "?"
        raise RulebookInvalid(
            [RulebookProblem("bad_yaml", mark.line + 1 if mark else None, "", {"detail": detail})]
        ) from None
    except yaml.YAMLError as exc:
        raise RulebookInvalid(
            [RulebookProblem("bad_yaml", None, "", {"detail": str(exc)})]
        ) from None
    finally:
        loader.dispose()
    return data, node


def _limit() -> dict[str, Any]:
    return {"limit": MAX_DOCUMENT_BYTES // 1024}


def _check_duplicates(node: Any) -> None:
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key, value in node.value:
            name = str(key.value)
            if name in seen:
                raise _Refused("duplicate_key", key.start_mark.line + 1, key=name)
            seen.add(name)
            _check_duplicates(value)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            _check_duplicates(item)


def load_rulebook(text: str | bytes) -> RuleBook:
    """A whole rule book from YAML; raises :class:`RulebookInvalid` with lines and reasons."""
    data, node = parse_document(text)
    try:
        return RuleBook.model_validate(data)
    except ValidationError as exc:
        raise RulebookInvalid(_problems(exc, node)) from None


def validate_data(data: Mapping[str, Any]) -> RuleBook:
    """A book from plain data (a form, the API's JSON); problems name paths, not lines."""
    try:
        return RuleBook.model_validate(data)
    except ValidationError as exc:
        raise RulebookInvalid(_problems(exc, None)) from None


def load_override(text: str | bytes, base: RuleBook) -> tuple[dict[str, Any], RuleBook]:
    """A group's partial document and the book it yields over ``base``.

    Problems are reported at the override's lines; a problem that lies in the
    community's part of the merged book has no line (only its path).
    """
    data, node = parse_document(text, allow_empty=True)
    try:
        return data, RuleBook.model_validate(merge_data(base.to_data(), data))
    except ValidationError as exc:
        raise RulebookInvalid(_problems(exc, node)) from None


def _problems(exc: ValidationError, root: Any) -> list[RulebookProblem]:
    out: list[RulebookProblem] = []
    errors = exc.errors(include_url=False)
    # A container also fails when an item in it failed ("at least 1 item"): report the item.
    deeper = {tuple(e["loc"])[:n] for e in errors for n in range(len(e["loc"]))}
    errors = [e for e in errors if tuple(e["loc"]) not in deeper or e["type"] in _OWN_TYPES]
    for error in errors[:MAX_PROBLEMS]:
        ctx = dict(error.get("ctx") or {})
        loc = tuple(error["loc"]) + tuple(ctx.pop("at", ()))
        kind = str(error["type"])
        code = _PYDANTIC_CODES.get(kind, kind)
        if loc == ("version",):
            code = "bad_version"
        params: dict[str, Any] = {k: str(v) for k, v in ctx.items()}
        if code not in PROBLEM_CODES:
            code = "invalid_value"
            params = {"detail": error["msg"]}
        if code in {"unknown_key", "missing_key"}:
            params["key"] = str(loc[-1]) if loc else ""
        out.append(RulebookProblem(code, _line(root, loc), _path(loc), params))
    out.sort(key=lambda p: (p.line is None, p.line or 0))
    return out


def _path(loc: Sequence[Any]) -> str:
    parts: list[str] = []
    for part in loc:
        if isinstance(part, int):
            parts.append(f"[{part}]")
        else:
            parts.append(("." if parts else "") + str(part))
    return "".join(parts)


def _line(root: Any, loc: Sequence[Any]) -> int | None:
    """The line of the deepest node on ``loc`` (the key's own line for a mapping key)."""
    if root is None:
        return None
    node = root
    line: int | None = None
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if str(key.value) == str(part):
                    line = key.start_mark.line + 1
                    node = value
                    break
            else:
                return line
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            if part >= len(node.value):
                break
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            break
    if line is None:
        return None if loc else root.start_mark.line + 1
    return line


def dump_data(data: Mapping[str, Any]) -> str:
    return yaml.safe_dump(
        dict(data), allow_unicode=True, sort_keys=False, default_flow_style=False, width=100
    )


def dump_rulebook(book: RuleBook) -> str:
    """The whole book as YAML; ``load_rulebook(dump_rulebook(b)) == b``."""
    return "# Qunyun rule book (docs/rulebook.md)\n" + dump_data(book.to_data())
