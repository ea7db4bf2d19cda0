// Tiled Conv2D (+ fused MaxPool2D) for the compiled network; see conv_tiles.h.
//
// Per tile of `tile` samples (its col matrix and, when pooling, its convolution output sized to
// stay in L2):
//   forward:  col = im2col(x) ; y = act(col · W + b) ; pooled, argmax = maxpool(y)
//   backward: gp = gp * act'(pooled) ; dy = scatter(gp, argmax) ; col = im2col(x)
//             dW_slice += colᵀ · dy ; dcol = dy · Wᵀ (into col's buffer) ; dx = col2im(dcol)
// With pooling, act' is taken at the pooled values: each gradient reaches the convolution output
// only at its window's winner, whose activated value is the pooled one.
// Threads take tiles (forward) or slices of tiles (backward) from a shared counter, so a thread
// the OS delays just ends up with less work. Kernels called inside a tile find the pool busy and
// run serially on their thread.
#include "conv_tiles.h"

#include <algorithm>
#include <atomic>

#include "../kernels/activations.h"
#include "../kernels/bf16/bf16.h"
#include "../kernels/bf16/dense_bf16.h"
#include "../kernels/conv2d_direct.h"
#include "../kernels/dense.h"
#include "../kernels/gemm/sgemm.h"
#include "../kernels/threadpool.h"

namespace cnn {

namespace {

constexpr int64_t kTileFloats = 48 * 1024;  // col + conv output of one tile: 192 KB, inside L2  // TMP  // TMP  // col + conv output of one tile: 192 KB, inside L2
constexpr int kMaxSlices = 8;               // weight-gradient partials of one backward pass
constexpr int64_t kRowBlock = 256;          // rows per float partial of a bias gradient

// Makes sure `count` scratch sets hold a tile each. Runs on the calling thread, before the workers.
void ensure_scratch(const ConvPlan& p, std::vector<ConvScratch>& scratch, int count) {
  if ((int)scratch.size() < count) scratch.resize(count);
  for (int i = 0; i < count; ++i) {
    if ((int64_t)scratch[i].col.size() < p.col_floats()) scratch[i].col.resize(p.col_floats());
    if ((int64_t)scratch[i].out.size() < p.out_floats()) scratch[i].out.resize(p.out_floats());
    if ((int64_t)scratch[i].xpad.size() < p.pad_floats()) scratch[i].xpad.resize(p.pad_floats());
    if ((int64_t)scratch[i].xq.size() < p.xq_floats()) scratch[i].xq.resize(p.xq_floats());
  }
}

// Runs unit(u, scratch) for u in [0, units) on up to get_num_threads() threads, each with its own
// scratch set, units handed out one at a time.
template <class Unit>
void run_units(const ConvPlan& p, int units, std::vector<ConvScratch>& scratch, Unit unit) {
  const int nw = std::max(1, std::min(get_num_threads(), units));
  ensure_scratch(p, scratch, nw);
  std::atomic<int> next{0};
  parallel_for(nw, 1, [&](int64_t, int64_t, int w) {
    for (int u; (u = next.fetch_add(1, std::memory_order_relaxed)) < units;) unit(u, scratch[w]);
  });
}

// total (cols) = column sums of m (rows, cols): float partials over blocks of kRowBlock rows,
// added in double. part: (cols) scratch.
void column_sums(double* total, float* part, const float* m, int64_t rows, int cols) {
  std::fill(total, total + cols, 0.0);
  for (int64_t r0 = 0; r0 < rows; r0 += kRowBlock) {
    std::fill(part, part + cols, 0.f);
    const int64_t r1 = std::min(rows, r0 + kRowBlock);
    for (int64_t r = r0; r < r1; ++r) {
      const float* row = m + r * cols;
      for (int j = 0; j < cols; ++j) part[j] += row[j];
    }
    for (int j = 0; j < cols; ++j) total[j] += part[j];
  }
}

// Samples [n0, n1): the tile's col matrix (or the input itself when pointwise).
const float* tile_col(const ConvPlan& p, const float* inp, int n0, int n1, ConvScratch& sc) {
  const float* x = inp + (int64_t)n0 * p.in_size;
  if (p.pointwise) return x;
  Conv2DDims dt = p.d;
  dt.N = n1 - n0;
  im2col(sc.col.data(), x, dt);
  return sc.col.data();
}

// Samples [n0, n1) as the direct kernels read them: the input itself, or its zero-padded copy.
// dd receives the dims to pass them.
const float* tile_direct_input(const ConvPlan& p, const float* inp, int n0, int n1, ConvScratch& sc,
                               Conv2DDims& dd) {
  const float* x = inp + (int64_t)n0 * p.in_size;
  Conv2DDims dt = p.d;
  dt.N = n1 - n0;
  dd = p.padded ? p.dpad : p.d;
  dd.N = n1 - n0;
  if (!p.padded) {
    if (!p.bf16) return x;
    bf16_round_array(sc.xq.data(), x, (int64_t)dt.N * p.in_size);
    return sc.xq.data();
  }
  conv2d_pad_input(sc.xpad.data(), x, dt);
  if (p.bf16) bf16_round_array(sc.xpad.data(), sc.xpad.data(), (int64_t)dt.N * p.pad_size);
  return sc.xpad.data();
}

// True when a bf16 layer's GEMMs are emulated (sbgemm's RoundedSgemm path: no AVX512-BF16): the
// tiles then round their operands once where they live (the kernel once per call, the tile's col
// matrix in place; the output gradient is rounded anyway) and call the fp32 sgemm, instead of
// sbgemm copying and rounding both operands of every product.
bool bf16_emulated(const ConvPlan& p) { return p.bf16 && sbgemm_active_kernel() == Bf16Kernel::RoundedSgemm; }

// The tile's col matrix a (floats), rounded to bf16: in place when it is the tile's own im2col
// scratch, else (pointwise: a is the layer input) into the xq scratch.
const float* round_col(const ConvPlan& p, const float* a, int64_t floats, ConvScratch& sc) {
  float* dst = p.pointwise ? sc.xq.data() : sc.col.data();
  bf16_round_array(dst, a, floats);
  return dst;
}

// The kernel the direct kernels and the emulated bf16 GEMMs read: weight itself, or (bf16) its
// rounded copy in wq.
const float* direct_weight(const ConvPlan& p, const float* weight, std::vector<float>& wq) {
  if (!p.bf16) return weight;
  const int64_t size = p.K * p.d.OC;
  if ((int64_t)wq.size() < size) wq.resize((size_t)size);
  bf16_round_array(wq.data(), weight, size);
  return wq.data();
}

}  // namespace

int ConvPlan::slices(int n) const { return std::min(kMaxSlices, tiles(n)); }

bool conv_pool_fusable(Act act) { return act != Act::Softmax && !activation_needs_input(act); }

ConvPlan conv_plan(const Conv2DDims& d, const Pool2DDims* pool) {
  ConvPlan p;
  p.d = d;
  p.d.N = 1;
  p.pointwise = conv2d_is_pointwise(p.d);
  p.K = (int64_t)d.KH * d.KW * d.C;
  p.rows = (int64_t)d.OH * d.OW;
  p.in_size = (int64_t)d.H * d.W * d.C;
  p.conv_out = p.rows * d.OC;
  if (pool) {
    p.pool = true;
    p.pd = *pool;
    p.pd.N = 1;
    p.pool_out = (int64_t)p.pd.OH * p.pd.OW * p.pd.C;
  }
  p.padded = conv2d_needs_padding(p.d);
  p.dpad = conv2d_padded_dims(p.d);
  p.pad_size = p.padded ? (int64_t)p.dpad.H * p.dpad.W * p.dpad.C : 0;
  const int64_t per_sample = (p.pointwise ? 0 : p.rows * p.K) + (p.pool ? p.conv_out : 0) + p.pad_size;
  p.tile = (int)std::max<int64_t>(1, std::min<int64_t>(1024, kTileFloats / std::max<int64_t>(1, per_sample)));
  return p;
}


void conv_tiled_forward(const ConvPlan& p, float* out, int32_t* argmax, float* pre, const float* inp,
                        const float* weight, const float* bias, Act act, float alpha, int n,
                        std::vector<ConvScratch>& scratch) {
  const int OC = p.d.OC, K = (int)p.K;
  const bool direct = conv2d_direct_applies(p.d);
  const bool emulate = bf16_emulated(p);
  auto* dense = p.bf16 && !emulate ? dense_forward_bf16 : dense_forward;
  thread_local std::vector<float> wq;  // bf16: the rounded kernel of the direct kernels / emulated GEMMs
  if (direct || emulate) weight = direct_weight(p, weight, wq);
  run_units(p, p.tiles(n), scratch, [&](int t, ConvScratch& sc) {
    const int n0 = t * p.tile, n1 = std::min(n, n0 + p.tile), m = n1 - n0;
    const int rows = (int)(m * p.rows);
    if (direct) {  // conv + bias (+ relu) straight from the input, then the rest of the activation
      Conv2DDims dd;
      const float* x = tile_direct_input(p, inp, n0, n1, sc, dd);
      if (p.pool && (act == Act::Relu || act == Act::Linear)) {  // and the pool, all in registers
        Pool2DDims pt = p.pd;
        pt.N = m;
        conv2d_direct_forward_maxpool(out + n0 * p.pool_out, argmax + n0 * p.pool_out, x, weight, bias, dd,
                                      act == Act::Relu, pt);
        return;
      }
      float* y = p.pool ? sc.out.data() : pre ? pre + n0 * p.conv_out : out + n0 * p.conv_out;  // (rows, OC)
      const bool relu = act == Act::Relu && !pre;
      conv2d_direct_forward(y, x, weight, bias, dd, relu);
      if (pre)
        activation_forward(out + n0 * p.conv_out, y, rows, OC, act, alpha);
      else if (!relu && act != Act::Linear)
        activation_forward(y, y, rows, OC, act, alpha);
      if (p.pool) {
        Pool2DDims pt = p.pd;
        pt.N = m;
        maxpool2d_forward(out + n0 * p.pool_out, argmax + n0 * p.pool_out, y, pt);
      }
      return;
    }
    const float* a = tile_col(p, inp, n0, n1, sc);  // (rows, K)
    if (emulate) a = round_col(p, a, (int64_t)rows * K, sc);
    if (p.pool) {
      dense(sc.out.data(), a, weight, bias, rows, K, OC, act, alpha);  // (rows, OC) in cache
      Pool2DDims pt = p.pd;
      pt.N = m;
      maxpool2d_forward(out + n0 * p.pool_out, argmax + n0 * p.pool_out, sc.out.data(), pt);
    } else if (pre) {
      float* pr = pre + n0 * p.conv_out;
      dense(pr, a, weight, bias, rows, K, OC, Act::Linear, 0.f);
      activation_forward(out + n0 * p.conv_out, pr, rows, OC, act, alpha);
    } else {
      dense(out + n0 * p.conv_out, a, weight, bias, rows, K, OC, act, alpha);
    }
  });
}

void conv_tiled_backward(const ConvPlan& p, float* dinp, float* dweight, float* dbias, float* g,
                         const float* out, const int32_t* argmax, const float* pre, const float* inp,
                         const float* weight, Act act, float alpha, bool skip_act, int n,
                         std::vector<ConvScratch>& scratch, ConvPartials& partials) {
  const int OC = p.d.OC, K = (int)p.K;
  const int nt = p.tiles(n), ns = p.slices(n);
  const int64_t wsize = p.K * OC;
  const bool do_act = !skip_act && act != Act::Linear;
  const int64_t grow = p.pool ? p.pool_out : p.conv_out;  // floats of g per sample
  const int64_t grows = p.pool ? (int64_t)p.pd.OH * p.pd.OW : p.rows;  // rows of g per sample
  if (ns > 1 && (int64_t)partials.dw.size() < ns * wsize) partials.dw.resize((size_t)(ns * wsize));
  if ((int64_t)partials.db.size() < (int64_t)ns * OC) partials.db.resize((size_t)ns * OC);
  if ((int64_t)partials.part.size() < (int64_t)ns * OC) partials.part.resize((size_t)ns * OC);
  float* partial = partials.dw.data();
  const bool direct = conv2d_direct_applies(p.d);
  const bool emulate = bf16_emulated(p);
  auto* gemm = p.bf16 && !emulate ? sbgemm : sgemm;
  thread_local std::vector<float> wq;  // emulated bf16: the rounded kernel
  if (emulate) weight = direct_weight(p, weight, wq);
  run_units(p, ns, scratch, [&](int s, ConvScratch& sc) {
    float* dw = ns > 1 ? partial + s * wsize : dweight;  // (K, OC)
    const int t0 = (int)((int64_t)nt * s / ns), t1 = (int)((int64_t)nt * (s + 1) / ns);
    const int s0 = t0 * p.tile, s1 = std::min(n, t1 * p.tile);  // the slice's samples
    for (int t = t0; t < t1; ++t) {
      const int n0 = t * p.tile, n1 = std::min(n, n0 + p.tile), m = n1 - n0;
      const int rows = (int)(m * p.rows);
      float* gt = g + n0 * grow;
      float* dy = gt;  // (rows, OC): the gradient before the activation
      if (p.pool) {
        const int64_t prow = (int64_t)m * p.pd.OH * p.pd.OW;
        if (do_act) activation_backward(gt, gt, nullptr, out + n0 * p.pool_out, prow, OC, act, alpha);
        if (p.bf16) bf16_round_array(gt, gt, prow * OC);
        Pool2DDims pt = p.pd;
        pt.N = m;
        if (direct && !dinp && conv2d_direct_dweight_pooled_applies(p.d, pt)) {  // no conv-size gradient at all
          Conv2DDims dd;
          const float* x = tile_direct_input(p, inp, n0, n1, sc, dd);
          conv2d_direct_dweight_pooled(dw, x, gt, argmax + n0 * p.pool_out, dd, pt, t != t0);
          continue;
        }
        if (conv2d_unpool_applies(pt))
          conv2d_unpool(sc.out.data(), gt, argmax + n0 * p.pool_out, pt);
        else
          maxpool2d_backward(sc.out.data(), gt, argmax + n0 * p.pool_out, pt);
        dy = sc.out.data();
      } else {
        if (do_act)
          activation_backward(gt, gt, pre ? pre + n0 * p.conv_out : nullptr, out + n0 * p.conv_out, rows, OC, act,
                              alpha);
        if (p.bf16) bf16_round_array(gt, gt, (int64_t)rows * OC);
      }
      if (direct) {
        Conv2DDims dd;
        const float* x = tile_direct_input(p, inp, n0, n1, sc, dd);
        conv2d_direct_dweight(dw, x, dy, dd, t != t0);
      } else {
        const float* a = tile_col(p, inp, n0, n1, sc);  // (rows, K)
        if (emulate) a = round_col(p, a, (int64_t)rows * K, sc);
        gemm(true, false, K, OC, rows, 1.f, a, K, dy, OC, t == t0 ? 0.f : 1.f, dw, OC);
      }
      if (!dinp) continue;
      float* dx = dinp + n0 * p.in_size;
      if (p.pointwise) {
        gemm(false, true, rows, K, OC, 1.f, dy, OC, weight, OC, 0.f, dx, K);
      } else {
        float* dcol = sc.col.data();  // col is spent: reuse it
        gemm(false, true, rows, K, OC, 1.f, dy, OC, weight, OC, 0.f, dcol, K);
        Conv2DDims dt = p.d;
        dt.N = m;
        col2im(dx, dcol, dt);
      }
    }
    // every gradient in g (activation applied) reaches one convolution output: db = column sums
    if (dbias) column_sums(partials.db.data() + (size_t)s * OC, partials.part.data() + (size_t)s * OC, g + s0 * grow,
                           (int64_t)(s1 - s0) * grows, OC);
  });
  if (ns > 1) {  // slices in order: the sum does not depend on which thread ran which slice
    std::copy(partial, partial + wsize, dweight);
    for (int s = 1; s < ns; ++s) {
      const float* src = partial + s * wsize;
      for (int64_t i = 0; i < wsize; ++i) dweight[i] += src[i];
    }
  }
  if (dbias)
    for (int j = 0; j < OC; ++j) {  // slices in order
      double sum = 0.0;
      for (int s = 0; s < ns; ++s) sum += partials.db[(size_t)s * OC + j];
      dbias[j] = (float)sum;
    }
}

}  // namespace cnn
