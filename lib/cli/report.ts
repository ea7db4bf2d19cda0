/**
 * The training report: one self-contained HTML page (inline CSS and SVG, no scripts, no external
 * assets) with the loss and accuracy curves, the confusion matrix as a heat map, the first conv
 * layer's filters as images, and a summary table.
 */
import { matrixAccuracy, perClassAccuracy } from './confusion';

/** A TF.js-style History (`model.fit`'s result) or just its `history` record. */
export interface HistoryLike {
  epoch?: number[];
  history: Record<string, number[]>;
}

export interface ReportInfo {
  /** Page title (default 'cnn-node training report'). */
  title?: string;
  /** Per-epoch metrics: loss, acc (or accuracy), val_loss, val_acc (or val_accuracy). */
  history?: HistoryLike | Record<string, number[]>;
  /** counts[true][predicted] on the test set. */
  confusion?: number[][];
  classNames?: readonly string[];
  /** The first conv layer's kernel in HWIO layout [kh, kw, inC, outC] (a Tensor fits). */
  firstConvKernel?: { values: ArrayLike<number>; shape: number[] };
  /** model.summary() text. */
  modelSummary?: string;
  testAccuracy?: number;
  testLoss?: number;
  /** Training throughput, images per second. */
  throughput?: number;
  epochs?: number;
  /** Wall time of training, seconds. */
  wallTimeSec?: number;
  backend?: string;
  date?: Date | string;
  /** More rows for the summary table (data folder, batch size, threads, seed, ...). */
  details?: Record<string, string | number | boolean>;
}

/** Escapes text for HTML and SVG content and attribute values. */
export function escapeHtml(s: unknown): string {
  return String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

const fmt = (v: number, digits = 4): string => (Number.isFinite(v) ? Number(v.toPrecision(digits)).toString() : String(v));

// ---------------------------------------------------------------------------------------------
// Line charts

interface Series {
  name: string;
  values: number[];
  color: string;
  dashed?: boolean;
}

/** About five round tick values covering [lo, hi]. */
function niceTicks(lo: number, hi: number): number[] {
  if (!(hi > lo)) {
    const pad = Math.abs(lo) > 0 ? Math.abs(lo) * 0.1 : 1;
    lo -= pad;
    hi += pad;
  }
  const raw = (hi - lo) / 5;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const ticks: number[] = [];
  for (let v = Math.floor(lo / step) * step; v <= hi + step * 1e-9; v += step) ticks.push(Number(v.toPrecision(12)));
  if (ticks[ticks.length - 1] < hi) ticks.push(Number((ticks[ticks.length - 1] + step).toPrecision(12)));
  return ticks;
}

function lineChart(title: string, yLabel: string, series: Series[]): string {
  const W = 480;
  const H = 300;
  const m = { l: 58, r: 16, t: 34, b: 62 };
  const pw = W - m.l - m.r;
  const ph = H - m.t - m.b;
  const shown = series.filter((s) => s.values.length > 0);
  const epochs = Math.max(1, ...shown.map((s) => s.values.length));
  const finite = shown.flatMap((s) => s.values.filter(Number.isFinite));
  const ticks = finite.length ? niceTicks(Math.min(...finite), Math.max(...finite)) : [0, 1];
  const y0 = ticks[0];
  const y1 = ticks[ticks.length - 1];
  const X = (e: number) => m.l + (epochs === 1 ? pw / 2 : (e * pw) / (epochs - 1)); // e: 0-based epoch
  const Y = (v: number) => m.t + ph - ((v - y0) / (y1 - y0 || 1)) * ph;
  const out: string[] = [];
  out.push(`<svg class="chart" xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" role="img" aria-label="${escapeHtml(title)}">`);
  out.push(`<text x="${W / 2}" y="20" text-anchor="middle" class="title">${escapeHtml(title)}</text>`);
  for (const t of ticks) {
    const y = Y(t).toFixed(1);
    out.push(`<line x1="${m.l}" x2="${m.l + pw}" y1="${y}" y2="${y}" class="grid"/>`);
    out.push(`<text x="${m.l - 6}" y="${y}" text-anchor="end" dominant-baseline="middle" class="tick">${fmt(t)}</text>`);
  }
  const step = Math.max(1, Math.ceil(epochs / 10));
  for (let e = 0; e < epochs; e += step) {
    out.push(`<text x="${X(e).toFixed(1)}" y="${m.t + ph + 16}" text-anchor="middle" class="tick">${e + 1}</text>`);
  }
  out.push(`<rect x="${m.l}" y="${m.t}" width="${pw}" height="${ph}" class="frame"/>`);
  out.push(`<text x="${m.l + pw / 2}" y="${m.t + ph + 34}" text-anchor="middle" class="axis">epoch</text>`);
  out.push(`<text transform="translate(14 ${m.t + ph / 2}) rotate(-90)" text-anchor="middle" class="axis">${escapeHtml(yLabel)}</text>`);
  shown.forEach((s, k) => {
    const pts = s.values.map((v, e) => [X(e), Y(v)] as const).filter(([, y]) => Number.isFinite(y));
    const dash = s.dashed ? ' stroke-dasharray="6 4"' : '';
    if (pts.length > 1) {
      const d = pts.map(([x, y], i) => `${i ? 'L' : 'M'}${x.toFixed(1)} ${y.toFixed(1)}`).join(' ');
      out.push(`<path d="${d}" fill="none" stroke="${s.color}" stroke-width="2"${dash} class="series"/>`);
    }
    for (const [x, y] of pts) out.push(`<circle cx="${x.toFixed(1)}" cy="${y.toFixed(1)}" r="3" fill="${s.color}"/>`);
    const lx = m.l + 10 + k * 150;
    const ly = H - 10;
    out.push(`<line x1="${lx}" x2="${lx + 24}" y1="${ly - 4}" y2="${ly - 4}" stroke="${s.color}" stroke-width="2"${dash}/>`);
    out.push(`<text x="${lx + 30}" y="${ly}" class="tick">${escapeHtml(s.name)}</text>`);
  });
  if (shown.length === 0) out.push(`<text x="${W / 2}" y="${H / 2}" text-anchor="middle" class="tick">no data</text>`);
  out.push('</svg>');
  return out.join('\n');
}

function historyRecord(h: ReportInfo['history']): Record<string, number[]> {
  if (!h) return {};
  const rec = (h as HistoryLike).history && typeof (h as HistoryLike).history === 'object' ? (h as HistoryLike).history : (h as Record<string, number[]>);
  const out: Record<string, number[]> = {};
  for (const [k, v] of Object.entries(rec)) if (Array.isArray(v)) out[k] = v.map(Number);
  return out;
}

function curves(info: ReportInfo): string {
  const h = historyRecord(info.history);
  const pick = (...names: string[]) => names.map((n) => h[n]).find((v) => v !== undefined) ?? [];
  const loss = lineChart('Loss', 'loss', [
    { name: 'train', values: pick('loss'), color: '#1f77b4' },
    { name: 'validation', values: pick('val_loss'), color: '#d62728', dashed: true },
  ]);
  const acc = lineChart('Accuracy', 'accuracy', [
    { name: 'train', values: pick('acc', 'accuracy'), color: '#1f77b4' },
    { name: 'validation', values: pick('val_acc', 'val_accuracy'), color: '#d62728', dashed: true },
  ]);
  return `<section><h2>Training curves</h2><div class="row">${loss}\n${acc}</div></section>`;
}

// ---------------------------------------------------------------------------------------------
// Confusion matrix heat map

/** White to dark blue for f in [0, 1]. */
function heat(f: number): string {
  const c = (a: number, b: number) => Math.round(a + (b - a) * Math.max(0, Math.min(1, f)));
  return `rgb(${c(247, 8)},${c(251, 48)},${c(255, 107)})`;
}

function heatMap(matrix: number[][], classNames: readonly string[]): string {
  const k = matrix.length;
  const names = Array.from({ length: k }, (_, i) => classNames[i] ?? String(i));
  const cell = k <= 12 ? 44 : Math.max(12, Math.floor(528 / k));
  const longest = Math.max(...names.map((s) => s.length));
  const left = Math.min(200, 24 + 7 * longest);
  const top = Math.min(200, 24 + 6 * longest);
  const W = left + k * cell + Math.min(150, 12 + 5 * longest); // the last column's label leans right
  const H = top + k * cell + 40;
  const showCounts = cell >= 28;
  const out: string[] = [];
  out.push(`<svg class="heatmap" xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" role="img" aria-label="confusion matrix">`);
  matrix.forEach((row, i) => {
    const total = row.reduce((a, b) => a + b, 0);
    row.forEach((v, j) => {
      const f = total ? v / total : 0;
      const x = left + j * cell;
      const y = top + i * cell;
      const tip = `true ${names[i]}, predicted ${names[j]}: ${v}${total ? ` (${(100 * f).toFixed(1)}% of the row)` : ''}`;
      out.push(`<rect x="${x}" y="${y}" width="${cell}" height="${cell}" fill="${heat(f)}" class="${i === j ? 'cell diag' : 'cell'}"><title>${escapeHtml(tip)}</title></rect>`);
      if (showCounts && v > 0) {
        out.push(`<text x="${x + cell / 2}" y="${y + cell / 2}" text-anchor="middle" dominant-baseline="middle" class="count" fill="${f > 0.5 ? '#fff' : '#222'}">${v}</text>`);
      }
    });
    out.push(`<text x="${left - 6}" y="${top + i * cell + cell / 2}" text-anchor="end" dominant-baseline="middle" class="label">${escapeHtml(names[i])}</text>`);
  });
  names.forEach((n, j) => {
    const x = left + j * cell + cell / 2;
    out.push(`<text transform="translate(${x} ${top - 6}) rotate(-45)" class="label">${escapeHtml(n)}</text>`);
  });
  out.push(`<text x="${left + (k * cell) / 2}" y="${H - 12}" text-anchor="middle" class="axis">predicted class</text>`);
  out.push(`<text transform="translate(12 ${top + (k * cell) / 2}) rotate(-90)" text-anchor="middle" class="axis">true class</text>`);
  out.push('</svg>');
  return out.join('\n');
}

function confusionSection(info: ReportInfo): string {
  const m = info.confusion;
  if (!m || m.length === 0) return '';
  const names = info.classNames ?? [];
  const acc = perClassAccuracy(m);
  const rows = m
    .map((row, i) => {
      const n = row.reduce((a, b) => a + b, 0);
      const a = Number.isNaN(acc[i]) ? '-' : (100 * acc[i]).toFixed(1) + '%';
      return `<tr><td>${i}</td><td>${escapeHtml(names[i] ?? String(i))}</td><td class="num">${n}</td><td class="num">${a}</td></tr>`;
    })
    .join('\n');
  return (
    `<section><h2>Confusion matrix (test set, accuracy ${(100 * matrixAccuracy(m)).toFixed(2)}%)</h2>` +
    `<p>Rows: true class; columns: predicted class. Colour: share of the row.</p>` +
    `<div class="row">${heatMap(m, names)}\n<table class="perclass"><tr><th>#</th><th>class</th><th>examples</th><th>accuracy</th></tr>\n${rows}</table></div></section>`
  );
}

// ---------------------------------------------------------------------------------------------
// First-layer filters

/**
 * One small grayscale image per output filter of an HWIO kernel [kh, kw, inC, outC], averaged
 * over input channels and stretched to black..white per filter.
 */
function filterImages(kernel: { values: ArrayLike<number>; shape: number[] }): string {
  const [kh, kw, inC, outC] = kernel.shape;
  if (kernel.shape.length !== 4 || kh * kw * inC * outC !== kernel.values.length) {
    return `<p>Kernel of shape [${kernel.shape.join(', ')}] is not an HWIO conv kernel.</p>`;
  }
  const px = Math.max(3, Math.floor(48 / Math.max(kh, kw)));
  const size = Math.max(kh, kw) * px;
  const gap = 10;
  const perRow = Math.min(outC, 8);
  const rows = Math.ceil(outC / perRow);
  const W = perRow * (size + gap) + gap;
  const H = rows * (size + gap + 14) + gap;
  const v = kernel.values;
  const out: string[] = [];
  out.push(`<svg class="filters" xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" role="img" aria-label="first-layer filters" shape-rendering="crispEdges">`);
  for (let o = 0; o < outC; o++) {
    const img = new Float64Array(kh * kw); // [kh, kw]: mean over input channels
    for (let y = 0; y < kh; y++) {
      for (let x = 0; x < kw; x++) {
        let s = 0;
        for (let c = 0; c < inC; c++) s += v[((y * kw + x) * inC + c) * outC + o];
        img[y * kw + x] = s / inC;
      }
    }
    let lo = Infinity;
    let hi = -Infinity;
    for (const a of img) if (Number.isFinite(a)) ((lo = Math.min(lo, a)), (hi = Math.max(hi, a)));
    const ox = gap + (o % perRow) * (size + gap);
    const oy = gap + Math.floor(o / perRow) * (size + gap + 14);
    out.push(`<g class="filter"><title>filter ${o}: weights ${fmt(lo)} (black) to ${fmt(hi)} (white)</title>`);
    for (let y = 0; y < kh; y++) {
      for (let x = 0; x < kw; x++) {
        const a = img[y * kw + x];
        const g = hi > lo && Number.isFinite(a) ? Math.round((255 * (a - lo)) / (hi - lo)) : 128;
        out.push(`<rect x="${ox + x * px}" y="${oy + y * px}" width="${px}" height="${px}" fill="rgb(${g},${g},${g})"/>`);
      }
    }
    out.push(`<text x="${ox + size / 2}" y="${oy + size + 11}" text-anchor="middle" class="tick">${o}</text></g>`);
  }
  out.push('</svg>');
  return out.join('\n');
}

function filtersSection(info: ReportInfo): string {
  const k = info.firstConvKernel;
  if (!k) return '';
  const [kh, kw, inC, outC] = k.shape;
  const how = inC > 1 ? `averaged over ${inC} input channels, ` : '';
  return (
    `<section><h2>First conv layer: ${outC} filters of ${kh}x${kw}</h2>` +
    `<p>Each filter's weights, ${how}from darkest (most negative) to white (most positive).</p>` +
    `${filterImages(k)}</section>`
  );
}

// ---------------------------------------------------------------------------------------------
// Summary and page

function summarySection(info: ReportInfo): string {
  const rows: [string, string][] = [];
  const pct = (v: number) => `${(100 * v).toFixed(2)}%`;
  if (info.testAccuracy !== undefined) rows.push(['test accuracy', pct(info.testAccuracy)]);
  if (info.testLoss !== undefined) rows.push(['test loss', fmt(info.testLoss)]);
  if (info.throughput !== undefined) rows.push(['throughput', `${Math.round(info.throughput).toLocaleString('en-US')} images/s`]);
  if (info.epochs !== undefined) rows.push(['epochs', String(info.epochs)]);
  if (info.wallTimeSec !== undefined) rows.push(['wall time', `${info.wallTimeSec.toFixed(1)} s`]);
  if (info.backend !== undefined) rows.push(['backend', info.backend]);
  const date = info.date ?? new Date();
  rows.push(['date', date instanceof Date ? date.toISOString() : String(date)]);
  for (const [k, v] of Object.entries(info.details ?? {})) rows.push([k, String(v)]);
  const table = rows.map(([k, v]) => `<tr><th>${escapeHtml(k)}</th><td>${escapeHtml(v)}</td></tr>`).join('\n');
  const summary = info.modelSummary ? `<h3>Model</h3><pre>${escapeHtml(info.modelSummary)}</pre>` : '';
  return `<section><h2>Summary</h2><table class="summary">\n${table}\n</table>${summary}</section>`;
}

const STYLE = `
body { font: 14px/1.4 system-ui, sans-serif; margin: 24px; color: #222; max-width: 1100px; }
h1 { font-size: 22px; } h2 { font-size: 18px; margin-top: 28px; } h3 { font-size: 15px; }
table { border-collapse: collapse; } th, td { padding: 3px 10px; border-bottom: 1px solid #ddd; text-align: left; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
pre { background: #f6f8fa; padding: 10px; overflow-x: auto; font-size: 12px; }
.row { display: flex; flex-wrap: wrap; gap: 20px; align-items: flex-start; }
svg text { font-family: system-ui, sans-serif; } .title { font-size: 15px; font-weight: 600; }
.tick { font-size: 11px; fill: #444; } .axis { font-size: 12px; fill: #222; } .label { font-size: 12px; fill: #222; }
.count { font-size: 11px; } .grid { stroke: #e4e4e4; } .frame { fill: none; stroke: #999; }
.cell { stroke: #fff; } .diag { stroke: #888; }
`;

/** The report as one self-contained HTML page. */
export function renderReport(info: ReportInfo): string {
  const title = info.title ?? 'cnn-node training report';
  return [
    '<!DOCTYPE html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${escapeHtml(title)}</title>`,
    `<style>${STYLE}</style>`,
    '</head>',
    '<body>',
    `<h1>${escapeHtml(title)}</h1>`,
    summarySection(info),
    curves(info),
    confusionSection(info),
    filtersSection(info),
    '</body>',
    '</html>',
    '',
  ].join('\n');
}
