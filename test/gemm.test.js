'use strict';
// The packed SGEMM (native/kernels/gemm/) against the triple loop: every size from 1 to 70 that
// lands on or around a micro-tile edge (6 x 16, 8 x 32, 4 x 8), all four transposes, beta 0 (C
// full of NaN, so reading it would show) and beta 1 / 0.5, alpha != 1, padded leading dimensions,
// on every kernel the CPU can run (AVX-512, AVX2, portable) with 1 and 2 threads; a kernel the CPU
// lacks is reported as a skipped test that names it and says why, never passed silently; shapes
// that cross the MC / KC / NC block edges and take each threading split; bad arguments throwing
// instead of crashing; several threads calling at once.

const t = require('tap');
const path = require('path');

let K = null;
let skip = false;
try {
  K = require('../dist/backend').backendKernels('native');
} catch (e) {
  skip = `native addon unavailable: ${e.message.split('\n')[0]}`;
}

const GemmKernel = { Auto: 0, Avx2Fma: 1, Portable: 2, Naive: 3, Avx512: 4 };
// The packed kernels: [enum name, id, micro-tile].
const PACKED = [['Avx512', GemmKernel.Avx512, '8x32'], ['Avx2Fma', GemmKernel.Avx2Fma, '6x16'], ['Portable', GemmKernel.Portable, '4x8']];
const SIZES = [1, 2, 3, 5, 6, 7, 8, 9, 12, 13, 15, 16, 17, 24, 25, 31, 32, 33, 47, 64, 65, 70];

// mulberry32: deterministic inputs in [-1, 1).
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = a;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return (((x ^ (x >>> 14)) >>> 0) / 4294967296) * 2 - 1;
  };
}
function rand(n, next) {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = next();
  return a;
}

/**
 * Runs sgemm and sgemmNaive on the same operands; returns null when they agree, else a message.
 * pad adds to every leading dimension. Tolerance: 1e-4 relative, scaled by K / 64 beyond K = 64.
 */
function check({ ta, tb, M, N, Kd, alpha = 1, beta = 0, pad = 0, seed = 1 }) {
  const next = rng(seed * 7919 + M * 131 + N * 17 + Kd);
  const lda = (ta ? M : Kd) + pad, ldb = (tb ? Kd : N) + pad, ldc = N + pad;
  const A = rand((ta ? Kd : M) * lda, next);
  const B = rand((tb ? N : Kd) * ldb, next);
  const C0 = beta === 0 ? new Float32Array(M * ldc).fill(NaN) : rand(M * ldc, next);
  const C = C0.slice(), R = C0.slice();
  K.sgemm(ta, tb, M, N, Kd, alpha, A, lda, B, ldb, beta, C, ldc);
  K.sgemmNaive(ta, tb, M, N, Kd, alpha, A, lda, B, ldb, beta, R, ldc);
  const tol = 1e-4 * Math.max(1, Kd / 64);
  for (let i = 0; i < M; i++) {
    for (let j = 0; j < ldc; j++) {
      const x = C[i * ldc + j], r = R[i * ldc + j];
      if (j >= N) {
        // the padding between rows must be left alone (NaN stays NaN)
        if (!Object.is(x, C0[i * ldc + j])) return `padding C[${i},${j}] was written`;
        continue;
      }
      if (!(Math.abs(x - r) <= tol * Math.max(1, Math.abs(r)))) {
        return `C[${i},${j}] = ${x}, naive ${r}`;
      }
    }
  }
  return null;
}

function label(c) {
  return `${c.ta ? 'T' : 'N'}${c.tb ? 'T' : 'N'} M=${c.M} N=${c.N} K=${c.Kd} alpha=${c.alpha} beta=${c.beta} pad=${c.pad}`;
}

// Runs the cases, one assertion for the lot (the first few failures are listed).
function runCases(tt, name, cases) {
  const bad = [];
  for (const c of cases) {
    const msg = check(c);
    if (msg) bad.push(`${label(c)}: ${msg}`);
  }
  tt.same(bad.slice(0, 5), [], `${name}: ${cases.length} products agree with the triple loop`);
}

const TRANS = [[false, false], [true, false], [false, true], [true, true]];
const SCALARS = [{ alpha: 1, beta: 0 }, { alpha: -1.5, beta: 1 }, { alpha: 0.75, beta: 0 }, { alpha: 2, beta: 0.5 }];

// Every (M, N) pair from SIZES, K cycling through SIZES, and the transposes, scalars and padding
// cycling too, so each combination shows up without the full cross product.
function edgeCases() {
  const cases = [];
  let n = 0;
  for (const M of SIZES) {
    for (const N of SIZES) {
      const [ta, tb] = TRANS[n % 4];
      const Kd = SIZES[(n * 7) % SIZES.length];
      cases.push({ ta, tb, M, N, Kd, ...SCALARS[Math.floor(n / 4) % 4], pad: n % 3 === 0 ? 3 : 0, seed: n });
      n++;
    }
  }
  // every K (including K = 1 and K crossing the unroll) for each transpose on a few tiles
  for (const Kd of SIZES) {
    for (const [ta, tb] of TRANS) {
      for (const [M, N] of [[6, 16], [7, 17], [5, 9], [8, 32], [9, 33], [7, 31], [12, 32]]) {
        cases.push({ ta, tb, M, N, Kd, alpha: 1.25, beta: Kd % 2 ? 1 : 0, pad: 1, seed: Kd });
      }
    }
  }
  return cases;
}

// Big enough to use both threads and to cross the block edges (MC ~ 150, KC ~ 256, NC ~ 4080):
// row split, column split (small M), several K blocks accumulating, several NC panels.
function blockCases() {
  const shapes = [
    [300, 257, 129], [129, 300, 257], [64, 1024, 40], [7, 500, 300], [1000, 17, 50],
    [130, 70, 1000], [20, 4200, 40], [2, 3000, 90], [400, 33, 600],
    [64, 512, 1000], // columns split, three K blocks of unequal depth
    [385, 97, 769], // one row past two 192-row blocks, K two blocks of 384 and one more
    [64, 3136, 96], // the conv weight gradient's M = 64 (not a multiple of 12) with a long K
  ];
  const cases = [];
  shapes.forEach(([M, N, Kd], i) => {
    const [ta, tb] = TRANS[i % 4];
    cases.push({ ta, tb, M, N, Kd, ...SCALARS[i % 4], pad: i % 2 ? 5 : 0, seed: 100 + i });
  });
  // all transposes on one shape that crosses every block edge
  for (const [ta, tb] of TRANS) cases.push({ ta, tb, M: 31, N: 4100, Kd: 300, alpha: 1, beta: 1, pad: 0, seed: 7 });
  return cases;
}

// Every packed kernel the CPU can run, at 1 and 2 threads; the others are skipped by name.
t.test('sgemm vs naive on every kernel the CPU has, 1 / 2 threads', { skip }, (tt) => {
  const threads0 = K.getNumThreads();
  const edges = edgeCases(), blocks = blockCases();
  const info = K.gemmKernels();
  const covered = [], skipped = [];
  try {
    for (const [name, k, tile] of PACKED) {
      const entry = info.kernels.find((e) => e.id === k);
      const label = `${name} ${tile} (${entry ? entry.name : '?'})`;
      if (!entry || !entry.available) {
        const why = entry ? entry.reason : 'not reported by gemmKernels()';
        tt.notOk(K.setGemmKernel(k), `${label} cannot be selected`);
        tt.test(label, { skip: `${label} skipped: ${why}` }, () => {});
        skipped.push(`${label}: ${why}`);
        continue;
      }
      tt.ok(K.setGemmKernel(k), `${label} selectable`);
      tt.equal(K.gemmKernel(), k, `${label} selected`);
      tt.equal(K.gemmKernels().activeName, entry.name, `gemmKernels() names ${entry.name} as active`);
      for (const threads of [1, 2]) {
        K.setNumThreads(threads);
        tt.equal(K.getNumThreads(), threads, `${threads} thread(s)`);
        runCases(tt, `${label}, ${threads} thread(s), sizes 1..70`, edges);
        runCases(tt, `${label}, ${threads} thread(s), block-crossing shapes`, blocks);
      }
      covered.push(label);
    }
    K.setGemmKernel(GemmKernel.Naive);
    tt.equal(K.gemmKernel(), GemmKernel.Naive, 'Naive kernel selected');
    runCases(tt, 'Naive through sgemm', edges.slice(0, 40));
  } finally {
    K.setGemmKernel(GemmKernel.Auto);
    K.setNumThreads(threads0);
  }
  tt.comment(`kernel paths covered: ${covered.join(', ') || 'none'}`);
  tt.comment(`kernel paths skipped: ${skipped.join('; ') || 'none'}`);
  tt.ok(covered.some((l) => l.startsWith('Portable')), 'the portable kernel always runs');
  const expected = K.cpuHasAvx512() ? GemmKernel.Avx512 : K.cpuHasAvx2Fma() ? GemmKernel.Avx2Fma : GemmKernel.Portable;
  tt.equal(K.gemmKernel(), expected, 'Auto resolves by CPU: AVX-512, else AVX2, else portable');
  tt.end();
});

t.test('gemmKernels() reports the kernels, the CPU\'s and the active one', { skip }, (tt) => {
  const info = K.gemmKernels();
  tt.same(info.kernels.map((e) => e.id), [GemmKernel.Avx512, GemmKernel.Avx2Fma, GemmKernel.Portable, GemmKernel.Naive], 'every kernel listed, fastest first');
  tt.same(info.kernels.map((e) => e.name), ['avx512_8x32', 'avx2_fma_6x16', 'portable_4x8', 'naive'], 'names with their tiles');
  const avx512 = info.kernels[0], avx2 = info.kernels[1];
  tt.equal(avx512.available, K.cpuHasAvx512(), 'AVX-512 available exactly when cpuHasAvx512()');
  tt.equal(avx2.available, K.cpuHasAvx2Fma(), 'AVX2 available exactly when cpuHasAvx2Fma()');
  for (const e of info.kernels) {
    if (e.available) tt.equal(e.reason, undefined, `${e.name}: no reason when available`);
    else tt.match(e.reason, /^CPU lacks |^the OS does not enable|^disabled by CNN_NO_AVX512$/, `${e.name}: says why not (${e.reason})`);
  }
  tt.ok(info.kernels[2].available && info.kernels[3].available, 'portable and naive run everywhere');
  tt.equal(info.active, K.gemmKernel(), 'active = gemmKernel()');
  tt.equal(info.auto, info.kernels.find((e) => e.available).name, 'Auto picks the first available kernel');
  K.setGemmKernel(GemmKernel.Portable);
  tt.same([K.gemmKernels().active, K.gemmKernels().activeName], [GemmKernel.Portable, 'portable_4x8'], 'follows setGemmKernel');
  K.setGemmKernel(GemmKernel.Auto);
  tt.equal(K.gemmKernels().activeName, info.auto, 'Auto again');
  tt.end();
});

// CNN_NO_AVX512=1 makes an AVX-512 machine behave like an AVX2-only one (in a fresh process): the
// kernel is reported unavailable with that reason and Auto falls back to AVX2.
t.test('CNN_NO_AVX512=1: AVX-512 reported unavailable, Auto picks AVX2', { skip }, (tt) => {
  const { spawnSync } = require('child_process');
  const dist = path.join(__dirname, '..', 'dist', 'backend');
  const src = `const K = require(${JSON.stringify(dist)}).backendKernels('native');
    const i = K.gemmKernels();
    console.log(JSON.stringify({ has: K.cpuHasAvx512(), set: K.setGemmKernel(4), active: K.gemmKernel(), e: i.kernels[0], auto: i.auto }));`;
  const r = spawnSync(process.execPath, ['-e', src], { env: { ...process.env, CNN_NO_AVX512: '1' }, encoding: 'utf8' });
  tt.equal(r.status, 0, `child ran (${r.stderr.trim().split('\n').pop() || 'ok'})`);
  const o = JSON.parse(r.stdout.trim().split('\n').pop());
  tt.same(o.has, false, 'cpuHasAvx512() false');
  tt.same(o.set, false, 'setGemmKernel(Avx512) refused');
  tt.same(o.e, { id: 4, name: 'avx512_8x32', available: false, reason: 'disabled by CNN_NO_AVX512' }, 'reported with the reason');
  const fallback = K.cpuHasAvx2Fma() ? ['avx2_fma_6x16', GemmKernel.Avx2Fma] : ['portable_4x8', GemmKernel.Portable];
  tt.same([o.auto, o.active], fallback, 'Auto falls back to the next kernel');
  tt.end();
});

t.test('degenerate shapes and scalars', { skip }, (tt) => {
  // K = 0: C = beta * C; beta = 0 writes zeros even over NaN
  const C = new Float32Array([1, 2, 3, 4]);
  K.sgemm(false, false, 2, 2, 0, 1, new Float32Array(0), 1, new Float32Array(0), 2, 0.5, C, 2);
  tt.same(Array.from(C), [0.5, 1, 1.5, 2], 'K = 0 scales C by beta');
  const Z = new Float32Array(4).fill(NaN);
  K.sgemm(false, false, 2, 2, 0, 1, new Float32Array(0), 1, new Float32Array(0), 2, 0, Z, 2);
  tt.same(Array.from(Z), [0, 0, 0, 0], 'K = 0, beta = 0 zeroes C without reading it');
  // alpha = 0: A and B do not matter
  const C2 = new Float32Array([1, 2, 3, 4]);
  K.sgemm(false, false, 2, 2, 2, 0, new Float32Array(4).fill(7), 2, new Float32Array(4).fill(7), 2, 1, C2, 2);
  tt.same(Array.from(C2), [1, 2, 3, 4], 'alpha = 0, beta = 1 leaves C');
  // M = 0 / N = 0: nothing happens, empty arrays are fine
  K.sgemm(false, false, 0, 5, 3, 1, new Float32Array(0), 3, new Float32Array(15), 5, 0, new Float32Array(0), 5);
  K.sgemm(false, false, 4, 0, 3, 1, new Float32Array(12), 3, new Float32Array(0), 1, 0, new Float32Array(0), 1);
  tt.pass('M = 0 and N = 0 are no-ops');
  // a known product: [1 2; 3 4] * [5 6; 7 8] = [19 22; 43 50]
  const P = new Float32Array(4).fill(NaN);
  K.sgemm(false, false, 2, 2, 2, 1, new Float32Array([1, 2, 3, 4]), 2, new Float32Array([5, 6, 7, 8]), 2, 0, P, 2);
  tt.same(Array.from(P), [19, 22, 43, 50], '2x2 product');
  tt.end();
});

t.test('bad arguments throw, never crash', { skip }, (tt) => {
  const A = new Float32Array(12), B = new Float32Array(12), C = new Float32Array(16);
  // M=4, N=4, K=3: A 4x3 (lda 3), B 3x4 (ldb 4), C 4x4 (ldc 4)
  const ok = [false, false, 4, 4, 3, 1, A, 3, B, 4, 0, C, 4];
  for (const fn of ['sgemm', 'sgemmNaive']) {
    tt.doesNotThrow(() => K[fn](...ok), `${fn}: valid call`);
    const bad = (i, v, re, what) => {
      const args = ok.slice();
      args[i] = v;
      tt.throws(() => K[fn](...args), re, `${fn}: ${what}`);
    };
    bad(6, new Float32Array(11), RangeError, 'A one element short');
    bad(8, new Float32Array(11), RangeError, 'B one element short');
    bad(11, new Float32Array(15), RangeError, 'C one element short');
    bad(7, 2, RangeError, 'lda < K');
    bad(9, 3, RangeError, 'ldb < N');
    bad(12, 3, RangeError, 'ldc < N');
    bad(7, 4, RangeError, 'lda = 4 makes A too short for 4 rows');
    bad(2, -1, RangeError, 'negative M');
    bad(4, 1.5, RangeError, 'fractional K');
    bad(3, '4', TypeError, 'N as a string');
    bad(5, null, TypeError, 'alpha missing');
    bad(6, new Float64Array(12), TypeError, 'A a Float64Array');
    bad(11, [0, 0, 0], TypeError, 'C a plain array');
    tt.throws(() => K[fn](false, false, 4, 4, 3, 1, A, 3, B, 4, 0, C), TypeError, `${fn}: 12 arguments`);
    // transposed storage: A stored K x M = 3 x 4 needs lda >= 4 and (3-1)*lda + 4 elements
    tt.doesNotThrow(() => K[fn](true, false, 4, 4, 3, 1, A, 4, B, 4, 0, C, 4), `${fn}: transA with lda = M`);
    tt.throws(() => K[fn](true, false, 4, 4, 3, 1, A, 3, B, 4, 0, C, 4), RangeError, `${fn}: transA with lda < M`);
    tt.throws(() => K[fn](true, false, 4, 4, 3, 1, A, 5, B, 4, 0, C, 4), RangeError, `${fn}: transA, A too short for lda = 5`);
    tt.throws(() => K[fn](false, true, 4, 4, 3, 1, A, 3, B, 2, 0, C, 4), RangeError, `${fn}: transB with ldb < K`);
  }
  tt.throws(() => K.setNumThreads(0), RangeError, 'setNumThreads(0)');
  tt.throws(() => K.setGemmKernel(5), RangeError, 'setGemmKernel(5)');
  tt.throws(() => K.setGemmKernel(-1), RangeError, 'setGemmKernel(-1)');
  tt.equal(K.setGemmKernel(GemmKernel.Avx2Fma), K.cpuHasAvx2Fma(), 'Avx2Fma selectable exactly when the CPU has it');
  tt.equal(K.setGemmKernel(GemmKernel.Avx512), K.cpuHasAvx512(), 'Avx512 selectable exactly when the CPU has it');
  K.setGemmKernel(GemmKernel.Auto);
  tt.end();
});

t.test('concurrent callers: worker threads and the main thread share the pool', { skip }, async (tt) => {
  const { Worker } = require('worker_threads');
  const threads0 = K.getNumThreads();
  K.setNumThreads(2);
  const dist = path.join(__dirname, '..', 'dist', 'backend');
  // Each worker runs products that use the pool and checks them against the triple loop.
  const src = `
    const { parentPort, workerData } = require('worker_threads');
    const K = require(workerData.dist).backendKernels('native');
    let bad = 0;
    for (let r = 0; r < 6; r++) {
      const M = 150 + r, N = 140, Kd = 130;
      const A = new Float32Array(M * Kd).map((_, i) => Math.sin(i + r));
      const B = new Float32Array(Kd * N).map((_, i) => Math.cos(i * 0.5));
      const C = new Float32Array(M * N), R = new Float32Array(M * N);
      K.sgemm(false, r % 2 === 1, M, N, Kd, 1, A, Kd, B, r % 2 === 1 ? Kd : N, 0, C, N);
      K.sgemmNaive(false, r % 2 === 1, M, N, Kd, 1, A, Kd, B, r % 2 === 1 ? Kd : N, 0, R, N);
      for (let i = 0; i < C.length; i++) if (!(Math.abs(C[i] - R[i]) <= 1e-3 * Math.max(1, Math.abs(R[i])))) { bad++; break; }
    }
    parentPort.postMessage(bad);
  `;
  const workers = [0, 1].map(() => new Promise((resolve, reject) => {
    const w = new Worker(src, { eval: true, workerData: { dist } });
    w.once('message', resolve);
    w.once('error', reject);
  }));
  const mainBad = [];
  for (let r = 0; r < 8; r++) {
    const msg = check({ ta: r % 2 === 1, tb: false, M: 200, N: 190, Kd: 120, alpha: 1, beta: 0, seed: r });
    if (msg) mainBad.push(msg);
    await new Promise((res) => setImmediate(res));
  }
  const results = await Promise.all(workers);
  K.setNumThreads(threads0);
  tt.same(results, [0, 0], 'worker threads computed correct products');
  tt.same(mainBad, [], 'the main thread computed correct products meanwhile');
});
