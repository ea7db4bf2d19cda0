'use strict';
// Whole-network helpers for the tests: a NetworkSpec (shapes, parameter offsets, variables) built
// from a compact layer list, deterministic parameters, and random batches.

const { requireDist } = require('./common');

const { Act, LayerKind, Padding } = requireDist('backend/types');

/**
 * Builds a NetworkSpec from a compact description: shapes and parameter offsets are computed here.
 * Layer descs: {conv: filters, k, s, d, pad, act, alpha, bias} {dense: units, act, bias} {maxpool|avgpool: k, s, pad}
 * {gap} {gmp} {flatten} {dropout: rate} {bn: momentum, eps} {act: Act, alpha}
 */
function buildSpec(input, descs, rest) {
  let shape = input;
  let offset = 0;
  const vars = [];
  const param = (size, trainable = true) => {
    const o = offset;
    vars.push({ offset: o, size, trainable });
    offset += size;
    return o;
  };
  const outSize = (n, k, s, d, pad) => (pad === Padding.Same ? Math.ceil(n / s) : Math.floor((n - ((k - 1) * d + 1)) / s) + 1);
  const layers = descs.map((L) => {
    const [H, W, C] = shape;
    let spec;
    if (L.conv) {
      const [kh, kw] = L.k;
      const [sh, sw] = L.s ?? [1, 1];
      const [dh, dw] = L.d ?? [1, 1];
      const padding = L.pad ?? Padding.Valid;
      const out = [outSize(H, kh, sh, dh, padding), outSize(W, kw, sw, dw, padding), L.conv];
      spec = { kind: LayerKind.Conv2D, in: shape, out, kh, kw, sh, sw, dh, dw, padding, filters: L.conv,
               act: L.act ?? Act.Linear, alpha: L.alpha ?? 0, kernel: param(kh * kw * C * L.conv),
               bias: L.bias === false ? -1 : param(L.conv) };
    } else if (L.dense) {
      spec = { kind: LayerKind.Dense, in: shape, out: [H, W, L.dense], units: L.dense, act: L.act ?? Act.Linear,
               alpha: L.alpha ?? 0, kernel: param(C * L.dense), bias: L.bias === false ? -1 : param(L.dense) };
    } else if (L.maxpool || L.avgpool) {
      const [kh, kw] = L.maxpool || L.avgpool;
      const [sh, sw] = L.s ?? [kh, kw];
      const padding = L.pad ?? Padding.Valid;
      spec = { kind: L.maxpool ? LayerKind.MaxPool2D : LayerKind.AvgPool2D, in: shape,
               out: [outSize(H, kh, sh, 1, padding), outSize(W, kw, sw, 1, padding), C], kh, kw, sh, sw, padding };
    } else if (L.gap || L.gmp) {
      spec = { kind: L.gap ? LayerKind.GlobalAvgPool2D : LayerKind.GlobalMaxPool2D, in: shape, out: [1, 1, C] };
    } else if (L.flatten) {
      spec = { kind: LayerKind.Flatten, in: shape, out: [1, 1, H * W * C] };
    } else if (L.dropout !== undefined) {
      spec = { kind: LayerKind.Dropout, in: shape, out: shape, rate: L.dropout };
    } else if (L.bn) {
      spec = { kind: LayerKind.BatchNorm, in: shape, out: shape, momentum: L.momentum ?? 0.99, eps: L.eps ?? 1e-3,
               gamma: param(C), beta: param(C), movingMean: param(C, false), movingVar: param(C, false) };
    } else if (L.act !== undefined) {
      spec = { kind: LayerKind.Activation, in: shape, out: shape, act: L.act, alpha: L.alpha ?? 0 };
    } else {
      throw new Error(`bad layer ${JSON.stringify(L)}`);
    }
    shape = spec.out;
    return spec;
  });
  return { spec: { layers, vars, ...rest }, paramCount: offset };
}

/** Parameters: He-ish normal kernels, small biases, gamma ~1, beta ~0, moving mean 0 / var 1. */
function initParams(spec, paramCount, rng) {
  const p = new Float32Array(paramCount);
  for (const L of spec.layers) {
    const fill = (off, n, f) => { if (off !== undefined && off >= 0) for (let i = 0; i < n; i++) p[off + i] = f(); };
    const C = L.in[2];
    if (L.kind === LayerKind.Conv2D) {
      const fanIn = L.kh * L.kw * C;
      fill(L.kernel, fanIn * L.filters, () => rng.normal() * Math.sqrt(2 / fanIn));
      fill(L.bias, L.filters, () => 0.1 * rng.normal());
    } else if (L.kind === LayerKind.Dense) {
      fill(L.kernel, C * L.units, () => rng.normal() * Math.sqrt(1 / C));
      fill(L.bias, L.units, () => 0.1 * rng.normal());
    } else if (L.kind === LayerKind.BatchNorm) {
      fill(L.gamma, C, () => 1 + 0.1 * rng.normal());
      fill(L.beta, C, () => 0.1 * rng.normal());
      fill(L.movingMean, C, () => 0);
      fill(L.movingVar, C, () => 1);
    }
  }
  return p;
}

/** A random batch of n samples (default cfg.n) with labels of the kind cfg asks for. */
function netData(cfg, rng, n = cfg.n) {
  const inSize = cfg.input[0] * cfg.input[1] * cfg.input[2];
  const x = rng.randn(n * inSize);
  let y;
  if (cfg.sparse) y = Int32Array.from({ length: n }, () => rng.int(0, cfg.classes - 1));
  else if (cfg.regression) y = rng.randn(n * cfg.classes);
  else if (cfg.multiLabel) y = rng.randInts(n * cfg.classes, 0, 1);
  else {
    y = new Float32Array(n * cfg.classes);
    for (let i = 0; i < n; i++) y[i * cfg.classes + rng.int(0, cfg.classes - 1)] = 1;
  }
  const sw = cfg.sw ? rng.rand(n, 0.5, 1.5) : null;
  return { x, y, sw, n };
}

module.exports = { buildSpec, initParams, netData };
