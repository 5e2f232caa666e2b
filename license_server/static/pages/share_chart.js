// The verification chart: overage share per tool (uPlot), the alert threshold, and markers
// where the configuration changed and where alerts fired and resolved.
"use strict";

const SHARE_COLORS = ["#ffb020", "#7cc4ff", "#c792ea", "#2ecc71", "#ff8fa3", "#f4f7fb"];
const CHART_HEIGHT = 210;
const MARK_COLORS = { config_change: "#7cc4ff", alert_firing: "#ff4d4f", alert_resolved: "#2ecc71" };

/** Draws vertical marker lines with a short label at the top of the plot area. */
function markerPlugin(getMarkers) {
  return {
    hooks: {
      draw: [(u) => {
        const ctx = u.ctx;
        const { top, height, left, width } = u.bbox;
        ctx.save();
        ctx.font = `${Math.round(12 * devicePixelRatio)}px DejaVu Sans, sans-serif`;
        for (const m of getMarkers()) {
          const x = Math.round(u.valToPos(m.at, "x", true));
          if (x < left || x > left + width) continue;
          ctx.strokeStyle = MARK_COLORS[m.kind] || "#fff";
          ctx.lineWidth = 2 * devicePixelRatio;
          ctx.setLineDash(m.kind === "config_change" ? [] : [6 * devicePixelRatio, 4 * devicePixelRatio]);
          ctx.beginPath();
          ctx.moveTo(x, top);
          ctx.lineTo(x, top + height);
          ctx.stroke();
        }
        ctx.restore();
      }],
    },
  };
}

/** Epoch seconds as a 24-hour clock time, e.g. 14:05. */
function clock(seconds) {
  return new Date(seconds * 1000).toLocaleTimeString([], { hour12: false, hour: "2-digit", minute: "2-digit" });
}

/** The chart object: render(overview) creates or updates the uPlot instance. */
const ShareChart = (() => {
  let plot = null;
  let toolsKey = "";
  let markers = [];
  const container = () => document.getElementById("share-chart");

  function size() {
    const box = container();
    return { width: Math.max(200, box.clientWidth), height: CHART_HEIGHT };
  }

  function build(tools, focus, threshold) {
    const series = [{ label: "time" }];
    tools.forEach((tool, i) => series.push({
      label: tool, stroke: SHARE_COLORS[i % SHARE_COLORS.length], width: tool === focus ? 4 : 2,
      spanGaps: false, value: (u, v) => (v == null ? "–" : v.toFixed(0) + " %"),
    }));
    series.push({ label: `threshold ${Math.round(threshold * 100)} %`, stroke: "#ff4d4f", width: 2, dash: [10, 6],
                  points: { show: false }, value: (u, v) => (v == null ? "–" : v.toFixed(0) + " %") });
    const axis = { stroke: "#b4c0cf", grid: { stroke: "#2c3a4d" }, ticks: { stroke: "#2c3a4d" }, font: "13px DejaVu Sans, sans-serif" };
    const opts = {
      ...size(), series, plugins: [markerPlugin(() => markers)],
      scales: { x: { time: true }, y: { range: [0, 100] } },
      axes: [{ ...axis, space: 90, values: (u, ticks) => ticks.map(clock) }, { ...axis, values: (u, ticks) => ticks.map((t) => t + " %"), size: 56 }],
      legend: { show: true, live: false },
      cursor: { show: false },
    };
    if (plot) plot.destroy();
    plot = new uPlot(opts, [[]], container());
  }

  function render(overview) {
    const tools = Object.keys(overview.series).sort();
    const focus = overview.focus_tool;
    const key = tools.join("|") + "#" + focus;
    if (key !== toolsKey || !plot) {
      build(tools, focus, overview.threshold);
      toolsKey = key;
    }
    markers = overview.markers || [];
    const first = tools.length ? overview.series[tools[0]] : [];
    const xs = first.map((b) => b[0] + overview.bucket_seconds / 2);
    const data = [xs];
    for (const tool of tools) {
      data.push(overview.series[tool].map(([, borrows, over]) => (borrows ? (100 * over) / borrows : null)));
    }
    data.push(xs.map(() => overview.threshold * 100));
    plot.setData(data);
    if (!xs.length) plot.setScale("x", { min: overview.since, max: overview.now });
    const chart = container();
    chart.dataset.tools = tools.join("|");
    chart.dataset.markers = String(markers.length);
  }

  window.addEventListener("resize", () => { if (plot) plot.setSize(size()); });
  return { render };
})();
