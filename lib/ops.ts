/** Tensor operations backed by the active backend's kernels. */
import { kernels } from './backend';
import { pooledTensor, takePooled, Tensor } from './tensor';
import { describe, shapeStr } from './util';

/**
 * Matrix product of two 2-D tensors, optionally transposing either: op(a) · op(b).
 * Uses the packed SGEMM on the native backend (no transpose is materialised). The result's buffer
 * comes from the tensor buffer pool, so a loop that disposes its products (tidy) reuses memory that
 * is already paged in instead of faulting in a fresh array per call.
 */
export function matMul(a: Tensor, b: Tensor, transposeA = false, transposeB = false): Tensor {
  for (const [t, name] of [[a, 'a'], [b, 'b']] as const) {
    if (!(t instanceof Tensor)) throw new TypeError(`matMul: ${name} must be a Tensor, received ${describe(t)}`);
    if (t.rank !== 2) throw new Error(`matMul: ${name} must be 2-D, received shape ${shapeStr(t.shape)}`);
    if (t.dtype !== 'float32') throw new Error(`matMul: ${name} must be float32, received ${t.dtype}`);
  }
  const [ar, ac] = a.shape;
  const [br, bc] = b.shape;
  const M = transposeA ? ac : ar;
  const K = transposeA ? ar : ac;
  const Kb = transposeB ? bc : br;
  const N = transposeB ? br : bc;
  if (K !== Kb) {
    throw new Error(
      `matMul: inner dimensions differ: ${shapeStr(a.shape)}${transposeA ? 'ᵀ' : ''} · ${shapeStr(b.shape)}${transposeB ? 'ᵀ' : ''} (${K} vs ${Kb})`,
    );
  }
  const out = takePooled(M * N);
  if (K === 0) out.fill(0);
  else if (M > 0 && N > 0) {
    // beta = 0: the kernel overwrites out, never reads it (a recycled buffer holds old values)
    kernels().sgemm(transposeA, transposeB, M, N, K, 1, a.values as Float32Array, ac, b.values as Float32Array, bc, 0, out, N);
  }
  return pooledTensor(out, [M, N]);
}
