"""A real local HTTP server holding a QR-code image and a broken one, for the tests that
fetch message images (the QR check)."""

from __future__ import annotations

import functools
import http.server
import io
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import segno

# A WeChat personal-contact QR code, the kind the starter book's ads category refuses.
QR_TARGET = "https://u.wechat.com/EDdV8Kk2yBgT"


@contextmanager
def serve_images(folder: Path) -> Iterator[str]:
    """Serve ``qr.png`` and ``broken.png`` from ``folder``; yields the base URL."""
    qr = io.BytesIO()
    segno.make_qr(QR_TARGET).save(qr, kind="png", scale=8)
    (folder / "qr.png").write_bytes(qr.getvalue())
    (folder / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
