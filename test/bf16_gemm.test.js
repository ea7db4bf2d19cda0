'use strict';
// bf16 kernels (native/kernels/bf16/): fp32 -> bf16 rounding on its edge cases (ties to even,
// NaN, Inf, overflow, denormals, signed zero), native and TypeScript bit for bit; and sbgemm on
// every path the CPU has (avx512_bf16 vdpbf16ps, rounded_sgemm) against the naive reference
// (products of bf16-rounded operands summed in fp32) over shapes around the 8 x 32 micro-tile and
// the MC / KC / NC block edges, all four transposes, beta 0 (C full of NaN) / 1 / 0.5, alpha != 1,
// padded leading dimensions, 1 and 2 threads. A path the CPU lacks is a skipped test naming it.

const t = require('tap');

let K = null;
let skip = false;
try {
  K = require('../dist/backend').backendKernels('native');
  if (typeof K.sbgemm !== 'function') skip = 'the native addon has no bf16 kernels (rebuild it)';
} catch (e) {
  skip = `native addon unavailable: ${e.message.split('\n')[0]}`;
}
const { bf16RoundInto } = require('../dist/backend/js/bf16');

const Bf16Kernel = { Auto: 0, Avx512Bf16: 1, RoundedSgemm: 2, Naive: 3 };

function bitsToF32(u) { return new Float32Array(new Uint32Array([u >>> 0]).buffer)[0]; }
function f32Bits(x) { return new Uint32Array(new Float32Array([x]).buffer)[0]; }

// [fp32 bits in, bf16 bits out, what]
const EDGES = [
  [0x3f800000, 0x3f80, '1'],
  [0x3f808000, 0x3f80, '1 + 2^-8: a tie, to the even 1'],
  [0x3f818000, 0x3f82, '1 + 3 * 2^-8: a tie, to the even 1 + 2^-6'],
  [0x3f808001, 0x3f81, 'just above a tie rounds up'],
  [0x3f807fff, 0x3f80, 'just below a tie rounds down'],
  [0xbf818000, 0xbf82, 'negative tie to even'],
  [0x7f800000, 0x7f80, '+Inf'],
  [0xff800000, 0xff80, '-Inf'],
  [0x7fc00000, 0x7fc0, 'quiet NaN'],
  [0x7f800001, 0x7fc0, 'signalling NaN with a low payload stays NaN (made quiet)'],
  [0xffa50000, 0xffe5, '-NaN keeps its sign and top payload'],
  [0x7f7fffff, 0x7f80, 'FLT_MAX rounds to Inf'],
  [0x7f7f0000, 0x7f7f, 'the largest bf16 stays'],
  [0x7f7f8000, 0x7f80, 'a tie above the largest bf16 rounds (to even) to Inf'],
  [0x00000001, 0x0000, 'the smallest denormal rounds to +0'],
  [0x00008000, 0x0000, 'a denormal tie to even (0)'],
  [0x00018000, 0x0002, 'a denormal tie to even (2)'],
  [0x00010000, 0x0001, 'the smallest bf16 denormal stays'],
  [0x007fffff, 0x0080, 'the largest denormal rounds up to the smallest normal'],
  [0x80000000, 0x8000, '-0 stays -0'],
  [0x00000000, 0x0000, '+0'],
];

t.test('fp32 -> bf16 rounding edge cases, native and TypeScript', (tt) => {
  const src = new Float32Array(EDGES.map(([u]) => bitsToF32(u)));
  const outs = [['js', (d, s) => bf16RoundInto(d, s)]];
  if (!skip) outs.push(['native', (d, s) => K.bf16Round(d, s)]);
  else tt.skip(`native bf16Round skipped: ${skip}`);
  for (const [name, fn] of outs) {
    const dst = new Float32Array(src.length);
    fn(dst, src);
    const du = new Uint32Array(dst.buffer);
    EDGES.forEach(([u, b, what], i) => {
      tt.equal(du[i] >>> 0, (b << 16) >>> 0, `${name}: ${what} (0x${u.toString(16)} -> 0x${b.toString(16)})`);
    });
  }
  // in place
  const x = new Float32Array([1 + 2 ** -8, 3]);
  bf16RoundInto(x, x);
  tt.same(Array.from(x), [1, 3], 'js in place');
  tt.end();
});

t.test('native and TypeScript rounding agree on 200000 random bit patterns', { skip }, (tt) => {
  const n = 200000;
  const u = new Uint32Array(n);
  let s = 12345;
  for (let i = 0; i < n; i++) { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; u[i] = s; }
  const src = new Float32Array(u.buffer);
  const a = new Float32Array(n), b = new Float32Array(n);
  K.bf16Round(a, src);
  bf16RoundInto(b, src);
  const ua = new Uint32Array(a.buffer), ub = new Uint32Array(b.buffer);
  let bad = -1;
  for (let i = 0; i < n && bad < 0; i++) if (ua[i] !== ub[i]) bad = i;
  tt.equal(bad, -1, bad < 0 ? 'bit-identical' : `differ at 0x${u[bad].toString(16)}`);
  tt.end();
});

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
const abs = (a) => a.map(Math.abs);

/**
 * sbgemm against sbgemmNaive; null when they agree, else a message. Both sum exact products of
 * the same bf16 values in fp32, in different orders: the tolerance is the fp32 summation bound
 * (K + 2) * 2^-23 times the sum of |terms|.
 */
const refs = new Map();  // label -> operands and naive results, computed once for every path

function check(c) {
  const { ta, tb, M, N, Kd, alpha = 1, beta = 0, pad = 0, seed = 1 } = c;
  const lda = (ta ? M : Kd) + pad, ldb = (tb ? Kd : N) + pad, ldc = N + pad;
  const key = label(c);
  if (!refs.has(key)) {
    const next = rng(seed * 7919 + M * 131 + N * 17 + Kd);
    const A = rand((ta ? Kd : M) * lda, next);
    const B = rand((tb ? N : Kd) * ldb, next);
    const C0 = beta === 0 ? new Float32Array(M * ldc).fill(NaN) : rand(M * ldc, next);
    const R = C0.slice(), S = new Float32Array(M * ldc);
    K.sbgemmNaive(ta, tb, M, N, Kd, alpha, A, lda, B, ldb, beta, R, ldc);
    K.sbgemmNaive(ta, tb, M, N, Kd, 1, abs(A), lda, abs(B), ldb, 0, S, ldc);
    refs.set(key, { A, B, C0, R, S });
  }
  const { A, B, C0, R, S } = refs.get(key);
  const C = C0.slice();
  K.sbgemm(ta, tb, M, N, Kd, alpha, A, lda, B, ldb, beta, C, ldc);
  const eps = (Kd + 2) * 2 ** -23;
  for (let i = 0; i < M; i++) {
    for (let j = 0; j < ldc; j++) {
      const k = i * ldc + j, x = C[k], r = R[k];
      if (j >= N) {
        if (!Object.is(x, C0[k])) return `padding C[${i},${j}] was written`;
        continue;
      }
      const tol = eps * (Math.abs(alpha) * S[k] + (beta === 0 ? 0 : Math.abs(beta * C0[k]))) + 1e-30;
      if (!(Math.abs(x - r) <= tol)) return `C[${i},${j}] = ${x}, naive ${r} (tolerance ${tol})`;
    }
  }
  return null;
}

const label = (c) => `${c.ta ? 'T' : 'N'}${c.tb ? 'T' : 'N'} M=${c.M} N=${c.N} K=${c.Kd} alpha=${c.alpha ?? 1} beta=${c.beta ?? 0} pad=${c.pad ?? 0}`;

function cases() {
  const out = [];
  const tiles = [[1, 1, 1], [7, 31, 3], [8, 32, 2], [9, 33, 17], [16, 64, 16], [17, 15, 31], [23, 47, 64], [5, 70, 9]];
  for (const [M, N, Kd] of tiles) {
    for (const ta of [false, true]) {
      for (const tb of [false, true]) {
        out.push({ ta, tb, M, N, Kd });
        out.push({ ta, tb, M, N, Kd, alpha: -2, beta: 0.5, pad: 3 });
        out.push({ ta, tb, M, N, Kd, beta: 1, pad: 1 });
      }
    }
  }
  // the block edges: MC = 144, NC = 512, KC = 512 (and odd K inside a later block)
  for (const ta of [false, true]) {
    for (const tb of [false, true]) {
      out.push({ ta, tb, M: 145, N: 33, Kd: 1025 });
      out.push({ ta, tb, M: 9, N: 513, Kd: 513, beta: 1 });
      out.push({ ta, tb, M: 300, N: 520, Kd: 40, alpha: 0.5, beta: 0.5, pad: 2 });
    }
  }
  // the engine's shapes (2-conv net conv2 tile, dense 3136 -> 1024 at batch 32)
  out.push({ ta: false, tb: false, M: 196, N: 64, Kd: 800 });
  out.push({ ta: true, tb: false, M: 800, N: 64, Kd: 196, beta: 1 });
  out.push({ ta: false, tb: true, M: 196, N: 800, Kd: 64 });
  out.push({ ta: false, tb: false, M: 32, N: 1024, Kd: 1100 });
  return out;
}

t.test('sbgemm vs naive on every path the CPU has, 1 / 2 threads', { skip }, (tt) => {
  const info = K.bf16Kernels();
  const threads0 = K.getNumThreads();
  const covered = [];
  for (const k of info.kernels) {
    if (k.id === Bf16Kernel.Naive) continue;  // the reference itself
    if (!k.available) {
      tt.test(`sbgemm path ${k.name}`, { skip: `sbgemm path ${k.name} skipped: ${k.reason}` }, () => {});
      continue;
    }
    tt.ok(K.setBf16Kernel(k.id), `setBf16Kernel(${k.name})`);
    for (const threads of [1, 2]) {
      K.setNumThreads(threads);
      const bad = [];
      for (const c of cases()) {
        const msg = check(c);
        if (msg) bad.push(`${label(c)}: ${msg}`);
      }
      tt.same(bad.slice(0, 5), [], `${k.name}, ${threads} thread(s): ${cases().length} cases agree with the naive reference`);
      covered.push(`${k.name}/${threads}t`);
    }
  }
  K.setNumThreads(threads0);
  K.setBf16Kernel(Bf16Kernel.Auto);
  tt.comment(`sbgemm paths covered: ${covered.join(', ')}; active by default: ${K.bf16Kernels().activeName}`);
  tt.end();
});

t.test('sbgemm rounds its operands: it is not the fp32 GEMM', { skip }, (tt) => {
  const next = rng(3);
  const M = 4, N = 4, Kd = 64;
  const A = rand(M * Kd, next), B = rand(Kd * N, next);
  const C = new Float32Array(M * N), F = new Float32Array(M * N), R = new Float32Array(M * N);
  K.sbgemm(false, false, M, N, Kd, 1, A, Kd, B, N, 0, C, N);
  K.sgemmNaive(false, false, M, N, Kd, 1, A, Kd, B, N, 0, F, N);
  // the fp32 GEMM of the rounded operands: the same products
  const Ar = new Float32Array(A.length), Br = new Float32Array(B.length);
  K.bf16Round(Ar, A);
  K.bf16Round(Br, B);
  K.sgemmNaive(false, false, M, N, Kd, 1, Ar, Kd, Br, N, 0, R, N);
  let dF = 0, dR = 0;
  for (let i = 0; i < M * N; i++) { dF = Math.max(dF, Math.abs(C[i] - F[i])); dR = Math.max(dR, Math.abs(C[i] - R[i])); }
  tt.ok(dF > 1e-4, `differs from fp32 on unrounded inputs (max |diff| ${dF.toExponential(2)})`);
  tt.ok(dR < 1e-5, `matches the fp32 GEMM of rounded inputs (max |diff| ${dR.toExponential(2)})`);
  tt.end();
});

t.test('bf16Kernels() names every path; setBf16Kernel refuses what the CPU lacks', { skip }, (tt) => {
  const info = K.bf16Kernels();
  tt.same(info.kernels.map((k) => k.name), ['avx512_bf16', 'rounded_sgemm', 'naive']);
  for (const k of info.kernels) {
    tt.equal(K.setBf16Kernel(k.id), k.available, `setBf16Kernel(${k.name}) is ${k.available}`);
    if (!k.available) tt.match(k.reason, /avx512_bf16/, `${k.name}: the reason names the missing feature`);
  }
  K.setBf16Kernel(Bf16Kernel.Auto);
  tt.equal(K.bf16Kernels().active, info.auto, 'Auto picks the auto path');
  tt.end();
});

t.test('sbgemm: bad arguments throw, never crash', { skip }, (tt) => {
  const a = new Float32Array(4);
  tt.throws(() => K.sbgemm(false, false, 2, 2, 2, 1, a, 2, a, 2, 0), /expected 13 arguments/);
  tt.throws(() => K.sbgemm(false, false, 3, 2, 2, 1, a, 2, a, 2, 0, a, 2), /A has 4 elements, needs at least 6/);
  tt.throws(() => K.sbgemm(false, false, 2, 2, 2, 1, a, 1, a, 2, 0, a, 2), /lda \(1\) must be >= max\(1, 2\)/);
  tt.throws(() => K.sbgemm(false, false, 2, 2, 2, 1, [1, 2, 3, 4], 2, a, 2, 0, a, 2), /A must be a Float32Array/);
  tt.throws(() => K.bf16Round(new Float32Array(1), new Float32Array(2)), /dst has 1 elements, needs at least 2/);
  tt.throws(() => K.setBf16Kernel(7), /setBf16Kernel/);
  // degenerate sizes: K = 0 gives beta * C, M = 0 touches nothing
  const C = new Float32Array([1, 2, 3, 4]);
  K.sbgemm(false, false, 2, 2, 0, 1, a, 1, a, 2, 0.5, C, 2);
  tt.same(Array.from(C), [0.5, 1, 1.5, 2], 'K = 0: C = beta * C');
  tt.end();
});

t.test('sbgemm: NaN and Inf propagate as in the reference, on every path', { skip }, (tt) => {
  const M = 9, N = 33, Kd = 5;
  const next = rng(11);
  const A = rand(M * Kd, next), B = rand(Kd * N, next);
  A[0] = NaN;                      // row 0 of C: NaN everywhere
  A[1 * Kd + 2] = Infinity;        // row 1: +-Inf, by the sign of B[2][j] (no NaN: nothing else is infinite)
  for (const k of K.bf16Kernels().kernels) {
    if (!k.available) {
      tt.test(`sbgemm path ${k.name}`, { skip: `sbgemm path ${k.name} skipped: ${k.reason}` }, () => {});
      continue;
    }
    K.setBf16Kernel(k.id);
    const C = new Float32Array(M * N);
    K.sbgemm(false, false, M, N, Kd, 1, A, Kd, B, N, 0, C, N);
    tt.ok(C.subarray(0, N).every(Number.isNaN), `${k.name}: a NaN in A makes its row NaN`);
    tt.ok(C.subarray(N, 2 * N).every((v, j) => v === (B[2 * N + j] > 0 ? Infinity : -Infinity)), `${k.name}: an Inf in A gives signed Inf`);
    tt.ok(C.subarray(2 * N).every(Number.isFinite), `${k.name}: other rows finite`);
  }
  K.setBf16Kernel(Bf16Kernel.Auto);
  tt.end();
});
