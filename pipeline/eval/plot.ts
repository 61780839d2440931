// Hand-written SVG charts for the report: a line chart (loss curves, probe per layer) and a
// grouped bar chart with error bars and an optional chance line, plus PNG rendering with
// resvg. Pure string building; nice axis ticks (1, 2, 5 x 10^k); one colour per twin.

import { Resvg } from "@resvg/resvg-js";

export const PALETTE = ["#2b6cb0", "#dd6b20", "#2f855a", "#c53030", "#6b46c1", "#718096"];
const W = 760;
const H = 420;
const M = { left: 72, right: 28, top: 72, bottom: 64 };
const FONT = "DejaVu Sans, Unifont, sans-serif";

const esc = (s: string) =>
  s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

/** Round tick values covering [lo, hi]. */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!(hi > lo)) hi = lo + 1;
  const raw = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw)!;
  const ticks: number[] = [];
  const end = Math.ceil(hi / step - 1e-9) * step;
  for (let t = Math.floor(lo / step + 1e-9) * step; t <= end + step * 1e-9; t += step) {
    ticks.push(Number(t.toPrecision(12)));
  }
  return ticks;
}

function fmt(x: number): string {
  if (x === 0) return "0";
  const a = Math.abs(x);
  if (a >= 1e4) return `${Number((x / 1000).toPrecision(3))}k`;
  return String(Number(x.toPrecision(3)));
}

function frame(title: string, xLabel: string, yLabel: string, body: string): string {
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" ` +
    `viewBox="0 0 ${W} ${H}" font-family="${FONT}">` +
    `<rect width="${W}" height="${H}" fill="white"/>` +
    `<text x="${W / 2}" y="30" text-anchor="middle" font-size="18" font-weight="bold" ` +
    `fill="#1a202c">${esc(title)}</text>` + body +
    `<text x="${M.left + (W - M.left - M.right) / 2}" y="${H - 14}" text-anchor="middle" ` +
    `font-size="14" fill="#2d3748">${esc(xLabel)}</text>` +
    `<text transform="translate(18 ${M.top + (H - M.top - M.bottom) / 2}) rotate(-90)" ` +
    `text-anchor="middle" font-size="14" fill="#2d3748">${esc(yLabel)}</text></svg>`;
}

function yAxis(ticks: number[], y: (v: number) => number, asPercent: boolean): string {
  return ticks.map((t) =>
    `<line x1="${M.left}" x2="${W - M.right}" y1="${y(t)}" y2="${y(t)}" stroke="#e2e8f0"/>` +
    `<text x="${M.left - 8}" y="${y(t) + 4}" text-anchor="end" font-size="12" fill="#4a5568">` +
    `${asPercent ? `${fmt(100 * t)}%` : fmt(t)}</text>`
  ).join("");
}

function legend(entries: { name: string; color?: string; dashed?: boolean; line?: boolean }[]) {
  let x = M.left + 8;
  return entries.map((e, i) => {
    const col = e.color ?? PALETTE[i % PALETTE.length];
    const y = M.top - 25;
    const icon = e.line
      ? `<line x1="${x}" x2="${x + 22}" y1="${y}" y2="${y}" stroke="${col}" stroke-width="2.6"` +
        `${e.dashed ? ' stroke-dasharray="6 3"' : ""}/>`
      : `<rect x="${x}" y="${y - 5}" width="14" height="10" rx="2" fill="${col}"/>`;
    const tx = x + (e.line ? 27 : 19);
    const s = icon + `<text x="${tx}" y="${M.top - 21}" font-size="12" fill="#2d3748">` +
      `${esc(e.name)}</text>`;
    x = tx + 14 + e.name.length * 7.2;
    return s;
  }).join("");
}

export interface LineSeries {
  name: string;
  points: [number, number][];
  dashed?: boolean;
  /** Optional band [x, lo, hi] drawn behind the line. */
  band?: [number, number, number][];
  color?: string;
}

export interface LineChart {
  title: string;
  xLabel: string;
  yLabel: string;
  series: LineSeries[];
  percent?: boolean;
  /** Only whole numbers on the x axis (layers). */
  integerX?: boolean;
  /** Keep 0 in the y range and draw it darker (differences). */
  zeroLine?: boolean;
}

export function lineChartSvg(c: LineChart): string {
  const pts = c.series.flatMap((s) => [
    ...s.points,
    ...(s.band ?? []).flatMap(([x, lo, hi]) => [[x, lo], [x, hi]] as [number, number][]),
  ]).filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
  if (pts.length === 0) return frame(c.title, c.xLabel, c.yLabel, "");
  const xs = pts.map((p) => p[0]);
  const ys = pts.map((p) => p[1]);
  let xt = niceTicks(Math.min(...xs), Math.max(...xs));
  if (c.integerX) xt = xt.filter(Number.isInteger);
  if (c.zeroLine) ys.push(0);
  const pad = (Math.max(...ys) - Math.min(...ys)) * 0.05 || 0.5;
  const yt = niceTicks(Math.min(...ys) - pad, Math.max(...ys) + pad);
  const [x0, x1, y0, y1] = [xt[0], xt[xt.length - 1], yt[0], yt[yt.length - 1]];
  const x = (v: number) => M.left + ((v - x0) / (x1 - x0 || 1)) * (W - M.left - M.right);
  const y = (v: number) => H - M.bottom - ((v - y0) / (y1 - y0 || 1)) * (H - M.top - M.bottom);
  let body = yAxis(yt, y, !!c.percent);
  body += xt.map((t) =>
    `<text x="${x(t)}" y="${H - M.bottom + 18}" text-anchor="middle" font-size="12" ` +
    `fill="#4a5568">${fmt(t)}</text>`
  ).join("");
  body += `<line x1="${M.left}" x2="${W - M.right}" y1="${H - M.bottom}" y2="${H - M.bottom}" ` +
    `stroke="#a0aec0"/>`;
  if (c.zeroLine) {
    body += `<line x1="${M.left}" x2="${W - M.right}" y1="${y(0)}" y2="${y(0)}" ` +
      `stroke="#4a5568" stroke-width="1.2"/>`;
  }
  c.series.forEach((s, i) => {
    const col = s.color ?? PALETTE[i % PALETTE.length];
    if (s.band?.length) {
      const up = s.band.map(([bx, , hi]) => `${x(bx)},${y(hi)}`);
      const down = s.band.slice().reverse().map(([bx, lo]) => `${x(bx)},${y(lo)}`);
      body += `<polygon points="${[...up, ...down].join(" ")}" fill="${col}" opacity="0.15"/>`;
    }
    const ok = s.points.filter(([px, py]) => Number.isFinite(px) && Number.isFinite(py));
    const d = ok.map(([px, py], k) => `${k ? "L" : "M"}${x(px).toFixed(1)},${y(py).toFixed(1)}`);
    body += `<path d="${d.join("")}" fill="none" stroke="${col}" stroke-width="2.2" ` +
      `stroke-linejoin="round"${s.dashed ? ' stroke-dasharray="6 4"' : ""}/>`;
    if (ok.length <= 40) {
      body += ok.map(([px, py]) => `<circle cx="${x(px)}" cy="${y(py)}" r="3.2" fill="${col}"/>`)
        .join("");
    }
  });
  const entries = c.series.map((s, i) => ({
    name: s.name,
    color: s.color ?? PALETTE[i % PALETTE.length],
    dashed: s.dashed,
    line: true,
  }));
  return frame(c.title, c.xLabel, c.yLabel, body + legend(entries));
}

export interface BarSeries {
  name: string;
  values: number[];
  lo?: number[];
  hi?: number[];
}

export interface BarChart {
  title: string;
  yLabel: string;
  groups: string[];
  series: BarSeries[];
  /** Per-group chance level, drawn as a dashed line across the group. */
  chance?: number[];
  percent?: boolean;
}

export function barChartSvg(c: BarChart): string {
  const all = c.series.flatMap((s) => [...s.values, ...(s.hi ?? [])]).concat(c.chance ?? [])
    .filter(Number.isFinite);
  let top = Math.max(...all, c.percent ? 0.3 : 1e-9) * 1.12;
  if (c.percent) top = Math.min(1, top);
  const yt = niceTicks(0, top);
  const y1 = yt[yt.length - 1];
  const y = (v: number) => H - M.bottom - (v / y1) * (H - M.top - M.bottom);
  const gw = (W - M.left - M.right) / Math.max(1, c.groups.length);
  const bw = Math.min(56, (gw * 0.75) / Math.max(1, c.series.length));
  let body = yAxis(yt, y, !!c.percent);
  const tilt = c.groups.some((g) => g.length * 7 > gw - 8);
  c.groups.forEach((g, gi) => {
    const gx = M.left + gi * gw + (gw - bw * c.series.length) / 2;
    c.series.forEach((s, si) => {
      const v = s.values[gi];
      if (!Number.isFinite(v)) return;
      const bx = gx + si * bw;
      const col = PALETTE[si % PALETTE.length];
      body += `<rect x="${bx + 2}" y="${y(v)}" width="${bw - 4}" height="${y(0) - y(v)}" ` +
        `fill="${col}" rx="2"/>`;
      const [lo, hi] = [s.lo?.[gi], s.hi?.[gi]];
      if (lo !== undefined && hi !== undefined && Number.isFinite(lo) && Number.isFinite(hi)) {
        const cx = bx + bw / 2;
        body += `<path d="M${cx},${y(lo)}V${y(hi)}M${cx - 6},${y(lo)}h12M${cx - 6},${y(hi)}h12" ` +
          `stroke="#1a202c" stroke-width="1.6" fill="none"/>`;
      }
      if (bw >= 34) {
        body += `<text x="${bx + bw / 2}" y="${y(Math.max(v, hi ?? v)) - 6}" ` +
          `text-anchor="middle" font-size="11" fill="#2d3748">` +
          `${c.percent ? (100 * v).toFixed(1) : fmt(v)}</text>`;
      }
    });
    const ch = c.chance?.[gi];
    if (ch !== undefined && Number.isFinite(ch)) {
      body += `<line x1="${M.left + gi * gw + 6}" x2="${M.left + (gi + 1) * gw - 6}" ` +
        `y1="${y(ch)}" y2="${y(ch)}" stroke="#c53030" stroke-width="1.6" stroke-dasharray="5 4"/>`;
    }
    const lx = M.left + gi * gw + gw / 2;
    body += tilt
      ? `<text transform="translate(${lx + 4} ${H - M.bottom + 14}) rotate(-20)" ` +
        `text-anchor="end" font-size="12" fill="#2d3748">${esc(g)}</text>`
      : `<text x="${lx}" y="${H - M.bottom + 20}" text-anchor="middle" font-size="12" ` +
        `fill="#2d3748">${esc(g)}</text>`;
  });
  body += `<line x1="${M.left}" x2="${W - M.right}" y1="${y(0)}" y2="${y(0)}" stroke="#a0aec0"/>`;
  let leg = legend(c.series.map((s) => ({ name: s.name })));
  if (c.chance?.length) {
    const lx = W - M.right - 96;
    leg += `<line x1="${lx}" x2="${lx + 22}" y1="${M.top - 25}" y2="${M.top - 25}" ` +
      `stroke="#c53030" stroke-width="1.6" stroke-dasharray="5 4"/><text x="${lx + 28}" ` +
      `y="${M.top - 21}" font-size="12" fill="#2d3748">chance</text>`;
  }
  return frame(c.title, "", c.yLabel, body + leg);
}

const FONT_FILES = [
  "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
  "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
  "/usr/share/fonts/opentype/unifont/unifont.otf",
];

/** Render SVG text to PNG bytes at 2x for crisp text on high-density screens. */
export function svgToPng(svg: string): Uint8Array {
  const fontFiles = FONT_FILES.filter((f) => {
    try {
      return Deno.statSync(f).isFile;
    } catch {
      return false;
    }
  });
  if (fontFiles.length === 0) {
    throw new Error("eval: no font for plots; install fonts-dejavu-core or unifont");
  }
  const r = new Resvg(svg, {
    fitTo: { mode: "zoom", value: 2 },
    font: { fontFiles, loadSystemFonts: false, defaultFontFamily: "DejaVu Sans" },
  });
  return r.render().asPng();
}
