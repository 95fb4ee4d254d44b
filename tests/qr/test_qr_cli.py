"""``qunyun qr make`` and ``qunyun qr decode`` (the Typer app ``qr_app``)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from qunyun.qr import decode_image, render_svg
from qunyun.qr.cli import qr_app
from qunyun.qr.style import QrStyle
from tests.qr.qr_helpers import PYZBAR_DIR, ZXING_DIR

runner = CliRunner()


@pytest.fixture(autouse=True)
def isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No settings from the developer's machine: no config file, no secret written."""
    monkeypatch.chdir(tmp_path)
    for name in ("QUNYUN_CONFIG", "QUNYUN_LANGUAGE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("QUNYUN_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("QUNYUN_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")


def test_make_png_file(tmp_path: Path) -> None:
    target = tmp_path / "code.PNG"

    result = runner.invoke(
        qr_app, ["make", "https://example.com/cli", "-o", str(target), "--scale", "4"]
    )

    assert result.exit_code == 0, result.output
    assert [c.text for c in decode_image(target.read_bytes())] == ["https://example.com/cli"]
    assert not list(tmp_path.glob("*secret*"))  # the CLI wrote nothing but the image


def test_make_svg_to_stdout_with_style() -> None:
    options = ["--border", "2", "--dark", "#224466", "--error", "h"]

    result = runner.invoke(qr_app, ["make", "群运", *options])

    assert result.exit_code == 0, result.output
    expected = render_svg("群运", QrStyle(border=2, dark="#224466", error="H"))
    assert result.stdout.strip() == expected


def test_make_with_logo(tmp_path: Path, logo_png: bytes) -> None:
    logo = tmp_path / "logo.png"
    logo.write_bytes(logo_png)
    target = tmp_path / "with-logo.png"

    result = runner.invoke(
        qr_app, ["make", "https://example.com/logo", "-o", str(target), "--logo", str(logo)]
    )

    assert result.exit_code == 0, result.output
    assert [c.text for c in decode_image(target.read_bytes())] == ["https://example.com/logo"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-o", "code.gif"], "请使用 .png 或 .svg 结尾"),
        (["--dark", "#eeeeee"], "对比度只有"),
        (["--scale", "0"], "每个码点的像素数 0 无效"),
        (["--logo", "missing.png"], "无法读取文件 missing.png"),
        (["--logo-ratio", "0.9"], "Logo 占比 0.9 无效"),
    ],
)
def test_make_refusals(args: list[str], message: str) -> None:
    result = runner.invoke(qr_app, ["make", "text", *args])

    assert result.exit_code == 2
    assert message in result.stderr
    assert result.stdout == ""


def test_refusals_in_the_configured_language(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QUNYUN_LANGUAGE", "en")

    result = runner.invoke(qr_app, ["make", "text", "--error", "Z"])

    assert result.exit_code == 2
    assert "Invalid error-correction level Z" in result.stderr


def test_decode_prints_text_kind_and_box() -> None:
    result = runner.invoke(qr_app, ["decode", str(ZXING_DIR / "qrcode-1" / "13.png")])

    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].endswith("13.png：1 个二维码")
    assert lines[1].startswith("  [url] (")
    assert lines[1].endswith("  http://google.com/gwt/n?u=bluenile.com")


def test_decode_json_for_many_files() -> None:
    files = [ZXING_DIR / "multi-qrcode-1" / "1.png", PYZBAR_DIR / "empty.png"]

    result = runner.invoke(qr_app, ["decode", "--json", *map(str, files)])

    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert [entry["file"] for entry in report] == [str(f) for f in files]
    multi, empty = report
    assert len(multi["codes"]) == 4
    first = multi["codes"][0]
    assert set(first) == {"text", "kind", "box", "points", "expires_at"}
    assert first["kind"] == "text"
    assert len(first["box"]) == 4
    assert empty["codes"] == []


def test_decode_exits_1_when_no_file_holds_a_code(tmp_path: Path) -> None:
    copy = tmp_path / "blank.png"
    shutil.copyfile(PYZBAR_DIR / "empty.png", copy)

    result = runner.invoke(qr_app, ["decode", str(copy), str(PYZBAR_DIR / "empty.png")])

    assert result.exit_code == 1
    assert result.stdout.count("没有找到二维码") == 2


def test_decode_exits_2_on_a_refused_file(tmp_path: Path) -> None:
    junk = tmp_path / "notes.png"
    junk.write_text("not an image", encoding="utf-8")

    result = runner.invoke(qr_app, ["decode", str(junk), str(PYZBAR_DIR / "qrcode.png")])

    assert result.exit_code == 2
    assert f"{junk}: 上传的文件不是图片" in result.stderr
    assert "Thalassiodracon" in result.stdout  # the good file is still read


def test_decode_refuses_a_big_file_before_reading_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    big = tmp_path / "big.png"
    with big.open("wb") as fh:
        fh.truncate(11 * 1024 * 1024)  # sparse: nothing to read, only its size

    def no_reading(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("the file was opened")

    monkeypatch.setattr(Path, "open", no_reading)
    result = runner.invoke(qr_app, ["decode", "--json", str(big)])

    assert result.exit_code == 2
    [entry] = json.loads(result.stdout)
    assert entry["error"]["code"] == "qr.image_too_large"
