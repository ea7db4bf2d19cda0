// The HTML training report and the confusion matrix helpers.
'use strict';
const t = require('tap');
const { renderReport, escapeHtml } = require('../dist/cli/report');
const { confusionMatrix, formatConfusionMatrix, perClassAccuracy, matrixAccuracy } = require('../dist/cli/confusion');

const CLASSES = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'];
const count = (s, re) => (s.match(re) || []).length;

t.test('confusionMatrix counts rows true, columns predicted', async (t) => {
  const m = confusionMatrix(Int32Array.from([0, 0, 1, 2, 2, 2]), Int32Array.from([0, 1, 1, 2, 0, 2]), 3);
  t.same(m, [[1, 1, 0], [0, 1, 0], [1, 0, 2]]);
  t.same(perClassAccuracy(m), [0.5, 1, 2 / 3]);
  t.equal(matrixAccuracy(m), 4 / 6);
  t.same(perClassAccuracy([[0, 0], [1, 1]])[0], NaN);
  t.throws(() => confusionMatrix([0, 1], [0], 2), /2 true labels but 1 predictions/);
  t.throws(() => confusionMatrix([0, 3], [0, 1], 3), /true label 3 at index 1 is outside \[0, 3\)/);
  t.throws(() => confusionMatrix([0, 1], [0, -1], 3), /prediction -1 at index 1 is outside/);
  t.throws(() => confusionMatrix([], [], 0), /k must be a positive integer/);
});

t.test('formatConfusionMatrix is an aligned table with names and accuracies', async (t) => {
  const yTrue = Int32Array.from({ length: 1000 }, (_, i) => i % 10);
  const yPred = yTrue.map((v, i) => (i % 7 === 0 ? (v + 1) % 10 : v));
  const text = formatConfusionMatrix(confusionMatrix(yTrue, yPred, 10), CLASSES);
  const lines = text.trimEnd().split('\n');
  t.equal(lines.length, 12, 'header, ten classes, overall');
  const width = lines[0].length;
  t.ok(lines.slice(0, 11).every((l) => l.length === width), 'rows aligned');
  t.match(lines[1], /^0 T-shirt\/top\s+85\s+15(\s+0){8}\s+85\.0%$/);
  t.match(lines[10], /^9 Ankle boot\s+14/);
  t.match(lines[11], /overall accuracy 85\.70%/);
  t.match(formatConfusionMatrix([[2, 0], [0, 0]]), /1\s+0\s+0\s+-/, 'no names, an empty class');
  t.throws(() => formatConfusionMatrix([[1, 2], [3]]), /must be square/);
});

function fullInfo(extra = {}) {
  const kernel = Float32Array.from({ length: 3 * 3 * 2 * 8 }, (_, i) => Math.sin(i));
  return {
    history: {
      epoch: [0, 1, 2],
      history: { loss: [1.2, 0.6, 0.45], acc: [0.6, 0.78, 0.83], val_loss: [0.7, 0.55, 0.5], val_acc: [0.74, 0.8, 0.82] },
    },
    confusion: [[5, 1, 0], [2, 7, 1], [0, 0, 9]],
    classNames: ['<script>alert(1)</script>', 'A & B', '"quoted"'],
    firstConvKernel: { values: kernel, shape: [3, 3, 2, 8] },
    modelSummary: 'Layer (type)   Output shape\nconv2d <Conv2D> [null,26,26,8]',
    testAccuracy: 0.8571,
    testLoss: 0.4123,
    throughput: 12345.6,
    epochs: 3,
    wallTimeSec: 12.34,
    backend: 'native',
    date: '2026-01-02T03:04:05Z',
    details: { 'batch size': 32, data: '/tmp/<x>' },
    ...extra,
  };
}

t.test('the report is one self-contained page with curves, heat map, filters and a summary', async (t) => {
  const html = renderReport(fullInfo());
  t.match(html, /^<!DOCTYPE html>/);
  t.match(html, /<\/html>\n$/);
  t.notMatch(html, /<script/i, 'no scripts');
  t.notMatch(html, /<link|src=|href=|@import|url\(/i, 'no external assets');
  t.equal(count(html, /<svg /g), 4, 'loss chart, accuracy chart, heat map, filters');
  t.equal(count(html, /<svg class="chart"/g), 2);
  t.equal(count(html, /class="series"/g), 4, 'train and validation curves in each chart');
  t.equal(count(html, /stroke-dasharray/g), 4, 'validation curves (and their legend keys) dashed');
  t.equal(count(html, /<rect [^>]*class="cell/g), 9, 'one heat-map cell per matrix entry');
  t.equal(count(html, /class="cell diag"/g), 3);
  t.match(html, /<title>true A &amp; B, predicted A &amp; B: 7 \(70\.0% of the row\)<\/title>/);
  const filters = html.slice(html.indexOf('<svg class="filters"'));
  t.equal(count(filters, /<g class="filter">/g), 8, 'one image per output filter');
  t.equal(count(filters, /<rect [^>]*fill="rgb\(/g), 8 * 9, 'kh * kw pixels each');
  t.match(html, /8 filters of 3x3/);
  t.match(html, /averaged over 2 input channels/);
  t.match(html, /rgb\(0,0,0\)/, 'each filter stretched to black...');
  t.match(html, /rgb\(255,255,255\)/, '...and white');
  t.match(html, /test accuracy<\/th><td>85\.71%/);
  t.match(html, /12,346 images\/s/);
  t.match(html, /wall time<\/th><td>12\.3 s/);
  t.match(html, /backend<\/th><td>native/);
  t.match(html, /2026-01-02T03:04:05Z/);
  t.match(html, /conv2d &lt;Conv2D&gt;/, 'model summary escaped');
  t.match(html, /\/tmp\/&lt;x&gt;/);
  t.match(html, /Confusion matrix \(test set, accuracy 84\.00%\)/);
});

t.test('the report escapes class names and titles', async (t) => {
  const html = renderReport(fullInfo({ title: 'run <1> & "2"' }));
  t.notMatch(html, /<script>alert/);
  t.match(html, /&lt;script&gt;alert\(1\)&lt;\/script&gt;/);
  t.match(html, /A &amp; B/);
  t.match(html, /&quot;quoted&quot;/);
  t.notMatch(html, /A & B/);
  t.match(html, /<title>run &lt;1&gt; &amp; &quot;2&quot;<\/title>/);
  t.equal(escapeHtml(`<a href='x'>&</a>`), '&lt;a href=&#39;x&#39;&gt;&amp;&lt;/a&gt;');
});

t.test('the report takes a bare history record, accuracy aliases and missing parts', async (t) => {
  const html = renderReport({ history: { loss: [0.9], accuracy: [0.7] }, testAccuracy: 0.7 });
  t.equal(count(html, /<svg class="chart"/g), 2);
  t.equal(count(html, /<circle /g), 2, 'one epoch: a point per train series');
  t.notMatch(html, /class="heatmap"/, 'no confusion matrix given: no heat map');
  t.notMatch(html, /class="filters"/, 'no kernel given: no filters');
  const empty = renderReport({});
  t.match(empty, /no data/);
  t.match(empty, /<h2>Summary<\/h2>/);
  const bad = renderReport({ firstConvKernel: { values: new Float32Array(5), shape: [2, 2] } });
  t.match(bad, /is not an HWIO conv kernel/);
  const flat = renderReport({ firstConvKernel: { values: new Float32Array(9).fill(0.5), shape: [3, 3, 1, 1] } });
  t.match(flat, /rgb\(128,128,128\)/, 'a constant filter is mid-grey');
  // a larger matrix drops the per-cell counts but keeps every cell
  const k = 40;
  const big = Array.from({ length: k }, (_, i) => Array.from({ length: k }, (_, j) => (i === j ? 10 : 1)));
  const bigHtml = renderReport({ confusion: big });
  t.equal(count(bigHtml, /<rect [^>]*class="cell/g), k * k);
  t.equal(count(bigHtml, /class="count"/g), 0);
});
