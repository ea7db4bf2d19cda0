// The compiled Sequential network (network.h): validation, the buffer arena, and the training step
// (forward in training mode, loss, backward, clip, optimizer update) as one C++ call.
//
// Buffers. The training arena keeps, per layer, what backward needs (outputs, pre-activations of
// fused activations that need their input, im2col matrices, max-pool argmax, dropout masks, BN xhat
// and 1/std), plus two ping-pong gradient buffers and one dcol scratch shared by all layers. It is
// sized for the largest batch seen so far and reused for smaller ones. Inference runs in a separate,
// smaller arena (two ping-pong activation buffers, one col scratch, one argmax scratch) over chunks
// of samples, so predicting on a big set never allocates the whole set's activations.
#include "network.h"

#include <algorithm>
#include <climits>
#include <cstring>
#include <stdexcept>
#include <string>

#include "../kernels/activations.h"
#include "../kernels/batchnorm.h"
#include "../kernels/conv2d.h"
#include "../kernels/dense.h"
#include "../kernels/dropout.h"
#include "../kernels/optim.h"
#include "../kernels/pool2d.h"

namespace cnn {

int optimizer_slot_count(OptimizerKind k) {
  switch (k) {
    case OptimizerKind::Sgd: return 0;
    case OptimizerKind::Momentum: return 1;
    case OptimizerKind::Adam:
    case OptimizerKind::AdamW: return 2;
    case OptimizerKind::RMSprop: return 3;
    case OptimizerKind::Adagrad: return 1;
  }
  throw std::invalid_argument("unknown optimizer kind " + std::to_string((int)k));
}

namespace {

// ---- validation helpers -----------------------------------------------------------------------

[[noreturn]] void fail(const std::string& where, const std::string& msg) {
  throw std::invalid_argument(where + ": " + msg);
}

std::string shape_str(const int s[3]) {
  return "[" + std::to_string(s[0]) + ", " + std::to_string(s[1]) + ", " + std::to_string(s[2]) + "]";
}

bool same_shape(const int a[3], const int b[3]) { return a[0] == b[0] && a[1] == b[1] && a[2] == b[2]; }

const char* kind_name(LayerKind k) {
  switch (k) {
    case LayerKind::Conv2D: return "Conv2D";
    case LayerKind::Dense: return "Dense";
    case LayerKind::MaxPool2D: return "MaxPool2D";
    case LayerKind::AvgPool2D: return "AvgPool2D";
    case LayerKind::GlobalAvgPool2D: return "GlobalAvgPool2D";
    case LayerKind::GlobalMaxPool2D: return "GlobalMaxPool2D";
    case LayerKind::Flatten: return "Flatten";
    case LayerKind::Dropout: return "Dropout";
    case LayerKind::BatchNorm: return "BatchNorm";
    case LayerKind::Activation: return "Activation";
  }
  return "?";
}

// A parameter range a layer reads: [offset, offset + size).
struct ParamRange {
  int64_t offset, size;
  int layer;
  const char* field;
  bool stat;  // BN moving statistic: read, never differentiated
};

// Replaces the pointer-typed vector storage with `size` zeroed elements, freeing the old one first.
template <class T>
void realloc_vec(std::vector<T>& v, size_t size) {
  std::vector<T>().swap(v);
  v.resize(size);
}

}  // namespace

// Static facts about one layer, derived from its spec once.
struct LayerInfo {
  LayerSpec s;
  int64_t in_size = 0, out_size = 0;  // floats per sample
  int64_t pixels = 1;                 // in[0] * in[1]: rows per sample for Dense / BN / Activation
  Conv2DDims conv{};                  // N = 1; the batch sets N
  Pool2DDims pool{};                  // N = 1
  bool keep_pre = false;              // Conv2D / Dense whose activation backward needs its input
  bool trainable = false;             // owns a parameter range inside a trainable variable
  bool is_view = false;               // Flatten: output aliases input; Dropout at inference too
};

// Per-layer training buffers, each sized for `cap` samples.
struct LayerBuffers {
  std::vector<float> out;     // (cap, out_size), unless the layer is a view
  std::vector<float> pre;     // (cap, out_size) pre-activation, when keep_pre
  std::vector<float> col;     // conv2d_col_size(cap)
  std::vector<int32_t> argmax;  // (cap, out_size) max pools
  std::vector<float> mask;    // (cap, in_size) dropout
  std::vector<float> xhat;    // (cap, in_size) batch norm
  std::vector<float> mean, invstd;  // (C) batch norm
};

struct Network::Impl {
  NetworkSpec spec;
  float* params;  // (param_count) caller-owned
  float* slots;   // (slot_count) caller-owned
  std::vector<LayerInfo> layers;
  std::vector<int64_t> slot_base;  // per var, -1 for non-trainable
  int64_t param_count = 0, slot_count = 0;
  int64_t in_size = 0, out_size = 0;
  int64_t max_act = 0;       // max floats per sample of any layer input / output
  int first_trainable = -1;  // backward stops at this layer (no layer below needs gradients)
  bool fused_softmax = false;  // last act is softmax, loss is (sparse) CCE on probabilities
  Rng rng{};

  // training arena
  int train_cap = 0;
  std::vector<LayerBuffers> bufs;
  std::vector<const float*> inputs;  // per layer, the input of the last training forward
  std::vector<float*> outputs;       // per layer, its output (a view's is its input)
  std::vector<float> grad_a, grad_b;  // (cap, max_act) ping-pong activation gradients
  std::vector<float> dcol;            // max col size over conv layers
  std::vector<float> probs;           // (cap, out_size) softmax of logits (fromLogits CCE)
  std::vector<float> grads;           // (param_count)
  int last_n = 0;

  // inference arena
  int infer_cap = 0;
  std::vector<float> act_a, act_b;    // (cap, max_act)
  std::vector<float> icol;            // max col size
  std::vector<int32_t> iargmax;       // (cap, max_act)
  std::vector<float> eval_probs;      // (n, out_size) for fromLogits CCE in evaluate

  void validate();
  void ensure_train(int n);
  void ensure_infer(int n);
  int infer_chunk() const;
  void check_batch(int n) const;
  void check_labels(const void* y, int n) const;
  float loss(float* dout, const float* out, const void* y, const float* sw, int n, std::vector<float>& scratch);
  const float* forward_train(const float* x, int n);
  void backward(int n);
  const float* forward_infer(const float* x, int n);
  void update(float lr, int64_t t);
  float* P(int64_t off) const { return off >= 0 ? params + off : nullptr; }
};

// ---- validation -----------------------------------------------------------------------------------

void Network::Impl::validate() {
  const std::string net = "network";
  if (spec.layers.empty()) fail(net, "the network has no layers");

  // vars: in range, not overlapping
  std::vector<std::pair<int64_t, int64_t>> var_ranges;
  for (size_t j = 0; j < spec.vars.size(); ++j) {
    const Variable& v = spec.vars[j];
    const std::string where = "vars[" + std::to_string(j) + "]";
    if (v.offset < 0) fail(where, "offset must be >= 0");
    if (v.size < 0) fail(where, "size must be >= 0");
    param_count = std::max(param_count, v.offset + v.size);
    var_ranges.push_back({v.offset, v.size});
  }
  std::sort(var_ranges.begin(), var_ranges.end());
  for (size_t j = 1; j < var_ranges.size(); ++j)
    if (var_ranges[j].first < var_ranges[j - 1].first + var_ranges[j - 1].second)
      fail("vars", "variables overlap at offset " + std::to_string(var_ranges[j].first));

  // the var holding [off, off+size), or -1
  auto var_of = [&](int64_t off, int64_t size) -> int {
    for (size_t j = 0; j < spec.vars.size(); ++j) {
      const Variable& v = spec.vars[j];
      if (off >= v.offset && off + size <= v.offset + v.size) return (int)j;
    }
    return -1;
  };

  std::vector<ParamRange> ranges;
  const int L = (int)spec.layers.size();
  layers.resize(L);
  for (int i = 0; i < L; ++i) {
    LayerInfo& li = layers[i];
    li.s = spec.layers[i];
    const LayerSpec& s = li.s;
    const std::string where = "layers[" + std::to_string(i) + "] (" + kind_name(s.kind) + ")";
    for (int a = 0; a < 3; ++a) {
      if (s.in[a] < 1) fail(where, "in must be 3 positive sizes, received " + shape_str(s.in));
      if (s.out[a] < 1) fail(where, "out must be 3 positive sizes, received " + shape_str(s.out));
    }
    if (i > 0 && !same_shape(spec.layers[i - 1].out, s.in))
      fail(where, "in " + shape_str(s.in) + " does not match the previous layer's out " +
                      shape_str(spec.layers[i - 1].out));
    if ((int)s.act < 0 || (int)s.act > (int)Act::Relu6) fail(where, "unknown activation " + std::to_string((int)s.act));
    li.in_size = (int64_t)s.in[0] * s.in[1] * s.in[2];
    li.out_size = (int64_t)s.out[0] * s.out[1] * s.out[2];
    li.pixels = (int64_t)s.in[0] * s.in[1];
    if (li.in_size > INT_MAX || li.out_size > INT_MAX) fail(where, "per-sample size too large");
    max_act = std::max({max_act, li.in_size, li.out_size});
    const int H = s.in[0], W = s.in[1], C = s.in[2];

    // Records a parameter range of `size` floats at `off`; required unless optional.
    auto param = [&](int64_t off, int64_t size, const char* field, bool optional, bool stat = false) {
      if (off == -1) {
        if (!optional) fail(where, std::string(field) + " offset is required");
        return;
      }
      if (off < 0) fail(where, std::string(field) + " offset must be >= 0 or -1");
      if (var_of(off, size) < 0)
        fail(where, std::string(field) + " [" + std::to_string(off) + ", " + std::to_string(off + size) +
                        ") is not inside one of the vars");
      ranges.push_back({off, size, i, field, stat});
    };
    auto window = [&](const char* what) {
      if (s.kh < 1 || s.kw < 1) fail(where, std::string(what) + " size must be positive");
      if (s.sh < 1 || s.sw < 1) fail(where, "strides must be positive");
      if (s.padding != Padding::Valid && s.padding != Padding::Same) fail(where, "unknown padding");
    };
    auto expect_out = [&](int oh, int ow, int oc) {
      int want[3] = {oh, ow, oc};
      if (!same_shape(want, s.out)) fail(where, "out must be " + shape_str(want) + ", received " + shape_str(s.out));
    };

    switch (s.kind) {
      case LayerKind::Conv2D: {
        window("kernel");
        if (s.dh < 1 || s.dw < 1) fail(where, "dilation must be positive");
        if (s.filters < 1) fail(where, "filters must be positive");
        li.conv = conv2d_dims(1, H, W, C, s.kh, s.kw, s.filters, s.sh, s.sw, s.dh, s.dw, s.padding);
        if (li.conv.OH < 1 || li.conv.OW < 1)
          fail(where, "the kernel does not fit in the input " + shape_str(s.in));
        expect_out(li.conv.OH, li.conv.OW, s.filters);
        param(s.kernel, (int64_t)s.kh * s.kw * C * s.filters, "kernel", false);
        param(s.bias, s.filters, "bias", true);
        li.keep_pre = activation_needs_input(s.act);
        break;
      }
      case LayerKind::Dense:
        if (s.units < 1) fail(where, "units must be positive");
        expect_out(H, W, s.units);
        param(s.kernel, (int64_t)C * s.units, "kernel", false);
        param(s.bias, s.units, "bias", true);
        li.keep_pre = activation_needs_input(s.act);
        break;
      case LayerKind::MaxPool2D:
      case LayerKind::AvgPool2D:
        window("pool");
        li.pool = pool2d_dims(1, H, W, C, s.kh, s.kw, s.sh, s.sw, s.padding);
        if (li.pool.OH < 1 || li.pool.OW < 1) fail(where, "the pool window does not fit in the input " + shape_str(s.in));
        expect_out(li.pool.OH, li.pool.OW, C);
        break;
      case LayerKind::GlobalAvgPool2D:
      case LayerKind::GlobalMaxPool2D:
        expect_out(1, 1, C);
        break;
      case LayerKind::Flatten:
        expect_out(1, 1, (int)li.in_size);
        li.is_view = true;
        break;
      case LayerKind::Dropout:
        if (!(s.rate >= 0.f && s.rate < 1.f)) fail(where, "rate must be in [0, 1), received " + std::to_string(s.rate));
        expect_out(H, W, C);
        break;
      case LayerKind::BatchNorm:
        if (!(s.eps > 0.f)) fail(where, "eps must be positive");
        if (!(s.momentum >= 0.f && s.momentum <= 1.f)) fail(where, "momentum must be in [0, 1]");
        expect_out(H, W, C);
        param(s.gamma, C, "gamma", true);
        param(s.beta, C, "beta", true);
        param(s.movingMean, C, "movingMean", false, true);
        param(s.movingVar, C, "movingVar", false, true);
        for (int64_t off : {s.movingMean, s.movingVar})
          if (spec.vars[var_of(off, C)].trainable)
            fail(where, "movingMean / movingVar must lie in non-trainable vars");
        break;
      case LayerKind::Activation:
        expect_out(H, W, C);
        break;
      default:
        fail(where, "unknown layer kind " + std::to_string((int)s.kind));
    }
  }

  // layers never share parameters (backward overwrites, it does not accumulate)
  std::sort(ranges.begin(), ranges.end(), [](const ParamRange& a, const ParamRange& b) { return a.offset < b.offset; });
  for (size_t j = 1; j < ranges.size(); ++j)
    if (ranges[j].offset < ranges[j - 1].offset + ranges[j - 1].size)
      fail("layers[" + std::to_string(ranges[j].layer) + "]",
           std::string(ranges[j].field) + " overlaps layers[" + std::to_string(ranges[j - 1].layer) + "]." +
               ranges[j - 1].field);
  for (const ParamRange& r : ranges) {
    if (r.stat) continue;
    if (r.size > 0 && spec.vars[var_of(r.offset, r.size)].trainable) {
      layers[r.layer].trainable = true;
      if (first_trainable < 0 || r.layer < first_trainable) first_trainable = r.layer;
    }
  }

  if (std::all_of(layers.begin(), layers.end(), [](const LayerInfo& li) { return li.is_view; }))
    fail(net, "the network has only Flatten layers: nothing to compute");

  // loss
  const LayerSpec& last = spec.layers.back();
  in_size = layers.front().in_size;
  out_size = layers.back().out_size;
  const bool categorical = spec.loss == Loss::CategoricalCrossentropy || spec.loss == Loss::SparseCategoricalCrossentropy;
  if ((int)spec.loss < 0 || (int)spec.loss > (int)Loss::MeanAbsoluteError)
    fail("loss", "unknown loss " + std::to_string((int)spec.loss));
  if (categorical && (last.out[0] != 1 || last.out[1] != 1))
    fail("loss", "categorical losses need a [1, 1, classes] output, the last layer gives " + shape_str(last.out) +
                     " (add Flatten or global pooling)");
  if (!(spec.labelSmoothing >= 0.f && spec.labelSmoothing <= 1.f)) fail("labelSmoothing", "must be in [0, 1]");
  const bool last_softmax = last.act == Act::Softmax &&
                            (last.kind == LayerKind::Conv2D || last.kind == LayerKind::Dense || last.kind == LayerKind::Activation);
  fused_softmax = categorical && !spec.fromLogits && last_softmax;

  // optimizer
  const OptimizerSpec& o = spec.opt;
  if ((int)o.kind < 0 || (int)o.kind > (int)OptimizerKind::Adagrad) fail("opt", "unknown optimizer kind " + std::to_string((int)o.kind));
  if (!(o.beta1 >= 0.f && o.beta1 < 1.f)) fail("opt", "beta1 must be in [0, 1)");
  if (!(o.beta2 >= 0.f && o.beta2 < 1.f)) fail("opt", "beta2 must be in [0, 1)");
  if (!(o.eps >= 0.f)) fail("opt", "eps must be >= 0");
  if (!(o.clipNorm >= 0.f) || !(o.clipValue >= 0.f)) fail("opt", "clipNorm / clipValue must be >= 0 (0 = off)");
  const int k = optimizer_slot_count(o.kind);
  slot_base.assign(spec.vars.size(), -1);
  for (size_t j = 0; j < spec.vars.size(); ++j) {
    if (!spec.vars[j].trainable) continue;
    slot_base[j] = slot_count;
    slot_count += spec.vars[j].size * k;
  }
}

// ---- arenas -----------------------------------------------------------------------------------------

// Throws when n samples would overflow the int sizes the kernels take.
void Network::Impl::check_batch(int n) const {
  if (n < 1) throw std::out_of_range("n must be at least 1");
  for (const LayerInfo& li : layers) {
    int64_t per = std::max(li.in_size, li.out_size);
    if (li.s.kind == LayerKind::Conv2D) {
      Conv2DDims d = li.conv;
      per = std::max<int64_t>(per, (int64_t)conv2d_col_size(d));
    }
    if ((int64_t)n * per > INT_MAX)
      throw std::out_of_range("a batch of " + std::to_string(n) + " samples is too large for this network (" +
                              std::to_string(per) + " floats per sample in one buffer)");
  }
}

void Network::Impl::ensure_train(int n) {
  if (n <= train_cap) return;
  check_batch(n);
  train_cap = 0;  // stays 0 if an allocation below throws
  const size_t N = (size_t)n;
  bufs.resize(layers.size());
  size_t max_col = 0;
  for (size_t i = 0; i < layers.size(); ++i) {
    const LayerInfo& li = layers[i];
    LayerBuffers& b = bufs[i];
    if (!li.is_view) realloc_vec(b.out, N * li.out_size);
    switch (li.s.kind) {
      case LayerKind::Conv2D: {
        if (li.keep_pre) realloc_vec(b.pre, N * li.out_size);
        Conv2DDims d = li.conv;
        d.N = n;
        const size_t cs = conv2d_col_size(d);
        realloc_vec(b.col, cs);
        max_col = std::max(max_col, cs);
        break;
      }
      case LayerKind::Dense:
        if (li.keep_pre) realloc_vec(b.pre, N * li.out_size);
        break;
      case LayerKind::MaxPool2D:
      case LayerKind::GlobalMaxPool2D:
        realloc_vec(b.argmax, N * li.out_size);
        break;
      case LayerKind::Dropout:
        realloc_vec(b.mask, N * li.in_size);
        break;
      case LayerKind::BatchNorm:
        realloc_vec(b.xhat, N * li.in_size);
        b.mean.resize(li.s.in[2]);
        b.invstd.resize(li.s.in[2]);
        break;
      default:
        break;
    }
  }
  realloc_vec(grad_a, N * max_act);
  realloc_vec(grad_b, N * max_act);
  realloc_vec(dcol, max_col);
  if (spec.fromLogits) realloc_vec(probs, N * out_size);
  inputs.assign(layers.size(), nullptr);
  outputs.assign(layers.size(), nullptr);
  train_cap = n;
}

// Samples per inference chunk: about 64 MB of buffers, between 1 and 256 samples.
int Network::Impl::infer_chunk() const {
  int64_t per = 2 * max_act + max_act;  // act_a, act_b, argmax
  for (const LayerInfo& li : layers)
    if (li.s.kind == LayerKind::Conv2D) {
      Conv2DDims d = li.conv;
      per = std::max<int64_t>(per, 3 * max_act + (int64_t)conv2d_col_size(d));
    }
  const int64_t budget = (int64_t)16 << 20;  // floats
  return (int)std::max<int64_t>(1, std::min<int64_t>(256, budget / std::max<int64_t>(per, 1)));
}

void Network::Impl::ensure_infer(int n) {
  if (n <= infer_cap) return;
  check_batch(n);
  infer_cap = 0;  // stays 0 if an allocation below throws
  const size_t N = (size_t)n;
  size_t max_col = 0;
  for (const LayerInfo& li : layers)
    if (li.s.kind == LayerKind::Conv2D) {
      Conv2DDims d = li.conv;
      d.N = n;
      max_col = std::max(max_col, conv2d_col_size(d));
    }
  realloc_vec(act_a, N * max_act);
  realloc_vec(act_b, N * max_act);
  realloc_vec(icol, max_col);
  realloc_vec(iargmax, N * max_act);
  infer_cap = n;
}

// ---- loss ----------------------------------------------------------------------------------------

void Network::Impl::check_labels(const void* y, int n) const {
  if (spec.loss != Loss::SparseCategoricalCrossentropy) return;
  const int32_t* lab = static_cast<const int32_t*>(y);
  for (int i = 0; i < n; ++i)
    if (lab[i] < 0 || lab[i] >= out_size)
      throw std::out_of_range("labels[" + std::to_string(i) + "] = " + std::to_string(lab[i]) +
                              " is not a class index in [0, " + std::to_string(out_size) + ")");
}

// The batch loss of out (n, D) against y; dout (n, D) receives the gradient w.r.t. out, or, on the
// fused softmax path, w.r.t. the last layer's pre-softmax logits. dout may be nullptr.
float Network::Impl::loss(float* dout, const float* out, const void* y, const float* sw, int n,
                          std::vector<float>& scratch) {
  const int D = (int)out_size;
  const float s = spec.labelSmoothing;
  const float* yf = static_cast<const float*>(y);
  const int32_t* yi = static_cast<const int32_t*>(y);
  switch (spec.loss) {
    case Loss::CategoricalCrossentropy:
    case Loss::SparseCategoricalCrossentropy: {
      const bool sparse = spec.loss == Loss::SparseCategoricalCrossentropy;
      const float* p = out;
      if (spec.fromLogits) {
        if (scratch.size() < (size_t)n * D) realloc_vec(scratch, (size_t)n * D);
        softmax_rows(scratch.data(), out, n, D);
        p = scratch.data();
      } else if (!fused_softmax) {
        return sparse ? sparse_categorical_crossentropy(dout, out, yi, sw, n, D, s)
                      : categorical_crossentropy(dout, out, yf, sw, n, D, s);
      }
      return sparse ? sparse_softmax_crossentropy(dout, p, yi, sw, n, D, s)
                    : softmax_crossentropy(dout, p, yf, sw, n, D, s);
    }
    case Loss::BinaryCrossentropy:
      return binary_crossentropy(dout, out, yf, sw, n, D, spec.fromLogits, s);
    case Loss::MeanSquaredError:
      return mean_squared_error(dout, out, yf, sw, n, D);
    case Loss::MeanAbsoluteError:
      return mean_absolute_error(dout, out, yf, sw, n, D);
  }
  return 0.f;
}

// ---- training forward / backward ---------------------------------------------------------------------

// Training-mode forward of x (n, in_size); returns the output (n, out_size).
const float* Network::Impl::forward_train(const float* x, int n) {
  const float* cur = x;
  for (size_t i = 0; i < layers.size(); ++i) {
    const LayerInfo& li = layers[i];
    const LayerSpec& s = li.s;
    LayerBuffers& b = bufs[i];
    float* out = li.is_view ? const_cast<float*>(cur) : b.out.data();
    const int64_t rows = (int64_t)n * li.pixels;
    switch (s.kind) {
      case LayerKind::Conv2D: {
        Conv2DDims d = li.conv;
        d.N = n;
        if (li.keep_pre) {
          conv2d_forward(b.pre.data(), b.col.data(), cur, P(s.kernel), P(s.bias), d, Act::Linear, 0.f);
          activation_forward(out, b.pre.data(), (int64_t)n * d.OH * d.OW, d.OC, s.act, s.alpha);
        } else {
          conv2d_forward(out, b.col.data(), cur, P(s.kernel), P(s.bias), d, s.act, s.alpha);
        }
        break;
      }
      case LayerKind::Dense:
        if (li.keep_pre) {
          dense_forward(b.pre.data(), cur, P(s.kernel), P(s.bias), (int)rows, s.in[2], s.units, Act::Linear, 0.f);
          activation_forward(out, b.pre.data(), rows, s.units, s.act, s.alpha);
        } else {
          dense_forward(out, cur, P(s.kernel), P(s.bias), (int)rows, s.in[2], s.units, s.act, s.alpha);
        }
        break;
      case LayerKind::MaxPool2D: {
        Pool2DDims d = li.pool;
        d.N = n;
        maxpool2d_forward(out, b.argmax.data(), cur, d);
        break;
      }
      case LayerKind::AvgPool2D: {
        Pool2DDims d = li.pool;
        d.N = n;
        avgpool2d_forward(out, cur, d);
        break;
      }
      case LayerKind::GlobalAvgPool2D:
        global_avgpool_forward(out, cur, n, (int)li.pixels, s.in[2]);
        break;
      case LayerKind::GlobalMaxPool2D:
        global_maxpool_forward(out, b.argmax.data(), cur, n, (int)li.pixels, s.in[2]);
        break;
      case LayerKind::Flatten:
        break;
      case LayerKind::Dropout:
        dropout_forward(out, b.mask.data(), cur, (int64_t)n * li.in_size, s.rate, rng);
        break;
      case LayerKind::BatchNorm:
        batchnorm_forward_train(out, b.xhat.data(), b.mean.data(), b.invstd.data(), P(s.movingMean),
                                P(s.movingVar), cur, P(s.gamma), P(s.beta), rows, s.in[2], s.momentum, s.eps);
        break;
      case LayerKind::Activation:
        activation_forward(out, cur, rows, s.in[2], s.act, s.alpha);
        break;
    }
    inputs[i] = cur;
    outputs[i] = out;
    cur = out;
  }
  return cur;
}

// Backward from grad_a, which holds dL/d(output) (or dL/d(logits) on the fused softmax path), down
// to first_trainable. Parameter gradients are written into grads.
void Network::Impl::backward(int n) {
  if (first_trainable < 0) return;
  float* g = grad_a.data();      // dL/d(current layer's output)
  float* other = grad_b.data();  // receives dL/d(its input)
  const int last = (int)layers.size() - 1;
  for (int i = last; i >= first_trainable; --i) {
    const LayerInfo& li = layers[i];
    const LayerSpec& s = li.s;
    LayerBuffers& b = bufs[i];
    const bool need_dinp = i > first_trainable;
    const bool skip_act = i == last && fused_softmax;  // the loss gave the logits gradient
    const float* in = inputs[i];
    const float* out = outputs[i];
    const int64_t rows = (int64_t)n * li.pixels;
    float* G = grads.data();
    auto dparam = [&](int64_t off) { return off >= 0 ? G + off : nullptr; };
    switch (s.kind) {
      case LayerKind::Conv2D: {
        Conv2DDims d = li.conv;
        d.N = n;
        if (s.act != Act::Linear && !skip_act)
          activation_backward(g, g, li.keep_pre ? b.pre.data() : nullptr, out, (int64_t)n * d.OH * d.OW, d.OC,
                              s.act, s.alpha);
        conv2d_backward(need_dinp ? other : nullptr, dparam(s.kernel), dparam(s.bias), dcol.data(), g,
                        b.col.data(), in, P(s.kernel), d);
        std::swap(g, other);
        break;
      }
      case LayerKind::Dense:
        if (s.act != Act::Linear && !skip_act)
          activation_backward(g, g, li.keep_pre ? b.pre.data() : nullptr, out, rows, s.units, s.act, s.alpha);
        dense_backward(need_dinp ? other : nullptr, dparam(s.kernel), dparam(s.bias), g, in, P(s.kernel),
                       (int)rows, s.in[2], s.units);
        std::swap(g, other);
        break;
      case LayerKind::MaxPool2D: {
        Pool2DDims d = li.pool;
        d.N = n;
        maxpool2d_backward(other, g, b.argmax.data(), d);
        std::swap(g, other);
        break;
      }
      case LayerKind::AvgPool2D: {
        Pool2DDims d = li.pool;
        d.N = n;
        avgpool2d_backward(other, g, d);
        std::swap(g, other);
        break;
      }
      case LayerKind::GlobalAvgPool2D:
        global_avgpool_backward(other, g, n, (int)li.pixels, s.in[2]);
        std::swap(g, other);
        break;
      case LayerKind::GlobalMaxPool2D:
        global_maxpool_backward(other, g, b.argmax.data(), n, (int)li.pixels, s.in[2]);
        std::swap(g, other);
        break;
      case LayerKind::Flatten:
        break;
      case LayerKind::Dropout:
        dropout_backward(g, g, b.mask.data(), (int64_t)n * li.in_size);
        break;
      case LayerKind::BatchNorm:
        batchnorm_backward(need_dinp ? g : nullptr, dparam(s.gamma), dparam(s.beta), g, b.xhat.data(),
                           b.invstd.data(), P(s.gamma), rows, s.in[2]);
        break;
      case LayerKind::Activation:
        if (!skip_act)
          activation_backward(g, g, activation_needs_input(s.act) ? in : nullptr, out, rows, s.in[2], s.act,
                              s.alpha);
        break;
    }
  }
}

// Clip and optimizer step for every trainable variable.
void Network::Impl::update(float lr, int64_t t) {
  const OptimizerSpec& o = spec.opt;
  for (size_t j = 0; j < spec.vars.size(); ++j) {
    const Variable& v = spec.vars[j];
    if (!v.trainable || v.size == 0) continue;
    float* w = params + v.offset;
    float* g = grads.data() + v.offset;
    float* s0 = slots + slot_base[j];
    const int64_t n = v.size;
    if (o.clipNorm > 0.f) clip_by_norm(g, n, o.clipNorm);
    if (o.clipValue > 0.f) clip_by_value(g, n, o.clipValue);
    switch (o.kind) {
      case OptimizerKind::Sgd: sgd_update(w, g, n, lr); break;
      case OptimizerKind::Momentum: momentum_update(w, s0, g, n, lr, o.momentum, o.nesterov); break;
      case OptimizerKind::Adam: adam_update(w, s0, s0 + n, g, n, lr, o.beta1, o.beta2, o.eps, t); break;
      case OptimizerKind::AdamW:
        adamw_update(w, s0, s0 + n, g, n, lr, o.beta1, o.beta2, o.eps, o.weightDecay, t);
        break;
      case OptimizerKind::RMSprop:
        rmsprop_update(w, s0, s0 + n, o.centered ? s0 + 2 * n : nullptr, g, n, lr, o.rho, o.momentum, o.eps,
                       o.centered);
        break;
      case OptimizerKind::Adagrad: adagrad_update(w, s0, g, n, lr, o.eps); break;
    }
  }
}

// ---- inference --------------------------------------------------------------------------------------

// Inference-mode forward of x (n, in_size), n <= infer_cap; returns the output (n, out_size), which
// lives in the inference arena (or is x itself for a network of views).
const float* Network::Impl::forward_infer(const float* x, int n) {
  const float* cur = x;
  float* buf[2] = {act_a.data(), act_b.data()};
  int k = 0;
  for (const LayerInfo& li : layers) {
    const LayerSpec& s = li.s;
    float* out = buf[k];
    const int64_t rows = (int64_t)n * li.pixels;
    switch (s.kind) {
      case LayerKind::Conv2D: {
        Conv2DDims d = li.conv;
        d.N = n;
        conv2d_forward(out, icol.data(), cur, P(s.kernel), P(s.bias), d, s.act, s.alpha);
        break;
      }
      case LayerKind::Dense:
        dense_forward(out, cur, P(s.kernel), P(s.bias), (int)rows, s.in[2], s.units, s.act, s.alpha);
        break;
      case LayerKind::MaxPool2D: {
        Pool2DDims d = li.pool;
        d.N = n;
        maxpool2d_forward(out, iargmax.data(), cur, d);
        break;
      }
      case LayerKind::AvgPool2D: {
        Pool2DDims d = li.pool;
        d.N = n;
        avgpool2d_forward(out, cur, d);
        break;
      }
      case LayerKind::GlobalAvgPool2D:
        global_avgpool_forward(out, cur, n, (int)li.pixels, s.in[2]);
        break;
      case LayerKind::GlobalMaxPool2D:
        global_maxpool_forward(out, iargmax.data(), cur, n, (int)li.pixels, s.in[2]);
        break;
      case LayerKind::Flatten:
      case LayerKind::Dropout:
        continue;  // identity at inference: no buffer, no swap
      case LayerKind::BatchNorm:
        batchnorm_forward_infer(out, cur, P(s.gamma), P(s.beta), P(s.movingMean), P(s.movingVar), rows, s.in[2],
                                s.eps);
        break;
      case LayerKind::Activation:
        activation_forward(out, cur, rows, s.in[2], s.act, s.alpha);
        break;
    }
    cur = out;
    k ^= 1;
  }
  return cur;
}

// ---- public API ---------------------------------------------------------------------------------------

Network::Network(NetworkSpec spec, float* params, float* slots) : impl_(new Impl) {
  Impl& m = *impl_;
  m.spec = std::move(spec);
  m.params = params;
  m.slots = slots;
  m.validate();
  m.grads.assign((size_t)m.param_count, 0.f);
  rng_seed(m.rng, m.spec.seed);
}

Network::~Network() = default;

float Network::forward_backward(const float* x, const void* y, const float* sw, int n) {
  Impl& m = *impl_;
  m.check_batch(n);
  m.check_labels(y, n);
  m.ensure_train(n);
  m.last_n = 0;
  const float* out = m.forward_train(x, n);
  m.last_n = n;
  const bool need_grad = m.first_trainable >= 0;
  const float loss = m.loss(need_grad ? m.grad_a.data() : nullptr, out, y, sw, n, m.probs);
  std::fill(m.grads.begin(), m.grads.end(), 0.f);
  m.backward(n);
  // frozen layers' kernels wrote gradients too: non-trainable ranges read as zero
  for (const Variable& v : m.spec.vars)
    if (!v.trainable) std::fill(m.grads.begin() + v.offset, m.grads.begin() + v.offset + v.size, 0.f);
  return loss;
}

float Network::train_step(const float* x, const void* y, const float* sw, int n, float lr, int64_t t) {
  if (t < 1) throw std::out_of_range("t must be >= 1");
  const float loss = forward_backward(x, y, sw, n);
  impl_->update(lr, t);
  return loss;
}

void Network::predict(float* out, const float* x, int n) {
  Impl& m = *impl_;
  m.check_batch(n);
  const int chunk = std::min(n, m.infer_chunk());
  m.ensure_infer(chunk);
  for (int c0 = 0; c0 < n; c0 += chunk) {
    const int c = std::min(chunk, n - c0);
    const float* o = m.forward_infer(x + (int64_t)c0 * m.in_size, c);
    std::memmove(out + (int64_t)c0 * m.out_size, o, sizeof(float) * (size_t)c * m.out_size);
  }
}

float Network::evaluate(float* out, const float* x, const void* y, const float* sw, int n) {
  Impl& m = *impl_;
  m.check_batch(n);
  m.check_labels(y, n);
  predict(out, x, n);
  return m.loss(nullptr, out, y, sw, n, m.eval_probs);
}

const float* Network::output() const { return impl_->last_n > 0 ? impl_->outputs.back() : nullptr; }
const float* Network::grads() const { return impl_->grads.data(); }
int64_t Network::out_size() const { return impl_->out_size; }
int64_t Network::in_size() const { return impl_->in_size; }
int64_t Network::param_count() const { return impl_->param_count; }
int64_t Network::slot_count() const { return impl_->slot_count; }

}  // namespace cnn
