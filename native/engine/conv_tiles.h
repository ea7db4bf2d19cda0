// Conv2D layers of the compiled network run over the batch in tiles of a few samples, so that a
// tile's im2col matrix and output stay in cache, with the threads splitting the batch (the seed
// net's GEMMs have K = 9: splitting one GEMM over threads would not pay). A MaxPool2D right after
// the convolution is fused in: the full-size convolution output never reaches memory. Layers with
// few input channels use the direct kernels of conv2d_direct.h instead of im2col + GEMM.
//
// Training recomputes each tile's im2col in backward instead of keeping the whole batch's col
// matrix; the weight gradient is accumulated per slice (a fixed run of tiles whose count depends
// on the batch size only), then the slices are summed in order, so results do not depend on the
// thread count. Internal to the engine; built on the kernels of conv2d.h / dense.h / pool2d.h.
#pragma once
#include <cstdint>
#include <vector>

#include "../kernels/conv2d.h"
#include "../kernels/pool2d.h"

namespace cnn {

// Static facts about one Conv2D layer's tiling (per-sample sizes; N = 1 in the dims).
struct ConvPlan {
  Conv2DDims d{};      // the convolution, N = 1
  bool pointwise = false;
  bool pool = false;   // a MaxPool2D follows and is fused in
  Conv2DDims dpad{};   // d for the zero-padded input the direct kernels read (conv2d_direct.h), N = 1
  bool padded = false; // the direct kernels need that padded copy
  Pool2DDims pd{};     // that pool, N = 1
  int tile = 1;        // samples per tile
  int64_t K = 0;       // KH*KW*C
  int64_t rows = 0;    // OH*OW: col rows per sample
  int64_t in_size = 0, conv_out = 0, pool_out = 0;  // floats per sample
  int64_t pad_size = 0;  // floats per sample of the padded input (0 when not padded)
  bool bf16 = false;     // mixed_bfloat16: GEMMs on bf16-rounded operands (network.h ComputeDtype)

  int64_t col_floats() const { return pointwise ? 0 : (int64_t)tile * rows * K; }   // per tile
  int64_t out_floats() const { return pool ? (int64_t)tile * conv_out : 0; }        // per tile
  int64_t pad_floats() const { return (int64_t)tile * pad_size; }                   // per tile
  int64_t xq_floats() const { return bf16 && (!padded || pointwise) ? (int64_t)tile * in_size : 0; }  // per tile
  int tiles(int n) const { return (n + tile - 1) / tile; }
  int slices(int n) const;  // backward slices for a batch of n
};

// Per-thread scratch of one tile: its col matrix (reused for dcol), when pooling its convolution
// output (reused for the output gradient), the padded input of the direct kernels, and (bf16,
// direct kernels, no padding) the tile's input rounded to bf16.
struct ConvScratch {
  std::vector<float> col, out, xpad, xq;
};

// Per-slice partial sums of one backward pass (grown on first use, shared by the conv layers).
struct ConvPartials {
  std::vector<float> dw;    // (slices, K, OC) weight gradients, when more than one slice
  std::vector<double> db;   // (slices, OC) bias gradients
  std::vector<float> part;  // (slices, OC) row-block scratch of the bias sums
};

// The plan of a conv layer; pool (N = 1) when a MaxPool2D is fused in, else nullptr. bf16 is false;
// the engine sets it for a mixed_bfloat16 layer. With bf16 the tiles run the bf16 GEMMs of
// native/kernels/bf16 (sbgemm), or the direct kernels on a bf16-rounded input tile and kernel, and
// backward rounds the output gradient (after the activation's derivative; the pooled gradient
// when a pool is fused) to bf16 in place before any GEMM or the bias sum reads it.
ConvPlan conv_plan(const Conv2DDims& d, const Pool2DDims* pool);
// True when conv + MaxPool2D can be fused: the activation's derivative is a function of its
// output, so it can be taken on the pooled values (not softmax, not gelu / swish).
bool conv_pool_fusable(Act act);

// out: (n, pool_out) pooled output when p.pool, else (n, conv_out); argmax (n, pool_out) when
// p.pool; pre (n, conv_out) the pre-activation when non-null (never with p.pool); inp (n, in_size);
// weight (K, OC); bias (OC) or nullptr. scratch grows to the threads used.
void conv_tiled_forward(const ConvPlan& p, float* out, int32_t* argmax, float* pre, const float* inp,
                        const float* weight, const float* bias, Act act, float alpha, int n,
                        std::vector<ConvScratch>& scratch);

// g: (n, pool_out or conv_out) dL/d(this block's output), modified in place (activation gradient).
// out / argmax / pre: what forward wrote. Overwrites dweight (K, OC), dbias (OC) if non-null and
// dinp (n, in_size) if non-null. skip_act: g already is the gradient before the activation.
void conv_tiled_backward(const ConvPlan& p, float* dinp, float* dweight, float* dbias, float* g,
                         const float* out, const int32_t* argmax, const float* pre, const float* inp,
                         const float* weight, Act act, float alpha, bool skip_act, int n,
                         std::vector<ConvScratch>& scratch, ConvPartials& partials);

}  // namespace cnn
