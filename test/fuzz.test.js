'use strict';
// Seeded random mutation tests of the two loaders that read untrusted bytes: the layers-model
// loader (model.json structure and text, the one-buffer form, weight bytes, files on disk) and the
// IDX loader (raw and gzipped). Every outcome must be a loaded value or an Error with a message:
// no crash (each group runs in a child process), no hang (each call is timed, and the child has a
// deadline) and no unbounded allocation (the child's peak RSS is bounded).
//
// Reproduce or extend: CNN_FUZZ_SEED=<n> CNN_FUZZ_ITERATIONS=<n> npx tap test/fuzz.test.js
// A failure names the seed, the iteration and the mutations applied.

const path = require('path');
const fs = require('fs');
const os = require('os');
const zlib = require('zlib');
const { isolated } = require('./helpers/isolate');
const { makeRng } = require('./helpers/common');

const ROOT = path.join(__dirname, '..');
const SEED = Number(process.env.CNN_FUZZ_SEED ?? 20240611);
const ITERATIONS = Number(process.env.CNN_FUZZ_ITERATIONS ?? 0); // 0: the defaults below
const PEAK_RSS_MB = 1024;
const SLOW_CALL_MS = 3000;

// ---- mutation helpers ----------------------------------------------------------------------------------

function deepArray(depth) {
  let v = 0;
  for (let i = 0; i < depth; i++) v = [v];
  return v;
}

const VALUES = [
  null, true, false, 0, -1, 1, 2, 3, 7, 1.5, -0.5, 1e9, 2 ** 31, 2 ** 32, 2 ** 53, 1e308, -1e308,
  '', 'x', 'weights.bin', '../weights.bin', '/etc/passwd', 'a/../../b', '__proto__', 'constructor', 'Dense',
  'Conv2D', 'LSTM', 'InputLayer', 'Sequential', 'float32', 'int32', 'float16', 'same', 'valid', 'relu', 'softmax',
  'channels_first', 'optimizer', [], {}, [null], [0, 0], [1, 2, 3, 4], [2 ** 31, 2 ** 31], [-1], [null, 3, 3, 1],
  { class_name: 'Dense', config: {} }, { dtype: 'uint8', scale: 1, min: 0 }, 'a'.repeat(70000), deepArray(2000),
];

/** A random path into a JSON value: the list of keys walked, stopping at random or at a leaf. */
function randomPath(rng, root) {
  const keys = [];
  let v = root;
  while (v !== null && typeof v === 'object') {
    const ks = Array.isArray(v) ? v.map((_, i) => i) : Object.keys(v);
    if (ks.length === 0 || (keys.length > 0 && rng.uniform() < 0.2)) break;
    const k = ks[rng.int(0, ks.length - 1)];
    keys.push(k);
    v = v[k];
  }
  return keys;
}

/** Applies one random structural mutation to a JSON value in place; returns its description. */
function mutateJson(rng, root) {
  const keys = randomPath(rng, root);
  if (keys.length === 0) return 'nothing';
  const last = keys[keys.length - 1];
  let parent = root;
  for (const k of keys.slice(0, -1)) parent = parent[k];
  const where = keys.join('.');
  const v = parent[last];
  const op = rng.int(0, 7);
  if (op === 0) {
    if (Array.isArray(parent)) parent.splice(last, 1);
    else delete parent[last];
    return `delete ${where}`;
  }
  if (op === 1 && typeof v === 'number') {
    const f = [(x) => -x, (x) => x + 1, (x) => x - 1, (x) => x * 1e9, (x) => x / 3, () => 0, () => 2 ** 31 - 1, () => -(2 ** 53)][rng.int(0, 7)];
    parent[last] = f(v);
    return `${where}: ${v} -> ${parent[last]}`;
  }
  if (op === 2 && Array.isArray(v) && v.length) {
    const i = rng.int(0, v.length - 1);
    if (rng.uniform() < 0.5) v.push(JSON.parse(JSON.stringify(v[i])));
    else v.splice(i, 1);
    return `resize array ${where}`;
  }
  if (op === 3 && typeof v === 'string') {
    const s = [v + v, v.slice(1), v.toUpperCase(), `${v}:0`, `../${v}`, v.replace(/_/g, ''), `x/${v}`][rng.int(0, 6)];
    parent[last] = s;
    return `${where}: ${JSON.stringify(v).slice(0, 30)} -> ${JSON.stringify(s).slice(0, 30)}`;
  }
  if (op === 4) {
    parent[last] = [v];
    return `wrap ${where} in an array`;
  }
  const r = VALUES[rng.int(0, VALUES.length - 1)];
  parent[last] = r && typeof r === 'object' ? JSON.parse(JSON.stringify(r)) : r;
  return `${where} = ${(JSON.stringify(r) ?? String(r)).slice(0, 30)}`;
}

/** Applies one random byte-level mutation; returns [bytes, description]. */
function mutateBytes(rng, bytes) {
  const b = Buffer.from(bytes);
  const op = rng.int(0, 5);
  if (b.length === 0) return [Buffer.from([rng.int(0, 255)]), 'one byte'];
  const at = rng.int(0, b.length - 1);
  switch (op) {
    case 0: {
      const n = rng.int(1, 8);
      for (let i = 0; i < n; i++) b[rng.int(0, b.length - 1)] ^= 1 << rng.int(0, 7);
      return [b, `flip ${n} bits`];
    }
    case 1:
      return [b.subarray(0, at), `truncate to ${at}`];
    case 2:
      return [Buffer.concat([b, Buffer.alloc(rng.int(1, 64), rng.int(0, 255))]), 'append bytes'];
    case 3:
      b[at] = [0, 0xff, 0x7f, 0x80][rng.int(0, 3)];
      return [b, `byte ${at} = extreme`];
    case 4: {
      const n = rng.int(1, 32);
      return [Buffer.concat([b.subarray(0, at), b.subarray(Math.min(b.length, at + n))]), `cut ${n} at ${at}`];
    }
    default: {
      const n = rng.int(1, 16);
      const ins = Buffer.from(Array.from({ length: n }, () => rng.int(0, 255)));
      return [Buffer.concat([b.subarray(0, at), ins, b.subarray(at)]), `insert ${n} at ${at}`];
    }
  }
}

/** Runs f (maybe async); returns {value} or {error}, checks the call was quick. */
async function outcome(f) {
  const t0 = Date.now();
  try {
    const value = await f();
    return { value, ms: Date.now() - t0 };
  } catch (error) {
    return { error, ms: Date.now() - t0 };
  }
}

/** Messages of JavaScript's own errors: an input reached code that did not validate it. */
const INTERNAL = /Cannot read propert|Cannot set propert|is not a function|is not iterable|is not defined|Invalid typed array length|Invalid array length|Maximum call stack|out of memory|Array buffer allocation failed|Cannot convert|Cannot create property/;

function describeError(e) {
  return e instanceof Error ? `${e.name}: ${e.message.slice(0, 200)}` : `a non-Error ${String(e)}`;
}

function peakRssMb() {
  return process.resourceUsage().maxRSS / 1024;
}

// ---- the model loader ---------------------------------------------------------------------------------

const MAGIC = Buffer.from([0x43, 0x4e, 0x4e, 0x4c, 0x4d, 0, 0, 1]);

/** The one-buffer form (see lib/io/memory.ts) from model.json text and weight bytes. */
function modelBuffer(jsonText, weights) {
  const json = Buffer.from(jsonText, 'utf8');
  const head = Buffer.alloc(12);
  MAGIC.copy(head, 0);
  head.writeUInt32LE(json.length, 8);
  return Buffer.concat([head, json, weights]);
}

async function modelGroup(a) {
  const tf = require(ROOT);
  try {
    tf.setBackend('native');
  } catch {
    tf.setBackend('js');
  }
  tf.setSeed(1);
  const L = tf.layers;
  const m = tf.sequential({ layers: [
    L.conv2d({ filters: 3, kernelSize: 3, activation: 'relu', padding: 'same', inputShape: [6, 6, 2] }),
    L.batchNormalization(),
    L.maxPooling2d({ poolSize: 2 }),
    L.dropout({ rate: 0.2 }),
    L.flatten(),
    L.dense({ units: 4, activation: 'softmax' }),
  ] });
  m.compile({ optimizer: 'adam', loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
  const x = tf.randomUniform([4, 6, 6, 2], 0, 1, 'float32', 2);
  const y = tf.oneHot(tf.tensor([0, 1, 2, 3], [4], 'int32'), 4);
  await m.fit(x, y, { epochs: 1, verbose: 0 });
  const whole = await tf.io.toBuffer(m, { includeOptimizer: true });
  const jsonLen = whole.readUInt32LE(8);
  const baseJson = JSON.parse(whole.subarray(12, 12 + jsonLen).toString('utf8'));
  const baseWeights = whole.subarray(12 + jsonLen);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cnn-fuzz-'));
  const rng = makeRng(SEED);
  const n = ITERATIONS || 2000;
  const stats = { loaded: 0, refused: 0, trained: 0 };
  const failures = [];
  const t0 = Date.now();
  a.case(`model loader, seed ${SEED}, ${n} iterations`);
  for (let it = 0; it < n; it++) {
    const json = JSON.parse(JSON.stringify(baseJson));
    let weights = baseWeights;
    const did = [];
    const kind = rng.int(0, 9);
    if (kind <= 5) {
      for (let k = rng.int(1, 3); k > 0; k--) did.push(mutateJson(rng, json));
    }
    let text = JSON.stringify(json);
    if (kind === 6 || kind === 7) {
      const [b, d] = mutateBytes(rng, Buffer.from(text));
      text = b.toString('latin1');
      did.push(`model.json text: ${d}`);
    }
    if (kind >= 8 || rng.uniform() < 0.15) {
      const [b, d] = mutateBytes(rng, weights);
      weights = b;
      did.push(`weights: ${d}`);
    }
    let source;
    if (it % 7 === 3) {
      // Files on disk: exercises the path checks and the file sizes.
      const dir = path.join(tmp, `m${it}`);
      fs.mkdirSync(dir);
      fs.writeFileSync(path.join(dir, 'model.json'), text);
      fs.writeFileSync(path.join(dir, 'weights.bin'), weights);
      source = dir;
      did.push('(from files)');
    } else if (it % 11 === 5) {
      const [b, d] = mutateBytes(rng, modelBuffer(text, weights));
      source = b;
      did.push(`whole buffer: ${d}`);
    } else {
      source = modelBuffer(text, weights);
    }
    const label = `seed ${SEED} iteration ${it}: ${did.join('; ')}`;
    const r = await outcome(() => tf.loadLayersModel(source));
    if (r.ms > SLOW_CALL_MS) failures.push(`${label}: loading took ${r.ms} ms`);
    if (r.error) {
      stats.refused++;
      if (!(r.error instanceof Error) || !r.error.message || INTERNAL.test(r.error.message)) failures.push(`${label}: ${describeError(r.error)}`);
      continue;
    }
    stats.loaded++;
    // A model that loads must work: predict, and train one step when it came compiled.
    const model = r.value;
    const inShape = model.inputShape;
    const p = await outcome(() => model.predict(tf.zeros([2, ...inShape])));
    if (p.error && (!(p.error instanceof Error) || INTERNAL.test(p.error.message))) failures.push(`${label}: predict threw ${describeError(p.error)}`);
    if (model.optimizer && !p.error) {
      const outShape = model.outputShape;
      const labels = tf.zeros([2, ...outShape]);
      const s = await outcome(() => model.trainOnBatch(tf.zeros([2, ...inShape]), labels));
      if (s.error && (!(s.error instanceof Error) || INTERNAL.test(s.error.message))) failures.push(`${label}: trainOnBatch threw ${describeError(s.error)}`);
      if (!s.error) stats.trained++;
    }
    model.dispose();
  }
  fs.rmSync(tmp, { recursive: true, force: true });
  a.comment(`${n} mutated models in ${Date.now() - t0} ms: ${stats.loaded} loaded (${stats.trained} trained a step), ${stats.refused} refused with an Error; peak RSS ${peakRssMb().toFixed(0)} MB`);
  a.ok(failures.length === 0, 'every mutated model loads and works, or is refused with an Error of ours (not a JavaScript internal one), quickly', { failures: failures.slice(0, 10) });
  a.ok(stats.refused > n / 4 && stats.loaded > 10, 'the mutations reach both outcomes');
  a.ok(peakRssMb() < PEAK_RSS_MB, `peak RSS ${peakRssMb().toFixed(0)} MB stays below ${PEAK_RSS_MB} MB`);
}

// ---- the IDX loader -------------------------------------------------------------------------------------

async function idxGroup(a) {
  const { parseIdx, encodeIdx, loadIdx, readIdxHeader } = require(path.join(ROOT, 'dist', 'data', 'idx'));
  const rng = makeRng(SEED + 1);
  const vals = (n, f) => Array.from({ length: n }, (_, i) => f(i));
  const bases = [
    { dtype: 'uint8', shape: [20, 8, 8], data: Uint8Array.from(vals(1280, (i) => i * 7)) },
    { dtype: 'uint8', shape: [30], data: Uint8Array.from(vals(30, (i) => i % 10)) },
    { dtype: 'int8', shape: [4, 4], data: Int8Array.from(vals(16, (i) => i - 8)) },
    { dtype: 'int16', shape: [3, 5], data: Int16Array.from(vals(15, (i) => i * 1000 - 7000)) },
    { dtype: 'int32', shape: [10], data: Int32Array.from(vals(10, (i) => i * 123456)) },
    { dtype: 'float32', shape: [5, 3], data: Float32Array.from(vals(15, (i) => i / 7)) },
    { dtype: 'float64', shape: [2, 2, 2], data: Float64Array.from(vals(8, (i) => Math.PI * i)) },
  ].flatMap((idx) => [encodeIdx(idx), encodeIdx(idx, { gzip: true })]);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cnn-fuzz-idx-'));
  const n = ITERATIONS || 8000;
  const stats = { parsed: 0, refused: 0 };
  const failures = [];
  const t0 = Date.now();
  a.case(`IDX loader, seed ${SEED + 1}, ${n} iterations`);
  for (let it = 0; it < n; it++) {
    const base = bases[rng.int(0, bases.length - 1)];
    let bytes = Buffer.from(base);
    const did = [];
    const gz = base[0] === 0x1f;
    const op = rng.int(0, 9);
    if (!gz && op < 4) {
      // Header fields: type code, rank, one dimension.
      const field = rng.int(0, 2);
      if (field === 0) bytes[2] = [0x08, 0x09, 0x0b, 0x0c, 0x0d, 0x0e, 0x00, 0x0a, 0xff][rng.int(0, 8)];
      else if (field === 1) bytes[3] = [0, 1, 2, 3, 4, 5, 200, 255][rng.int(0, 7)];
      else if (bytes[3] > 0) bytes.writeUInt32BE([0, 1, 0xffffffff, 0x7fffffff, 65536, 3][rng.int(0, 5)], 4 + 4 * rng.int(0, bytes[3] - 1));
      did.push(`header field ${field}`);
    } else if (gz && op < 3) {
      // A gzip stream whose IDX header announces a different size (compressed again).
      const raw = zlib.gunzipSync(bytes);
      const dim = 4 + 4 * rng.int(0, raw[3] - 1);
      raw.writeUInt32BE([0, 1, 0xffffffff, 0x7fffffff, 65536][rng.int(0, 4)], dim);
      bytes = zlib.gzipSync(raw);
      did.push('gzip: header dimension');
    }
    for (let k = rng.int(op < 4 ? 0 : 1, 3); k > 0; k--) {
      const [b, d] = mutateBytes(rng, bytes);
      bytes = b;
      did.push(d);
    }
    const label = `seed ${SEED + 1} iteration ${it}: ${gz ? 'gzip' : 'raw'} ${did.join('; ')}`;
    const viaFile = it % 10 === 0;
    let r;
    if (viaFile) {
      const f = path.join(tmp, `f${it}`);
      fs.writeFileSync(f, bytes);
      const h = await outcome(() => readIdxHeader(f));
      if (h.error && !(h.error instanceof Error && h.error.message.includes(f))) failures.push(`${label}: readIdxHeader: ${describeError(h.error)}`);
      r = await outcome(() => loadIdx(f));
      if (r.error && !r.error.message.includes(f)) failures.push(`${label}: the error does not name the file: ${r.error.message}`);
      fs.unlinkSync(f);
    } else {
      r = await outcome(() => parseIdx(bytes, 'fuzz.idx'));
    }
    if (r.ms > SLOW_CALL_MS) failures.push(`${label}: took ${r.ms} ms`);
    if (r.error) {
      stats.refused++;
      if (!(r.error instanceof Error) || !r.error.message || INTERNAL.test(r.error.message)) failures.push(`${label}: ${describeError(r.error)}`);
      continue;
    }
    stats.parsed++;
    const { shape, data } = r.value;
    const count = shape.reduce((p, d) => p * d, 1);
    if (!Array.isArray(shape) || data.length !== count) failures.push(`${label}: parsed shape [${shape}] but ${data.length} values`);
  }
  fs.rmSync(tmp, { recursive: true, force: true });
  a.comment(`${n} mutated IDX files in ${Date.now() - t0} ms: ${stats.parsed} parsed, ${stats.refused} refused with an Error; peak RSS ${peakRssMb().toFixed(0)} MB`);
  a.ok(failures.length === 0, 'every mutated file parses consistently or is refused with an Error of ours naming it, quickly', { failures: failures.slice(0, 10) });
  a.ok(stats.refused > n / 2 && stats.parsed > 10, 'the mutations reach both outcomes');
  a.ok(peakRssMb() < PEAK_RSS_MB, `peak RSS ${peakRssMb().toFixed(0)} MB stays below ${PEAK_RSS_MB} MB`);
}

isolated(__filename, {
  'model loader': modelGroup,
  'IDX loader': idxGroup,
}, { timeoutMs: 90000 });
