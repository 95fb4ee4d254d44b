"""Operating system and device type from a User-Agent, on top of ua-parser's answer.

ua-parser names OS families in its own words ("Mac OS X", "Chrome OS", "Ubuntu") and
gives a device's brand and model but not whether it is a phone, a tablet or a computer;
the rules here fold its families into :class:`OS` and derive :class:`DeviceType`.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from qunyun.clients.gate import Gated, gated
from qunyun.clients.model import OS, DeviceType

_OS_FAMILIES: dict[str, OS] = {
    "ios": OS.IOS,
    "android": OS.ANDROID,
    "windows": OS.WINDOWS,
    "windows phone": OS.WINDOWS,
    "windows mobile": OS.WINDOWS,
    "windows rt": OS.WINDOWS,
    "mac os x": OS.MACOS,
    "mac os": OS.MACOS,
    "macos": OS.MACOS,
    "chrome os": OS.CHROMEOS,
    "chromium os": OS.CHROMEOS,
    "chromeos": OS.CHROMEOS,
    "linux": OS.LINUX,
    "harmonyos": OS.HARMONYOS,
    "openharmony": OS.HARMONYOS,
}
# Desktop distributions ua-parser reports by name.
_LINUX_DISTRIBUTIONS = frozenset(
    {
        "ubuntu",
        "kubuntu",
        "xubuntu",
        "lubuntu",
        "debian",
        "fedora",
        "red hat",
        "centos",
        "suse",
        "opensuse",
        "gentoo",
        "mint",
        "linux mint",
        "arch linux",
        "slackware",
        "mandriva",
        "raspbian",
        "manjaro",
    }
)

_HARMONY_VERSION = re.compile(r"(?:HarmonyOS|OpenHarmony)[ /]?(\d+(?:\.\d+)*)?")


def normalise_os(family: str | None) -> OS:
    """Fold an OS family name (ua-parser's or a Client Hint's) into :class:`OS`."""
    if not family:
        return OS.OTHER
    key = family.strip().strip('"').lower()
    if key in _OS_FAMILIES:
        return _OS_FAMILIES[key]
    if key in _LINUX_DISTRIBUTIONS:
        return OS.LINUX
    return OS.OTHER


def harmony_version(ua: str) -> tuple[bool, str | None]:
    """Whether ``ua`` is HarmonyOS, and its HarmonyOS version when the UA states it.

    HarmonyOS 2-4 keeps an Android token ("Android 12; HarmonyOS") whose number is the
    compatibility level, not the HarmonyOS version, so only an explicit number counts.
    """
    match = _HARMONY_VERSION.search(ua)
    if match is None:
        return False, None
    return True, match.group(1)


# HarmonyOS NEXT opens its platform with the form factor: "(Phone; OpenHarmony 5.0)".
_HARMONY_FORM = re.compile(r"^Mozilla/5\.0 \((Phone|Tablet|PC|2in1|Wearable|TV);")
_HARMONY_FORMS: dict[str, DeviceType] = {
    "Phone": DeviceType.PHONE,
    "Tablet": DeviceType.TABLET,
    "PC": DeviceType.DESKTOP,
    "2in1": DeviceType.DESKTOP,
    "Wearable": DeviceType.OTHER,
    "TV": DeviceType.OTHER,
}
_APPLE_HANDHELD = re.compile(r"\((iPad|iPhone|iPod)")
_IPAD = gated(r"\biPad", "ipad", 0)
_IPHONE = gated(r"\biPhone|\biPod", "iphone ipod", 0)
# TVs, consoles, watches, headsets, set-top boxes: not phones or computers.
_OTHER_DEVICE = gated(
    r"SmartTV|SMART-TV|Smart-?TV|\bHbbTV|GoogleTV|Google ?TV|Android ?TV|AppleTV|Apple ?TV"
    r"|\bCrKey\b|\bRoku|BRAVIA|NetCast|Web0S|webOS\.TV|\bTizen[\d. ]*;? ?(?:Smart)?TV|\bAFT[A-Z]"
    r"|\bDTV\b|\bTV;|; TV\b|PlayStation|\bXbox|Nintendo|\bWii\b|OculusBrowser|\bQuest\b"
    r"|\bWatch\b|WatchOS|Wearable|\bGlass\b|\bSTB\b|Large Screen|\bPico\b|Espial|InettvBrowser"
    r"|Opera TV|Blu-?ray|BDPlayer|SonyCEBrowser|Hybridcast|NETTV|\bViera\b|AQUOSBrowser|\bMaple\b"
    r"|OpenTV|Freebox|NetRange|SmartHub|\bPhilipsTV|MiTV|MIBOX|AQUOS-?TV|TV ?Box"
    r"|\bSHIELD\)|\bSHIELD Android TV|OUYA|ZenWatch|SmartWatch|Moto 360|\bSM-[RL]\d{3}",
    "tv smart crkey roku bravia netcast web0s aft playstation xbox nintendo wii oculus quest"
    " watch wearable glass stb large~screen pico espial blu bdplayer sonycebrowser hybridcast"
    " viera aquos maple freebox netrange mibox shield ouya moto~360 sm-r sm-l",
)
# Puffin renders in the cloud and sends a desktop Linux UA; its suffix tells the device:
# IP/AP iPhone/Android phone, IT/AT iPad/Android tablet.
_PUFFIN = gated(r"Puffin/[\d.]+(I|A)(P|T)\b", "puffin/", 0)
_KINDLE = gated(
    r"\bKindle|\bSilk/|\bKF[A-Z]{2,6}\b|\bKobo|\bNook\b", "kindle silk/ kf kobo nook", 0
)
# iPadOS asks for desktop sites with a Mac UA; its web-views still say "Mobile/15E148"
# and the other browsers still name themselves (FxiOS, CriOS, EdgiOS).
IPAD_DESKTOP_MODE = gated(r"Macintosh.*(?:\bMobile/\w+|\b(?:FxiOS|CriOS|EdgiOS)/)", "macintosh", 0)
_TABLET_TOKEN = gated(
    r"\bTablet(?! PC)|PlayBook|RIM Tablet|\bTab(?:let)?;|\bPad\b|MatePad", "tab playbook pad"
)
# Tablet model codes of the big vendors, for app web-views that say "Mobile" on tablets:
# Huawei/Honor Wi-Fi tablets (``CMR-W09``) and tablet series (``AGS3-AL00``), Redmi and
# Xiaomi Pad (``24076RP19G``, ``M2105K81AC``), Samsung Galaxy Tab (``SM-T/X/P``), Lenovo
# (``TB-``, ``YT3-``, ``PB-``), OPPO/OnePlus Pad (``OPD``), vivo Pad (``PA2170``), Nokia
# T-series, Amazon Fire (``KF..``), Pixel Tablet. Matched against the model part only.
TABLET_MODEL = re.compile(
    r"\b(?!SCH|SGH|SHV|SHW|SPH)[A-Z]{3}\d?-W[0-9]{2}"
    r"|\b(?:AGS\d?|AGRK?|AGM\d?|BAH\d?|BTV|BG2|BGO|BZ[ADTW]|CMR|CPN|DBY\d?|DBR|GDI|GEM|GOT|HDN"
    r"|HEY\d?|JDN\d?|KOB\d?|KRJ|MON|MRO|MRR|MRX|ROD|SCM|SHT|WGR|BRT|ELN)-[A-Z]{1,3}\d{2}"
    r"|\bT1-[A-Z0-9]{3,4}\b|Lenovo ?(?:YT\d?|PB\d?|B[68]0[08]0)|\bMi ?Pad|\bNokia T\d{2}\b"
    r"|\b\d{4,5}[A-Z]?RP[A-Z0-9]{2,4}\b|\bM?2\d{3}K8\dA?C\b|\bSM-[TXP]\d{3}|\bLenovo ?TB"
    r"|\bTB-?[A-Z]?\d{3,4}[A-Z]{0,2}\b|\bTB\d-[A-Z]\d{2}|\bOPD\d{4}|\bPA2\d{3}\b|\bKF[A-Z]{2,6}\b"
    r"|Pixel Tablet|Xiaomi Pad|Redmi Pad|MatePad|HONOR Pad|\biPad|Nexus (?:7|9|10)\b"
)
# The platform part of a User-Agent, "(Linux; Android 12; BRT-W09 Build/...)", holds the model.
_PLATFORM_PART = re.compile(r"\(([^()]{0,300})\)")
_FEATURE_PHONE = gated(
    r"Opera Mini|UCWEB|\bMIDP|J2ME|Series ?40|Series ?60|\bS60\b|Symbian|BlackBerry|\bBB10\b"
    r"|Windows Phone|IEMobile|Windows CE|Windows Mobile|\bKAIOS\b|\bBada\b|NetFront"
    r"|UP\.Browser|Obigo|\bMAUI\b|Nokia|SonyEricsson|DoCoMo|\bPalm|\bwebOS\b|Maemo|MeeGo"
    r"|Sailfish|Firefox OS|\bBREW\b|Brew MP|Nintendo 3DS|UP\.Link|\bAU/\d|AU\.Browser|KDDI"
    r"|FOMA|WILLCOM|DDIPOCKET|jig browser|SoftBank|J-PHONE|Vodafone/|\bMOT-|SAMSUNG-"
    r"|\bLG-[A-Z]?\d{3,4}|\bSPRD\b|\bMTK\b|Series30",
    "opera~mini ucweb midp j2me series s60 symbian blackberry bb10 windows~phone iemobile"
    " windows~ce windows~mobile kaios bada netfront up.browser obigo maui nokia sonyericsson"
    " docomo palm webos maemo meego sailfish firefox~os brew nintendo up.link au/ au.browser"
    " kddi foma willcom ddipocket jig~browser softbank j-phone vodafone/ mot- samsung- lg- sprd"
    " mtk",
)
_MOBILE_TOKEN = gated(r"\bMobi|\bPhone\b|\bMobile\b", "mobi phone")
_ANDROID = gated(r"Android|\bAdr\b", "android adr")
_BROWSER_LIKE = re.compile(r"Mozilla/|Opera/")
_DESKTOP = gated(
    r"Windows NT|Macintosh|Mac OS X|\bX11\b|\bCrOS\b|Linux x86_64|Linux i686|FreeBSD|OpenBSD",
    "windows~nt macintosh mac~os~x x11 cros linux freebsd openbsd",
    0,
)

RULES: tuple[Gated, ...] = (
    _IPAD,
    _IPHONE,
    _OTHER_DEVICE,
    _PUFFIN,
    _KINDLE,
    IPAD_DESKTOP_MODE,
    _TABLET_TOKEN,
    _FEATURE_PHONE,
    _MOBILE_TOKEN,
    _ANDROID,
    _DESKTOP,
)


_NOT_A_MODEL = re.compile(
    r"^(?:Linux|U|wv|K|Mobile|Android\b.*|[a-z]{2}(?:[-_][A-Za-z]{2,4})?|arm.*)$"
)


def is_tablet_model(text: str) -> bool:
    return TABLET_MODEL.search(text) is not None


def _platform_has_tablet_model(platform: str) -> bool:
    """Test only the items that can name a model: "Linux; U; Android 9; zh-cn; X Build/Y"."""
    for item in platform.split(";"):
        model = item.partition(" Build")[0].strip()
        if len(model) > 2 and not _NOT_A_MODEL.match(model) and TABLET_MODEL.search(model):
            return True
    return False


def device_from_ua(
    ua: str,
    os_family: OS,
    parser_device: Callable[[], str | None] = lambda: None,
    lowered: str | None = None,
) -> DeviceType:
    """Phone, tablet, desktop or other, for a User-Agent already known not to be a bot.

    ``parser_device`` gives ua-parser's device family, asked for only as a last resort.
    """
    low = ua.lower() if lowered is None else lowered
    form = _HARMONY_FORM.match(ua)
    if form:
        return _HARMONY_FORMS[form.group(1)]
    apple = _APPLE_HANDHELD.search(ua)
    if apple:
        return DeviceType.TABLET if apple.group(1) == "iPad" else DeviceType.PHONE
    if _OTHER_DEVICE.search(ua, low):
        return DeviceType.OTHER
    puffin = _PUFFIN.search(ua, low)
    if puffin:
        return DeviceType.TABLET if puffin.group(2) == "T" else DeviceType.PHONE
    if _IPAD.search(ua, low):
        return DeviceType.TABLET
    if _IPHONE.search(ua, low):
        return DeviceType.PHONE
    if _KINDLE.search(ua, low) or IPAD_DESKTOP_MODE.search(ua, low):
        return DeviceType.TABLET
    platform = _PLATFORM_PART.search(ua)
    if _TABLET_TOKEN.search(ua, low) or (
        platform and _platform_has_tablet_model(platform.group(1))
    ):
        return DeviceType.TABLET
    mobile = _MOBILE_TOKEN.search(ua, low) is not None
    android = _ANDROID.search(ua, low) is not None or os_family in (OS.ANDROID, OS.HARMONYOS)
    if android and mobile:
        return DeviceType.PHONE
    if _FEATURE_PHONE.search(ua, low):
        return DeviceType.PHONE
    if android:
        # Google's rule for browsers: Android phones say "Mobile", tablets do not. Apps'
        # own HTTP clients ("YahooMobile/1.0 (...; Android 2.3.6; ...)") follow no such
        # rule and run on phones far more often.
        return DeviceType.TABLET if _BROWSER_LIKE.match(ua) else DeviceType.PHONE
    if mobile:
        return DeviceType.PHONE
    if _DESKTOP.search(ua, low) or os_family in (OS.WINDOWS, OS.MACOS, OS.LINUX, OS.CHROMEOS):
        return DeviceType.DESKTOP
    family = parser_device()
    if family in ("Generic Smartphone", "Generic Feature Phone", "iPhone"):
        return DeviceType.PHONE
    if family in ("Generic Tablet", "iPad"):
        return DeviceType.TABLET
    if os_family is OS.IOS:
        return DeviceType.PHONE
    return DeviceType.OTHER
