"""``qunyun qr``: make a QR code image, read the codes in image files.

No database and no login: these commands only turn text into images and back.
Refusals print the message in the configured language and exit with 2; ``decode``
exits with 1 when no file holds a code.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from qunyun.errors import DomainError
from qunyun.i18n import error_text, gettext
from qunyun.qr.decode import DEFAULT_MAX_BYTES, FoundCode, decode_image
from qunyun.qr.render import MAX_LOGO_BYTES, render_png, render_svg
from qunyun.qr.style import QrStyle
from qunyun.settings import Settings

qr_app = typer.Typer(
    help="QR codes: make PNG or SVG images, decode image files.", no_args_is_help=True
)

_FORMATS = {".png": "png", ".svg": "svg"}


def _language() -> str:
    # Settings() has no side effects (load_settings would create a secret key file).
    return Settings().language


def _message(exc: DomainError) -> str:
    return error_text(exc, _language())


def _read_limited(path: Path, max_bytes: int, code: str) -> bytes:
    """The file's bytes, refused by its size before it is read."""
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise DomainError(code, status=413, size=size, limit=max_bytes)
        with path.open("rb") as fh:
            data = fh.read(max_bytes + 1)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise DomainError("qr.file_unreadable", name=str(path), reason=reason) from exc
    if len(data) > max_bytes:  # it grew since stat()
        raise DomainError(code, status=413, size=f"{len(data)}+", limit=max_bytes)
    return data


@qr_app.command("make")
def make(
    text: Annotated[str, typer.Argument(help="the text or URL to encode")],
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="FILE.png or FILE.svg; without it, SVG to stdout"),
    ] = None,
    scale: Annotated[int, typer.Option(help="pixels per module")] = 10,
    width: Annotated[
        int | None, typer.Option(help="exact image width in pixels (overrides --scale)")
    ] = None,
    border: Annotated[int, typer.Option(help="quiet zone in modules")] = 4,
    dark: Annotated[str, typer.Option(help="module colour, #rrggbb")] = "#000000",
    light: Annotated[str, typer.Option(help="background colour, #rrggbb")] = "#ffffff",
    error: Annotated[str, typer.Option(help="error correction L, M, Q or H")] = "M",
    logo: Annotated[
        Path | None, typer.Option(help="centre logo (PNG, JPEG, WebP); forces level H")
    ] = None,
    logo_ratio: Annotated[
        float, typer.Option(help="share of the code's width under the logo, 0.05-0.5")
    ] = 0.2,
) -> None:
    """Make a QR code image; the format follows the output file's extension."""
    try:
        fmt = "svg" if output is None else _FORMATS.get(output.suffix.lower())
        if fmt is None:
            raise DomainError("qr.output_format_unknown", name=str(output))
        style = QrStyle(
            scale=scale,
            width=width,
            border=border,
            dark=dark,
            light=light,
            error=error,
            logo_ratio=logo_ratio,
        )
        logo_bytes = (
            None if logo is None else _read_limited(logo, MAX_LOGO_BYTES, "qr.logo_too_large")
        )
        data = (
            render_svg(text, style, logo_bytes).encode("utf-8")
            if fmt == "svg"
            else render_png(text, style, logo_bytes)
        )
        if output is None:
            sys.stdout.buffer.write(data + b"\n")
            sys.stdout.buffer.flush()
            return
        try:
            output.write_bytes(data)
        except OSError as exc:
            reason = exc.strerror or str(exc)
            raise DomainError("qr.file_unwritable", name=str(output), reason=reason) from exc
    except DomainError as exc:
        typer.echo(_message(exc), err=True)
        raise typer.Exit(2) from None
    typer.echo(gettext("qr.cli.written", _language(), file=str(output)), err=True)


def _code_json(code: FoundCode) -> dict[str, Any]:
    return {
        "text": code.text,
        "kind": code.kind.value,
        "box": list(code.box),
        "points": [list(point) for point in code.points],
        "expires_at": code.expires_at.isoformat() if code.expires_at else None,
    }


@qr_app.command("decode")
def decode(
    files: Annotated[
        list[Path],
        typer.Argument(help="image files: PNG, JPEG, WebP or GIF", dir_okay=False),
    ],
    as_json: Annotated[bool, typer.Option("--json", help="one JSON document on stdout")] = False,
) -> None:
    """Read every QR code in each image: its text, kind and box (left, top, right, bottom)."""
    language = _language()
    results: list[dict[str, Any]] = []
    found_any = refused_any = False
    for path in files:
        try:
            codes = decode_image(_read_limited(path, DEFAULT_MAX_BYTES, "qr.image_too_large"))
        except DomainError as exc:
            refused_any = True
            message = _message(exc)
            results.append({"file": str(path), "error": {"code": exc.code, "message": message}})
            typer.echo(f"{path}: {message}", err=True)
            continue
        found_any = found_any or bool(codes)
        results.append({"file": str(path), "codes": [_code_json(c) for c in codes]})
        if as_json:
            continue
        if not codes:
            typer.echo(gettext("qr.cli.none_found", language, file=str(path)))
            continue
        typer.echo(gettext("qr.cli.codes_found", language, file=str(path), count=len(codes)))
        for code in codes:
            left, top, right, bottom = code.box
            shown = code.text.replace("\n", "\n    ")
            typer.echo(f"  [{code.kind.value}] ({left},{top})-({right},{bottom})  {shown}")
    if as_json:
        typer.echo(json.dumps(results, ensure_ascii=False, indent=2))
    if refused_any:
        raise typer.Exit(2)
    if not found_any:
        raise typer.Exit(1)
