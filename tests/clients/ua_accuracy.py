"""Accuracy of ``classify`` against labelled third-party corpora, per corpus and field.

    python tests/clients/ua_accuracy.py          # prints the table, rewrites docs/ua-accuracy.md

The corpora label things in their own words; the maps below translate them into
Qunyun's (OS family, device type, bot). Browser names are compared after folding away
words that only say "mobile" or "webview", plus a short table of true synonyms.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from qunyun.clients import Client, DeviceType, classify
from qunyun.clients.platform import normalise_os

ROOT = Path(__file__).resolve().parents[2]
CORPORA_DIR = ROOT / "tests" / "fixtures" / "ua_corpora"
REPORT = ROOT / "docs" / "ua-accuracy.md"
CORPORA = ("uap_core", "ua_parser_js", "whichbrowser", "bowser", "woothee")
FIELDS = ("os", "browser", "device", "form", "bot")
# "form": device type restricted to cases labelled phone, tablet or desktop, the split
# that matters most to Qunyun (TVs, consoles, bots and the like left out).
_FORMS = frozenset({"phone", "tablet", "desktop"})

PHONE, TABLET, DESKTOP, BOT, OTHER = (d.value for d in DeviceType)

# Device labels -> the Qunyun device types that count as right. Woothee's "smartphone"
# covers tablets too (iPad, Android tablets), so either answer is right there.
DEVICE_LABELS: dict[str, dict[str, frozenset[str]]] = {
    "uap_core": {
        "iPhone": frozenset({PHONE}),
        "iPad": frozenset({TABLET}),
        "Spider": frozenset({BOT}),
    },
    "ua_parser_js": {
        "mobile": frozenset({PHONE}),
        "tablet": frozenset({TABLET}),
        "smarttv": frozenset({OTHER}),
        "wearable": frozenset({OTHER}),
        "console": frozenset({OTHER}),
        "embedded": frozenset({OTHER}),
        "xr": frozenset({OTHER}),
    },
    "whichbrowser": {
        "mobile": frozenset({PHONE}),
        "pda": frozenset({PHONE}),
        "tablet": frozenset({TABLET}),
        "ereader": frozenset({TABLET}),
        "desktop": frozenset({DESKTOP}),
        "bot": frozenset({BOT}),
        **{
            label: frozenset({OTHER})
            for label in (
                "television",
                "gaming",
                "media",
                "watch",
                "printer",
                "car",
                "signage",
                "headset",
                "camera",
                "emulator",
                "appliance",
                "devboard",
                "gps",
            )
        },
    },
    "bowser": {
        "mobile": frozenset({PHONE}),
        "tablet": frozenset({TABLET}),
        "desktop": frozenset({DESKTOP}),
        "tv": frozenset({OTHER}),
        "bot": frozenset({BOT}),
    },
    "woothee": {
        "pc": frozenset({DESKTOP}),
        "smartphone": frozenset({PHONE, TABLET}),
        "mobilephone": frozenset({PHONE}),
        "crawler": frozenset({BOT}),
        "misc": frozenset({BOT}),
        "appliance": frozenset({OTHER}),
    },
}

# OS names the corpora use that ua-parser's vocabulary does not cover.
_OS_ALIASES = {
    "os x": "macOS",
    "mac osx": "macOS",
    "mac os x": "macOS",
    "macos": "macOS",
    "iphone": "iOS",
    "ipad": "iOS",
    "ipod": "iOS",
    "ipados": "iOS",
    "chromium os": "ChromeOS",
    "chromeos": "ChromeOS",
    "harmony os": "HarmonyOS",
    "harmonyos": "HarmonyOS",
    "openharmony": "HarmonyOS",
    # Amazon's Android fork; Qunyun has no separate family for it.
    "fireos": "Android",
    "fire os": "Android",
    "android tv": "Android",
    "google tv": "Android",
    "android wear": "Android",
    "wear os": "Android",
    "nokia x platform": "Android",
    "windows phone": "Windows",
    "windows phone os": "Windows",
    "windows mobile": "Windows",
    "windows ce": "Windows",
    "windows iot": "Windows",
    "windows rt": "Windows",
}
_LINUX_NAMES = re.compile(
    r"^(linux|ubuntu|kubuntu|xubuntu|lubuntu|debian|fedora|red ?hat|centos|suse|opensuse"
    r"|gentoo|mint|linux mint|arch|arch linux|slackware|mandriva|raspbian|manjaro|deepin"
    r"|elementary os|zenwalk|pclinuxos|mageia|knoppix|vectorlinux)$",
    re.I,
)

# True synonyms between the corpora's browser names and ua-parser's.
_BROWSER_SYNONYMS = {
    "ie": "internetexplorer",
    "iemobile": "internetexplorer",
    "mobileinternetexplorer": "internetexplorer",
    "pocketinternetexplorer": "internetexplorer",
    "msie": "internetexplorer",
    "android": "androidbrowser",
    "androidbrowser": "androidbrowser",
    "chromemobileios": "chrome",
    "crios": "chrome",
    "chromium": "chromium",
    "firefoxios": "firefox",
    "fxios": "firefox",
    "samsunginternet": "samsung",
    "samsungbrowser": "samsung",
    "ucbrowser": "uc",
    "uc": "uc",
    "qqbrowser": "qq",
    "qqbrowsermini": "qq",
    "qq": "qq",
    "operamobile": "opera",
    "operacoast": "opera",
    "operatouch": "opera",
    "edge": "edge",
    "edgemobile": "edge",
    "edga": "edge",
    "yandex": "yandex",
    "yabrowser": "yandex",
    "silk": "silk",
    "amazonsilk": "silk",
    "baiduexplorer": "baidu",
    "baidu": "baidu",
    "baidubox": "baidu",
    "huawei": "huawei",
    "huaweibrowser": "huawei",
    "miui": "miui",
    "miuibrowser": "miui",
    "xiaomibrowser": "miui",
    "wechat": "wechat",
    "wechatbrowser": "wechat",
    "safariuiwkwebview": "safari",
    "webkit": "safari",
    "blackberrywebkit": "blackberry",
    "blackberry": "blackberry",
    "nokiabrowser": "nokia",
    "nokia": "nokia",
    "nokiaovi": "nokia",
    "nokiaservices": "nokia",
    "sogouexplorer": "sogou",
    "sogou": "sogou",
    "qihoo360": "360",
    "360": "360",
    "360browser": "360",
    "36020browser": "360",
    "baiduapp": "baidu",
    "operadevices": "opera",
    "vewd": "opera",
    "ovi": "nokiaxpress",
    "ovibrowser": "nokiaxpress",
    "openwave": "upbrowser",
    "upbrowser": "upbrowser",
    "obigoq": "obigo",
    "obigowap": "obigo",
    "teleca": "obigo",
    "telecabrowser": "obigo",
    "gnomeweb": "epiphany",
    "bonecho": "firefox",
    "namoroka": "firefox",
    "minefield": "firefox",
    "shiretoko": "firefox",
    "webkitnightlybuild": "webkitnightly",
    "palmblazer": "blazer",
    "microb": "maemo",
    "maemobrowser": "maemo",
    "googleappengine": "appengine",
    "appenginegoogle": "appengine",
    "microsoftedge": "edge",
    "fennec": "firefox",
    "chromeheadless": "headlesschrome",
    "twitter": "x",
}
_BROWSER_NOISE = re.compile(r"mobile|webview|browser|for ios|\bios\b|[^a-z0-9]", re.I)


def expected_os(label: Any) -> str | None:
    if not isinstance(label, str) or not label.strip() or label == "UNKNOWN":
        return None
    key = label.strip().lower()
    if key in _OS_ALIASES:
        return _OS_ALIASES[key]
    if key.startswith("windows"):
        return "Windows"
    if _LINUX_NAMES.match(key):
        return "Linux"
    return normalise_os(label).value


def browser_key(name: str) -> str:
    raw = re.sub(r"[^a-z0-9]", "", name.lower())
    if raw in _BROWSER_SYNONYMS:
        return _BROWSER_SYNONYMS[raw]
    folded = _BROWSER_NOISE.sub("", name.lower())
    return _BROWSER_SYNONYMS.get(folded, folded)


@dataclass(frozen=True, slots=True)
class Score:
    correct: int = 0
    total: int = 0

    def add(self, ok: bool) -> Score:
        return Score(self.correct + ok, self.total + 1)

    @property
    def accuracy(self) -> float:
        return self.correct / self.total if self.total else float("nan")


def load(corpus: str) -> Iterator[dict[str, Any]]:
    with (CORPORA_DIR / f"{corpus}.jsonl").open(encoding="utf-8") as fh:
        for line in fh:
            yield json.loads(line)


def judgements(corpus: str, case: dict[str, Any], got: Client) -> Iterator[tuple[str, bool]]:
    """(field, right?) for each field the case is labelled with."""
    os_label = expected_os(case["os"])
    if os_label is not None:
        yield "os", got.os == os_label
    if isinstance(case["browser"], str) and case["browser"] not in ("", "UNKNOWN"):
        yield "browser", browser_key(got.browser) == browser_key(case["browser"])
    accepted = DEVICE_LABELS[corpus].get(case["device"]) if case["device"] else None
    if accepted is not None:
        yield "device", got.device.value in accepted
        if accepted <= _FORMS:
            yield "form", got.device.value in accepted
    if case["bot"] is not None:
        yield "bot", got.is_bot == case["bot"]


def evaluate(
    corpora: Iterable[str] = CORPORA,
    on_miss: Callable[[str, str, dict[str, Any], Client], None] | None = None,
) -> dict[str, dict[str, Score]]:
    scores: dict[str, dict[str, Score]] = {}
    for corpus in corpora:
        fields = {field: Score() for field in FIELDS}
        for case in load(corpus):
            got = classify(case["ua"])
            for field, ok in judgements(corpus, case, got):
                fields[field] = fields[field].add(ok)
                if not ok and on_miss is not None:
                    on_miss(corpus, field, case, got)
        scores[corpus] = fields
    return scores


def markdown(scores: dict[str, dict[str, Score]]) -> str:
    lines = [
        "# User-Agent classification accuracy",
        "",
        "Generated by `python tests/clients/ua_accuracy.py` from the labelled corpora in",
        "`tests/fixtures/ua_corpora/` (sources and licences in its `SOURCES.md`). Each cell is",
        "accuracy and the number of cases carrying that label; the label maps (corpus words",
        "to Qunyun's OS families and device types) are in `tests/clients/ua_accuracy.py`.",
        "Browser family is ua-parser's answer, compared after folding away words such as",
        "'Mobile' and 'WebView'. '-' means the corpus has no such label.",
        "",
        "| corpus | OS family | browser family | device type | phone/tablet/desktop | bot |",
        "|---|---|---|---|---|---|",
    ]
    for corpus, fields in scores.items():
        cells = [
            f"{s.accuracy:.1%} (n={s.total})" if s.total else "-"
            for s in (fields[f] for f in FIELDS)
        ]
        lines.append(f"| {corpus} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "'phone/tablet/desktop' is the device-type column restricted to cases the corpus",
        "labels as a phone, tablet or computer (for Woothee: pc, smartphone, mobilephone).",
        "",
        "Notes: uap-core's device file names devices, not types, so only its iPhone, iPad and",
        "Spider cases are scored there (one case in eight is kept). Woothee's `smartphone`",
        "includes tablets, so phone or tablet both count; its `misc` (HTTP libraries, feed",
        "readers) counts as bot. WhichBrowser's `ereader` counts as tablet, `media`,",
        "`gaming`, `television` and the like as other.",
        "",
        "Known, deliberate disagreements: a User-Agent holding a URL, a headless browser",
        "(PhantomJS) or QQ's link checker (QQ-URL-Manager) is a bot for Qunyun, while Bowser",
        "and Woothee file some of them under phones or computers; consoles (Xbox) are 'other',",
        "not desktop; Puffin's 'IT' suffix is an iPad (uap-core and WhichBrowser agree, Bowser",
        "says desktop); WhatsApp's own HTTP client is a preview fetcher; WeCom is reported as",
        "WeCom, not 'WeChat Browser'; in-app browsers are",
        "named after their app (ua-parser calls Douyin 'TikTok' and WeChat on Android",
        "'QQ Browser Mobile', after the engine it embeds).",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str]) -> None:
    misses: list[str] = []

    def note(corpus: str, field: str, case: dict[str, Any], got: Client) -> None:
        label = case["device" if field == "form" else field]
        have = {
            "os": got.os,
            "browser": got.browser,
            "device": got.device.value,
            "form": got.device.value,
            "bot": got.is_bot,
        }
        misses.append(
            f"{corpus}\t{field}\twant={label}\tgot={have[field]}\t{case['at']}\t{case['ua']}"
        )

    scores = evaluate(on_miss=note if "--misses" in argv else None)
    report = markdown(scores)
    print(report)
    if "--misses" in argv:
        print("\n".join(misses), file=sys.stderr)
    if "--no-write" not in argv:
        REPORT.parent.mkdir(exist_ok=True)
        REPORT.write_text(report, encoding="utf-8")


if __name__ == "__main__":
    main(sys.argv[1:])
