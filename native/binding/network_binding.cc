// Binding of the training engine (native/engine/network.h): optimizerSlotCount(kind) and
// createNetwork(spec, params, slots), which returns a Network object (lib/backend/types.ts).
// The JS spec is converted to a NetworkSpec here with precise TypeErrors; the engine checks that
// it is consistent. trainStepAsync / predictAsync run on the libuv pool: the batch (x, y, sw) is
// copied into memory the worker owns and predictAsync's output is copied back on the main thread,
// so JS detaching, transferring or resizing those buffers meanwhile cannot make the worker touch
// freed memory (params and slots stay in place: see Ready()). The worker holds the network object,
// touches no JS value off the main thread, and settles a promise. One network runs one call at a time.
#include <algorithm>
#include <array>
#include <climits>
#include <functional>
#include <initializer_list>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "../engine/network.h"
#include "../engine/nodes/node_kind.h"
#include "util.h"

namespace cnn::binding {
namespace {

constexpr int64_t kMaxSafe = (int64_t)1 << 53;

// ---- spec conversion --------------------------------------------------------------------------

std::string Describe(Napi::Value v) {
  if (v.IsUndefined()) return "undefined";
  if (v.IsNull()) return "null";
  if (v.IsNumber()) return std::to_string(v.As<Napi::Number>().DoubleValue());
  if (v.IsBoolean()) return v.As<Napi::Boolean>().Value() ? "true" : "false";
  if (v.IsString()) return "\"" + v.As<Napi::String>().Utf8Value() + "\"";
  if (v.IsArray()) return "an array";
  if (v.IsFunction()) return "a function";
  return "an object";
}

[[noreturn]] void SpecError(Napi::Env env, const std::string& path, const std::string& what, Napi::Value v) {
  throw Napi::TypeError::New(env, "createNetwork: " + path + " must be " + what + ", received " + Describe(v));
}

std::string IntWhat(int64_t lo, int64_t hi) {
  if (lo == 1 && hi >= INT_MAX) return "a positive integer";
  if (lo == 0 && hi >= INT_MAX) return "a non-negative integer";
  return "an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]";
}

// An integer field in [lo, hi]; absent (undefined) gives def, unless required.
int64_t IntField(Napi::Object o, const char* key, const std::string& path, int64_t lo, int64_t hi, int64_t def,
                 bool required = false) {
  Napi::Value v = o.Get(key);
  const std::string p = path + "." + key;
  if (v.IsUndefined() && !required) return def;
  if (!v.IsNumber()) SpecError(o.Env(), p, IntWhat(lo, hi), v);
  double d = v.As<Napi::Number>().DoubleValue();
  if (!(d >= (double)lo && d <= (double)hi) || d != (double)(int64_t)d) SpecError(o.Env(), p, IntWhat(lo, hi), v);
  return (int64_t)d;
}

// A finite number field in [lo, hi] (open at hi when hi_open); absent gives def.
float NumField(Napi::Object o, const char* key, const std::string& path, double lo, double hi, float def,
               bool hi_open = false) {
  Napi::Value v = o.Get(key);
  if (v.IsUndefined()) return def;
  const std::string what = "a number in [" + std::to_string(lo) + ", " + std::to_string(hi) + (hi_open ? ")" : "]");
  if (!v.IsNumber()) SpecError(o.Env(), path + "." + key, what, v);
  double d = v.As<Napi::Number>().DoubleValue();
  if (!(d >= lo && (hi_open ? d < hi : d <= hi))) SpecError(o.Env(), path + "." + key, what, v);
  return (float)d;
}

bool BoolField(Napi::Object o, const char* key, const std::string& path, bool def, bool required = false) {
  Napi::Value v = o.Get(key);
  if (v.IsUndefined() && !required) return def;
  if (!v.IsBoolean()) SpecError(o.Env(), path + "." + key, "a boolean", v);
  return v.As<Napi::Boolean>().Value();
}

Napi::Object ObjField(Napi::Object o, const char* key, const std::string& path) {
  Napi::Value v = o.Get(key);
  if (!v.IsObject() || v.IsArray()) SpecError(o.Env(), path + key, "an object", v);
  return v.As<Napi::Object>();
}

Napi::Array ArrayField(Napi::Object o, const char* key) {
  Napi::Value v = o.Get(key);
  if (!v.IsArray()) SpecError(o.Env(), std::string("spec.") + key, "an array", v);
  return v.As<Napi::Array>();
}

// [H, W, C], three positive integers with H * W * C <= INT_MAX (the engine's per-sample limit,
// checked here so that no size computed from them can overflow).
void ShapeAt(Napi::Value v, const std::string& p, int out[3]) {
  Napi::Env env = v.Env();
  if (!v.IsArray() || v.As<Napi::Array>().Length() != 3) SpecError(env, p, "an array of 3 positive integers", v);
  Napi::Array a = v.As<Napi::Array>();
  int64_t size = 1;
  for (uint32_t i = 0; i < 3; ++i) {
    Napi::Value e = a.Get(i);
    double d = e.IsNumber() ? e.As<Napi::Number>().DoubleValue() : 0;
    if (!e.IsNumber() || !(d >= 1 && d <= INT_MAX) || d != (double)(int)d)
      SpecError(env, p + "[" + std::to_string(i) + "]", "a positive integer", e);
    out[i] = (int)d;
    size *= out[i];  // < 2^62: each factor is below 2^31 and the product so far at most INT_MAX
    if (size > INT_MAX)
      throw Napi::RangeError::New(env, "createNetwork: " + p + " holds more than " + std::to_string(INT_MAX) +
                                               " values per sample");
  }
}

void ShapeField(Napi::Object o, const char* key, const std::string& path, int out[3]) {
  ShapeAt(o.Get(key), path + "." + key, out);
}

// An optional array of `count` non-negative integers into out (left as it is when absent).
void IntsField(Napi::Object o, const char* key, const std::string& path, int count, int lo, int* out) {
  Napi::Value v = o.Get(key);
  if (v.IsUndefined()) return;
  const std::string p = path + "." + key;
  if (!v.IsArray() || (int)v.As<Napi::Array>().Length() != count)
    SpecError(o.Env(), p, "an array of " + std::to_string(count) + " non-negative integers", v);
  Napi::Array a = v.As<Napi::Array>();
  for (int i = 0; i < count; ++i) {
    Napi::Value e = a.Get(i);
    double d = e.IsNumber() ? e.As<Napi::Number>().DoubleValue() : -1;
    if (!e.IsNumber() || !(d >= lo && d <= INT_MAX) || d != (double)(int)d)
      SpecError(o.Env(), p + "[" + std::to_string(i) + "]", "a non-negative integer", e);
    out[i] = (int)d;
  }
}

// An optional array of non-negative integer tensor ids (empty when absent).
std::vector<int> IdsField(Napi::Object o, const char* key, const std::string& path) {
  Napi::Value v = o.Get(key);
  std::vector<int> ids;
  if (v.IsUndefined()) return ids;
  const std::string p = path + "." + key;
  if (!v.IsArray()) SpecError(o.Env(), p, "an array of tensor ids", v);
  Napi::Array a = v.As<Napi::Array>();
  for (uint32_t i = 0; i < a.Length(); ++i) {
    Napi::Value e = a.Get(i);
    double d = e.IsNumber() ? e.As<Napi::Number>().DoubleValue() : -1;
    if (!e.IsNumber() || !(d >= 0 && d <= INT_MAX) || d != (double)(int)d)
      SpecError(o.Env(), p + "[" + std::to_string(i) + "]", "a non-negative integer", e);
    ids.push_back((int)d);
  }
  return ids;
}

// a * b * ... for the sizes of one layer, refusing a product above 2^53 (no int64 overflow).
int64_t SafeProduct(Napi::Env env, const std::string& what, std::initializer_list<int64_t> xs) {
  int64_t p = 1;
  for (int64_t x : xs) {
    if (x != 0 && p > kMaxSafe / x)
      throw Napi::RangeError::New(env, "createNetwork: " + what + " is too large (more than 2^53 values)");
    p *= x;
  }
  return p;
}

LayerSpec ReadLayer(Napi::Value v, const std::string& path) {
  if (!v.IsObject() || v.IsArray()) SpecError(v.Env(), path, "an object", v);
  Napi::Object o = v.As<Napi::Object>();
  LayerSpec s;
  s.kind = (LayerKind)IntField(o, "kind", path, 0, kMaxLayerKind, 0, true);
  ShapeField(o, "in", path, s.in);
  ShapeField(o, "out", path, s.out);
  s.kh = (int)IntField(o, "kh", path, 1, INT_MAX, 1);
  s.kw = (int)IntField(o, "kw", path, 1, INT_MAX, 1);
  s.sh = (int)IntField(o, "sh", path, 1, INT_MAX, 1);
  s.sw = (int)IntField(o, "sw", path, 1, INT_MAX, 1);
  s.dh = (int)IntField(o, "dh", path, 1, INT_MAX, 1);
  s.dw = (int)IntField(o, "dw", path, 1, INT_MAX, 1);
  s.padding = (Padding)IntField(o, "padding", path, 0, 1, 0);
  const bool conv = s.kind == LayerKind::Conv2D, dense = s.kind == LayerKind::Dense;
  s.filters = (int)IntField(o, "filters", path, conv ? 1 : 0, INT_MAX, 0, conv);
  s.units = (int)IntField(o, "units", path, dense ? 1 : 0, INT_MAX, 0, dense);
  s.act = (Act)IntField(o, "act", path, 0, (int)Act::Relu6, 0);
  s.alpha = NumField(o, "alpha", path, -1e30, 1e30, 0.f);
  s.rate = NumField(o, "rate", path, 0, 1, 0.f, true);
  s.momentum = NumField(o, "momentum", path, 0, 1, 0.99f);
  s.eps = NumField(o, "eps", path, 0, 1e30, 1e-3f);
  s.dtype = (ComputeDtype)IntField(o, "dtype", path, 0, (int)ComputeDtype::BFloat16, 0);
  s.kernel = IntField(o, "kernel", path, -1, kMaxSafe, -1);
  s.bias = IntField(o, "bias", path, -1, kMaxSafe, -1);
  s.gamma = IntField(o, "gamma", path, -1, kMaxSafe, -1);
  s.beta = IntField(o, "beta", path, -1, kMaxSafe, -1);
  s.movingMean = IntField(o, "movingMean", path, -1, kMaxSafe, -1);
  s.movingVar = IntField(o, "movingVar", path, -1, kMaxSafe, -1);
  s.inputs = IdsField(o, "inputs", path);
  Napi::Value ins = o.Get("ins");
  if (!ins.IsUndefined()) {
    if (!ins.IsArray()) SpecError(v.Env(), path + ".ins", "an array of shapes", ins);
    Napi::Array a = ins.As<Napi::Array>();
    for (uint32_t k = 0; k < a.Length(); ++k) {
      std::array<int, 3> sh;
      ShapeAt(a.Get(k), path + ".ins[" + std::to_string(k) + "]", sh.data());
      s.ins.push_back(sh);
    }
  }
  s.axis = (int)IntField(o, "axis", path, 0, 2, 2);
  s.normalize = BoolField(o, "normalize", path, false);
  IntsField(o, "pad", path, 4, 0, s.pad);
  IntsField(o, "crop", path, 4, 0, s.crop);
  IntsField(o, "size", path, 2, 0, s.size);
  IntsField(o, "shared", path, 3, 0, s.shared);
  s.interpolation = (int)IntField(o, "interpolation", path, 0, 1, 0);
  // The engine multiplies these; refuse what would overflow before it does.
  if (conv) {
    SafeProduct(v.Env(), path + " kernel (kh * kw * in[2] * filters)", {s.kh, s.kw, s.in[2], s.filters});
    // The im2col matrix of one sample: the engine sizes batches of it with int32 counts.
    if (SafeProduct(v.Env(), path + " im2col matrix", {s.out[0], s.out[1], s.kh, s.kw, s.in[2]}) > INT_MAX)
      throw Napi::RangeError::New(v.Env(), "createNetwork: " + path + " im2col matrix (out[0] * out[1] x kh * kw * in[2]) holds more than " +
                                               std::to_string(INT_MAX) + " values per sample");
  }
  if (dense) SafeProduct(v.Env(), path + " kernel (in[2] * units)", {s.in[2], s.units});
  return s;
}

NetworkSpec ReadSpec(Napi::Value v) {
  Napi::Env env = v.Env();
  if (!v.IsObject() || v.IsArray()) SpecError(env, "spec", "an object", v);
  Napi::Object o = v.As<Napi::Object>();
  NetworkSpec spec;
  Napi::Array layers = ArrayField(o, "layers");
  for (uint32_t i = 0; i < layers.Length(); ++i)
    spec.layers.push_back(ReadLayer(layers.Get(i), "layers[" + std::to_string(i) + "]"));
  Napi::Array vars = ArrayField(o, "vars");
  for (uint32_t i = 0; i < vars.Length(); ++i) {
    const std::string path = "vars[" + std::to_string(i) + "]";
    Napi::Value e = vars.Get(i);
    if (!e.IsObject() || e.IsArray()) SpecError(env, path, "an object {offset, size, trainable}", e);
    Napi::Object vo = e.As<Napi::Object>();
    Variable var;
    var.offset = IntField(vo, "offset", path, 0, kMaxSafe, 0, true);
    var.size = IntField(vo, "size", path, 0, kMaxSafe, 0, true);
    var.trainable = BoolField(vo, "trainable", path, false, true);
    spec.vars.push_back(var);
  }
  spec.loss = (Loss)IntField(o, "loss", "spec", 0, (int)Loss::MeanAbsoluteError, 0, true);
  spec.fromLogits = BoolField(o, "fromLogits", "spec", false);
  spec.labelSmoothing = NumField(o, "labelSmoothing", "spec", 0, 1, 0.f);
  spec.seed = (uint32_t)IntField(o, "seed", "spec", 0, UINT32_MAX, 0);
  Napi::Object opt = ObjField(o, "opt", "spec.");
  OptimizerSpec& p = spec.opt;
  const std::string op = "opt";
  p.kind = (OptimizerKind)IntField(opt, "kind", op, 0, (int)OptimizerKind::Adagrad, 0, true);
  p.beta1 = NumField(opt, "beta1", op, 0, 1, p.beta1, true);
  p.beta2 = NumField(opt, "beta2", op, 0, 1, p.beta2, true);
  p.eps = NumField(opt, "eps", op, 0, 1e30, p.eps);
  p.momentum = NumField(opt, "momentum", op, 0, 1e30, p.momentum);
  p.nesterov = BoolField(opt, "nesterov", op, false);
  p.rho = NumField(opt, "rho", op, 0, 1, p.rho);
  p.centered = BoolField(opt, "centered", op, false);
  p.weightDecay = NumField(opt, "weightDecay", op, 0, 1e30, 0.f);
  p.clipNorm = NumField(opt, "clipNorm", op, 0, 1e30, 0.f);
  p.clipValue = NumField(opt, "clipValue", op, 0, 1e30, 0.f);
  // graph form
  Napi::Value inputs = o.Get("inputs");
  if (!inputs.IsUndefined()) {
    if (!inputs.IsArray()) SpecError(env, "spec.inputs", "an array of shapes", inputs);
    Napi::Array a = inputs.As<Napi::Array>();
    for (uint32_t k = 0; k < a.Length(); ++k) {
      std::array<int, 3> sh;
      ShapeAt(a.Get(k), "inputs[" + std::to_string(k) + "]", sh.data());
      spec.inputs.push_back(sh);
    }
    spec.hasInputs = true;
  }
  if (!o.Get("outputs").IsUndefined()) {
    spec.outputs = IdsField(o, "outputs", "spec");
    spec.hasOutputs = true;
  }
  Napi::Value losses = o.Get("outputLosses");
  if (!losses.IsUndefined()) {
    if (!losses.IsArray()) SpecError(env, "spec.outputLosses", "an array", losses);
    Napi::Array a = losses.As<Napi::Array>();
    for (uint32_t k = 0; k < a.Length(); ++k) {
      const std::string path = "outputLosses[" + std::to_string(k) + "]";
      Napi::Value e = a.Get(k);
      if (!e.IsObject() || e.IsArray()) SpecError(env, path, "an object {loss, fromLogits, labelSmoothing, weight}", e);
      Napi::Object lo = e.As<Napi::Object>();
      OutputLoss ol;
      ol.loss = (Loss)IntField(lo, "loss", path, 0, (int)Loss::MeanAbsoluteError, 0, true);
      ol.fromLogits = BoolField(lo, "fromLogits", path, false);
      ol.labelSmoothing = NumField(lo, "labelSmoothing", path, 0, 1, 0.f);
      ol.weight = NumField(lo, "weight", path, 0, 1e30, 1.f);
      spec.outputLosses.push_back(ol);
    }
    spec.hasOutputLosses = true;
  }
  spec.graph = spec.hasInputs || spec.hasOutputs || spec.hasOutputLosses;
  for (uint32_t i = 0; i < layers.Length(); ++i) {
    Napi::Object lo = layers.Get(i).As<Napi::Object>();
    if (!lo.Get("inputs").IsUndefined() || !lo.Get("ins").IsUndefined()) spec.graph = true;
  }
  return spec;
}

// ---- C++ exceptions to JS errors -------------------------------------------------------------------

Napi::Error ToJsError(Napi::Env env, const std::string& fn, const std::string& msg, bool range) {
  if (range) return Napi::RangeError::New(env, fn + ": " + msg);
  return Napi::Error::New(env, fn + ": " + msg);
}

// Runs f, turning engine exceptions into JS errors prefixed with fn.
template <class F>
auto Guard(Napi::Env env, const std::string& fn, F f) -> decltype(f()) {
  try {
    return f();
  } catch (const Napi::Error&) {
    throw;
  } catch (const std::out_of_range& e) {
    throw ToJsError(env, fn, e.what(), true);
  } catch (const std::bad_alloc&) {
    throw ToJsError(env, fn, "out of memory", false);
  } catch (const std::exception& e) {
    throw ToJsError(env, fn, e.what(), false);
  }
}

// ---- the Network object ------------------------------------------------------------------------------

class NetworkWrap;

// What a batch call reads: xs (one (n, inSize[t]) per input), ys (labels per output), sw (n) or null.
struct Batch {
  std::vector<const float*> xs;
  std::vector<const void*> ys;
  float* sw = nullptr;
  int n = 0;
};

// An async call's own copy of its inputs (and predictAsync's staging outputs in outs).
struct OwnedBatch {
  std::vector<std::vector<float>> xs;     // per input (n, in)
  std::vector<std::vector<int32_t>> yi;   // per output: sparse labels (n)
  std::vector<std::vector<float>> yf;     // per output: (n, out) labels
  std::vector<std::vector<float>> outs;   // predictAsync: per output (n, out)
  std::vector<float> sw;                  // (n) or empty
  std::vector<const float*> xp() const {
    std::vector<const float*> p;
    for (const auto& x : xs) p.push_back(x.data());
    return p;
  }
};

// A Float32Array value with at least min_len elements (name as in the error messages).
float* F32Value(Napi::Env env, Napi::Value v, const char* fn, const std::string& name, int64_t min_len) {
  if (v.IsNull() || v.IsUndefined()) throw Err(env, fn, name + " must be a Float32Array, received nothing");
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array)
    throw Err(env, fn, name + " must be a Float32Array");
  auto a = v.As<Napi::Float32Array>();
  if ((int64_t)a.ElementLength() < min_len)
    throw Err(env, fn, name + " has " + std::to_string(a.ElementLength()) + " elements, needs at least " +
                           std::to_string(min_len));
  return a.Data();
}

int32_t* I32Value(Napi::Env env, Napi::Value v, const char* fn, const std::string& name, int64_t min_len) {
  if (v.IsNull() || v.IsUndefined()) throw Err(env, fn, name + " must be an Int32Array, received nothing");
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_int32_array)
    throw Err(env, fn, name + " must be an Int32Array");
  auto a = v.As<Napi::Int32Array>();
  if ((int64_t)a.ElementLength() < min_len)
    throw Err(env, fn, name + " has " + std::to_string(a.ElementLength()) + " elements, needs at least " +
                           std::to_string(min_len));
  return a.Data();
}

// One value per model input / output: an array of exactly count, or a single value when count is 1.
std::vector<Napi::Value> List(Napi::Env env, Napi::Value v, const char* fn, const char* name, size_t count,
                              const char* what) {
  std::vector<Napi::Value> out;
  if (v.IsArray()) {
    Napi::Array a = v.As<Napi::Array>();
    if (a.Length() != count)
      throw Err(env, fn, std::string(name) + " must hold " + std::to_string(count) + " arrays (one per model " + what +
                             "), received " + std::to_string(a.Length()));
    for (uint32_t i = 0; i < a.Length(); ++i) out.push_back(a.Get(i));
    return out;
  }
  if (count != 1)
    throw Err(env, fn, std::string(name) + " must be an array of " + std::to_string(count) + " arrays (one per model " +
                           what + ")");
  out.push_back(v);
  return out;
}

class NetworkWrap : public Napi::ObjectWrap<NetworkWrap> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "Network",
                       {InstanceMethod<&NetworkWrap::ForwardBackward>("forwardBackward"),
                        InstanceMethod<&NetworkWrap::TrainStep>("trainStep"),
                        InstanceMethod<&NetworkWrap::TrainStepAsync>("trainStepAsync"),
                        InstanceMethod<&NetworkWrap::ForwardBackwardAsync>("forwardBackwardAsync"),
                        InstanceMethod<&NetworkWrap::ApplyGradients>("applyGradients"),
                        InstanceMethod<&NetworkWrap::ApplyGradientsAsync>("applyGradientsAsync"),
                        InstanceMethod<&NetworkWrap::Predict>("predict"),
                        InstanceMethod<&NetworkWrap::PredictAsync>("predictAsync"),
                        InstanceMethod<&NetworkWrap::Evaluate>("evaluate"),
                        InstanceMethod<&NetworkWrap::GetOutput>("getOutput"),
                        InstanceMethod<&NetworkWrap::GetLosses>("getLosses"),
                        InstanceMethod<&NetworkWrap::GetGrads>("getGrads"),
                        InstanceMethod<&NetworkWrap::ArenaBytes>("arenaBytes"),
                        InstanceMethod<&NetworkWrap::Dispose>("dispose"),
                        InstanceAccessor<&NetworkWrap::OutSize>("outSize"),
                        InstanceAccessor<&NetworkWrap::InSize>("inSize"),
                        InstanceAccessor<&NetworkWrap::OutSizes>("outSizes"),
                        InstanceAccessor<&NetworkWrap::InSizes>("inSizes"),
                        InstanceAccessor<&NetworkWrap::ParamCount>("paramCount"),
                        InstanceAccessor<&NetworkWrap::SlotCount>("slotCount")});
  }

  // new Network(spec, params, slots), reached through createNetwork.
  explicit NetworkWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<NetworkWrap>(info) {
    Napi::Env env = info.Env();
    const char* fn = "createNetwork";
    NetworkSpec spec = ReadSpec(info[0]);
    float* params = F32(info, 1, fn, "params", -1);
    float* slots = F32(info, 2, fn, "slots", -1);
    // The engine keeps pointers into both buffers while a step runs on a worker thread: a
    // resizable ArrayBuffer could shrink under it, so it is refused (N-API cannot pin one).
    for (size_t i = 1; i <= 2; ++i) {
      Napi::Value buf = info[i].As<Napi::Object>().Get("buffer");
      Napi::Value resizable = buf.IsObject() ? buf.As<Napi::Object>().Get("resizable") : env.Undefined();
      if (resizable.IsBoolean() && resizable.As<Napi::Boolean>().Value())
        throw Err(env, fn, std::string(i == 1 ? "params" : "slots") +
                               " must not be backed by a resizable ArrayBuffer (the engine holds pointers into it)");
    }
    // The engine allocates gradients for every var: refuse vars the params buffer cannot hold
    // before that allocation (a tiny buffer must not make it allocate gigabytes).
    int64_t need = 0;
    for (const Variable& v : spec.vars) need = std::max(need, v.offset + v.size);
    if ((int64_t)info[1].As<Napi::Float32Array>().ElementLength() < need)
      throw Err(env, fn, "params has " + std::to_string(info[1].As<Napi::Float32Array>().ElementLength()) +
                             " elements, the vars need " + std::to_string(need));
    net_ = Guard(env, fn, [&] { return std::make_unique<Network>(std::move(spec), params, slots); });
    for (int k = 0; k < net_->num_inputs(); ++k) in_sizes_.push_back(net_->in_size(k));
    for (int k = 0; k < net_->num_outputs(); ++k) {
      out_sizes_.push_back(net_->out_size(k));
      sparse_.push_back(net_->sparse_output(k));
    }
    param_count_ = net_->param_count();
    slot_count_ = net_->slot_count();
    auto p = info[1].As<Napi::Float32Array>(), s = info[2].As<Napi::Float32Array>();
    if ((int64_t)p.ElementLength() < param_count_)
      throw Err(env, fn, "params has " + std::to_string(p.ElementLength()) + " elements, the vars need " +
                             std::to_string(param_count_));
    if ((int64_t)s.ElementLength() < slot_count_)
      throw Err(env, fn, "slots has " + std::to_string(s.ElementLength()) + " elements, the optimizer needs " +
                             std::to_string(slot_count_));
    params_ = Napi::Persistent(p);
    slots_ = Napi::Persistent(s);
    env_ = env;
    Report(param_count_ * (int64_t)sizeof(float));  // the gradients
  }

  ~NetworkWrap() override { Release(); }

  bool busy_ = false;
  int last_n_ = 0;

  // The engine's arenas live outside the JS heap, so V8 is told their size (as the engine counts
  // it) after every call: a network the user forgets to dispose() then makes the garbage collector
  // run soon, and the ObjectWrap finalizer (~NetworkWrap) frees it.
  void NoteArenas() {
    if (!net_) return;
    const int64_t now = net_->arena_bytes();
    Report(now - arena_reported_);
    arena_reported_ = now;
  }

 private:
  friend class NetworkWorker;

  std::unique_ptr<Network> net_;  // null after dispose()

  napi_env env_ = nullptr;
  int64_t reported_ = 0;        // bytes reported
  int64_t arena_reported_ = 0;  // of which the arenas
  void Report(int64_t bytes) {
    if (bytes == 0 || env_ == nullptr) return;
    Napi::MemoryManagement::AdjustExternalMemory(Napi::Env(env_), bytes);
    reported_ += bytes;
  }
  void Release() { Report(-reported_); }
  Napi::Reference<Napi::Float32Array> params_, slots_;  // keep the caller's buffers alive
  std::vector<char> sparse_;
  std::vector<int64_t> in_sizes_, out_sizes_;
  int64_t param_count_ = 0, slot_count_ = 0;

  // The network, if it can run a call now: not disposed, not busy, its buffers still attached and
  // as long as when it was created.
  Network& Ready(Napi::Env env, const char* fn) {
    if (!net_) throw Napi::Error::New(env, std::string(fn) + ": network was disposed");
    if (busy_) throw Napi::Error::New(env, std::string(fn) + ": network is busy (an async call is running)");
    if ((int64_t)params_.Value().ElementLength() < param_count_ ||
        (int64_t)slots_.Value().ElementLength() < slot_count_)
      throw Napi::Error::New(env, std::string(fn) + ": the params or slots buffer was detached or shrunk");
    return *net_;
  }

  std::vector<const float*> ReadXs(Napi::Env env, Napi::Value v, const char* fn, int n) {
    const size_t I = in_sizes_.size();
    std::vector<Napi::Value> xs = List(env, v, fn, "x", I, "input");
    std::vector<const float*> out;
    for (size_t t = 0; t < I; ++t)
      out.push_back(F32Value(env, xs[t], fn, I == 1 ? "x" : "x[" + std::to_string(t) + "]", n * in_sizes_[t]));
    return out;
  }

  std::vector<float*> ReadOuts(Napi::Env env, Napi::Value v, const char* fn, int n) {
    const size_t K = out_sizes_.size();
    std::vector<Napi::Value> os = List(env, v, fn, "out", K, "output");
    std::vector<float*> out;
    for (size_t k = 0; k < K; ++k)
      out.push_back(F32Value(env, os[k], fn, K == 1 ? "out" : "out[" + std::to_string(k) + "]", n * out_sizes_[k]));
    return out;
  }

  // Reads (x, y, sw, n) at argument positions ix, ix+1, ix+2, ix+3.
  Batch ReadBatch(const Napi::CallbackInfo& info, const char* fn, size_t ix) {
    Napi::Env env = info.Env();
    Batch b;
    b.n = (int)Int(info, ix + 3, fn, "n", 1, INT_MAX);
    b.xs = ReadXs(env, info[ix], fn, b.n);
    const size_t K = out_sizes_.size();
    std::vector<Napi::Value> ys = List(env, info[ix + 1], fn, "y", K, "output");
    for (size_t k = 0; k < K; ++k) {
      const std::string name = K == 1 ? "y" : "y[" + std::to_string(k) + "]";
      if (!sparse_[k]) {
        b.ys.push_back(F32Value(env, ys[k], fn, name, b.n * out_sizes_[k]));
        continue;
      }
      int32_t* lab = I32Value(env, ys[k], fn, name, b.n);
      for (int i = 0; i < b.n; ++i)
        if (lab[i] < 0 || lab[i] >= out_sizes_[k])
          throw Napi::RangeError::New(env, std::string(fn) + ": " + (K == 1 ? "labels" : "labels[" + std::to_string(k) + "]") +
                                               "[" + std::to_string(i) + "] = " + std::to_string(lab[i]) +
                                               " is not a class index in [0, " + std::to_string(out_sizes_[k]) + ")");
      b.ys.push_back(lab);
    }
    b.sw = F32(info, ix + 2, fn, "sw", b.n, true);
    return b;
  }

  Napi::Value ForwardBackward(const Napi::CallbackInfo& info) {
    const char* fn = "forwardBackward";
    Network& net = Ready(info.Env(), fn);
    Batch b = ReadBatch(info, fn, 0);
    float loss = Guard(info.Env(), fn, [&] { return net.forward_backward(b.xs, b.ys, b.sw, b.n); });
    last_n_ = b.n;
    NoteArenas();
    return Napi::Number::New(info.Env(), loss);
  }

  Napi::Value TrainStep(const Napi::CallbackInfo& info) {
    const char* fn = "trainStep";
    Network& net = Ready(info.Env(), fn);
    Batch b = ReadBatch(info, fn, 0);
    float lr = (float)Num(info, 4, fn, "lr");
    int64_t t = Int(info, 5, fn, "t", 1, kMaxSafe);
    float loss = Guard(info.Env(), fn, [&] { return net.train_step(b.xs, b.ys, b.sw, b.n, lr, t); });
    last_n_ = b.n;
    NoteArenas();
    return Napi::Number::New(info.Env(), loss);
  }

  Napi::Value TrainStepAsync(const Napi::CallbackInfo& info);
  Napi::Value ForwardBackwardAsync(const Napi::CallbackInfo& info);
  Napi::Value ApplyGradientsAsync(const Napi::CallbackInfo& info);

  // applyGradients(g, lr, t): the optimizer update from the flat gradient g (paramCount floats).
  Napi::Value ApplyGradients(const Napi::CallbackInfo& info) {
    const char* fn = "applyGradients";
    Network& net = Ready(info.Env(), fn);
    const float* g = F32(info, 0, fn, "g", param_count_);
    float lr = (float)Num(info, 1, fn, "lr");
    int64_t t = Int(info, 2, fn, "t", 1, kMaxSafe);
    Guard(info.Env(), fn, [&] { net.apply_gradients(g, lr, t); });
    return info.Env().Undefined();
  }
  Napi::Value PredictAsync(const Napi::CallbackInfo& info);

  Napi::Value Predict(const Napi::CallbackInfo& info) {
    const char* fn = "predict";
    Napi::Env env = info.Env();
    Network& net = Ready(env, fn);
    int n = (int)Int(info, 2, fn, "n", 1, INT_MAX);
    std::vector<float*> outs = ReadOuts(env, info[0], fn, n);
    std::vector<const float*> xs = ReadXs(env, info[1], fn, n);
    Guard(env, fn, [&] { net.predict(outs, xs, n); });
    NoteArenas();
    return env.Undefined();
  }

  // evaluate(out, x, y, sw, n)
  Napi::Value Evaluate(const Napi::CallbackInfo& info) {
    const char* fn = "evaluate";
    Napi::Env env = info.Env();
    Network& net = Ready(env, fn);
    Batch b = ReadBatch(info, fn, 1);
    std::vector<float*> outs = ReadOuts(env, info[0], fn, b.n);
    float loss = Guard(env, fn, [&] { return net.evaluate(outs, b.xs, b.ys, b.sw, b.n); });
    NoteArenas();
    return Napi::Number::New(env, loss);
  }

  Napi::Value GetOutput(const Napi::CallbackInfo& info) {
    const char* fn = "getOutput";
    Network& net = Ready(info.Env(), fn);
    const int k = info.Length() > 1 && !info[1].IsUndefined()
                      ? (int)Int(info, 1, fn, "k", 0, (int64_t)out_sizes_.size() - 1)
                      : 0;
    if (last_n_ == 0 || !net.output(k))
      throw Napi::Error::New(info.Env(), "getOutput: no forwardBackward or trainStep has run yet");
    const int64_t len = last_n_ * out_sizes_[k];
    float* dst = F32(info, 0, fn, "dst", len);
    std::copy(net.output(k), net.output(k) + len, dst);
    return info.Env().Undefined();
  }

  Napi::Value GetLosses(const Napi::CallbackInfo& info) {
    const char* fn = "getLosses";
    Network& net = Ready(info.Env(), fn);
    const std::vector<float>& l = net.losses();
    float* dst = F32(info, 0, fn, "dst", (int64_t)l.size());
    std::copy(l.begin(), l.end(), dst);
    return info.Env().Undefined();
  }

  Napi::Value GetGrads(const Napi::CallbackInfo& info) {
    const char* fn = "getGrads";
    Network& net = Ready(info.Env(), fn);
    float* dst = F32(info, 0, fn, "dst", param_count_);
    std::copy(net.grads(), net.grads() + param_count_, dst);
    return info.Env().Undefined();
  }

  Napi::Value ArenaBytes(const Napi::CallbackInfo& info) {
    Network& net = Ready(info.Env(), "arenaBytes");
    return Napi::Number::New(info.Env(), (double)net.arena_bytes());
  }

  Napi::Value Dispose(const Napi::CallbackInfo& info) {
    if (!net_) throw Napi::Error::New(info.Env(), "dispose: network was disposed");
    if (busy_) throw Napi::Error::New(info.Env(), "dispose: network is busy (an async call is running)");
    net_.reset();
    params_.Reset();
    slots_.Reset();
    Release();
    return info.Env().Undefined();
  }

  static Napi::Value Sizes(Napi::Env env, const std::vector<int64_t>& v) {
    Napi::Array a = Napi::Array::New(env, v.size());
    for (size_t i = 0; i < v.size(); ++i) a.Set((uint32_t)i, Napi::Number::New(env, (double)v[i]));
    return a;
  }
  Napi::Value OutSize(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), (double)out_sizes_[0]); }
  Napi::Value InSize(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), (double)in_sizes_[0]); }
  Napi::Value OutSizes(const Napi::CallbackInfo& info) { return Sizes(info.Env(), out_sizes_); }
  Napi::Value InSizes(const Napi::CallbackInfo& info) { return Sizes(info.Env(), in_sizes_); }
  Napi::Value ParamCount(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), (double)param_count_); }
  Napi::Value SlotCount(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), (double)slot_count_); }

 public:
  // The worker's own copy of a batch.
  std::shared_ptr<OwnedBatch> Copy(const Batch& b) const {
    auto c = std::make_shared<OwnedBatch>();
    for (size_t t = 0; t < b.xs.size(); ++t) c->xs.emplace_back(b.xs[t], b.xs[t] + (size_t)b.n * in_sizes_[t]);
    c->yi.resize(b.ys.size());
    c->yf.resize(b.ys.size());
    for (size_t k = 0; k < b.ys.size(); ++k) {
      if (sparse_[k])
        c->yi[k].assign((const int32_t*)b.ys[k], (const int32_t*)b.ys[k] + b.n);
      else
        c->yf[k].assign((const float*)b.ys[k], (const float*)b.ys[k] + (size_t)b.n * out_sizes_[k]);
    }
    if (b.sw) c->sw.assign(b.sw, b.sw + b.n);
    return c;
  }
  const std::vector<char>& sparse() const { return sparse_; }
  const std::vector<int64_t>& out_sizes() const { return out_sizes_; }
};

// Runs one train step or predict on the libuv pool and settles a promise. Holds references to the
// network object and to every buffer the call touches until it completes.
class NetworkWorker : public Napi::AsyncWorker {
 public:
  NetworkWorker(Napi::Env env, const char* fn, NetworkWrap* wrap, std::function<float(Network&)> job,
                bool returns_loss, int n_for_output)
      : Napi::AsyncWorker(env, fn),
        deferred_(Napi::Promise::Deferred::New(env)),
        fn_(fn),
        wrap_(wrap),
        net_(wrap->net_.get()),
        job_(std::move(job)),
        returns_loss_(returns_loss),
        n_for_output_(n_for_output) {}

  // Keeps v (an argument or the network object) alive until the worker completes.
  void Hold(Napi::Value v) {
    if (v.IsObject()) refs_.push_back(Napi::Persistent(v.As<Napi::Object>()));
  }
  // Runs on the main thread after a successful job, before the promise resolves; a Napi::Error it
  // throws rejects the promise instead.
  void Finish(std::function<void(Napi::Env)> f) { finish_ = std::move(f); }
  Napi::Promise Promise() { return deferred_.Promise(); }

 protected:
  void Execute() override {  // worker thread: C++ only
    try {
      result_ = job_(*net_);
    } catch (const std::out_of_range& e) {
      range_ = true;
      SetError(e.what());
    } catch (const std::bad_alloc&) {
      SetError("out of memory");
    } catch (const std::exception& e) {
      SetError(e.what());
    }
  }
  void OnOK() override {
    wrap_->busy_ = false;
    if (n_for_output_ > 0) wrap_->last_n_ = n_for_output_;
    wrap_->NoteArenas();
    if (finish_) {
      try {
        finish_(Env());
      } catch (const Napi::Error& e) {
        deferred_.Reject(e.Value());
        return;
      }
    }
    deferred_.Resolve(returns_loss_ ? Napi::Number::New(Env(), result_) : Env().Undefined());
  }
  void OnError(const Napi::Error& e) override {
    wrap_->busy_ = false;
    wrap_->NoteArenas();
    deferred_.Reject(ToJsError(Env(), fn_, e.Message(), range_).Value());
  }

 private:
  Napi::Promise::Deferred deferred_;
  std::string fn_;
  NetworkWrap* wrap_;
  Network* net_;
  std::function<float(Network&)> job_;
  std::function<void(Napi::Env)> finish_;
  bool returns_loss_;
  int n_for_output_;
  bool range_ = false;
  float result_ = 0.f;
  std::vector<Napi::ObjectReference> refs_;
};

// A promise rejected with the JS error e.
Napi::Value Rejected(Napi::Env env, const Napi::Error& e) {
  auto d = Napi::Promise::Deferred::New(env);
  d.Reject(e.Value());
  return d.Promise();
}

// trainStepAsync(x, y, sw, n, lr, t): argument errors, busy and disposed reject the promise.
Napi::Value NetworkWrap::TrainStepAsync(const Napi::CallbackInfo& info) {
  const char* fn = "trainStepAsync";
  Napi::Env env = info.Env();
  try {
    Ready(env, fn);
    Batch b = ReadBatch(info, fn, 0);
    float lr = (float)Num(info, 4, fn, "lr");
    int64_t t = Int(info, 5, fn, "t", 1, kMaxSafe);
    std::shared_ptr<OwnedBatch> copy;
    Guard(env, fn, [&] { copy = Copy(b); });
    const bool has_sw = b.sw != nullptr;
    const int n = b.n;
    const std::vector<char> sparse = sparse_;
    auto* w = new NetworkWorker(
        env, fn, this,
        [copy, sparse, has_sw, n, lr, t](Network& net) {
          std::vector<const void*> ys;
          for (size_t k = 0; k < sparse.size(); ++k)
            ys.push_back(sparse[k] ? (const void*)copy->yi[k].data() : (const void*)copy->yf[k].data());
          return net.train_step(copy->xp(), ys, has_sw ? copy->sw.data() : nullptr, n, lr, t);
        },
        true, b.n);
    w->Hold(Value());
    Napi::Promise p = w->Promise();
    busy_ = true;
    w->Queue();
    return p;
  } catch (const Napi::Error& e) {
    return Rejected(env, e);
  }
}

// forwardBackwardAsync(x, y, sw, n): forwardBackward off the main thread (getGrads / getOutput /
// getLosses read its results once the promise settles).
Napi::Value NetworkWrap::ForwardBackwardAsync(const Napi::CallbackInfo& info) {
  const char* fn = "forwardBackwardAsync";
  Napi::Env env = info.Env();
  try {
    Ready(env, fn);
    Batch b = ReadBatch(info, fn, 0);
    std::shared_ptr<OwnedBatch> copy;
    Guard(env, fn, [&] { copy = Copy(b); });
    const bool has_sw = b.sw != nullptr;
    const int n = b.n;
    const std::vector<char> sparse = sparse_;
    auto* w = new NetworkWorker(
        env, fn, this,
        [copy, sparse, has_sw, n](Network& net) {
          std::vector<const void*> ys;
          for (size_t k = 0; k < sparse.size(); ++k)
            ys.push_back(sparse[k] ? (const void*)copy->yi[k].data() : (const void*)copy->yf[k].data());
          return net.forward_backward(copy->xp(), ys, has_sw ? copy->sw.data() : nullptr, n);
        },
        true, b.n);
    w->Hold(Value());
    Napi::Promise p = w->Promise();
    busy_ = true;
    w->Queue();
    return p;
  } catch (const Napi::Error& e) {
    return Rejected(env, e);
  }
}

// applyGradientsAsync(g, lr, t): applyGradients off the main thread; g is held and read in place
// (the caller leaves it alone until the promise settles).
Napi::Value NetworkWrap::ApplyGradientsAsync(const Napi::CallbackInfo& info) {
  const char* fn = "applyGradientsAsync";
  Napi::Env env = info.Env();
  try {
    Ready(env, fn);
    const float* g = F32(info, 0, fn, "g", param_count_);
    float lr = (float)Num(info, 1, fn, "lr");
    int64_t t = Int(info, 2, fn, "t", 1, kMaxSafe);
    auto* w = new NetworkWorker(
        env, fn, this,
        [g, lr, t](Network& net) {
          net.apply_gradients(g, lr, t);
          return 0.f;
        },
        false, 0);
    w->Hold(Value());
    w->Hold(info[0]);
    Napi::Promise p = w->Promise();
    busy_ = true;
    w->Queue();
    return p;
  } catch (const Napi::Error& e) {
    return Rejected(env, e);
  }
}

// predictAsync(out, x, n)
Napi::Value NetworkWrap::PredictAsync(const Napi::CallbackInfo& info) {
  const char* fn = "predictAsync";
  Napi::Env env = info.Env();
  try {
    Ready(env, fn);
    int n = (int)Int(info, 2, fn, "n", 1, INT_MAX);
    ReadOuts(env, info[0], fn, n);
    std::vector<const float*> xs = ReadXs(env, info[1], fn, n);
    // The worker reads its own copy of x and writes staging outputs, copied into `out` on the
    // main thread once it is done (if `out` is still as long).
    auto copy = std::make_shared<OwnedBatch>();
    const std::vector<int64_t> outs = out_sizes_;
    Guard(env, fn, [&] {
      for (size_t t = 0; t < xs.size(); ++t) copy->xs.emplace_back(xs[t], xs[t] + (size_t)n * in_sizes_[t]);
      for (int64_t d : outs) copy->outs.emplace_back((size_t)n * d);
    });
    auto* w = new NetworkWorker(
        env, fn, this,
        [copy, n](Network& net) {
          std::vector<float*> o;
          for (auto& v : copy->outs) o.push_back(v.data());
          net.predict(o, copy->xp(), n);
          return 0.f;
        },
        false, 0);
    w->Hold(Value());
    w->Hold(info[0]);
    std::vector<Napi::Value> targets = List(env, info[0], fn, "out", outs.size(), "output");
    auto refs = std::make_shared<std::vector<Napi::Reference<Napi::Float32Array>>>();
    for (Napi::Value v : targets) refs->push_back(Napi::Persistent(v.As<Napi::Float32Array>()));
    w->Finish([copy, refs, fn](Napi::Env env) {
      for (size_t k = 0; k < refs->size(); ++k) {
        Napi::Float32Array out = (*refs)[k].Value();
        if (out.ElementLength() < copy->outs[k].size())
          throw Napi::Error::New(env, std::string(fn) + ": out was detached or shrunk while the call ran");
      }
      for (size_t k = 0; k < refs->size(); ++k)
        std::copy(copy->outs[k].begin(), copy->outs[k].end(), (*refs)[k].Value().Data());
    });
    Napi::Promise p = w->Promise();
    busy_ = true;
    w->Queue();
    return p;
  } catch (const Napi::Error& e) {
    return Rejected(env, e);
  }
}

// ---- exports -----------------------------------------------------------------------------------------

Napi::Value OptimizerSlotCount(const Napi::CallbackInfo& info) {
  int64_t k = Int(info, 0, "optimizerSlotCount", "kind", 0, (int)OptimizerKind::Adagrad);
  return Napi::Number::New(info.Env(), optimizer_slot_count((OptimizerKind)k));
}

// createNetwork(spec, params, slots): info.Data() is the Network class constructor of this env.
Napi::Value CreateNetwork(const Napi::CallbackInfo& info) {
  auto* ctor = static_cast<Napi::FunctionReference*>(info.Data());
  return ctor->New({info[0], info[1], info[2]});
}

}  // namespace

void InitBf16(Napi::Env env, Napi::Object exports);  // bf16_binding.cc

void InitNetwork(Napi::Env env, Napi::Object exports) {
  // One constructor reference per env (the addon may load in several worker threads). Node frees
  // the underlying napi reference at env teardown; the hook frees the C++ holder.
  auto* ctor = new Napi::FunctionReference(Napi::Persistent(NetworkWrap::Define(env)));
  ctor->SuppressDestruct();
  env.AddCleanupHook([ctor]() { delete ctor; });
  exports.Set("optimizerSlotCount", Napi::Function::New(env, OptimizerSlotCount, "optimizerSlotCount"));
  exports.Set("createNetwork", Napi::Function::New(env, CreateNetwork, "createNetwork", ctor));
  InitBf16(env, exports);  // the engine's bf16 kernels, registered here to keep addon.cc unchanged
}

}  // namespace cnn::binding
