// Visit statistics panels (visits/_stats_panel.html): fetch the JSON API with the
// session cookie and draw KPIs and ECharts charts. Parameters come from data-
// attributes, labels from the panel's JSON block; nothing here trusts HTML.
(function () {
  "use strict";

  const COLORS = { people: "#07c160", uniques: "#0969da", bots: "#afb8c1" };
  const MAX_HOUR_DAYS = 14;
  const charts = new Set();

  function debounce(fn, wait) {
    let timer = null;
    return function () {
      clearTimeout(timer);
      timer = setTimeout(fn, wait);
    };
  }

  function apiUrl(panel, days, granularity) {
    const query = new URLSearchParams({ days: String(days), granularity: granularity });
    const api = panel.dataset.api;
    if (api) return api + (api.indexOf("?") < 0 ? "?" : "&") + query.toString();
    const kind = panel.dataset.kind === "tag" ? "tags" : "links";
    const name = encodeURIComponent(panel.dataset.name || "");
    return "/api/v1/" + kind + "/" + name + "/stats?" + query.toString();
  }

  function bucketLabel(key, granularity) {
    // Keys are already in the configured zone: slice, never convert to the browser's.
    return granularity === "hour" ? key.slice(5, 10) + " " + key.slice(11, 16) : key.slice(5, 10);
  }

  function shareLabel(labels, dimension, key) {
    if (key === "__rest__") return labels.rest;
    if (dimension === "referrer" && key === "direct") return labels.direct;
    if (dimension === "app") return key === "none" ? labels.none : (labels.app[key] || key);
    if (dimension === "device") return labels.device[key] || key;
    if (key === "unknown") return labels.unknown;
    return key;
  }

  function chartFor(element) {
    let chart = echarts.getInstanceByDom(element);
    if (!chart) {
      chart = echarts.init(element, null, { renderer: "canvas" });
      charts.add(chart);
    }
    return chart;
  }

  function emptyTitle(labels) {
    return {
      text: labels.empty, left: "center", top: "middle",
      textStyle: { color: "#59636e", fontSize: 13, fontWeight: "normal" },
    };
  }

  function drawSeries(element, data, labels) {
    const chart = chartFor(element);
    const hourly = data.granularity === "hour";
    const total = data.totals.people + data.totals.bots;
    chart.setOption({
      title: total ? { show: false } : emptyTitle(labels),
      color: [COLORS.people, COLORS.uniques, COLORS.bots],
      tooltip: { trigger: "axis" },
      legend: { top: 0 },
      grid: { left: 20, right: 20, top: 36, bottom: hourly ? 40 : 8, containLabel: true },
      xAxis: {
        type: "category",
        data: data.series.map((b) => bucketLabel(b.key, data.granularity)),
        axisTick: { alignWithLabel: true },
      },
      yAxis: { type: "value", minInterval: 1 },
      dataZoom: hourly ? [{ type: "inside" }, { type: "slider", height: 18, bottom: 4 }] : [],
      series: [
        { name: labels.people, type: "bar", data: data.series.map((b) => b.people) },
        { name: labels.uniques, type: "line", symbol: hourly ? "none" : "circle", data: data.series.map((b) => b.uniques) },
        { name: labels.bots, type: "bar", data: data.series.map((b) => b.bots) },
      ],
    }, true);
  }

  function drawShares(element, dimension, shares, labels) {
    const botsOnly = dimension === "bot";
    const rows = Math.max(shares.length, 1);
    element.style.height = Math.max(150, 32 + rows * 30) + "px";
    const chart = chartFor(element);
    chart.resize();
    const names = shares.map((s) => shareLabel(labels, dimension, s.key));
    const series = [];
    if (!botsOnly) {
      series.push({ name: labels.people, type: "bar", data: shares.map((s) => s.people), itemStyle: { color: COLORS.people } });
    }
    series.push({ name: labels.bots, type: "bar", data: shares.map((s) => s.bots), itemStyle: { color: COLORS.bots } });
    chart.setOption({
      title: shares.length ? { show: false } : emptyTitle(labels),
      tooltip: { trigger: "axis", axisPointer: { type: "shadow" } },
      // No legend: the cards are narrow, the colours are those of the series chart's
      // legend (people green, bots grey), and the tooltip names both.
      grid: { left: 8, right: 24, top: 8, bottom: 8, containLabel: true },
      xAxis: { type: "value", minInterval: 1 },
      yAxis: { type: "category", inverse: true, data: names, axisLabel: { width: 120, overflow: "truncate" } },
      series: series,
    }, true);
  }

  function setPressed(buttons, attribute, value) {
    buttons.forEach((b) => b.setAttribute("aria-pressed", String(b.dataset[attribute] === String(value))));
  }

  function setup(panel) {
    const labels = JSON.parse(panel.querySelector("script[data-stats-labels]").textContent);
    const lang = document.documentElement.lang || undefined;
    const dayButtons = panel.querySelectorAll("[data-days]");
    const granularityButtons = panel.querySelectorAll("[data-granularity]");
    const errorBox = panel.querySelector("[data-stats-error]");
    const note = panel.querySelector("[data-stats-note]");
    const state = { days: 30, granularity: "day", request: 0 };

    function showError(message) {
      errorBox.textContent = message || labels.load_failed;
      errorBox.hidden = false;
    }

    function render(data) {
      errorBox.hidden = true;
      ["people", "uniques", "bots"].forEach((name) => {
        panel.querySelector('[data-kpi="' + name + '"]').textContent = data.totals[name].toLocaleString(lang);
      });
      note.textContent = labels.tz_note.replace("{zone}", data.timezone);
      drawSeries(panel.querySelector('[data-chart="series"]'), data, labels);
      Object.keys(data.breakdowns).forEach((dimension) => {
        const element = panel.querySelector('[data-chart="' + dimension + '"]');
        if (element) drawShares(element, dimension, data.breakdowns[dimension], labels);
      });
    }

    function load() {
      setPressed(dayButtons, "days", state.days);
      setPressed(granularityButtons, "granularity", state.granularity);
      const ticket = ++state.request;
      fetch(apiUrl(panel, state.days, state.granularity), {
        credentials: "same-origin",
        headers: { Accept: "application/json" },
      })
        .then((response) => response.json().then((body) => ({ ok: response.ok, body: body })))
        .then((result) => {
          if (ticket !== state.request) return;  // a newer choice is on its way
          if (!result.ok) throw new Error(result.body && result.body.message);
          render(result.body);
        })
        .catch((error) => {
          if (ticket === state.request) showError(error && error.message);
        });
    }

    dayButtons.forEach((button) => button.addEventListener("click", () => {
      state.days = Number(button.dataset.days);
      if (state.days > MAX_HOUR_DAYS) state.granularity = "day";
      load();
    }));
    granularityButtons.forEach((button) => button.addEventListener("click", () => {
      state.granularity = button.dataset.granularity;
      if (state.granularity === "hour" && state.days > MAX_HOUR_DAYS) state.days = 7;
      load();
    }));
    load();
  }

  function start() {
    const panels = document.querySelectorAll("[data-stats-panel]");
    if (!panels.length) return;
    if (typeof echarts === "undefined") {
      panels.forEach((panel) => {
        const box = panel.querySelector("[data-stats-error]");
        box.textContent = JSON.parse(panel.querySelector("script[data-stats-labels]").textContent).load_failed;
        box.hidden = false;
      });
      return;
    }
    panels.forEach(setup);
    window.addEventListener("resize", debounce(() => charts.forEach((chart) => chart.resize()), 150));
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
