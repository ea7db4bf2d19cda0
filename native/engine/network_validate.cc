// Spec validation of the compiled network: shapes chain from layer to layer, conv / pool sizes
// agree with conv2d_dims / pool2d_dims, every parameter range lies inside one variable and no two
// layers share one, the loss fits the output. Each failure is a std::invalid_argument naming the
// layer and field. Also derives the per-layer facts the engine uses (sizes, dims, slot bases).
#include <algorithm>
#include <climits>
#include <stdexcept>
#include <string>

#include "../kernels/activations.h"
#include "network_impl.h"

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


}  // namespace

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

}  // namespace cnn
