"""The statistics panel template and the tag statistics page."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from bs4 import BeautifulSoup

from qunyun.accounts.roles import Role
from qunyun.clients import App as ClientApp
from qunyun.clients import DeviceType
from qunyun.i18n import gettext
from qunyun.web.render import environment
from tests.conftest import App
from tests.visits.helpers import make_link


def render_panel(lang: str, **context: Any) -> BeautifulSoup:
    def _(key: str, **params: Any) -> str:
        return gettext(key, lang, **params)

    html = environment().get_template("visits/_stats_panel.html").render(_=_, **context)
    return BeautifulSoup(html, "html.parser")


def labels_of(page: BeautifulSoup) -> dict[str, Any]:
    block = page.select_one("script[data-stats-labels]")
    assert block is not None
    assert block["type"] == "application/json"
    return dict(json.loads(block.string or ""))


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
def test_panel_of_a_link_carries_parameters_and_translated_labels(lang):
    page = render_panel(lang, stats_slug="promo")
    panel = page.select_one("[data-stats-panel]")
    assert panel is not None
    assert (panel["data-kind"], panel["data-name"]) == ("link", "promo")
    csv_link = page.select_one("a[data-stats-csv]")
    assert csv_link is not None
    assert csv_link["href"] == "/api/v1/links/promo/visits.csv"
    labels = labels_of(page)
    assert set(labels["app"]) == {a.value for a in ClientApp}
    assert set(labels["device"]) == {d.value for d in DeviceType}
    # Every label is a translation, never a missing key echoed back.
    flat = [v for v in labels.values() if isinstance(v, str)]
    flat += [v for group in ("app", "device") for v in labels[group].values()]
    assert not [v for v in flat if v.startswith("stats.")]
    text = page.get_text(" ")
    assert not re.search(r"\bstats\.[a-z]", text)
    charts = {c["data-chart"] for c in page.select("[data-chart]")}
    assert charts == {"series", "referrer", "app", "os", "device", "browser", "bot"}
    scripts = [s.get("src", "") for s in page.select("script")]
    assert any(src.startswith("/static/vendor/echarts/echarts.min.js") for src in scripts)
    assert any(src.startswith("/static/js/stats.js") for src in scripts)
    # The only script without a src is the JSON block: no inline code.
    assert [s.get("type") for s in page.select("script") if not s.get("src")] == [
        "application/json"
    ]


def test_panel_of_a_tag_escapes_the_name_and_has_no_csv():
    nasty = '"><script>alert(1)</script>'
    html = str(render_panel("en", stats_tag=nasty))
    assert "<script>alert(1)" not in html
    page = BeautifulSoup(html, "html.parser")
    panel = page.select_one("[data-stats-panel]")
    assert panel is not None
    assert (panel["data-kind"], panel["data-name"]) == ("tag", nasty)
    assert page.select_one("a[data-stats-csv]") is None


def test_tag_stats_page(app: App):
    make_link(app.db, "camp-link", tags=("训练营",))
    assert app.client.get("/links/tags/训练营/stats", follow_redirects=False).status_code == 303
    app.login("viv", Role.viewer)
    response = app.client.get("/links/tags/训练营/stats")
    assert response.status_code == 200
    page = BeautifulSoup(response.text, "html.parser")
    panel = page.select_one("[data-stats-panel]")
    assert panel is not None
    assert (panel["data-kind"], panel["data-name"]) == ("tag", "训练营")
    assert "训练营" in page.h1.get_text()
    assert app.client.get("/links/tags/nothing/stats").status_code == 404
