// Single-precision GEMM in plain TypeScript, row-major (the twin of native/kernels/gemm/sgemm.h):
//   C[M,N] = alpha * op(A)[M,K] · op(B)[K,N] + beta * C
// op(A) = A (stored M x K, row stride lda) or Aᵀ (stored K x M); op(B) = B (K x N) or Bᵀ (N x K).
// beta == 0 never reads C. The fast path follows the BLIS loop nest on a small scale: blocks of
// KC x NC of op(B) and MC x KC of op(A) are packed into MR / NR wide panels (zero-padded at the
// edges, which also absorbs the four transpose cases), then a 4x4 register tile runs over them.
import { GemmKernel } from '../types';
import { checkInts, checkLen, f32 } from './check';

const MR = 4; // rows of the register tile
const NR = 4; // columns of the register tile
const KC = 256; // depth of a packed block
const MC = 128; // rows of a packed A block (multiple of MR)
const NC = 2048; // columns of a packed B block (multiple of NR)

// Packed panels, reused by every call (JS is single-threaded, the kernels never re-enter).
const packA = new Float64Array(MC * KC); // (MC/MR panels, KC, MR)
const packB = new Float64Array(NC * KC); // (NC/NR panels, KC, NR)

let useNaive = false;

/** Selects the kernel: the js backend has the blocked kernel (Auto) and the triple loop (Naive). */
export function setGemmKernel(k: GemmKernel): boolean {
  if (k === GemmKernel.Auto) useNaive = false;
  else if (k === GemmKernel.Naive) useNaive = true;
  else return false;
  return true;
}

/** Naive when the triple loop was selected, otherwise Auto (the blocked TypeScript kernel). */
export function gemmKernel(): GemmKernel {
  return useNaive ? GemmKernel.Naive : GemmKernel.Auto;
}

function checkGemm(fn: string, transA: boolean, transB: boolean, M: number, N: number, K: number,
                   A: Float32Array, lda: number, B: Float32Array, ldb: number, C: Float32Array,
                   ldc: number): void {
  checkInts(fn, { M, N, K }, 0);
  checkInts(fn, { lda, ldb, ldc }, 1);
  const aRows = transA ? K : M, aCols = transA ? M : K;
  const bRows = transB ? N : K, bCols = transB ? K : N;
  if (lda < aCols) throw new RangeError(`${fn}: lda (${lda}) < columns of A (${aCols})`);
  if (ldb < bCols) throw new RangeError(`${fn}: ldb (${ldb}) < columns of B (${bCols})`);
  if (ldc < N) throw new RangeError(`${fn}: ldc (${ldc}) < N (${N})`);
  if (M === 0 || N === 0) return;
  if (aRows > 0 && aCols > 0) checkLen(fn, 'A', A, (aRows - 1) * lda + aCols);
  if (bRows > 0 && bCols > 0) checkLen(fn, 'B', B, (bRows - 1) * ldb + bCols);
  checkLen(fn, 'C', C, (M - 1) * ldc + N);
}

/** Triple loop with a double accumulator: the oracle for tests and the reference kernel. */
export function sgemmNaive(transA: boolean, transB: boolean, M: number, N: number, K: number,
                           alpha: number, A: Float32Array, lda: number, B: Float32Array, ldb: number,
                           beta: number, C: Float32Array, ldc: number): void {
  checkGemm('sgemmNaive', transA, transB, M, N, K, A, lda, B, ldb, C, ldc);
  naive(transA, transB, M, N, K, f32(alpha), A, lda, B, ldb, f32(beta), C, ldc);
}

function naive(transA: boolean, transB: boolean, M: number, N: number, K: number, alpha: number,
               A: Float32Array, lda: number, B: Float32Array, ldb: number, beta: number,
               C: Float32Array, ldc: number): void {
  const ars = transA ? 1 : lda, acs = transA ? lda : 1; // op(A)(i,p) = A[i*ars + p*acs]
  const brs = transB ? 1 : ldb, bcs = transB ? ldb : 1; // op(B)(p,j) = B[p*brs + j*bcs]
  for (let i = 0; i < M; i++) {
    for (let j = 0; j < N; j++) {
      let acc = 0;
      for (let p = 0; p < K; p++) acc += A[i * ars + p * acs] * B[p * brs + j * bcs];
      const c = i * ldc + j;
      const ab = f32(alpha * f32(acc));
      C[c] = beta === 0 ? ab : ab + f32(beta * C[c]);
    }
  }
}

/** The blocked kernel (or the naive one when selected with setGemmKernel(Naive)). */
export function sgemm(transA: boolean, transB: boolean, M: number, N: number, K: number,
                      alpha: number, A: Float32Array, lda: number, B: Float32Array, ldb: number,
                      beta: number, C: Float32Array, ldc: number): void {
  checkGemm('sgemm', transA, transB, M, N, K, A, lda, B, ldb, C, ldc);
  alpha = f32(alpha);
  beta = f32(beta);
  if (M === 0 || N === 0) return;
  if (useNaive || K === 0) {
    naive(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    return;
  }
  gemmBlocked(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

/** The unchecked blocked kernel, for the other kernels of this backend (they check their own buffers). */
export function gemmBlocked(transA: boolean, transB: boolean, M: number, N: number, K: number,
                            alpha: number, A: Float32Array, lda: number, B: Float32Array, ldb: number,
                            beta: number, C: Float32Array, ldc: number): void {
  if (M === 0 || N === 0) return;
  if (K === 0 || useNaive) {
    naive(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    return;
  }
  const ars = transA ? 1 : lda, acs = transA ? lda : 1;
  const brs = transB ? 1 : ldb, bcs = transB ? ldb : 1;
  for (let j0 = 0; j0 < N; j0 += NC) {
    const nc = Math.min(NC, N - j0);
    for (let p0 = 0; p0 < K; p0 += KC) {
      const kc = Math.min(KC, K - p0);
      // The first depth block applies beta; later ones accumulate into C.
      const betaBlock = p0 === 0 ? beta : 1;
      packPanels(packB, B, p0 * brs + j0 * bcs, bcs, brs, nc, kc, NR);
      for (let i0 = 0; i0 < M; i0 += MC) {
        const mc = Math.min(MC, M - i0);
        packPanels(packA, A, i0 * ars + p0 * acs, ars, acs, mc, kc, MR);
        macroKernel(mc, nc, kc, alpha, betaBlock, C, i0 * ldc + j0, ldc);
      }
    }
  }
}

// Packs `rows` rows (row r starts at src[off + r*rs], its k-th value at + k*ks) of depth kc into
// panels of `w` rows: dst[(panel*kc + k)*w + r], zero-filling the rows past the end.
function packPanels(dst: Float64Array, src: Float32Array, off: number, rs: number, ks: number,
                    rows: number, kc: number, w: number): void {
  let d = 0;
  for (let r0 = 0; r0 < rows; r0 += w) {
    const h = Math.min(w, rows - r0);
    for (let k = 0; k < kc; k++) {
      const s = off + r0 * rs + k * ks;
      let r = 0;
      for (; r < h; r++) dst[d + r] = src[s + r * rs];
      for (; r < w; r++) dst[d + r] = 0;
      d += w;
    }
  }
}

// Runs the 4x4 tile over a packed (mc x kc) · (kc x nc) block, storing into C at cOff.
function macroKernel(mc: number, nc: number, kc: number, alpha: number, beta: number,
                     C: Float32Array, cOff: number, ldc: number): void {
  for (let j = 0; j < nc; j += NR) {
    const nr = Math.min(NR, nc - j);
    const bOff = j * kc; // panel j/NR starts at (j/NR)*kc*NR
    for (let i = 0; i < mc; i += MR) {
      const mr = Math.min(MR, mc - i);
      tile4x4(kc, i * kc, bOff, alpha, beta, C, cOff + i * ldc + j, ldc, mr, nr);
    }
  }
}

const tileOut = new Float64Array(MR * NR);

// C tile (mr x nr at cOff) = alpha * Ap·Bp + beta * C, over kc packed steps.
function tile4x4(kc: number, aOff: number, bOff: number, alpha: number, beta: number,
                 C: Float32Array, cOff: number, ldc: number, mr: number, nr: number): void {
  const Ap = packA, Bp = packB;
  let c00 = 0, c01 = 0, c02 = 0, c03 = 0;
  let c10 = 0, c11 = 0, c12 = 0, c13 = 0;
  let c20 = 0, c21 = 0, c22 = 0, c23 = 0;
  let c30 = 0, c31 = 0, c32 = 0, c33 = 0;
  let a = aOff, b = bOff;
  for (let p = 0; p < kc; p++, a += 4, b += 4) {
    const b0 = Bp[b], b1 = Bp[b + 1], b2 = Bp[b + 2], b3 = Bp[b + 3];
    const a0 = Ap[a], a1 = Ap[a + 1], a2 = Ap[a + 2], a3 = Ap[a + 3];
    c00 += a0 * b0; c01 += a0 * b1; c02 += a0 * b2; c03 += a0 * b3;
    c10 += a1 * b0; c11 += a1 * b1; c12 += a1 * b2; c13 += a1 * b3;
    c20 += a2 * b0; c21 += a2 * b1; c22 += a2 * b2; c23 += a2 * b3;
    c30 += a3 * b0; c31 += a3 * b1; c32 += a3 * b2; c33 += a3 * b3;
  }
  if (mr === 4 && nr === 4) {
    store4(C, cOff, alpha, beta, c00, c01, c02, c03);
    store4(C, cOff + ldc, alpha, beta, c10, c11, c12, c13);
    store4(C, cOff + 2 * ldc, alpha, beta, c20, c21, c22, c23);
    store4(C, cOff + 3 * ldc, alpha, beta, c30, c31, c32, c33);
    return;
  }
  const t = tileOut;
  t[0] = c00; t[1] = c01; t[2] = c02; t[3] = c03;
  t[4] = c10; t[5] = c11; t[6] = c12; t[7] = c13;
  t[8] = c20; t[9] = c21; t[10] = c22; t[11] = c23;
  t[12] = c30; t[13] = c31; t[14] = c32; t[15] = c33;
  for (let r = 0; r < mr; r++) {
    for (let c = 0; c < nr; c++) {
      const o = cOff + r * ldc + c;
      const ab = alpha * f32(t[r * 4 + c]);
      C[o] = beta === 0 ? ab : ab + beta * C[o];
    }
  }
}

function store4(C: Float32Array, o: number, alpha: number, beta: number,
                x0: number, x1: number, x2: number, x3: number): void {
  if (beta === 0) {
    C[o] = alpha * f32(x0); C[o + 1] = alpha * f32(x1); C[o + 2] = alpha * f32(x2); C[o + 3] = alpha * f32(x3);
  } else {
    C[o] = alpha * f32(x0) + beta * C[o];
    C[o + 1] = alpha * f32(x1) + beta * C[o + 1];
    C[o + 2] = alpha * f32(x2) + beta * C[o + 2];
    C[o + 3] = alpha * f32(x3) + beta * C[o + 3];
  }
}

// Runs every path of the blocked kernel once on tiny shapes (edge tiles, alpha and beta integer or
// not, the four transpose cases, fractional data) so that V8 optimises it with complete type
// feedback. A path or a number kind first seen after optimisation makes V8 deoptimise it, and for
// these kernels that repeated on every call (measured: 5x slower GEMMs).
function warmUp(): void {
  const fill = (n: number): Float32Array => Float32Array.from({ length: n }, (_, i) => 0.37 * (i % 7) - 1.1);
  const A = fill(64), B = fill(64), C = fill(64);
  for (const tA of [false, true]) {
    for (const tB of [false, true]) {
      for (const [alpha, beta] of [[1, 0], [0.75, 0.5], [1, 1], [-1.5, 0]]) {
        gemmBlocked(tA, tB, 5, 6, 3, alpha, A, tA ? 5 : 3, B, tB ? 3 : 6, beta, C, 6);
        gemmBlocked(tA, tB, 4, 4, 2, alpha, A, 4, B, 4, beta, C, 4);
      }
    }
  }
}
warmUp();
