"""The imports API and pages: rights, refusals, upload to finished job, live progress."""

from __future__ import annotations

import re
import time

from qunyun.accounts.roles import Role
from tests.conftest import App
from tests.imports.helpers import CHAT


def _wait_done(app: App, job_id: int, headers: dict[str, str]) -> dict[str, object]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        body = app.client.get(f"/api/v1/imports/{job_id}", headers=headers).json()
        if body["status"] not in ("queued", "running"):
            return dict(body)
        time.sleep(0.05)
    raise AssertionError("the import did not finish")


def test_upload_through_the_api_runs_to_done(any_imports_app: App) -> None:
    app = any_imports_app
    headers = {**app.token("op", Role.operator), "Accept-Language": "en"}
    data = (CHAT / "wechat" / "class_group.csv").read_bytes()
    created = app.client.post(
        "/api/v1/imports",
        headers=headers,
        files={"file": ("class_group.csv", data, "text/csv")},
        data={"format": "auto"},
    )
    assert created.status_code == 201, created.text
    job = created.json()
    assert job["format"] == "wechat_csv" and job["size_bytes"] == len(data)
    done = _wait_done(app, job["id"], headers)
    assert done["status"] == "done" and done["percent"] == 100
    assert (done["records_added"], done["skipped_count"]) == (9, 3)
    skipped = done["skipped"]
    assert isinstance(skipped, list)
    assert skipped[0]["line"] == 11 and skipped[0]["message"].startswith("A CSV row")
    listed = app.client.get("/api/v1/imports", headers=headers).json()
    assert [j["id"] for j in listed] == [job["id"]]
    again = app.client.post(
        "/api/v1/imports", headers=headers, files={"file": ("again.csv", data, "text/csv")}
    ).json()
    repeat = _wait_done(app, again["id"], headers)
    assert (repeat["records_added"], repeat["duplicates"]) == (0, 9)
    refused = app.client.post(f"/api/v1/imports/{job['id']}/cancel", headers=headers)
    assert refused.status_code == 409 and refused.json()["code"] == "import.not_cancellable"


def test_viewers_may_not_import_or_read_imports(imports_app: App) -> None:
    app = imports_app
    headers = app.token("watcher", Role.viewer)
    refused = app.client.post(
        "/api/v1/imports", headers=headers, files={"file": ("a.txt", b"[00:00] <a> b\n")}
    )
    assert refused.status_code == 403
    assert app.client.get("/api/v1/imports", headers=headers).status_code == 403
    assert app.client.get("/api/v1/imports").status_code == 401


def test_refused_uploads_say_why(imports_app: App) -> None:
    app = imports_app
    headers = {**app.token("op", Role.operator), "Accept-Language": "en"}
    empty = app.client.post("/api/v1/imports", headers=headers, files={"file": ("a.txt", b"")})
    assert empty.status_code == 400 and empty.json()["code"] == "import.empty"
    unknown = app.client.post(
        "/api/v1/imports", headers=headers, files={"file": ("a.txt", b"hello there\n")}
    )
    assert unknown.json()["code"] == "import.unknown_format"
    assert "telegram_json" in unknown.json()["message"]
    wrong = app.client.post(
        "/api/v1/imports",
        headers=headers,
        files={"file": ("a.txt", b"x")},
        data={"format": "docx"},
    )
    assert wrong.status_code == 400 and wrong.json()["code"] == "import.unknown_format"
    missing = app.client.get("/api/v1/imports/999", headers=headers)
    assert missing.status_code == 404 and missing.json()["code"] == "import.not_found"


def test_the_pages_upload_and_show_progress_and_skips(imports_app: App) -> None:
    app = imports_app
    csrf = app.login("op", Role.operator)
    page = app.client.get("/imports")
    assert page.status_code == 200 and 'name="file"' in page.text
    response = app.client.post(
        "/imports",
        data={"csrf_token": csrf, "format": "auto"},
        files={"file": ("photo_gbk.txt", (CHAT / "qq" / "photo_gbk.txt").read_bytes())},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    location = response.headers["location"]
    match = re.fullmatch(r"/imports/(\d+)", location)
    assert match is not None
    job_id = int(match.group(1))
    detail = app.client.get(location)
    assert detail.status_code == 200 and 'id="import-progress"' in detail.text
    deadline = time.monotonic() + 60
    while True:
        fragment = app.client.get(f"/imports/{job_id}/progress")
        if 'data-status="done"' in fragment.text or time.monotonic() > deadline:
            break
        # Unfinished: the fragment polls itself every second.
        assert 'hx-trigger="every 1s"' in fragment.text
        time.sleep(0.05)
    assert 'data-status="done"' in fragment.text
    assert "hx-trigger" not in fragment.text  # finished: no more polling
    assert "100%" in fragment.text
    assert 'id="skipped"' in fragment.text and "GBK" in fragment.text
    listing = app.client.get("/imports")
    assert f'data-job="{job_id}"' in listing.text


def test_a_refused_page_upload_shows_the_reason(imports_app: App) -> None:
    app = imports_app
    csrf = app.login("op", Role.operator)
    response = app.client.post(
        "/imports",
        data={"csrf_token": csrf, "format": "auto"},
        files={"file": ("empty.txt", b"")},
    )
    assert response.status_code == 400
    assert "data-error" in response.text and "空" in response.text
