"""User-Agent Client Hints (``Sec-CH-UA-*`` headers) refining a User-Agent's answer.

Chromium browsers freeze parts of the User-Agent ("Android 10; K", "Windows NT 10.0"
for Windows 11) and send the truth in these headers when asked. Only the few headers
that change the answer are read, so they form a small cache key.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace

from qunyun.clients.model import OS, Client, DeviceType
from qunyun.clients.platform import is_tablet_model, normalise_os

MOBILE = "sec-ch-ua-mobile"
PLATFORM = "sec-ch-ua-platform"
PLATFORM_VERSION = "sec-ch-ua-platform-version"
MODEL = "sec-ch-ua-model"
FULL_VERSION_LIST = "sec-ch-ua-full-version-list"
RELEVANT = (MOBILE, PLATFORM, PLATFORM_VERSION, MODEL, FULL_VERSION_LIST)
_MAX_HINT_LENGTH = 300

_TABLET_WORD = re.compile(r"\bTab\b|Tablet|\bPad\b", re.I)
_BRAND = re.compile(r'"([^"]*)"\s*;\s*v\s*=\s*"([^"]*)"')
_GREASE = re.compile(r"not.?a.?brand", re.I)


@dataclass(frozen=True, slots=True)
class Hints:
    """The relevant Client Hints, unquoted; the empty string when a header is absent."""

    mobile: str = ""
    platform: str = ""
    platform_version: str = ""
    model: str = ""
    full_version_list: str = ""

    @property
    def empty(self) -> bool:
        return not (
            self.mobile
            or self.platform
            or self.platform_version
            or self.model
            or self.full_version_list
        )


def read_hints(headers: Mapping[str, str]) -> Hints:
    """Pick the relevant headers, whatever their case, unquoted and bounded in length."""
    found: dict[str, str] = {}
    for key, value in headers.items():
        name = str(key).strip().lower()
        if name in RELEVANT and value is not None:
            found[name] = str(value)[:_MAX_HINT_LENGTH].strip()
    return Hints(
        mobile=found.get(MOBILE, ""),
        platform=_unquote(found.get(PLATFORM, "")),
        platform_version=_unquote(found.get(PLATFORM_VERSION, "")),
        model=_unquote(found.get(MODEL, "")),
        full_version_list=found.get(FULL_VERSION_LIST, ""),
    )


def refine(client: Client, hints: Hints) -> Client:
    """``client`` corrected by what the hints say; bots keep their answer."""
    if client.is_bot or hints.empty:
        return client
    os_family, os_version = _refine_os(client, hints)
    device = _refine_device(client.device, os_family, hints)
    browser_version = _refine_browser_version(client, hints.full_version_list)
    return replace(
        client,
        os=str(os_family),
        os_version=os_version,
        device=device,
        browser_version=browser_version,
    )


def _refine_os(client: Client, hints: Hints) -> tuple[str, str | None]:
    hinted = normalise_os(hints.platform) if hints.platform else OS.OTHER
    family = client.os
    # HarmonyOS browsers may report "Android": the User-Agent's HarmonyOS is more precise.
    if hinted is not OS.OTHER and family != OS.HARMONYOS:
        family = hinted
    version = client.os_version if family == client.os else None
    if hints.platform_version and (hinted is OS.OTHER or hinted == family):
        version = _platform_version(family, hints.platform_version) or version
    return family, version


def _platform_version(family: str, raw: str) -> str | None:
    parts = [p for p in raw.split(".") if p.isdigit()]
    if not parts:
        return None
    if family == OS.WINDOWS:
        # Per the spec: 13 and above is Windows 11, 1-10 is Windows 10, 0.x is older.
        major = int(parts[0])
        if major >= 13:
            return "11"
        if major >= 1:
            return "10"
        minor = int(parts[1]) if len(parts) > 1 else 0
        return {1: "7", 2: "8", 3: "8.1"}.get(minor)
    while len(parts) > 1 and int(parts[-1]) == 0:
        parts.pop()
    return ".".join(str(int(p)) for p in parts)


def _refine_device(device: DeviceType, os_family: str, hints: Hints) -> DeviceType:
    if device is DeviceType.OTHER:
        return device
    tablet_model = bool(hints.model) and (
        _TABLET_WORD.search(hints.model) is not None or is_tablet_model(hints.model)
    )
    if hints.mobile == "?1":
        return DeviceType.TABLET if tablet_model else DeviceType.PHONE
    if tablet_model:
        return DeviceType.TABLET
    if hints.mobile == "?0":
        if os_family in (OS.ANDROID, OS.HARMONYOS, OS.IOS):
            return DeviceType.TABLET
        if os_family in (OS.WINDOWS, OS.MACOS, OS.LINUX, OS.CHROMEOS):
            return DeviceType.DESKTOP
    return device


def _refine_browser_version(client: Client, full_version_list: str) -> str | None:
    """The full version of the browser's own brand, when the UA's one is frozen."""
    if not full_version_list:
        return client.browser_version
    browser = client.browser.lower()
    for match in _BRAND.finditer(full_version_list):
        brand, version = match.group(1), match.group(2)
        if _GREASE.search(brand) or not version:
            continue
        name = brand.lower().replace("google ", "").replace("microsoft ", "")
        if name and name in browser:
            return version
    return client.browser_version


def _unquote(value: str) -> str:
    return value.strip().strip('"').strip()
