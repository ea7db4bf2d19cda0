'use strict';
// Shared pieces of the kernel tests: the two backends, a seeded RNG for test inputs, and
// tensor comparison with a printable summary.

const path = require('path');

const DIST = path.join(__dirname, '..', '..', 'dist');

function requireDist(rel) {
  try {
    return require(path.join(DIST, rel));
  } catch (e) {
    throw new Error(`cannot load dist/${rel} (run \`npx tsc -p tsconfig.json\` first): ${e.message}`);
  }
}

/**
 * Both backends, as [{name, K, skip}]. `skip` is false or a message saying why the native addon
 * is unavailable (its tests are then skipped, not failed). The native addon comes from the loader
 * (CNN_NATIVE_PATH if set, else the bundled or local build).
 */
function loadBackends() {
  const backend = requireDist('backend');
  const types = requireDist('backend/types');
  const out = [{ name: 'js', K: backend.backendKernels('js'), skip: false }];
  try {
    out.push({ name: 'native', K: backend.backendKernels('native'), skip: false });
  } catch (e) {
    out.push({ name: 'native', K: null, skip: `native addon unavailable: ${e.message.split('\n')[0]}` });
  }
  return { backends: out, types };
}

/** A small seeded generator (mulberry32) for test inputs; independent of the library's RNG. */
function makeRng(seed) {
  let a = typeof seed === 'string' ? hashString(seed) : seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const rng = {
    uniform: (lo = 0, hi = 1) => lo + (hi - lo) * next(),
    int: (lo, hi) => lo + Math.floor(next() * (hi - lo + 1)), // in [lo, hi]
    normal: () => {
      let u = 0;
      while (u === 0) u = next();
      return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * next());
    },
    /** Float32Array of n normals times scale. */
    randn: (n, scale = 1) => Float32Array.from({ length: n }, () => rng.normal() * scale),
    /** Float32Array of n uniforms in [lo, hi). */
    rand: (n, lo = 0, hi = 1) => Float32Array.from({ length: n }, () => rng.uniform(lo, hi)),
    /** Float32Array of n integers in [lo, hi] (for ties in pooling). */
    randInts: (n, lo, hi) => Float32Array.from({ length: n }, () => rng.int(lo, hi)),
  };
  return rng;
}

function hashString(s) {
  let h = 2166136261 >>> 0; // FNV-1a
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619) >>> 0;
  return h;
}

/**
 * Compares `actual` with `expected` element-wise: err_i = |a_i - e_i| / max(|e_i|, floor), with
 * floor = max(floorFrac * max|e|, atol / rtol) (values far below the tensor's scale, or below
 * atol, are compared absolutely).
 * Returns {maxdiff (absolute), maxerr (relative as above), worst (index), ok}.
 */
function compare(actual, expected, { rtol = 1e-4, floorFrac = 1e-2, atol = 0, exact = false } = {}) {
  if (typeof expected === 'number') {
    actual = [actual];
    expected = [expected];
  }
  if (actual == null || actual.length !== expected.length) {
    return { ok: false, maxdiff: Infinity, maxerr: Infinity, worst: -1,
             why: `length ${actual == null ? actual : actual.length} != ${expected.length}` };
  }
  let scale = 0;
  for (let i = 0; i < expected.length; i++) scale = Math.max(scale, Math.abs(expected[i]));
  const floor = Math.max(scale * floorFrac, atol / rtol, 1e-30);
  let maxdiff = 0;
  let maxerr = 0;
  let worst = -1;
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i];
    const e = expected[i];
    if (a === e || (Number.isNaN(a) && Number.isNaN(e))) continue;
    const diff = Math.abs(a - e);
    if (Number.isNaN(diff)) return { ok: false, maxdiff: NaN, maxerr: NaN, worst: i };
    const err = diff / Math.max(Math.abs(e), floor);
    if (diff > maxdiff) maxdiff = diff;
    if (err > maxerr) {
      maxerr = err;
      worst = i;
    }
  }
  return { ok: exact ? maxdiff === 0 : maxerr <= rtol, maxdiff, maxerr, worst };
}

/** One comparison as a tap assertion with a readable message; returns the compare result. */
function assertClose(t, actual, expected, label, opts = {}) {
  const r = compare(actual, expected, opts);
  const where = r.worst >= 0 && actual && expected.length > 1
    ? ` (worst at [${r.worst}]: ${actual[r.worst]} vs ${expected[r.worst]})` : '';
  const msg = `${label}: maxdiff ${fmt(r.maxdiff)}, rel ${fmt(r.maxerr)}${r.why ? ' ' + r.why : ''}`;
  t.ok(r.ok, r.ok ? msg : msg + where);
  return r;
}

function fmt(x) {
  return typeof x === 'number' && Number.isFinite(x) ? x.toExponential(2) : String(x);
}

/** A Float32Array of n NaNs: outputs start as NaN so a kernel that forgets to write one is caught. */
function nanArray(n) {
  return new Float32Array(n).fill(NaN);
}

module.exports = { loadBackends, makeRng, hashString, compare, assertClose, fmt, nanArray, requireDist };
