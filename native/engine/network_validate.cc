// Spec validation of the compiled network, the one C++ rule set (the binding only converts types;
// lib/backend/js/network_spec.ts mirrors it with the same messages): every node reads model inputs
// or earlier nodes, with the arity and shapes its kind needs; conv / pool sizes agree with
// conv2d_dims / pool2d_dims; every parameter range lies inside one variable and two nodes share
// one only as the same field at the same offset (graph form); outputs are node outputs, each
// once, and their losses fit them. Each failure is a std::invalid_argument naming the node index
// and kind. Also derives the facts the engines use (sizes, dims, slot bases, whether the chain
// engine can run the spec).
#include <algorithm>
#include <climits>
#include <stdexcept>
#include <string>

#include "../kernels/activations.h"
#include "network_impl.h"
#include "nodes/node_kind.h"

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
std::string shape_str(const std::array<int, 3>& s) { return shape_str(s.data()); }
bool same_shape(const std::array<int, 3>& a, const int b[3]) { return same_shape(a.data(), b); }
bool same_shape(const std::array<int, 3>& a, const std::array<int, 3>& b) { return same_shape(a.data(), b.data()); }
bool is_merge(LayerKind k) { return (int)k >= (int)LayerKind::Add && (int)k <= (int)LayerKind::Dot; }

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
    case LayerKind::Add: return "Add";
    case LayerKind::Subtract: return "Subtract";
    case LayerKind::Multiply: return "Multiply";
    case LayerKind::Average: return "Average";
    case LayerKind::Maximum: return "Maximum";
    case LayerKind::Minimum: return "Minimum";
    case LayerKind::Concatenate: return "Concatenate";
    case LayerKind::Dot: return "Dot";
    case LayerKind::Reshape: return "Reshape";
    default:
      if (const NodeKind* nk = node_kind(k)) return nk->name;
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
  input_shapes = spec.inputs;
  if (!spec.hasInputs) input_shapes.push_back({spec.layers[0].in[0], spec.layers[0].in[1], spec.layers[0].in[2]});
  if (input_shapes.empty()) fail(net, "the network has no inputs");
  const int I = (int)input_shapes.size();
  tensor_shapes = input_shapes;
  chain = I == 1;
  layers.resize(L);
  for (int i = 0; i < L; ++i) {
    LayerInfo& li = layers[i];
    li.s = spec.layers[i];
    LayerSpec& s = li.s;
    const std::string where = "layers[" + std::to_string(i) + "] (" + kind_name(s.kind) + ")";
    for (int a = 0; a < 3; ++a) {
      if (s.in[a] < 1) fail(where, "in must be 3 positive sizes, received " + shape_str(s.in));
      if (s.out[a] < 1) fail(where, "out must be 3 positive sizes, received " + shape_str(s.out));
    }
    // wiring: the ids read, their count, their shapes
    const int prev_id = i == 0 ? 0 : I + i - 1;
    if (s.inputs.empty()) s.inputs.push_back(prev_id);
    const int n_in = (int)s.inputs.size();
    const bool merge = is_merge(s.kind);
    if (!merge && n_in != 1) fail(where, "takes 1 input, received " + std::to_string(n_in) + " ids");
    if (merge && n_in < 2) fail(where, "a merge takes 2 or more inputs, received " + std::to_string(n_in));
    if ((s.kind == LayerKind::Subtract || s.kind == LayerKind::Dot) && n_in != 2)
      fail(where, "takes exactly 2 inputs, received " + std::to_string(n_in));
    for (int id : s.inputs)
      if (id < 0 || id >= I + i)
        fail(where, "input id " + std::to_string(id) + " is not a model input or an earlier node's output (ids 0.." +
                        std::to_string(I + i - 1) + ")");
    if (n_in != 1 || s.inputs[0] != prev_id) chain = false;
    std::vector<std::array<int, 3>> shapes;
    for (int id : s.inputs) shapes.push_back(tensor_shapes[id]);
    if (!spec.graph) {
      if (i > 0 && !same_shape(spec.layers[i - 1].out, s.in))
        fail(where, "in " + shape_str(s.in) + " does not match the previous layer's out " +
                        shape_str(spec.layers[i - 1].out));
    } else if (!same_shape(shapes[0], s.in)) {
      fail(where, "in " + shape_str(s.in) + " does not match the shape " + shape_str(shapes[0]) + " of input id " +
                      std::to_string(s.inputs[0]));
    }
    if (!s.ins.empty()) {
      if ((int)s.ins.size() != n_in)
        fail(where, "ins has " + std::to_string(s.ins.size()) + " shapes for " + std::to_string(n_in) + " inputs");
      for (int k = 0; k < n_in; ++k)
        if (!same_shape(s.ins[k], shapes[k]))
          fail(where, "ins[" + std::to_string(k) + "] " + shape_str(s.ins[k]) + " does not match the shape " +
                          shape_str(shapes[k]) + " of input id " + std::to_string(s.inputs[k]));
    }
    s.ins = shapes;
    auto pair = [&](int k) {
      return "input id " + std::to_string(s.inputs[0]) + " is " + shape_str(shapes[0]) + " and input id " +
             std::to_string(s.inputs[k]) + " is " + shape_str(shapes[k]);
    };
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
      case LayerKind::Add:
      case LayerKind::Subtract:
      case LayerKind::Multiply:
      case LayerKind::Average:
      case LayerKind::Maximum:
      case LayerKind::Minimum:
        for (int k = 1; k < n_in; ++k)
          if (!same_shape(shapes[k], shapes[0])) fail(where, "inputs must have the same shape: " + pair(k));
        expect_out(H, W, C);
        break;
      case LayerKind::Concatenate: {
        if (s.axis < 0 || s.axis > 2) fail(where, "axis must be 0, 1 or 2");
        std::array<int, 3> o = shapes[0];
        int64_t along = o[s.axis];
        for (int k = 1; k < n_in; ++k) {
          for (int ax = 0; ax < 3; ++ax)
            if (ax != s.axis && shapes[k][ax] != shapes[0][ax])
              fail(where, "inputs must agree except on axis " + std::to_string(s.axis) + ": " + pair(k));
          along += shapes[k][s.axis];
        }
        if (along * ((int64_t)o[0] * o[1] * o[2] / o[s.axis]) > INT_MAX) fail(where, "per-sample size too large");
        o[s.axis] = (int)along;
        expect_out(o[0], o[1], o[2]);
        break;
      }
      case LayerKind::Dot:
        if (shapes[0][0] != 1 || shapes[0][1] != 1 || !same_shape(shapes[0], shapes[1]))
          fail(where, "needs two [1, 1, F] vectors of the same F: " + pair(1));
        expect_out(1, 1, 1);
        break;
      case LayerKind::Reshape:
        chain = false;
        li.is_view = true;
        if (li.out_size != li.in_size)
          fail(where, "out " + shape_str(s.out) + " must hold as many values as in " + shape_str(s.in));
        break;
      default: {
        const NodeKind* nk = node_kind(s.kind);
        if (!nk) fail(where, "unknown layer kind " + std::to_string((int)s.kind));
        // the registry kinds run on the graph engine only
        chain = false;
        NodeShape sh = nk->shape(s);
        if (!sh.error.empty()) fail(where, sh.error);
        expect_out(sh.out[0], sh.out[1], sh.out[2]);
        for (const NodeParam& p : sh.params) {
          param(p.offset, p.size, p.field, p.optional, p.stat);
          if (p.stat && p.offset >= 0 && spec.vars[var_of(p.offset, p.size)].trainable)
            fail(where, std::string(p.field) + " must lie in non-trainable vars");
        }
        li.node = nk;
        li.node_params = sh.params;
        li.saved_size = nk->saved_floats ? nk->saved_floats(s) : 0;
        break;
      }
    }
    tensor_shapes.push_back({s.out[0], s.out[1], s.out[2]});
  }

  // layers never share parameters (backward overwrites, it does not accumulate)
  // (graph form: one layer applied twice shares its ranges, the same field at the same offset)
  std::stable_sort(ranges.begin(), ranges.end(), [](const ParamRange& a, const ParamRange& b) {
    return a.offset < b.offset || (a.offset == b.offset && a.size > b.size);
  });
  bool shared = false;
  for (size_t j = 1; j < ranges.size(); ++j) {
    const ParamRange &a = ranges[j - 1], &b = ranges[j];
    if (b.offset < a.offset + a.size) {
      if (spec.graph && a.offset == b.offset && a.size == b.size && std::string(a.field) == b.field) {
        shared = true;
        continue;
      }
      fail("layers[" + std::to_string(b.layer) + "]",
           std::string(b.field) + " overlaps layers[" + std::to_string(a.layer) + "]." + a.field);
    }
  }
  for (const ParamRange& r : ranges) {
    if (r.stat) continue;
    if (r.size > 0 && spec.vars[var_of(r.offset, r.size)].trainable) {
      layers[r.layer].trainable = true;
      if (first_trainable < 0 || r.layer < first_trainable) first_trainable = r.layer;
    }
  }

  if (std::all_of(layers.begin(), layers.end(), [](const LayerInfo& li) { return li.is_view; }))
    fail(net, "the network has only Flatten layers: nothing to compute");

  // output_ids and their losses
  const int nT = I + L;
  output_ids = spec.outputs;
  if (!spec.hasOutputs) output_ids.push_back(nT - 1);
  if (output_ids.empty()) fail("outputs", "the network has no outputs");
  for (size_t k = 0; k < output_ids.size(); ++k) {
    const int id = output_ids[k];
    const std::string where = "outputs[" + std::to_string(k) + "]";
    if (id < I || id >= nT)
      fail(where, "id " + std::to_string(id) + " is not a node's output (ids " + std::to_string(I) + ".." +
                      std::to_string(nT - 1) + ")");
    if (std::find(output_ids.begin(), output_ids.end(), id) - output_ids.begin() != (int64_t)k)
      fail(where, "id " + std::to_string(id) + " is listed twice");
  }
  if (spec.hasOutputLosses && spec.outputLosses.size() != output_ids.size())
    fail("outputLosses", "has " + std::to_string(spec.outputLosses.size()) + " entries for " +
                             std::to_string(output_ids.size()) + " outputs");
  out_losses = spec.outputLosses;
  if (!spec.hasOutputLosses)
    out_losses.assign(output_ids.size(), OutputLoss{spec.loss, spec.fromLogits, spec.labelSmoothing, 1.f});
  std::vector<int> readers(nT, 0);
  for (const LayerInfo& li : layers)
    for (int id : li.s.inputs) readers[id]++;
  for (size_t k = 0; k < output_ids.size(); ++k) {
    const OutputLoss& ol = out_losses[k];
    const std::array<int, 3>& shape = tensor_shapes[output_ids[k]];
    const LayerSpec& node = layers[output_ids[k] - I].s;
    if ((int)ol.loss < 0 || (int)ol.loss > (int)Loss::MeanAbsoluteError)
      fail("loss", "unknown loss " + std::to_string((int)ol.loss));
    if (!(ol.labelSmoothing >= 0.f && ol.labelSmoothing <= 1.f)) fail("labelSmoothing", "must be in [0, 1]");
    const bool categorical = ol.loss == Loss::CategoricalCrossentropy || ol.loss == Loss::SparseCategoricalCrossentropy;
    if (categorical && (shape[0] != 1 || shape[1] != 1)) {
      if (output_ids.size() == 1)
        fail("loss", "categorical losses need a [1, 1, classes] output, the last layer gives " + shape_str(shape) +
                         " (add Flatten or global pooling)");
      fail("outputLosses[" + std::to_string(k) + "]", "categorical losses need a [1, 1, classes] output, output id " +
                                                          std::to_string(output_ids[k]) + " gives " + shape_str(shape) +
                                                          " (add Flatten or global pooling)");
    }
    const bool softmax = node.act == Act::Softmax && (node.kind == LayerKind::Conv2D || node.kind == LayerKind::Dense ||
                                                      node.kind == LayerKind::Activation);
    if (k == 0) fused_softmax = categorical && !ol.fromLogits && softmax && readers[output_ids[k]] == 0;
  }
  chain = chain && !shared && output_ids.size() == 1 && output_ids[0] == nT - 1 && out_losses[0].weight == 1.f;
  if (chain) {
    spec.loss = out_losses[0].loss;
    spec.fromLogits = out_losses[0].fromLogits;
    spec.labelSmoothing = out_losses[0].labelSmoothing;
  }
  losses.assign(output_ids.size(), 0.f);
  in_size = (int64_t)input_shapes[0][0] * input_shapes[0][1] * input_shapes[0][2];
  out_size = (int64_t)tensor_shapes[output_ids[0]][0] * tensor_shapes[output_ids[0]][1] * tensor_shapes[output_ids[0]][2];

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
