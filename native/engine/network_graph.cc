// The graph engine and its liveness plan; see network_graph.h.
#include "network_graph.h"

#include <algorithm>
#include <climits>
#include <cstring>
#include <limits>
#include <map>
#include <stdexcept>
#include <string>
#include <tuple>

#include "../kernels/activations.h"
#include "../kernels/batchnorm.h"
#include "../kernels/bf16/bf16.h"
#include "../kernels/bf16/dense_bf16.h"
#include "../kernels/dense.h"
#include "../kernels/dropout.h"
#include "../kernels/merge.h"

namespace cnn {

void graph_delete(Graph* g) { delete g; }

namespace {

template <class T>
void realloc_vec(std::vector<T>& v, size_t size) {
  std::vector<T>().swap(v);
  v.resize(size);
}

bool is_view(const LayerSpec& s, bool training) {
  return s.kind == LayerKind::Flatten || s.kind == LayerKind::Reshape || (!training && s.kind == LayerKind::Dropout);
}

bool is_elementwise(LayerKind k) { return (int)k >= (int)LayerKind::Add && (int)k <= (int)LayerKind::Minimum; }

MergeOp merge_op(LayerKind k) { return (MergeOp)((int)k - (int)LayerKind::Add); }

// Node s's backward reads its input tensors / its own output.
bool back_reads_inputs(const LayerSpec& s) {
  switch (s.kind) {
    case LayerKind::Conv2D:
    case LayerKind::Dense:
    case LayerKind::Multiply:
    case LayerKind::Maximum:
    case LayerKind::Minimum:
    case LayerKind::Dot:
      return true;
    case LayerKind::Activation:
      return activation_needs_input(s.act);
    default: {
      const NodeKind* nk = node_kind(s.kind);
      return nk && nk->back_reads_inputs;
    }
  }
}

bool back_reads_output(const LayerSpec& s) {
  if (s.kind == LayerKind::Activation) return true;
  if (const NodeKind* nk = node_kind(s.kind)) return nk->back_reads_output;
  return (s.kind == LayerKind::Conv2D || s.kind == LayerKind::Dense) && s.act != Act::Linear;
}

struct Ev {
  int64_t time;
  bool free;
  int id;
  int64_t size;
};

// First-fit placement over lifetimes (allocations before frees at one time); offsets by id.
int64_t place(std::vector<Ev>& ev, std::vector<int64_t>& off) {
  std::stable_sort(ev.begin(), ev.end(), [](const Ev& a, const Ev& b) {
    return std::make_tuple(a.time, a.free, a.id) < std::make_tuple(b.time, b.free, b.id);
  });
  struct Live {
    int64_t off, size;
    int id;
  };
  std::vector<Live> live;  // by offset
  int64_t peak = 0;
  for (const Ev& e : ev) {
    if (e.free) {
      for (size_t k = 0; k < live.size(); ++k)
        if (live[k].id == e.id) {
          live.erase(live.begin() + k);
          break;
        }
      continue;
    }
    int64_t at = 0;
    size_t k = 0;
    for (; k < live.size(); ++k) {
      if (live[k].off - at >= e.size) break;
      at = std::max(at, live[k].off + live[k].size);
    }
    live.insert(live.begin() + k, Live{at, e.size, e.id});
    off[e.id] = at;
    peak = std::max(peak, at + e.size);
  }
  return peak;
}

}  // namespace

GraphPlan plan_graph(const Network::Impl& m) {
  GraphPlan g;
  const int I = (int)m.input_shapes.size(), L = (int)m.layers.size(), nT = I + L;
  g.nT = nT;
  for (const auto& sh : m.tensor_shapes) g.size.push_back((int64_t)sh[0] * sh[1] * sh[2]);
  g.readers.assign(nT, {});
  for (int j = 0; j < L; ++j)
    for (int t : m.layers[j].s.inputs) g.readers[t].push_back(j);
  std::vector<char> is_output(nT, 0);
  for (int id : m.output_ids) is_output[id] = 1;

  auto storage = [&](bool training) {
    std::vector<int> st(nT);
    for (int t = 0; t < nT; ++t) st[t] = t;
    for (int j = 0; j < L; ++j)
      if (is_view(m.layers[j].s, training)) st[I + j] = st[m.layers[j].s.inputs[0]];
    return st;
  };
  const std::vector<int> train_st = storage(true), infer_st = storage(false);

  g.need_grad.assign(nT, 0);
  for (int j = 0; j < L; ++j) {
    bool ng = m.layers[j].trainable;
    for (int t : m.layers[j].s.inputs) ng = ng || g.need_grad[t];
    g.need_grad[I + j] = ng;
  }
  std::vector<char> reached(nT, 0);
  for (int id : m.output_ids) reached[id] = g.need_grad[id];
  g.run_back.assign(L, 0);
  for (int j = L - 1; j >= 0; --j) {
    g.run_back[j] = g.need_grad[I + j] && reached[I + j];
    if (g.run_back[j])
      for (int t : m.layers[j].s.inputs)
        if (g.need_grad[t]) reached[t] = 1;
  }
  g.storage_of = train_st;
  g.grad_root = train_st;

  std::map<std::pair<int, int64_t>, int> uses;  // (field, offset) -> nodes using it
  auto fields = [](const LayerSpec& s) {
    return std::array<int64_t, 6>{s.kernel, s.bias, s.gamma, s.beta, s.movingMean, s.movingVar};
  };
  for (const LayerInfo& li : m.layers) {
    auto f = fields(li.s);
    for (int q = 0; q < 6; ++q)
      if (f[q] >= 0) uses[{q, f[q]}]++;
  }
  g.shared.assign(L, 0);
  for (int j = 0; j < L; ++j) {
    auto f = fields(m.layers[j].s);
    for (int q = 0; q < 6; ++q)
      if (f[q] >= 0 && uses[{q, f[q]}] > 1) g.shared[j] = 1;
  }
  g.max_act = *std::max_element(g.size.begin(), g.size.end());

  auto arena = [&](bool training) {
    const std::vector<int>& st = training ? train_st : infer_st;
    const int64_t NEVER = std::numeric_limits<int64_t>::max();
    std::vector<int64_t> last(nT, -1);
    for (int t = I; t < nT; ++t)
      if (st[t] == t) last[t] = t - I;
    for (int t = 0; t < nT; ++t) {
      const int S = st[t];
      if (S < I) continue;
      if (is_output[t]) last[S] = NEVER;
      for (int r : g.readers[t]) {
        if (last[S] == NEVER) break;
        last[S] = std::max<int64_t>(last[S], r);
        if (training && g.run_back[r] && back_reads_inputs(m.layers[r].s)) last[S] = std::max<int64_t>(last[S], 2 * L - r);
      }
      const int j = t - I;
      if (training && S == t && last[S] != NEVER && g.run_back[j] && back_reads_output(m.layers[j].s))
        last[S] = std::max<int64_t>(last[S], 2 * L - j);
    }
    std::vector<Ev> ev;
    for (int t = I; t < nT; ++t) {
      if (st[t] != t) continue;
      ev.push_back({t - I, false, t, g.size[t]});
      if (last[t] != NEVER) ev.push_back({last[t], true, t, g.size[t]});
    }
    bool any_back = false;
    if (training) {
      for (int r = I; r < nT; ++r) {
        if (g.grad_root[r] != r || !g.run_back[r - I]) continue;
        any_back = true;
        int64_t first = 2 * L - (r - I);
        for (int t = I; t < nT; ++t) {
          if (g.grad_root[t] != r) continue;
          if (is_output[t]) first = std::min<int64_t>(first, L);
          for (int rr : g.readers[t])
            if (g.run_back[rr] && !is_view(m.layers[rr].s, true)) first = std::min<int64_t>(first, 2 * L - rr);
        }
        ev.push_back({first, false, nT + r, g.size[r]});
        ev.push_back({2 * L - (r - I), true, nT + r, g.size[r]});
      }
      if (any_back) ev.push_back({L, false, 2 * nT, g.max_act});
    }
    std::vector<int64_t> off(2 * nT + 1, -1);
    ArenaPlan p;
    p.floats = place(ev, off);
    p.off.assign(off.begin(), off.begin() + nT);
    p.grad_off.assign(off.begin() + nT, off.begin() + 2 * nT);
    p.scratch_off = off[2 * nT];
    return p;
  };
  g.train = arena(true);
  g.infer = arena(false);
  return g;
}

// ---- the engine ------------------------------------------------------------------------------------

Graph::Graph(Network::Impl& impl) : m(impl), plan(plan_graph(impl)) {
  I = (int)m.input_shapes.size();
  for (const auto& s : m.input_shapes) in_sizes.push_back((int64_t)s[0] * s[1] * s[2]);
  for (int id : m.output_ids) out_sizes.push_back(plan.size[id]);
  skip_act.assign(m.layers.size(), 0);
  for (size_t k = 0; k < m.output_ids.size(); ++k) {
    const OutputLoss& ol = m.out_losses[k];
    const LayerSpec& s = m.layers[m.output_ids[k] - I].s;
    const bool cat = ol.loss == Loss::CategoricalCrossentropy || ol.loss == Loss::SparseCategoricalCrossentropy;
    const bool softmax = s.act == Act::Softmax &&
                         (s.kind == LayerKind::Conv2D || s.kind == LayerKind::Dense || s.kind == LayerKind::Activation);
    fused.push_back(cat && !ol.fromLogits && softmax && plan.readers[m.output_ids[k]].empty());
    if (fused.back()) skip_act[m.output_ids[k] - I] = 1;
  }
  data.assign(plan.nT, nullptr);
  written.assign(plan.nT, 0);
  probs.resize(m.output_ids.size());
  eval_probs.resize(m.output_ids.size());
}

void Graph::ensure_train(int n) {
  if (n <= train_cap) return;
  m.check_batch(n);
  train_cap = 0;
  const size_t N = (size_t)n;
  realloc_vec(arena, N * (size_t)plan.train.floats);
  nodes.resize(m.layers.size());
  for (size_t j = 0; j < m.layers.size(); ++j) {
    const LayerInfo& li = m.layers[j];
    GraphNodeBufs& b = nodes[j];
    const int C = li.s.in[2];
    switch (li.s.kind) {
      case LayerKind::Conv2D:
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
        b.mean.resize(C);
        b.invstd.resize(C);
        break;
      default:
        if (li.node && li.saved_size > 0) realloc_vec(b.saved, N * li.saved_size);
        break;
    }
    if (plan.shared[j]) {  // private parameter gradients, fixed sizes
      const LayerSpec& s = li.s;
      if (li.node) {
        b.dnode.resize(li.node_params.size());
        for (size_t q = 0; q < li.node_params.size(); ++q)
          if (li.node_params[q].offset >= 0 && !li.node_params[q].stat) b.dnode[q].resize(li.node_params[q].size);
      }
      if (s.kind == LayerKind::Conv2D) {
        b.dw.resize((size_t)s.kh * s.kw * C * s.filters);
        b.db.resize(s.filters);
      } else if (s.kind == LayerKind::Dense) {
        b.dw.resize((size_t)C * s.units);
        b.db.resize(s.units);
      } else if (s.kind == LayerKind::BatchNorm) {
        b.dgamma.resize(C);
        b.dbeta.resize(C);
      }
    }
  }
  for (size_t k = 0; k < m.output_ids.size(); ++k)
    if (m.out_losses[k].fromLogits) realloc_vec(probs[k], N * out_sizes[k]);
  train_cap = n;
}

int Graph::infer_chunk() const {
  const int64_t per = plan.infer.floats + plan.max_act;
  const int64_t budget = (int64_t)16 << 20;
  return (int)std::max<int64_t>(1, std::min<int64_t>(256, budget / std::max<int64_t>(per, 1)));
}

void Graph::ensure_infer(int n) {
  if (n <= infer_cap) return;
  m.check_batch(n);
  infer_cap = 0;
  realloc_vec(iarena, (size_t)n * plan.infer.floats);
  realloc_vec(iargmax, (size_t)n * plan.max_act);
  infer_cap = n;
}

void Graph::forward(const std::vector<const float*>& xs, int n, bool training) {
  const ArenaPlan& ap = training ? plan.train : plan.infer;
  float* base = training ? arena.data() : iarena.data();
  const int64_t cap = training ? train_cap : infer_cap;
  for (int t = 0; t < I; ++t) data[t] = xs[t];
  std::vector<const float*> ins;
  for (size_t j = 0; j < m.layers.size(); ++j) {
    const LayerInfo& li = m.layers[j];
    const LayerSpec& s = li.s;
    const int id = I + (int)j;
    const float* cur = data[s.inputs[0]];
    if (is_view(s, training)) {
      data[id] = cur;
      continue;
    }
    float* out = base + ap.off[id] * cap;
    data[id] = out;
    GraphNodeBufs* b = training ? &nodes[j] : nullptr;
    const int64_t rows = (int64_t)n * li.pixels;
    const int C = s.in[2];
    if (li.node) {  // a registry kind
      ins.clear();
      for (int t : s.inputs) ins.push_back(data[t]);
      std::vector<const float*> ps;
      for (const NodeParam& p : li.node_params) ps.push_back(m.P(p.offset));
      NodeCall c{s, n, ins.data(), out, b && li.saved_size ? b->saved.data() : nullptr, ps.data(), nullptr, nullptr,
                 nullptr, &m.rng, training};
      li.node->forward(c);
      continue;
    }
    switch (s.kind) {
      case LayerKind::Conv2D:
        conv_tiled_forward(li.plan, out, nullptr, b && li.keep_pre ? b->pre.data() : nullptr, cur, m.P(s.kernel),
                           m.P(s.bias), s.act, s.alpha, n, m.conv_scratch);
        break;
      case LayerKind::Dense: {
        auto* dense = s.dtype == ComputeDtype::BFloat16 ? dense_forward_bf16 : dense_forward;
        if (b && li.keep_pre) {
          dense(b->pre.data(), cur, m.P(s.kernel), m.P(s.bias), (int)rows, C, s.units, Act::Linear, 0.f);
          activation_forward(out, b->pre.data(), rows, s.units, s.act, s.alpha);
        } else {
          dense(out, cur, m.P(s.kernel), m.P(s.bias), (int)rows, C, s.units, s.act, s.alpha);
        }
        break;
      }
      case LayerKind::MaxPool2D: {
        Pool2DDims d = li.pool;
        d.N = n;
        maxpool2d_forward(out, b ? b->argmax.data() : iargmax.data(), cur, d);
        break;
      }
      case LayerKind::AvgPool2D: {
        Pool2DDims d = li.pool;
        d.N = n;
        avgpool2d_forward(out, cur, d);
        break;
      }
      case LayerKind::GlobalAvgPool2D:
        global_avgpool_forward(out, cur, n, (int)li.pixels, C);
        break;
      case LayerKind::GlobalMaxPool2D:
        global_maxpool_forward(out, b ? b->argmax.data() : iargmax.data(), cur, n, (int)li.pixels, C);
        break;
      case LayerKind::Dropout:
        dropout_forward(out, b->mask.data(), cur, (int64_t)n * li.in_size, s.rate, m.rng);
        break;
      case LayerKind::BatchNorm:
        if (b)
          batchnorm_forward_train(out, b->xhat.data(), b->mean.data(), b->invstd.data(), m.P(s.movingMean),
                                  m.P(s.movingVar), cur, m.P(s.gamma), m.P(s.beta), rows, C, s.momentum, s.eps);
        else
          batchnorm_forward_infer(out, cur, m.P(s.gamma), m.P(s.beta), m.P(s.movingMean), m.P(s.movingVar), rows, C,
                                  s.eps);
        break;
      case LayerKind::Activation:
        activation_forward(out, cur, rows, C, s.act, s.alpha);
        break;
      case LayerKind::Concatenate: {
        const int64_t outer = (int64_t)n * (s.axis == 0 ? 1 : s.axis == 1 ? s.in[0] : (int64_t)s.in[0] * s.in[1]);
        std::vector<int64_t> inner;
        ins.clear();
        for (size_t q = 0; q < s.inputs.size(); ++q) {
          ins.push_back(data[s.inputs[q]]);
          inner.push_back((int64_t)s.ins[q][0] * s.ins[q][1] * s.ins[q][2] * n / outer);
        }
        concat_forward(out, ins.data(), inner.data(), (int)ins.size(), outer);
        break;
      }
      case LayerKind::Dot:
        dot_forward(out, cur, data[s.inputs[1]], n, C, s.normalize);
        break;
      default:  // elementwise merges
        ins.clear();
        for (int t : s.inputs) ins.push_back(data[t]);
        merge_forward(merge_op(s.kind), out, ins.data(), (int)ins.size(), (int64_t)n * li.out_size);
        break;
    }
  }
}

void Graph::check_labels(const std::vector<const void*>& ys, int n) const {
  const bool one = out_sizes.size() == 1;
  for (size_t k = 0; k < out_sizes.size(); ++k) {
    if (m.out_losses[k].loss != Loss::SparseCategoricalCrossentropy) continue;
    const int32_t* lab = static_cast<const int32_t*>(ys[k]);
    for (int i = 0; i < n; ++i)
      if (lab[i] < 0 || lab[i] >= out_sizes[k])
        throw std::out_of_range(std::string(one ? "labels" : "labels[" + std::to_string(k) + "]") + "[" +
                                std::to_string(i) + "] = " + std::to_string(lab[i]) + " is not a class index in [0, " +
                                std::to_string(out_sizes[k]) + ")");
  }
}

float Graph::loss(int k, float* dout, const float* out, const void* y, const float* sw, int n,
                  std::vector<float>& scratch) {
  const OutputLoss& ol = m.out_losses[k];
  const int D = (int)out_sizes[k];
  const float s = ol.labelSmoothing;
  const float* yf = static_cast<const float*>(y);
  const int32_t* yi = static_cast<const int32_t*>(y);
  switch (ol.loss) {
    case Loss::CategoricalCrossentropy:
    case Loss::SparseCategoricalCrossentropy: {
      const bool sparse = ol.loss == Loss::SparseCategoricalCrossentropy;
      const float* p = out;
      if (ol.fromLogits) {
        if (scratch.size() < (size_t)n * D) realloc_vec(scratch, (size_t)n * D);
        softmax_rows(scratch.data(), out, n, D);
        p = scratch.data();
      } else if (!fused[k]) {
        return sparse ? sparse_categorical_crossentropy(dout, out, yi, sw, n, D, s)
                      : categorical_crossentropy(dout, out, yf, sw, n, D, s);
      }
      return sparse ? sparse_softmax_crossentropy(dout, p, yi, sw, n, D, s)
                    : softmax_crossentropy(dout, p, yf, sw, n, D, s);
    }
    case Loss::BinaryCrossentropy:
      return binary_crossentropy(dout, out, yf, sw, n, D, ol.fromLogits, s);
    case Loss::MeanSquaredError:
      return mean_squared_error(dout, out, yf, sw, n, D);
    case Loss::MeanAbsoluteError:
      return mean_absolute_error(dout, out, yf, sw, n, D);
  }
  return 0.f;
}

float Graph::forward_backward(const std::vector<const float*>& xs, const std::vector<const void*>& ys, const float* sw,
                              int n) {
  m.check_batch(n);
  check_labels(ys, n);
  ensure_train(n);
  last_n = 0;
  forward(xs, n, true);
  last_n = n;
  const int64_t cap = train_cap;
  float* base = arena.data();
  auto grad = [&](int root) { return base + plan.train.grad_off[root] * cap; };
  float* scratch = plan.train.scratch_off >= 0 ? base + plan.train.scratch_off * cap : nullptr;
  std::fill(written.begin(), written.end(), 0);
  std::fill(m.grads.begin(), m.grads.end(), 0.f);
  int pending = -1;
  // The buffer a contribution to tensor t's gradient is written into; finish() adds it if needed.
  auto target = [&](int t) -> float* {
    const int r = plan.grad_root[t];
    if (!written[r]) {
      written[r] = 1;
      pending = -1;
      return grad(r);
    }
    pending = r;
    return scratch;
  };
  auto finish = [&]() {
    if (pending < 0) return;
    float* dst = grad(pending);
    const int64_t len = (int64_t)n * plan.size[pending];
    for (int64_t e = 0; e < len; ++e) dst[e] += scratch[e];
    pending = -1;
  };

  float total = 0.f;
  for (size_t k = 0; k < m.output_ids.size(); ++k) {
    const int id = m.output_ids[k];
    const float w = m.out_losses[k].weight;
    float* dout = plan.need_grad[id] ? target(id) : nullptr;
    const float l = loss((int)k, dout, data[id], ys[k], sw, n, probs[k]);
    if (dout) {
      if (w != 1.f)
        for (int64_t e = 0; e < (int64_t)n * out_sizes[k]; ++e) dout[e] *= w;
      finish();
    }
    m.losses[k] = l;
    total += w * l;
  }

  float* G = m.grads.data();
  const int L = (int)m.layers.size();
  for (int j = L - 1; j >= 0; --j) {
    if (!plan.run_back[j]) continue;
    const LayerInfo& li = m.layers[j];
    const LayerSpec& s = li.s;
    if (s.kind == LayerKind::Flatten || s.kind == LayerKind::Reshape) continue;  // the gradient is shared
    GraphNodeBufs& b = nodes[j];
    const int id = I + j;
    float* g = grad(plan.grad_root[id]);
    const float* in = data[s.inputs[0]];
    const float* out = data[id];
    const int64_t rows = (int64_t)n * li.pixels;
    const int C = s.in[2];
    const bool need0 = plan.need_grad[s.inputs[0]];
    const bool skip = skip_act[j];
    const bool sh = plan.shared[j];
    auto dparam = [&](int64_t off, std::vector<float>& own) -> float* {
      if (off < 0) return nullptr;
      return sh ? own.data() : G + off;
    };
    if (li.node) {  // a registry kind: one call, then the input gradients summed in as usual
      std::vector<const float*> ins, ps;
      std::vector<float*> dps, dins;
      for (int t : s.inputs) ins.push_back(data[t]);
      const bool want_dp = li.trainable;
      for (size_t q = 0; q < li.node_params.size(); ++q) {
        const NodeParam& p = li.node_params[q];
        ps.push_back(m.P(p.offset));
        dps.push_back(want_dp && !p.stat ? dparam(p.offset, sh ? b.dnode[q] : b.dw) : nullptr);
      }
      // one input per call to target(): the scratch buffer holds one pending contribution
      const int n_in = (int)s.inputs.size();
      for (int q = 0; q < std::max(n_in, 1); ++q) {
        dins.assign(n_in, nullptr);
        if (q < n_in && plan.need_grad[s.inputs[q]]) dins[q] = target(s.inputs[q]);
        const bool last = q == n_in - 1;
        if (!dins[q] && !(last && want_dp)) continue;
        std::vector<float*> dp = last ? dps : std::vector<float*>(dps.size(), nullptr);
        NodeCall c{s, n, ins.data(), const_cast<float*>(out), li.saved_size ? b.saved.data() : nullptr, ps.data(),
                   dp.data(), g, dins.data(), &m.rng, true};
        li.node->backward(c);
        if (dins[q]) finish();
      }
      if (sh)
        for (size_t q = 0; q < li.node_params.size(); ++q)
          if (!b.dnode[q].empty())
            for (size_t e = 0; e < b.dnode[q].size(); ++e) G[li.node_params[q].offset + e] += b.dnode[q][e];
      continue;
    }
    switch (s.kind) {
      case LayerKind::Conv2D: {
        float* dst = need0 ? target(s.inputs[0]) : nullptr;
        conv_tiled_backward(li.plan, dst, dparam(s.kernel, b.dw), dparam(s.bias, b.db), g, out, nullptr,
                            li.keep_pre ? b.pre.data() : nullptr, in, m.P(s.kernel), s.act, s.alpha, skip, n,
                            m.conv_scratch, m.conv_partial);
        finish();
        break;
      }
      case LayerKind::Dense: {
        if (s.act != Act::Linear && !skip)
          activation_backward(g, g, li.keep_pre ? b.pre.data() : nullptr, out, rows, s.units, s.act, s.alpha);
        float* dst = need0 ? target(s.inputs[0]) : nullptr;
        if (s.dtype == ComputeDtype::BFloat16) {
          bf16_round_array(g, g, rows * s.units);
          dense_backward_bf16(dst, dparam(s.kernel, b.dw), dparam(s.bias, b.db), g, in, m.P(s.kernel), (int)rows, C,
                              s.units);
        } else {
          dense_backward(dst, dparam(s.kernel, b.dw), dparam(s.bias, b.db), g, in, m.P(s.kernel), (int)rows, C,
                         s.units);
        }
        finish();
        break;
      }
      case LayerKind::BatchNorm: {
        float* dst = need0 ? target(s.inputs[0]) : nullptr;
        batchnorm_backward(dst, dparam(s.gamma, b.dgamma), dparam(s.beta, b.dbeta), g, b.xhat.data(), b.invstd.data(),
                           m.P(s.gamma), rows, C);
        finish();
        break;
      }
      case LayerKind::MaxPool2D: {
        if (!need0) break;
        Pool2DDims d = li.pool;
        d.N = n;
        maxpool2d_backward(target(s.inputs[0]), g, b.argmax.data(), d);
        finish();
        break;
      }
      case LayerKind::AvgPool2D: {
        if (!need0) break;
        Pool2DDims d = li.pool;
        d.N = n;
        avgpool2d_backward(target(s.inputs[0]), g, d);
        finish();
        break;
      }
      case LayerKind::GlobalAvgPool2D:
        if (!need0) break;
        global_avgpool_backward(target(s.inputs[0]), g, n, (int)li.pixels, C);
        finish();
        break;
      case LayerKind::GlobalMaxPool2D:
        if (!need0) break;
        global_maxpool_backward(target(s.inputs[0]), g, b.argmax.data(), n, (int)li.pixels, C);
        finish();
        break;
      case LayerKind::Dropout:
        if (!need0) break;
        dropout_backward(target(s.inputs[0]), g, b.mask.data(), (int64_t)n * li.in_size);
        finish();
        break;
      case LayerKind::Activation: {
        if (!need0) break;
        float* dst = target(s.inputs[0]);
        if (skip)
          std::memcpy(dst, g, sizeof(float) * (size_t)(n * li.out_size));
        else
          activation_backward(dst, g, activation_needs_input(s.act) ? in : nullptr, out, rows, C, s.act, s.alpha);
        finish();
        break;
      }
      case LayerKind::Concatenate: {
        const int64_t outer = (int64_t)n * (s.axis == 0 ? 1 : s.axis == 1 ? s.in[0] : (int64_t)s.in[0] * s.in[1]);
        std::vector<int64_t> inner;
        for (const auto& q : s.ins) inner.push_back((int64_t)q[0] * q[1] * q[2] * n / outer);
        for (size_t q = 0; q < s.inputs.size(); ++q) {
          if (!plan.need_grad[s.inputs[q]]) continue;
          concat_backward_input(target(s.inputs[q]), (int)q, g, inner.data(), (int)inner.size(), outer);
          finish();
        }
        break;
      }
      case LayerKind::Dot: {
        const float* a = data[s.inputs[0]];
        const float* bb = data[s.inputs[1]];
        if (need0) {
          dot_backward(target(s.inputs[0]), nullptr, g, a, bb, n, C, s.normalize);
          finish();
        }
        if (plan.need_grad[s.inputs[1]]) {
          dot_backward(nullptr, target(s.inputs[1]), g, a, bb, n, C, s.normalize);
          finish();
        }
        break;
      }
      default: {  // elementwise merges
        std::vector<const float*> ins;
        for (int t : s.inputs) ins.push_back(data[t]);
        for (size_t q = 0; q < s.inputs.size(); ++q) {
          if (!plan.need_grad[s.inputs[q]]) continue;
          merge_backward_input(merge_op(s.kind), target(s.inputs[q]), (int)q, g, ins.data(), (int)ins.size(),
                               (int64_t)n * li.out_size);
          finish();
        }
        break;
      }
    }
    if (sh) {  // add the private gradients into the shared ranges
      auto add = [&](int64_t off, const std::vector<float>& own) {
        if (off < 0) return;
        for (size_t e = 0; e < own.size(); ++e) G[off + e] += own[e];
      };
      if (s.kind == LayerKind::Conv2D || s.kind == LayerKind::Dense) {
        add(s.kernel, b.dw);
        add(s.bias, b.db);
      } else if (s.kind == LayerKind::BatchNorm) {
        add(s.gamma, b.dgamma);
        add(s.beta, b.dbeta);
      }
    }
  }
  for (const Variable& v : m.spec.vars)
    if (!v.trainable) std::fill(m.grads.begin() + v.offset, m.grads.begin() + v.offset + v.size, 0.f);
  return total;
}

void Graph::predict(const std::vector<float*>& outs, const std::vector<const float*>& xs, int n) {
  if (n < 1) throw std::out_of_range("n must be at least 1");
  const int chunk = std::min(n, infer_chunk());
  ensure_infer(chunk);
  std::vector<const float*> xc(I);
  for (int c0 = 0; c0 < n; c0 += chunk) {
    const int c = std::min(chunk, n - c0);
    for (int t = 0; t < I; ++t) xc[t] = xs[t] + (int64_t)c0 * in_sizes[t];
    forward(xc, c, false);
    for (size_t k = 0; k < m.output_ids.size(); ++k)
      std::memmove(outs[k] + (int64_t)c0 * out_sizes[k], data[m.output_ids[k]], sizeof(float) * (size_t)c * out_sizes[k]);
  }
}

float Graph::evaluate(const std::vector<float*>& outs, const std::vector<const float*>& xs,
                      const std::vector<const void*>& ys, const float* sw, int n) {
  check_labels(ys, n);
  predict(outs, xs, n);
  float total = 0.f;
  for (size_t k = 0; k < m.output_ids.size(); ++k) {
    const float l = loss((int)k, nullptr, outs[k], ys[k], sw, n, eval_probs[k]);
    m.losses[k] = l;
    total += m.out_losses[k].weight * l;
  }
  return total;
}

const float* Graph::output(int k) const {
  if (last_n == 0) return nullptr;
  const int S = plan.storage_of[m.output_ids[k]];
  if (S < I) return nullptr;
  return arena.data() + plan.train.off[S] * train_cap;
}

int64_t Graph::arena_bytes() const {
  int64_t b = (int64_t)(arena.size() + iarena.size() + iargmax.size()) * 4;
  for (const GraphNodeBufs& q : nodes) {
    b += (int64_t)(q.pre.size() + q.mask.size() + q.xhat.size() + q.mean.size() + q.invstd.size() + q.argmax.size() +
                   q.dw.size() + q.db.size() + q.dgamma.size() + q.dbeta.size() + q.saved.size()) * 4;
    for (const auto& d : q.dnode) b += (int64_t)d.size() * 4;
  }
  for (const auto& p : probs) b += (int64_t)p.size() * 4;
  return b;
}

}  // namespace cnn
