// The packed SGEMM driver: BLIS's five loops around a micro-kernel (ukernel.h).
//
//   jc  over N in steps of NC   pack a KC x NC panel of op(B)
//   pc  over K in steps of KC
//   ic  over M in steps of MC   pack an MC x KC block of op(A) (per thread, thread_local scratch)
//   jr  over NC in steps of NR  macro-kernel: one packed B micro-panel stays in L1 / L2 ...
//   ir  over MC in steps of MR  ... while the A micro-panels stream from L2 into the micro-kernel.
//
// Transposes are absorbed by the packing routines. Three drivers share the macro-kernel:
//   sgemm_blocked        the loops above; one thread, or threads splitting the columns (small M:
//                        each packs its own B micro-panels and all of A, nobody waits for anyone);
//   sgemm_rows_parallel  threads splitting the rows: op(B) for all K is packed once, then threads
//                        take MC-row blocks from a counter and run every K block on each (the pc
//                        and ic loops swap, so a C block stays in cache across the K blocks);
//   and the choice between them in sgemm_packed. Block counts are balanced so that no thread and
//   no K block is left with a sliver.
#include <algorithm>
#include <atomic>
#include <cstdint>
#include <new>

#include "../cpu_features.h"
#include "../threadpool.h"
#include "sgemm.h"
#include "ukernel.h"

namespace cnn {
namespace {

using gemm::Blocking;
using gemm::KernelImpl;

// Products of at most this many multiply-adds (about 10^3) take the unpacked loops of
// sgemm_small: measured 1.4-2.5x faster than packing up to 8^3, slower from 12^3.
constexpr int64_t kSmall = 1 << 10;
// Below this many multiply-adds per thread, another thread costs more than it saves.
constexpr int64_t kMinWorkPerThread = 1 << 17;
// When threads split the rows they share one packed K x NC panel of B; at most this many floats
// (8 MB, well inside the L3), NC shrinks for very deep products.
constexpr int64_t kMaxSharedB = 1 << 21;
// A packed op(B) of at most this many floats (256 KB) fits in L2 beside an A block.
constexpr int64_t kSmallB = 1 << 16;

inline int ceil_div(int a, int b) { return (a + b - 1) / b; }
inline int round_up(int a, int b) { return ceil_div(a, b) * b; }

// Grown-on-demand 64-byte aligned scratch (one per thread and role); never shrinks.
class Scratch {
 public:
  ~Scratch() { release(); }
  float* get(size_t n) {
    if (n > cap_) {
      release();
      p_ = static_cast<float*>(::operator new(n * sizeof(float), std::align_val_t{64}));
      cap_ = n;
    }
    return p_;
  }

 private:
  void release() {
    if (p_) ::operator delete(p_, std::align_val_t{64});
    p_ = nullptr;
    cap_ = 0;
  }
  float* p_ = nullptr;
  size_t cap_ = 0;
};

thread_local Scratch t_pack_a;  // MC x KC block of op(A), per thread
thread_local Scratch t_pack_b;  // KC x NC panel of op(B), the calling thread's, shared with workers

// The arguments of one call.
struct Gemm {
  bool ta, tb;
  int M, N, K;
  float alpha;
  const float* A;
  int lda;
  const float* B;
  int ldb;
  float beta;
  float* C;
  int ldc;
  const float* a_at(int i, int p) const { return ta ? A + (size_t)p * lda + i : A + (size_t)i * lda + p; }
  const float* b_at(int p, int j) const { return tb ? B + (size_t)j * ldb + p : B + (size_t)p * ldb + j; }
};

// One K block of C[i0..i1, jc+j0 .. jc+j1]: packs MC x kc blocks of op(A) and runs the micro-kernel
// over them. bp holds the packed B micro-panels of columns jc+j0 .. jc+j1 (the one of column
// jc+j0+q*NR at bp + q*kc*NR). pack_b: pack them here first (this thread's share).
void macro_kernel(const KernelImpl& k, const Gemm& g, int i0, int i1, int mc, int pc, int kc, int jc,
                  int j0, int j1, float* bp, float beta, bool pack_b) {
  const int MR = k.blk.mr, NR = k.blk.nr;
  if (pack_b) k.pack_b(g.tb, kc, j1 - j0, g.b_at(pc, jc + j0), g.ldb, bp);
  float* ap = t_pack_a.get((size_t)round_up(std::min(mc, i1 - i0), MR) * kc);
  for (int ic = i0; ic < i1; ic += mc) {
    const int m = std::min(mc, i1 - ic);
    k.pack_a(g.ta, m, kc, g.a_at(ic, pc), g.lda, ap);
    for (int jr = j0; jr < j1; jr += NR) {
      const float* b = bp + (size_t)((jr - j0) / NR) * kc * NR;
      const int n = std::min(NR, j1 - jr);
      float* c = g.C + (size_t)ic * g.ldc + jc + jr;
      for (int ir = 0; ir < m; ir += MR)
        k.ukernel(kc, ap + (size_t)ir * kc, b, c + (size_t)ir * g.ldc, g.ldc, g.alpha, beta,
                  std::min(MR, m - ir), n);
    }
  }
}

// parallel_for over [0, n) when T > 1, else a plain call on this thread.
template <class Fn>
void run(int T, int64_t n, const Fn& fn) {
  if (T > 1)
    parallel_for(n, 1, fn);
  else
    fn(0, n, 0);
}

// Rows [i0, i1) in blocks of at most MC rows, all blocks about the same size (multiple of MR).
int balanced_mc(const Blocking& bl, int rows) {
  if (rows <= 0) return bl.mr;
  return round_up(ceil_div(rows, ceil_div(rows, bl.mc)), bl.mr);
}

// Split the rows over threads unless M is so small that splitting the columns wastes fewer
// padded micro-tiles, or M is much smaller than N.
// The row split shares one packed copy of all of op(B) (K x NC, megabytes: it lives in L3), which
// every thread then reads back; each packed B element serves only M multiply-adds. The column
// split has each thread pack its own columns in KC x NC blocks that are used while still in L2,
// at the price of every thread packing all of A (M x K, small when M is). Measured on Zen 4 with
// 2 threads, 64x3136x1024 (the convnet's weight gradient), both kernels: rows 53-130 GFLOPS,
// columns 125-168 (and steadier); the squares and the tall shapes keep the row split.
bool split_rows(const Blocking& bl, int M, int N, int T) {
  const int64_t pm = ceil_div(M, bl.mr), pn = ceil_div(N, bl.nr);
  if (pn < T) return true;
  if (pm < T) return false;
  const int64_t rows_split = ceil_div((int)pm, T) * pn;  // micro-tiles on the busiest thread
  const int64_t cols_split = pm * ceil_div((int)pn, T);
  if ((int64_t)M * 4 <= N && cols_split * 20 <= rows_split * 21) return false;  // few rows, many columns
  return rows_split * 20 <= cols_split * 21;  // prefer rows within 5%: no redundant A packing
}

struct Steps {
  int kc, nc;  // K and N block sizes, balanced so that no block is a sliver
};

Steps steps(const Blocking& bl, int K, int N, int max_nc) {
  const int kc = ceil_div(K, ceil_div(K, bl.kc));
  const int nc_max = std::max(bl.nr, std::min(bl.nc, max_nc) / bl.nr * bl.nr);
  return {kc, round_up(ceil_div(N, ceil_div(N, nc_max)), bl.nr)};
}

// The classic loop order for thread t of T, which takes the t-th share of every NC panel's
// micro-panels and packs them itself (T = 1: everything).
void sgemm_blocked(const KernelImpl& k, const Gemm& g, float* bp, int t, int T) {
  const Blocking& bl = k.blk;
  const Steps st = steps(bl, g.K, g.N, bl.nc);
  const int mc = balanced_mc(bl, g.M);
  for (int jc = 0; jc < g.N; jc += st.nc) {
    const int nc = std::min(st.nc, g.N - jc), nb = ceil_div(nc, bl.nr);
    const int j0 = (int)((int64_t)nb * t / T) * bl.nr, j1 = std::min(nc, (int)((int64_t)nb * (t + 1) / T) * bl.nr);
    if (j0 >= j1) continue;
    // This thread's micro-panels start where they would for full-depth (st.kc) blocks, so the
    // threads' regions never overlap, whatever K block each of them is on.
    float* mine = bp + (size_t)(j0 / bl.nr) * st.kc * bl.nr;
    for (int pc = 0; pc < g.K; pc += st.kc)
      macro_kernel(k, g, 0, g.M, mc, pc, std::min(st.kc, g.K - pc), jc, j0, j1, mine, pc == 0 ? g.beta : 1.f,
                   true);
  }
}

// Threads split the rows: for each NC panel, all of op(B)[:, panel] (every K block) is packed
// once, the threads sharing that work, then each thread takes MC-row blocks from a shared counter
// and runs every K block on it, so a thread that the OS delays just ends up with fewer blocks.
void sgemm_rows_parallel(const KernelImpl& k, const Gemm& g, int T) {
  const Blocking& bl = k.blk;
  const int NR = bl.nr;
  const Steps st = steps(bl, g.K, g.N, (int)std::min<int64_t>(bl.nc, kMaxSharedB / g.K));
  const int npc = ceil_div(g.K, st.kc);
  // Row blocks: a multiple of T of them, each at most MC rows.
  const int nblk = round_up(ceil_div(g.M, bl.mc), T);
  const int mc = round_up(ceil_div(g.M, nblk), bl.mr);
  const int nblocks = ceil_div(g.M, mc);
  const int nc_pad = round_up(std::min(st.nc, g.N), NR);
  float* bp = t_pack_b.get((size_t)nc_pad * g.K);  // K block s of the panel at bp + s*kc*nc_pad

  for (int jc = 0; jc < g.N; jc += st.nc) {
    const int nc = std::min(st.nc, g.N - jc), nb = ceil_div(nc, NR);
    // Pack: npc * T strips (K block s, a T-th of the micro-panels), each read row by row.
    run(T, (int64_t)npc * T, [&](int64_t u0, int64_t u1, int) {
      for (int64_t u = u0; u < u1; ++u) {
        const int s = (int)(u / T), part = (int)(u % T), pc = s * st.kc;
        const int q0 = nb * part / T, q1 = nb * (part + 1) / T, kc = std::min(st.kc, g.K - pc);
        if (q0 < q1)
          k.pack_b(g.tb, kc, std::min(nc, q1 * NR) - q0 * NR, g.b_at(pc, jc + q0 * NR), g.ldb,
                   bp + (size_t)pc * nc_pad + (size_t)q0 * kc * NR);
      }
    });
    std::atomic<int> next{0};
    run(T, T, [&](int64_t, int64_t, int) {
      for (int blk; (blk = next.fetch_add(1, std::memory_order_relaxed)) < nblocks;) {
        const int i0 = blk * mc, i1 = std::min(g.M, i0 + mc);
        for (int pc = 0; pc < g.K; pc += st.kc)
          macro_kernel(k, g, i0, i1, mc, pc, std::min(st.kc, g.K - pc), jc, 0, nc, bp + (size_t)pc * nc_pad,
                       pc == 0 ? g.beta : 1.f, false);
      }
    });
  }
}

void sgemm_packed(const KernelImpl& k, const Gemm& g, int T) {
  const Blocking& bl = k.blk;
  const Steps st = steps(bl, g.K, g.N, bl.nc);
  const int64_t nc_pad = round_up(std::min(st.nc, g.N), bl.nr);
  // One thread: the rows-outer order pays off when all of op(B) fits in L2 next to the A block,
  // and there are several K blocks (each C block then stays in cache across them; the classic
  // order streams all of C once per K block). Measured: 12544x800x64 +20%, 1024^3 -6%.
  const bool rows = T > 1 ? split_rows(bl, g.M, g.N, T)
                          : g.K > st.kc && g.M > bl.mc && g.K * nc_pad <= kSmallB;
  if (rows) return sgemm_rows_parallel(k, g, T);
  float* bp = t_pack_b.get((size_t)nc_pad * st.kc);
  run(T, T, [&](int64_t t0, int64_t t1, int) {
    for (int64_t t = t0; t < t1; ++t) sgemm_blocked(k, g, bp, (int)t, T);
  });
}

// Tiny products (at most kSmall multiply-adds) skip packing and threads: C is scaled by beta,
// then each row gets alpha * op(A)[i,p] * op(B)[p,:] added (contiguous rows of B), or, with B
// transposed, each element a dot product along K.
void sgemm_small(const Gemm& g) {
  for (int i = 0; i < g.M; ++i) {
    float* c = g.C + (size_t)i * g.ldc;
    if (!g.tb) {
      for (int j = 0; j < g.N; ++j) c[j] = g.beta == 0.f ? 0.f : g.beta * c[j];
      for (int p = 0; p < g.K; ++p) {
        const float a = g.alpha * *g.a_at(i, p);
        const float* b = g.B + (size_t)p * g.ldb;
        for (int j = 0; j < g.N; ++j) c[j] += a * b[j];
      }
    } else {
      for (int j = 0; j < g.N; ++j) {
        const float* b = g.B + (size_t)j * g.ldb;
        float acc = 0.f;
        for (int p = 0; p < g.K; ++p) acc += *g.a_at(i, p) * b[p];
        c[j] = g.beta == 0.f ? g.alpha * acc : g.alpha * acc + g.beta * c[j];
      }
    }
  }
}

// C = beta * C (K == 0 or alpha == 0: op(A)·op(B) contributes nothing; beta == 0 writes zeros).
void scale_c(int M, int N, float beta, float* C, int ldc) {
  for (int i = 0; i < M; ++i) {
    float* c = C + (size_t)i * ldc;
    if (beta == 0.f)
      std::fill(c, c + N, 0.f);
    else if (beta != 1.f)
      for (int j = 0; j < N; ++j) c[j] *= beta;
  }
}

GemmKernel resolve(GemmKernel k) {
  if (k != GemmKernel::Auto) return k;
  return cpu_has_avx512() ? GemmKernel::Avx512 : cpu_has_avx2_fma() ? GemmKernel::Avx2Fma : GemmKernel::Portable;
}

const KernelImpl& impl(GemmKernel k) {
  switch (k) {
    case GemmKernel::Avx512: return gemm::kAvx512Kernel;
    case GemmKernel::Avx2Fma: return gemm::kAvx2FmaKernel;
    default: return gemm::kPortableKernel;
  }
}

std::atomic<int32_t> g_kernel{(int32_t)GemmKernel::Auto};

}  // namespace

void sgemm(bool transA, bool transB, int M, int N, int K, float alpha, const float* A, int lda,
           const float* B, int ldb, float beta, float* C, int ldc) {
  if (M <= 0 || N <= 0) return;
  if (K <= 0 || alpha == 0.f) return scale_c(M, N, beta, C, ldc);
  const GemmKernel kind = sgemm_active_kernel();
  if (kind == GemmKernel::Naive)
    return sgemm_naive(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
  const Gemm g{transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc};
  const int64_t work = (int64_t)M * N * K;
  if (work <= kSmall) return sgemm_small(g);
  const KernelImpl& k = impl(kind);
  const int T = (int)std::max<int64_t>(1, std::min<int64_t>(get_num_threads(), work / kMinWorkPerThread));
  sgemm_packed(k, g, T);
}

const char* sgemm_kernel_unavailable(GemmKernel k) {
  switch (k) {
    case GemmKernel::Avx512: return cpu_avx512_missing();
    case GemmKernel::Avx2Fma: return cpu_has_avx2_fma() ? nullptr : "CPU lacks avx2/fma";
    case GemmKernel::Auto:
    case GemmKernel::Portable:
    case GemmKernel::Naive: return nullptr;
    default: return "no such kernel";
  }
}

bool sgemm_set_kernel(GemmKernel k) {
  if (sgemm_kernel_unavailable(k)) return false;
  g_kernel.store((int32_t)k, std::memory_order_relaxed);
  return true;
}

GemmKernel sgemm_active_kernel() { return resolve((GemmKernel)g_kernel.load(std::memory_order_relaxed)); }

const char* sgemm_kernel_name(GemmKernel k) {
  switch (resolve(k)) {
    case GemmKernel::Avx512: return gemm::kAvx512Kernel.name;
    case GemmKernel::Avx2Fma: return gemm::kAvx2FmaKernel.name;
    case GemmKernel::Portable: return gemm::kPortableKernel.name;
    case GemmKernel::Naive: return "naive";
    default: return "unknown";
  }
}

}  // namespace cnn
