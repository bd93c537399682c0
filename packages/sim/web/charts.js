// One uPlot line chart per measurement series (`<fragment>.<series>`) of the selected device.
// Points arrive from the event stream and are appended in time order; each chart's element
// carries `data-series` and `data-points` so people and tests can see what it holds.
import uPlot from "./uplot.js";
import { clock, h } from "./dom.js";

/** Points kept per series (the oldest are dropped beyond this). */
const MAX_POINTS = 2000;
/** Measurements remembered for a redraw. */
const MAX_KEPT = 20_000;
const HEIGHT = 150;
const COLORS = ["#1776bf", "#d9534f", "#2e9e5b", "#b36b00", "#7a4fbf", "#00838f"];

/** The numeric series of one measurement: `{ key, fragment, series, unit, value, x }` each. */
export const pointsOf = (measurement) => {
  const parsed = Date.parse(measurement.time);
  const x = (Number.isNaN(parsed) ? measurement.createdMs : parsed) / 1000;
  const out = [];
  for (const [fragment, body] of Object.entries(measurement.fragments ?? {})) {
    if (body === null || typeof body !== "object" || Array.isArray(body)) continue;
    for (const [series, point] of Object.entries(body)) {
      const value = point?.value;
      if (typeof value !== "number" || !Number.isFinite(value)) continue;
      const unit = typeof point.unit === "string" ? point.unit : "";
      out.push({ key: `${fragment}.${series}`, fragment, series, unit, value, x });
    }
  }
  return out;
};

export class ChartBoard {
  /** @param {HTMLElement} container where the charts go */
  constructor(container) {
    this.container = container;
    this.charts = new Map();
    /** Ids of the measurements drawn (the stream and a fetch may both bring one). */
    this.seen = new Set();
    /** The measurements drawn, oldest first (at most MAX_KEPT), for `reset`. */
    this.drawn = [];
    this.observer = new ResizeObserver(() => this.resize());
    this.observer.observe(container);
    this.empty = h("p.muted", {}, "No measurements yet.");
    container.append(this.empty);
  }

  /**
   * Draws `measurements` (the device's, fetched, oldest first) and whatever the stream brought
   * that is newer than the newest of them: ids grow with every stored item, so those were
   * stored after the fetch was answered and must not be lost while it was under way.
   */
  reset(measurements) {
    const newest = measurements.reduce((max, m) => Math.max(max, Number(m.id)), -Infinity);
    const later = this.drawn.filter((m) => Number(m.id) > newest);
    for (const chart of this.charts.values()) chart.plot.destroy();
    this.charts.clear();
    this.seen.clear();
    this.drawn = [];
    this.container.replaceChildren(this.empty);
    this.add(measurements);
    this.add(later);
  }

  /** Appends the points of `measurements` (already filtered to this device). */
  add(measurements) {
    const touched = new Set();
    for (const m of measurements) {
      if (this.seen.has(m.id)) continue;
      this.seen.add(m.id);
      this.drawn.push(m);
      for (const p of pointsOf(m)) {
        const chart = this.charts.get(p.key) ?? this.create(p);
        insert(chart, p.x, p.value);
        chart.unit = p.unit || chart.unit;
        touched.add(chart);
      }
    }
    if (this.drawn.length > MAX_KEPT) this.drawn.splice(0, this.drawn.length - MAX_KEPT);
    for (const chart of touched) {
      chart.plot.setData([chart.xs, chart.ys]);
      chart.element.dataset.points = String(chart.xs.length);
      const last = chart.ys.at(-1);
      chart.latest.textContent = `${formatValue(last)}${chart.unit ? ` ${chart.unit}` : ""} at ${clock(chart.xs.at(-1) * 1000)} · ${chart.xs.length} point${chart.xs.length === 1 ? "" : "s"}`;
    }
    this.empty.hidden = this.charts.size > 0;
  }

  destroy() {
    this.observer.disconnect();
    for (const chart of this.charts.values()) chart.plot.destroy();
    this.charts.clear();
  }

  create(p) {
    const color = COLORS[this.charts.size % COLORS.length];
    const latest = h("span.muted", {});
    const body = h("div.chart-body", {});
    const element = h(
      "figure.chart",
      { "data-series": p.key, "data-points": "0" },
      h("figcaption", {}, h("strong", {}, p.fragment), " · ", p.series, " ", latest),
      body,
    );
    this.container.append(element);
    const plot = new uPlot(
      {
        width: this.width(),
        height: HEIGHT,
        legend: { show: false },
        cursor: { points: { size: 6 } },
        scales: { x: { time: true } },
        series: [
          {},
          {
            label: p.series,
            stroke: color,
            width: 2,
            points: { show: true, size: 5, fill: color },
            value: (_u, v) => (v === null ? "" : `${formatValue(v)} ${p.unit}`),
          },
        ],
        axes: [
          { stroke: "#5b6470", grid: { stroke: "#eceff3" } },
          { stroke: "#5b6470", grid: { stroke: "#eceff3" }, size: 56 },
        ],
      },
      [[], []],
      body,
    );
    const chart = { element, plot, latest, xs: [], ys: [], unit: p.unit };
    this.charts.set(p.key, chart);
    return chart;
  }

  width() {
    return Math.max(240, Math.floor(this.container.clientWidth) - 24);
  }

  resize() {
    const width = this.width();
    for (const chart of this.charts.values()) chart.plot.setSize({ width, height: HEIGHT });
  }
}

/** Keeps `xs` ascending (devices may send their own, out-of-order times). */
const insert = (chart, x, y) => {
  let i = chart.xs.length;
  while (i > 0 && chart.xs[i - 1] > x) i -= 1;
  chart.xs.splice(i, 0, x);
  chart.ys.splice(i, 0, y);
  if (chart.xs.length > MAX_POINTS) {
    chart.xs.splice(0, chart.xs.length - MAX_POINTS);
    chart.ys.splice(0, chart.ys.length - MAX_POINTS);
  }
};

const formatValue = (v) => (Number.isInteger(v) ? String(v) : v.toFixed(Math.abs(v) < 10 ? 3 : 2));
