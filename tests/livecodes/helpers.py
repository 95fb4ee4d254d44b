"""Plain helpers for the live-code tests: realistic QR images and UAs."""

from __future__ import annotations

import io
from functools import lru_cache
from pathlib import Path

from PIL import Image, ImageDraw

from qunyun.qr import QrStyle, render_png

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"

WECHAT_GROUPS = (
    "https://weixin.qq.com/g/AbCdEfGhIjKlMnOp",
    "https://weixin.qq.com/g/QrStUvWxYz012345",
    "https://weixin.qq.com/g/A1b2C3d4E5f6G7h8",
)
WECOM_GROUP = "https://work.weixin.qq.com/gm/4f1c8a2b9d3e7f60a5b4c3d2e1f0a9b8"
STAFF_CARDS = ("https://u.wechat.com/EAbCdEfGhIjKlMn", "https://u.wechat.com/MNoPqRsTuVwXyZ0")

WECHAT_UA = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Mobile/15E148 MicroMessenger/8.0.47(0x18002f2c) NetType/WIFI "
    "Language/zh_CN"
)
ANDROID_WECHAT_UA = (
    "Mozilla/5.0 (Linux; Android 13; V2218A Build/TP1A.220624.014; wv) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Version/4.0 Chrome/111.0.5563.116 Mobile Safari/537.36 XWEB/5235 "
    "MMWEBSDK/20230805 MMWEBID/1234 MicroMessenger/8.0.42.2460(0x28002A35) WeChat/arm64 "
    "Weixin NetType/WIFI Language/zh_CN ABI/arm64"
)
DESKTOP_UA = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36"
)
TELEGRAM_BOT = "TelegramBot (like TwitterBot)"


@lru_cache(maxsize=32)
def qr_png(text: str) -> bytes:
    return render_png(text, QrStyle(scale=8))


@lru_cache(maxsize=8)
def invitation_card(text: str, fmt: str = "JPEG") -> bytes:
    """A screenshot-like invitation card: a header band, an avatar, the QR below."""
    code = Image.open(io.BytesIO(qr_png(text))).convert("RGB")
    card = Image.new("RGB", (code.width + 120, code.height + 260), (255, 255, 255))
    draw = ImageDraw.Draw(card)
    draw.rectangle((0, 0, card.width, 90), fill=(7, 193, 96))
    draw.ellipse((40, 110, 120, 190), fill=(200, 120, 40))
    card.paste(code, (60, 220))
    out = io.BytesIO()
    card.save(out, format=fmt, quality=92)
    return out.getvalue()


def two_codes() -> bytes:
    first = Image.open(io.BytesIO(qr_png(WECHAT_GROUPS[0]))).convert("RGB")
    second = Image.open(io.BytesIO(qr_png(WECHAT_GROUPS[1]))).convert("RGB")
    canvas = Image.new(
        "RGB", (first.width + second.width + 40, max(first.height, second.height)), "white"
    )
    canvas.paste(first, (0, 0))
    canvas.paste(second, (first.width + 40, 0))
    out = io.BytesIO()
    canvas.save(out, format="PNG")
    return out.getvalue()


def blank_png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (300, 200), (240, 240, 240)).save(out, format="PNG")
    return out.getvalue()
