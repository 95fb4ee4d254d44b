"""Decoding real photos and scans: zxing's black-box corpus and pyzbar's samples.

The thresholds are the 0° ``mustPassCount`` of zxing's own tests
(``QRCodeBlackBox1TestCase`` … ``6``, core/src/test/java/com/google/zxing/qrcode/), which
run without try-harder; our decoder must read at least as many. Measured counts are in
docs/qr-decode-rates.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
from PIL import Image

from qunyun.qr import FoundCode, PayloadKind, decode_image
from tests.qr.qr_helpers import PYZBAR_DIR, ZXING_DIR

ZXING_MUST_PASS_AT_0 = {
    "qrcode-1": 17,
    "qrcode-2": 31,
    "qrcode-3": 38,
    "qrcode-4": 36,
    "qrcode-5": 19,
    "qrcode-6": 15,
}
# zxing's MultiQRCodeTestCase expects exactly these four texts from multi-qrcode-1/1.png.
MULTI_QRCODE_1 = {
    "You earned the class a 5 MINUTE DANCE PARTY!!  Awesome!  Way to go!  Let's boogie!",
    "You earned the class 5 EXTRA MINUTES OF RECESS!!  Fabulous!!  Way to go!!",
    "You get to SIT AT MRS. SIGMON'S DESK FOR A DAY!!  Awesome!!  Way to go!! "
    "Guess I better clean up! :)",
    "You get to CREATE OUR JOURNAL PROMPT FOR THE DAY!  Yay!  Way to go!  ",
}


@dataclass(frozen=True)
class FolderResult:
    images: int
    passed: int
    misread: int
    failures: tuple[str, ...]


def _check_geometry(code: FoundCode, path: Path) -> None:
    with Image.open(path) as image:
        width, height = image.size
    assert len(code.points) == 4
    left, top, right, bottom = code.box
    assert 0 <= left < right < width
    assert 0 <= top < bottom < height
    for x, y in code.points:
        assert left <= x <= right
        assert top <= y <= bottom


def _run_folder(folder: Path) -> FolderResult:
    passed = misread = 0
    failures = []
    images = sorted(folder.glob("*.png"))
    for image in images:
        expected = image.with_suffix(".txt").read_bytes().decode("utf-8")
        found = decode_image(image.read_bytes())
        for code in found:
            _check_geometry(code, image)
        texts = [code.text for code in found]
        if expected in texts:
            passed += 1
        else:
            misread += bool(texts)
            failures.append(image.name)
    return FolderResult(len(images), passed, misread, tuple(failures))


@pytest.fixture(scope="module")
def corpus_dir() -> Path:
    if not ZXING_DIR.is_dir():
        pytest.skip(f"zxing black-box images missing at {ZXING_DIR}")
    return ZXING_DIR


@pytest.mark.parametrize(("folder", "must_pass"), sorted(ZXING_MUST_PASS_AT_0.items()))
def test_zxing_blackbox_at_least_zxing_own_threshold(
    folder: str, must_pass: int, corpus_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    result = _run_folder(corpus_dir / folder)

    with capsys.disabled():
        print(
            f"\n[qr decode] {folder}: {result.passed}/{result.images} read at 0° "
            f"(zxing requires {must_pass}), {result.misread} misread, "
            f"not read: {', '.join(result.failures) or '-'}"
        )
    assert result.passed >= must_pass
    assert result.misread == 0


def test_multi_qrcode_finds_all_four(corpus_dir: Path) -> None:
    path = corpus_dir / "multi-qrcode-1" / "1.png"
    found = decode_image(path.read_bytes())

    assert {code.text for code in found} == MULTI_QRCODE_1
    assert len(found) == 4
    for code in found:
        _check_geometry(code, path)
    assert len({code.box for code in found}) == 4
    tops = [code.box[1] for code in found]
    assert tops == sorted(tops)


def test_pyzbar_samples() -> None:
    expected = dict(
        line.split("\t") for line in (PYZBAR_DIR / "expected.tsv").read_text().splitlines()
    )
    assert expected["qrcode.png"] == "Thalassiodracon"

    single = decode_image((PYZBAR_DIR / "qrcode.png").read_bytes())
    rotated = decode_image((PYZBAR_DIR / "qrcode_rotated.png").read_bytes())
    empty = decode_image((PYZBAR_DIR / "empty.png").read_bytes())

    assert [code.text for code in single] == ["Thalassiodracon"]
    assert [code.text for code in rotated] == ["Thalassiodracon"] * 2
    assert rotated[0].box != rotated[1].box
    assert empty == []
    assert single[0].kind is PayloadKind.TEXT
    assert single[0].expires_at is None
