// Private to native/kernels/gemm/: the micro-kernel contract, the packed formats, the block sizes.
//
// Packed A (one MC x KC block of op(A)): ceil(mc/MR) micro-panels, each kc steps of MR floats
//   (panel r, step p holds op(A)[r*MR + 0..MR-1, p]); rows past mc are zero.
// Packed B (one KC x NC panel of op(B)): ceil(nc/NR) micro-panels, each kc steps of NR floats
//   (panel j, step p holds op(B)[p, j*NR + 0..NR-1]); columns past nc are zero.
// Buffers are 64-byte aligned; B micro-panels (kc*NR floats, NR a multiple of 8) stay 32-byte
// aligned (64-byte when NR is a multiple of 16), so kernels may use aligned loads for B. A is only ever broadcast from.
#pragma once
#include <cstddef>

namespace cnn::gemm {

// C[0..m, 0..n] (row stride ldc) = alpha * (Ap · Bp) + beta * C, for m <= MR, n <= NR.
// Ap is one packed A micro-panel (kc x MR), Bp one packed B micro-panel (kc x NR).
// beta == 0 never reads C.
using UKernel = void (*)(int kc, const float* Ap, const float* Bp, float* C, int ldc, float alpha,
                         float beta, int m, int n);

// Packs op(A)[0..mc, 0..kc] into dst (layout above). A points at op(A)[0,0]: A is stored
// row-major with row stride lda, op(A)[i,p] = trans ? A[p*lda + i] : A[i*lda + p].
using PackA = void (*)(bool trans, int mc, int kc, const float* A, int lda, float* dst);
// Packs op(B)[0..kc, 0..nc] into dst; op(B)[p,j] = trans ? B[j*ldb + p] : B[p*ldb + j].
using PackB = void (*)(bool trans, int kc, int nc, const float* B, int ldb, float* dst);

// The block sizes of a kernel, all in one place (the values sit with each kernel; the AVX2 ones
// are tuned with bench/gemm/run.sh --tune on Zen3: L1d 32 KB, L2 512 KB, L3 32 MB).
// MC x KC of packed A stays in L2 (192 x 512: 384 KB), KC x NC of packed B in L3; a KC x NR
// micro-panel of B (32 KB at KC = 512) fills L1, which measured better than KC = 256 anyway:
// Zen3 refills L1 from L2 fast enough, and a deeper KC means fewer passes over C.
struct Blocking {
  int mr, nr;  // micro-tile, fixed by the kernel
  int mc;      // rows of A per packed block (multiple of mr)
  int kc;      // depth of a packed block
  int nc;      // columns of B per packed panel (multiple of nr)
};

struct KernelImpl {
  const char* name;
  UKernel ukernel;
  PackA pack_a;
  PackB pack_b;
  Blocking blk;
};

// Defined in ukernel_avx512.cc, ukernel_avx2_fma.cc and ukernel_portable.cc. Not const only so
// that bench/gemm can try other mc/kc/nc (never change mr/nr, and never while a GEMM runs).
extern KernelImpl kAvx512Kernel;
extern KernelImpl kAvx2FmaKernel;
extern KernelImpl kPortableKernel;

}  // namespace cnn::gemm
