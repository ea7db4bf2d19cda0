// The compiled network (network.h): the chain engine's buffer arena, and the training step (forward
// in training mode, loss, backward, clip, optimizer update) as one C++ call. Spec checks live in
// network_validate.cc; a spec that is not a plain chain runs on the graph engine (network_graph.cc),
// with the same update step.
//
// Buffers. The training arena keeps, per layer, what backward needs (outputs, pre-activations of
// fused activations that need their input, max-pool argmax, dropout masks, BN xhat and 1/std),
// plus two ping-pong gradient buffers. It is sized for the largest batch seen so far and reused for
// smaller ones. Inference runs in a separate, smaller arena (two ping-pong activation buffers, one
// argmax scratch) over chunks of samples, so predicting on a big set never allocates the whole
// set's activations.
//
// Conv2D layers run in tiles of a few samples (conv_tiles.h): per-thread tile scratch instead of
// whole-batch im2col matrices (backward recomputes a tile's), and a MaxPool2D right after a conv is
// fused into it, so the conv's full-size output is never stored.
//
// Mixed precision: a layer whose spec says ComputeDtype::BFloat16 runs its GEMMs on bf16-rounded
// operands with fp32 accumulation (native/kernels/bf16); see network.h for exactly what is bf16.
#include <algorithm>
#include <climits>
#include <cstring>
#include <stdexcept>
#include <string>

#include "../kernels/activations.h"
#include "../kernels/batchnorm.h"
#include "../kernels/bf16/bf16.h"
#include "../kernels/bf16/dense_bf16.h"
#include "../kernels/dense.h"
#include "../kernels/dropout.h"
#include "../kernels/optim.h"
#include "network_graph.h"
#include "network_impl.h"

namespace cnn {

namespace {

// Replaces v's storage with `size` zeroed elements, freeing the old storage first.
template <class T>
void realloc_vec(std::vector<T>& v, size_t size) {
  std::vector<T>().swap(v);
  v.resize(size);
}

// True when bf16 GEMMs are emulated (sbgemm's RoundedSgemm path, CPUs without AVX512-BF16): a bf16
// Dense then rounds its input and kernel once in forward (into its xq / wq buffers), and forward
// and backward run the fp32 GEMMs on them, instead of sbgemm rounding copies of both operands of
// each of the three products. Read at every step, so a kernel switch (tests) takes effect at once.
bool dense_bf16_emulated() { return sbgemm_active_kernel() == Bf16Kernel::RoundedSgemm; }

}  // namespace

// ---- conv plans -------------------------------------------------------------------------------------

// Tiles every Conv2D layer and fuses a MaxPool2D that directly follows one, when the conv's
// activation allows it (conv_pool_fusable).
void Network::Impl::plan_convs() {
  for (size_t i = 0; i < layers.size(); ++i) {
    LayerInfo& li = layers[i];
    if (li.s.kind != LayerKind::Conv2D) continue;
    LayerInfo* next = i + 1 < layers.size() ? &layers[i + 1] : nullptr;
    const bool fuse = next && next->s.kind == LayerKind::MaxPool2D && conv_pool_fusable(li.s.act);
    li.plan = conv_plan(li.conv, fuse ? &next->pool : nullptr);
    li.plan.bf16 = li.s.dtype == ComputeDtype::BFloat16;
    if (fuse) next->fused = true;
  }
  // A fused conv's full-size output (the fused pool's input) is never stored, nor its gradient:
  // the activation buffers only need the other layer boundaries.
  max_act = 0;
  for (const LayerInfo& li : layers) {
    const bool pooled_conv = li.s.kind == LayerKind::Conv2D && li.plan.pool;
    if (!li.fused) max_act = std::max(max_act, li.in_size);
    if (!pooled_conv) max_act = std::max(max_act, li.out_size);
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
  for (size_t i = 0; i < layers.size(); ++i) {
    const LayerInfo& li = layers[i];
    LayerBuffers& b = bufs[i];
    const bool pooled_conv = li.s.kind == LayerKind::Conv2D && li.plan.pool;
    if (!li.is_view && !pooled_conv) realloc_vec(b.out, N * li.out_size);
    switch (li.s.kind) {
      case LayerKind::Conv2D:
        if (li.keep_pre) realloc_vec(b.pre, N * li.out_size);
        break;
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
  if (spec.fromLogits) realloc_vec(probs, N * out_size);
  inputs.assign(layers.size(), nullptr);
  outputs.assign(layers.size(), nullptr);
  train_cap = n;
}

// Samples per inference chunk: about 64 MB of buffers, between 1 and 256 samples.
int Network::Impl::infer_chunk() const {
  const int64_t per = 2 * max_act + max_act;  // act_a, act_b, argmax (conv tiles are per thread)
  const int64_t budget = (int64_t)16 << 20;  // floats
  return (int)std::max<int64_t>(1, std::min<int64_t>(256, budget / std::max<int64_t>(per, 1)));
}

void Network::Impl::ensure_infer(int n) {
  if (n <= infer_cap) return;
  check_batch(n);
  infer_cap = 0;  // stays 0 if an allocation below throws
  const size_t N = (size_t)n;
  realloc_vec(act_a, N * max_act);
  realloc_vec(act_b, N * max_act);
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
      case LayerKind::Conv2D:
        if (li.plan.pool) {  // writes the next layer's (pooled) output and argmax
          LayerBuffers& pb = bufs[i + 1];
          conv_tiled_forward(li.plan, pb.out.data(), pb.argmax.data(), nullptr, cur, P(s.kernel), P(s.bias), s.act,
                             s.alpha, n, conv_scratch);
          out = nullptr;
        } else {
          conv_tiled_forward(li.plan, out, nullptr, li.keep_pre ? b.pre.data() : nullptr, cur, P(s.kernel), P(s.bias),
                             s.act, s.alpha, n, conv_scratch);
        }
        break;
      case LayerKind::Dense: {
        const bool bf16 = s.dtype == ComputeDtype::BFloat16, emulate = bf16 && dense_bf16_emulated();
        auto* dense = bf16 && !emulate ? dense_forward_bf16 : dense_forward;
        const float* x = cur;
        const float* w = P(s.kernel);
        if (emulate) {  // round the input and kernel once: backward reuses both
          const int64_t nx = rows * s.in[2], nw = (int64_t)s.in[2] * s.units;
          if ((int64_t)b.xq.size() < nx) b.xq.resize((size_t)nx);
          if ((int64_t)b.wq.size() < nw) b.wq.resize((size_t)nw);
          bf16_round_array(b.xq.data(), cur, nx);
          bf16_round_array(b.wq.data(), w, nw);
          x = b.xq.data();
          w = b.wq.data();
        }
        if (li.keep_pre) {
          dense(b.pre.data(), x, w, P(s.bias), (int)rows, s.in[2], s.units, Act::Linear, 0.f);
          activation_forward(out, b.pre.data(), rows, s.units, s.act, s.alpha);
        } else {
          dense(out, x, w, P(s.bias), (int)rows, s.in[2], s.units, s.act, s.alpha);
        }
        break;
      }
      case LayerKind::MaxPool2D: {
        if (li.fused) {  // the conv before it wrote out and argmax
          inputs[i] = nullptr;
          outputs[i] = out;
          cur = out;
          continue;
        }
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
        // with a fused pool, g is the pool's output gradient and the pool's buffers hold the output
        const LayerBuffers& ob = li.plan.pool ? bufs[i + 1] : b;
        conv_tiled_backward(li.plan, need_dinp ? other : nullptr, dparam(s.kernel), dparam(s.bias), g,
                            li.plan.pool ? ob.out.data() : out, li.plan.pool ? ob.argmax.data() : nullptr,
                            li.keep_pre ? b.pre.data() : nullptr, in, P(s.kernel), s.act, s.alpha, skip_act, n,
                            conv_scratch, conv_partial);
        std::swap(g, other);
        break;
      }
      case LayerKind::Dense:
        if (s.act != Act::Linear && !skip_act)
          activation_backward(g, g, li.keep_pre ? b.pre.data() : nullptr, out, rows, s.units, s.act, s.alpha);
        if (s.dtype == ComputeDtype::BFloat16) {  // the GEMMs and the bias sum read the rounded gradient
          bf16_round_array(g, g, rows * s.units);
          if (dense_bf16_emulated())  // forward left the rounded input and kernel: plain fp32 GEMMs
            dense_backward(need_dinp ? other : nullptr, dparam(s.kernel), dparam(s.bias), g, b.xq.data(),
                           b.wq.data(), (int)rows, s.in[2], s.units);
          else
            dense_backward_bf16(need_dinp ? other : nullptr, dparam(s.kernel), dparam(s.bias), g, in, P(s.kernel),
                                (int)rows, s.in[2], s.units);
        } else {
          dense_backward(need_dinp ? other : nullptr, dparam(s.kernel), dparam(s.bias), g, in, P(s.kernel),
                         (int)rows, s.in[2], s.units);
        }
        std::swap(g, other);
        break;
      case LayerKind::MaxPool2D: {
        if (li.fused) break;  // the conv before it takes the pooled gradient
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
      case LayerKind::Conv2D:
        // with a fused pool, out receives the pooled output
        conv_tiled_forward(li.plan, out, li.plan.pool ? iargmax.data() : nullptr, nullptr, cur, P(s.kernel),
                           P(s.bias), s.act, s.alpha, n, conv_scratch);
        break;
      case LayerKind::Dense:
        (s.dtype == ComputeDtype::BFloat16 ? dense_forward_bf16 : dense_forward)(out, cur, P(s.kernel), P(s.bias),
                                                                                (int)rows, s.in[2], s.units, s.act,
                                                                                s.alpha);
        break;
      case LayerKind::MaxPool2D: {
        if (li.fused) continue;  // done by the conv before it: no buffer, no swap
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
  if (m.chain) {
    m.plan_convs();
  } else {  // tiles without pool fusion (no node order to rely on)
    for (LayerInfo& li : m.layers) {
      if (li.s.kind != LayerKind::Conv2D) continue;
      li.plan = conv_plan(li.conv, nullptr);
      li.plan.bf16 = li.s.dtype == ComputeDtype::BFloat16;
    }
  }
  m.grads.assign((size_t)m.param_count, 0.f);
  rng_seed(m.rng, m.spec.seed);
  if (!m.chain) m.graph.reset(new Graph(m));
}

Network::~Network() = default;

void Network::apply_gradients(const float* g, float lr, int64_t t) {
  Impl& m = *impl_;
  if (t < 1) throw std::out_of_range("t must be at least 1");
  std::copy(g, g + m.param_count, m.grads.begin());
  for (const Variable& v : m.spec.vars)
    if (!v.trainable) std::fill(m.grads.begin() + v.offset, m.grads.begin() + v.offset + v.size, 0.f);
  m.update(lr, t);
}

float Network::forward_backward(const float* x, const void* y, const float* sw, int n) {
  Impl& m = *impl_;
  if (m.graph) return m.graph->forward_backward({x}, {y}, sw, n);
  m.check_batch(n);
  m.check_labels(y, n);
  m.ensure_train(n);
  m.last_n = 0;
  const float* out = m.forward_train(x, n);
  m.last_n = n;
  const bool need_grad = m.first_trainable >= 0;
  const float loss = m.loss(need_grad ? m.grad_a.data() : nullptr, out, y, sw, n, m.probs);
  // No zero fill first: every layer from first_trainable up overwrites its parameter gradients,
  // and the ranges no backward pass writes keep the zeros they were constructed with.
  m.backward(n);
  // frozen layers' kernels wrote gradients too: non-trainable ranges read as zero
  for (const Variable& v : m.spec.vars)
    if (!v.trainable) std::fill(m.grads.begin() + v.offset, m.grads.begin() + v.offset + v.size, 0.f);
  m.losses[0] = loss;
  return loss;
}

float Network::train_step(const float* x, const void* y, const float* sw, int n, float lr, int64_t t) {
  if (t < 1) throw std::out_of_range("t must be >= 1");
  const float loss = forward_backward(x, y, sw, n);
  impl_->update(lr, t);
  return loss;
}

// Runs in chunks of infer_chunk() samples, so any n works with a bounded arena.
void Network::predict(float* out, const float* x, int n) {
  Impl& m = *impl_;
  if (m.graph) return m.graph->predict({out}, {x}, n);
  if (n < 1) throw std::out_of_range("n must be at least 1");
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
  if (m.graph) return m.graph->evaluate({out}, {x}, {y}, sw, n);
  m.check_labels(y, n);
  predict(out, x, n);
  m.losses[0] = m.loss(nullptr, out, y, sw, n, m.eval_probs);
  return m.losses[0];
}

float Network::forward_backward(const std::vector<const float*>& xs, const std::vector<const void*>& ys,
                                const float* sw, int n) {
  Impl& m = *impl_;
  if (m.graph) return m.graph->forward_backward(xs, ys, sw, n);
  return forward_backward(xs.at(0), ys.at(0), sw, n);
}

float Network::train_step(const std::vector<const float*>& xs, const std::vector<const void*>& ys, const float* sw,
                          int n, float lr, int64_t t) {
  if (t < 1) throw std::out_of_range("t must be >= 1");
  const float loss = forward_backward(xs, ys, sw, n);
  impl_->update(lr, t);
  return loss;
}

void Network::predict(const std::vector<float*>& outs, const std::vector<const float*>& xs, int n) {
  Impl& m = *impl_;
  if (m.graph) return m.graph->predict(outs, xs, n);
  predict(outs.at(0), xs.at(0), n);
}

float Network::evaluate(const std::vector<float*>& outs, const std::vector<const float*>& xs,
                        const std::vector<const void*>& ys, const float* sw, int n) {
  Impl& m = *impl_;
  if (m.graph) return m.graph->evaluate(outs, xs, ys, sw, n);
  return evaluate(outs.at(0), xs.at(0), ys.at(0), sw, n);
}

const float* Network::output() const { return output(0); }
const float* Network::output(int k) const {
  const Impl& m = *impl_;
  if (m.graph) return m.graph->output(k);
  return m.last_n > 0 ? m.outputs.back() : nullptr;
}
const float* Network::grads() const { return impl_->grads.data(); }
int64_t Network::out_size() const { return impl_->out_size; }
int64_t Network::in_size() const { return impl_->in_size; }
int64_t Network::param_count() const { return impl_->param_count; }
int64_t Network::slot_count() const { return impl_->slot_count; }
int Network::num_inputs() const { return (int)impl_->input_shapes.size(); }
int Network::num_outputs() const { return (int)impl_->output_ids.size(); }
int64_t Network::in_size(int k) const {
  const auto& s = impl_->input_shapes.at(k);
  return (int64_t)s[0] * s[1] * s[2];
}
int64_t Network::out_size(int k) const {
  const auto& s = impl_->tensor_shapes.at(impl_->output_ids.at(k));
  return (int64_t)s[0] * s[1] * s[2];
}
bool Network::sparse_output(int k) const { return impl_->out_losses.at(k).loss == Loss::SparseCategoricalCrossentropy; }
const std::vector<float>& Network::losses() const { return impl_->losses; }

int64_t Network::arena_bytes() const {
  const Impl& m = *impl_;
  int64_t b = m.graph ? m.graph->arena_bytes() : m.arena_bytes();
  for (const ConvScratch& sc : m.conv_scratch) b += (int64_t)(sc.col.size() + sc.out.size() + sc.xpad.size() + sc.xq.size()) * 4;
  b += (int64_t)(m.conv_partial.dw.size() + m.conv_partial.part.size()) * 4 + (int64_t)m.conv_partial.db.size() * 8;
  return b;
}

int64_t Network::Impl::arena_bytes() const {
  int64_t f = 0;
  for (const LayerBuffers& b : bufs)
    f += (int64_t)(b.out.size() + b.pre.size() + b.argmax.size() + b.mask.size() + b.xhat.size() + b.mean.size() +
                   b.invstd.size());
  f += (int64_t)(grad_a.size() + grad_b.size() + probs.size() + act_a.size() + act_b.size() + iargmax.size() +
                 eval_probs.size());
  return f * 4;
}

}  // namespace cnn
