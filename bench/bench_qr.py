"""QR decode rates on zxing's black-box corpus, and decode / render costs.

    .venv/bin/python -m bench.bench_qr

Prints Markdown: per folder, images read at 0°, 90°, 180° and 270° against zxing's own
0° threshold, misreads, which pass found them; then timings, each beside a baseline so
the ratio says what our fallbacks, limits and logo check cost: decode_image against one
bare ``zxingcpp.read_barcodes`` call for the same QR formats (open, grey, one pass), and
rendering with a logo against without. The machine is shared: run it twice.
"""

from __future__ import annotations

import io
import statistics
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import zxingcpp
from PIL import Image, ImageDraw

from qunyun.qr import QrStyle, decode_image, render_png, render_svg
from qunyun.qr.decode import load_upload, read_codes_with_pass

CORPUS = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "qr_zxing"
ZXING_MUST_PASS_AT_0 = {
    "qrcode-1": 17,
    "qrcode-2": 31,
    "qrcode-3": 38,
    "qrcode-4": 36,
    "qrcode-5": 19,
    "qrcode-6": 15,
}
QR_FAMILY = zxingcpp.BarcodeFormats(
    [
        zxingcpp.BarcodeFormat.QRCode,
        zxingcpp.BarcodeFormat.MicroQRCode,
        zxingcpp.BarcodeFormat.RMQRCode,
    ]
)
TURNS = {
    0: None,
    90: Image.Transpose.ROTATE_270,  # PIL turns counter-clockwise; zxing's tests clockwise
    180: Image.Transpose.ROTATE_180,
    270: Image.Transpose.ROTATE_90,
}


def _median_ms(action: Callable[[], object], repeat: int = 5) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def corpus_table() -> None:
    print("| folder | images | 0° | 90° | 180° | 270° | zxing needs at 0° | misread | found by |")
    print("|---|---|---|---|---|---|---|---|---|")
    for folder, must_pass in ZXING_MUST_PASS_AT_0.items():
        images = sorted((CORPUS / folder).glob("*.png"))
        read = dict.fromkeys(TURNS, 0)
        misread = 0
        passes: Counter[str] = Counter()
        for path in images:
            expected = path.with_suffix(".txt").read_bytes().decode("utf-8")
            upright = load_upload(path.read_bytes())
            for degrees, turn in TURNS.items():
                image = upright if turn is None else upright.transpose(turn)
                name, codes = read_codes_with_pass(image)
                texts = [code.text for code in codes]
                if expected in texts:
                    read[degrees] += 1
                    if degrees == 0 and name is not None:
                        passes[name] += 1
                elif texts:
                    misread += 1
        found_by = ", ".join(f"{name} {count}" for name, count in passes.most_common())
        cells = " | ".join(str(read[d]) for d in TURNS)
        print(f"| {folder} | {len(images)} | {cells} | {must_pass} | {misread} | {found_by} |")
    multi = decode_image((CORPUS / "multi-qrcode-1" / "1.png").read_bytes())
    print(f"\nmulti-qrcode-1/1.png: {len(multi)} of 4 codes found")


def _photo(width: int, height: int, with_code: bool) -> bytes:
    # Smooth blotches, like a real photo's background, so the JPEG stays a few MB.
    texture = Image.effect_noise((width // 16, height // 16), 60)
    photo = texture.resize((width, height), Image.Resampling.BICUBIC).convert("RGB")
    if with_code:
        code = Image.open(io.BytesIO(render_png("https://q.example.cn/s/bench", QrStyle(scale=12))))
        photo.paste(code.convert("RGB"), (width // 2, height // 3))
    out = io.BytesIO()
    photo.save(out, format="JPEG", quality=85)
    return out.getvalue()


def _bare_zxing(data: bytes) -> object:
    with Image.open(io.BytesIO(data)) as image:
        return zxingcpp.read_barcodes(image.convert("L"), formats=QR_FAMILY)


def timing_table() -> None:
    corpus = [p.read_bytes() for p in sorted(CORPUS.glob("qrcode-*/*.png"))]
    logo = Image.new("RGB", (256, 256), (200, 30, 30))
    ImageDraw.Draw(logo).ellipse((16, 16, 240, 240), fill=(20, 20, 140))
    logo_bytes = io.BytesIO()
    logo.save(logo_bytes, format="PNG")
    url = "https://q.example.cn/s/Ab3x9"
    rows: list[tuple[str, float, str, float]] = []
    per_image = _median_ms(lambda: [decode_image(d) for d in corpus], repeat=3) / len(corpus)
    bare = _median_ms(lambda: [_bare_zxing(d) for d in corpus], repeat=3) / len(corpus)
    rows.append(("decode_image, corpus, per image", per_image, "bare zxing call", bare))
    for label, width, height in (("12 Mpx JPEG", 4000, 3000), ("36 Mpx JPEG", 6000, 6000)):
        for with_code in (True, False):
            data = _photo(width, height, with_code)
            ours = _median_ms(lambda data=data: decode_image(data), repeat=3)  # type: ignore[misc]
            base = _median_ms(lambda data=data: _bare_zxing(data), repeat=3)  # type: ignore[misc]
            what = "with a code" if with_code else "no code (every fallback runs)"
            rows.append((f"decode_image, {label}, {what}", ours, "bare zxing call", base))
    plain = _median_ms(lambda: render_png(url))
    rows.append(
        (
            "render_png with logo (incl. readback)",
            _median_ms(lambda: render_png(url, logo=logo_bytes.getvalue())),
            "render_png without",
            plain,
        )
    )
    svg = _median_ms(lambda: render_svg(url))
    rows.append(
        (
            "render_svg with logo (incl. readback)",
            _median_ms(lambda: render_svg(url, logo=logo_bytes.getvalue())),
            "render_svg without",
            svg,
        )
    )
    print("| what | ms | baseline | baseline ms | ratio |")
    print("|---|---|---|---|---|")
    for what, ms, baseline, base_ms in rows:
        print(f"| {what} | {ms:.1f} | {baseline} | {base_ms:.1f} | {ms / base_ms:.1f}x |")


if __name__ == "__main__":
    corpus_table()
    print()
    timing_table()
