'use strict';
// Numeric gradient checker (after caffe's test_gradient_check_util.hpp), for float32 kernels.
//
// The op is seen as a scalar function L(inputs) = sum_i dy_i * forward(inputs)_i with a fixed
// random dy (or forward's own value when it returns a number, e.g. a loss). For a sample of at
// most `samples` coordinates per input tensor:
//   numeric = (L(x + h+) - L(x - h-)) / (h+ + h-)   (h± the float32-rounded steps, sums in float64)
//   err     = |analytic - numeric| / max(|analytic|, |numeric|, floor)        (floor 1 as caffe)
// A coordinate that fails is probed again with a step ten times smaller (fewer kinks in range).
// If it still fails it is a kink (ReLU at 0, a max changing its winner, |x| at 0) when the
// one-sided differences (L(x+h)-L(x))/h and (L(x)-L(x-h))/h disagree by more than the tolerance:
// the central difference means nothing there, so the coordinate is skipped, provided the analytic
// value lies between the two one-sided slopes (a valid one-sided derivative). Otherwise it fails.

const { makeRng, fmt } = require('./common');

/**
 * @param t      tap test
 * @param spec   {
 *   name:      label for the assertions,
 *   inputs:    {name: Float32Array}: perturbed in place, always restored,
 *   wrt:       names of the inputs to check (default: all),
 *   forward(): Float32Array | number, computed from the current inputs,
 *   backward(dy): {name: Float32Array}, the analytic gradient of sum(dy * forward()) (dy is null
 *              when forward returns a number); called right after a forward at the unperturbed inputs,
 *   eps = 1e-2, tol = 1e-2, floor = 1, samples = 30, seed = 1, minChecked = 1
 * }
 * @returns {name: {checked, kinks, maxErr}}
 */
function gradcheck(t, spec) {
  const { inputs, forward, backward } = spec;
  const eps = spec.eps ?? 1e-2;
  const tol = spec.tol ?? 1e-2;
  const floor = spec.floor ?? 1;
  const samples = spec.samples ?? 30;
  const wrt = spec.wrt ?? Object.keys(inputs);
  const rng = makeRng(spec.seed ?? 1);

  const y0 = forward();
  const dy = typeof y0 === 'number' ? null : Float32Array.from(y0, () => rng.normal());
  const analytic = {};
  const got = backward(dy);
  for (const name of wrt) {
    if (!got[name]) throw new Error(`${spec.name}: backward returned no gradient for ${name}`);
    analytic[name] = Float64Array.from(got[name]);
  }
  const L = () => {
    const y = forward();
    if (dy === null) return y;
    let s = 0;
    for (let i = 0; i < y.length; i++) s += dy[i] * y[i];
    return s;
  };
  const L0 = L();

  const report = {};
  for (const name of wrt) {
    const x = inputs[name];
    const a = analytic[name];
    if (a.length !== x.length) {
      t.fail(`${spec.name} d${name}: gradient has ${a.length} elements, input ${x.length}`);
      continue;
    }
    let checked = 0;
    let kinks = 0;
    let maxErr = 0;
    let worst = '';
    const bad = [];
    for (const i of sampleIndices(x.length, samples, rng)) {
      // First the normal step, then (if that fails) a step ten times smaller, which steps over
      // fewer kinks; a coordinate whose one-sided slopes still disagree is a kink.
      let verdict = 'bad';
      let info = '';
      let errAt = Infinity;
      for (const h of [eps, eps / 10]) {
        const p = probe(x, i, h, L, L0);
        const scale = Math.max(Math.abs(a[i]), Math.abs(p.numeric), floor);
        const err = Math.abs(a[i] - p.numeric) / scale;
        errAt = Math.min(errAt, err);
        if (err <= tol) {
          verdict = 'ok';
          break;
        }
        const kink = Math.abs(p.right - p.left) / scale > tol;
        const within = a[i] >= Math.min(p.left, p.right) - tol * scale && a[i] <= Math.max(p.left, p.right) + tol * scale;
        if (kink && within) verdict = 'kink';
        if (!info) info = `[${i}] analytic ${fmt(a[i])} numeric ${fmt(p.numeric)} (left ${fmt(p.left)}, right ${fmt(p.right)})`;
      }
      if (verdict === 'ok') {
        checked++;
        if (errAt > maxErr) {
          maxErr = errAt;
          worst = `[${i}] analytic ${fmt(a[i])}`;
        }
      } else if (verdict === 'kink') {
        kinks++;
      } else {
        bad.push(info);
        if (errAt > maxErr) maxErr = errAt;
      }
    }
    const minChecked = Math.min(spec.minChecked ?? 1, x.length);
    if (bad.length) {
      t.fail(`${spec.name} d${name}: ${bad.length} of ${checked + kinks + bad.length} coordinates off, e.g. ${bad.slice(0, 3).join('; ')}`);
    } else if (checked < minChecked) {
      t.fail(`${spec.name} d${name}: only ${checked} coordinates checked (${kinks} at kinks)`);
    } else {
      t.pass(`${spec.name} d${name}: ${checked} coords, max err ${fmt(maxErr)}${kinks ? `, ${kinks} kinks skipped` : ''}${worst && maxErr > tol / 10 ? ' ' + worst : ''}`);
    }
    report[name] = { checked, kinks, maxErr };
  }
  return report;
}

/** L at x[i] ± h (x[i] restored): central and one-sided slopes, with the float32-rounded steps. */
function probe(x, i, h, L, L0) {
  const orig = x[i];
  x[i] = orig + h;
  const hp = x[i] - orig;
  const Lp = L();
  x[i] = orig - h;
  const hm = orig - x[i];
  const Lm = L();
  x[i] = orig;
  return { numeric: (Lp - Lm) / (hp + hm), right: (Lp - L0) / hp, left: (L0 - Lm) / hm };
}

/** All indices when n <= k, else k distinct indices (always including the first and last). */
function sampleIndices(n, k, rng) {
  if (n <= k) return Array.from({ length: n }, (_, i) => i);
  const set = new Set([0, n - 1]);
  while (set.size < k) set.add(rng.int(0, n - 1));
  return [...set].sort((p, q) => p - q);
}

module.exports = { gradcheck, sampleIndices };
