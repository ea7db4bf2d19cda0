// Bindings for the training kernels: losses, dropout, batch norm, optimizers (loss.h, dropout.h,
// batchnorm.h, optim.h). Each function checks its arguments (every buffer long enough, sparse
// labels in range) and calls the kernel on the main thread; the signatures are those of the
// `Kernels` interface in lib/backend/types.ts.
#include <climits>
#include <string>

#include "../kernels/batchnorm.h"
#include "../kernels/dropout.h"
#include "../kernels/loss.h"
#include "../kernels/optim.h"
#include "util.h"

namespace cnn::binding {
namespace {

constexpr int64_t kMaxLen = (int64_t)1 << 53;  // any element count JS can express exactly

// A Uint32Array of at least 4 words: the xoshiro128** state.
uint32_t* RngState(const Napi::CallbackInfo& info, size_t i, const char* fn) {
  if (i >= info.Length() || !info[i].IsTypedArray() ||
      info[i].As<Napi::TypedArray>().TypedArrayType() != napi_uint32_array)
    throw Err(info.Env(), fn, "rng must be a Uint32Array(4)");
  auto a = info[i].As<Napi::Uint32Array>();
  if (a.ElementLength() < 4) throw Err(info.Env(), fn, "rng must have 4 elements");
  return a.Data();
}

// A number in [lo, hi] (inclusive unless hi_open).
float NumIn(const Napi::CallbackInfo& info, size_t i, const char* fn, const char* name, double lo,
            double hi, bool hi_open = false) {
  double v = Num(info, i, fn, name);
  if (!(v >= lo && (hi_open ? v < hi : v <= hi)))
    throw Napi::RangeError::New(info.Env(), std::string(fn) + ": " + name + " must be in [" +
                                                std::to_string(lo) + ", " + std::to_string(hi) +
                                                (hi_open ? ")" : "]") + ", received " +
                                                std::to_string(v));
  return (float)v;
}

// Throws a RangeError naming the first label outside [0, D).
void CheckLabels(Napi::Env env, const char* fn, const int32_t* labels, int64_t N, int64_t D) {
  for (int64_t i = 0; i < N; ++i)
    if (labels[i] < 0 || labels[i] >= D)
      throw Napi::RangeError::New(env, std::string(fn) + ": labels[" + std::to_string(i) + "] = " +
                                           std::to_string(labels[i]) + " is not a class index in [0, " +
                                           std::to_string(D) + ")");
}

// ---- losses -------------------------------------------------------------------------------------

// softmaxRows(probs, logits, N, D)
Napi::Value SoftmaxRows(const Napi::CallbackInfo& info) {
  const char* fn = "softmaxRows";
  int64_t N = Int(info, 2, fn, "N", 0, INT_MAX), D = Int(info, 3, fn, "D", 1, INT_MAX);
  float* probs = F32(info, 0, fn, "probs", N * D);
  float* logits = F32(info, 1, fn, "logits", N * D);
  softmax_rows(probs, logits, (int)N, (int)D);
  return info.Env().Undefined();
}

// (dpred|null, pred, labels: Float32Array, sw|null, N, D, ...)
struct DenseLossArgs {
  float *dpred, *pred, *labels, *sw;
  int N, D;
};
// fused: the softmax losses name their buffers dlogits / probs.
DenseLossArgs DenseArgs(const Napi::CallbackInfo& info, const char* fn, bool fused = false) {
  int64_t N = Int(info, 4, fn, "N", 0, INT_MAX), D = Int(info, 5, fn, "D", 1, INT_MAX);
  DenseLossArgs a;
  a.dpred = F32(info, 0, fn, fused ? "dlogits" : "dpred", N * D, true);
  a.pred = F32(info, 1, fn, fused ? "probs" : "pred", N * D);
  a.labels = F32(info, 2, fn, "labels", N * D);
  a.sw = F32(info, 3, fn, "sw", N, true);
  a.N = (int)N;
  a.D = (int)D;
  return a;
}

// (dpred|null, pred, labels: Int32Array, sw|null, N, D, ...), labels range-checked.
struct SparseLossArgs {
  float *dpred, *pred, *sw;
  int32_t* labels;
  int N, D;
};
SparseLossArgs SparseArgs(const Napi::CallbackInfo& info, const char* fn, bool fused = false) {
  int64_t N = Int(info, 4, fn, "N", 0, INT_MAX), D = Int(info, 5, fn, "D", 1, INT_MAX);
  SparseLossArgs a;
  a.dpred = F32(info, 0, fn, fused ? "dlogits" : "dpred", N * D, true);
  a.pred = F32(info, 1, fn, fused ? "probs" : "pred", N * D);
  a.labels = I32(info, 2, fn, "labels", N);
  a.sw = F32(info, 3, fn, "sw", N, true);
  CheckLabels(info.Env(), fn, a.labels, N, D);
  a.N = (int)N;
  a.D = (int)D;
  return a;
}

Napi::Value Ret(const Napi::CallbackInfo& info, float v) { return Napi::Number::New(info.Env(), v); }

Napi::Value SoftmaxCrossentropy(const Napi::CallbackInfo& info) {
  const char* fn = "softmaxCrossentropy";
  auto a = DenseArgs(info, fn, true);
  float s = NumIn(info, 6, fn, "smoothing", 0, 1);
  return Ret(info, softmax_crossentropy(a.dpred, a.pred, a.labels, a.sw, a.N, a.D, s));
}

Napi::Value SparseSoftmaxCrossentropy(const Napi::CallbackInfo& info) {
  const char* fn = "sparseSoftmaxCrossentropy";
  auto a = SparseArgs(info, fn, true);
  float s = NumIn(info, 6, fn, "smoothing", 0, 1);
  return Ret(info, sparse_softmax_crossentropy(a.dpred, a.pred, a.labels, a.sw, a.N, a.D, s));
}

Napi::Value CategoricalCrossentropy(const Napi::CallbackInfo& info) {
  const char* fn = "categoricalCrossentropy";
  auto a = DenseArgs(info, fn);
  float s = NumIn(info, 6, fn, "smoothing", 0, 1);
  return Ret(info, categorical_crossentropy(a.dpred, a.pred, a.labels, a.sw, a.N, a.D, s));
}

Napi::Value SparseCategoricalCrossentropy(const Napi::CallbackInfo& info) {
  const char* fn = "sparseCategoricalCrossentropy";
  auto a = SparseArgs(info, fn);
  float s = NumIn(info, 6, fn, "smoothing", 0, 1);
  return Ret(info, sparse_categorical_crossentropy(a.dpred, a.pred, a.labels, a.sw, a.N, a.D, s));
}

// binaryCrossentropy(dpred, pred, labels, sw, N, D, fromLogits, smoothing)
Napi::Value BinaryCrossentropy(const Napi::CallbackInfo& info) {
  const char* fn = "binaryCrossentropy";
  auto a = DenseArgs(info, fn);
  bool logits = Bool(info, 6);
  float s = NumIn(info, 7, fn, "smoothing", 0, 1);
  return Ret(info, binary_crossentropy(a.dpred, a.pred, a.labels, a.sw, a.N, a.D, logits, s));
}

Napi::Value MeanSquaredError(const Napi::CallbackInfo& info) {
  auto a = DenseArgs(info, "meanSquaredError");
  return Ret(info, mean_squared_error(a.dpred, a.pred, a.labels, a.sw, a.N, a.D));
}

Napi::Value MeanAbsoluteError(const Napi::CallbackInfo& info) {
  auto a = DenseArgs(info, "meanAbsoluteError");
  return Ret(info, mean_absolute_error(a.dpred, a.pred, a.labels, a.sw, a.N, a.D));
}

// ---- dropout ------------------------------------------------------------------------------------

// rngSeed(state, seed)
Napi::Value RngSeed(const Napi::CallbackInfo& info) {
  uint32_t* s = RngState(info, 0, "rngSeed");
  int64_t seed = Int(info, 1, "rngSeed", "seed", 0, UINT32_MAX);
  Rng r;
  rng_seed(r, (uint32_t)seed);
  for (int i = 0; i < 4; ++i) s[i] = r.s[i];
  return info.Env().Undefined();
}

// dropoutForward(out, mask, inp, n, rate, rng): reads the 4 state words, draws n, writes them back.
Napi::Value DropoutForward(const Napi::CallbackInfo& info) {
  const char* fn = "dropoutForward";
  int64_t n = Int(info, 3, fn, "n", 0, kMaxLen);
  float* out = F32(info, 0, fn, "out", n);
  float* mask = F32(info, 1, fn, "mask", n);
  float* inp = F32(info, 2, fn, "inp", n);
  float rate = NumIn(info, 4, fn, "rate", 0, 1, true);
  uint32_t* s = RngState(info, 5, fn);
  Rng r;
  for (int i = 0; i < 4; ++i) r.s[i] = s[i];
  dropout_forward(out, mask, inp, n, rate, r);
  for (int i = 0; i < 4; ++i) s[i] = r.s[i];
  return info.Env().Undefined();
}

// dropoutBackward(dinp, dout, mask, n)
Napi::Value DropoutBackward(const Napi::CallbackInfo& info) {
  const char* fn = "dropoutBackward";
  int64_t n = Int(info, 3, fn, "n", 0, kMaxLen);
  float* dinp = F32(info, 0, fn, "dinp", n);
  float* dout = F32(info, 1, fn, "dout", n);
  float* mask = F32(info, 2, fn, "mask", n);
  dropout_backward(dinp, dout, mask, n);
  return info.Env().Undefined();
}

// ---- batch norm ---------------------------------------------------------------------------------

// batchnormForwardTrain(out, xhat, mean, invstd, movingMean, movingVar, inp, gamma, beta, rows, C,
//                       momentum, eps)
Napi::Value BatchnormForwardTrain(const Napi::CallbackInfo& info) {
  const char* fn = "batchnormForwardTrain";
  int64_t rows = Int(info, 9, fn, "rows", 0, kMaxLen), C = Int(info, 10, fn, "C", 1, INT_MAX);
  float* out = F32(info, 0, fn, "out", rows * C);
  float* xhat = F32(info, 1, fn, "xhat", rows * C);
  float* mean = F32(info, 2, fn, "mean", C);
  float* invstd = F32(info, 3, fn, "invstd", C);
  float* mm = F32(info, 4, fn, "movingMean", C);
  float* mv = F32(info, 5, fn, "movingVar", C);
  float* inp = F32(info, 6, fn, "inp", rows * C);
  float* gamma = F32(info, 7, fn, "gamma", C, true);
  float* beta = F32(info, 8, fn, "beta", C, true);
  float momentum = NumIn(info, 11, fn, "momentum", 0, 1);
  float eps = NumIn(info, 12, fn, "eps", 0, 1e30);
  batchnorm_forward_train(out, xhat, mean, invstd, mm, mv, inp, gamma, beta, rows, (int)C, momentum, eps);
  return info.Env().Undefined();
}

// batchnormForwardInfer(out, inp, gamma, beta, movingMean, movingVar, rows, C, eps)
Napi::Value BatchnormForwardInfer(const Napi::CallbackInfo& info) {
  const char* fn = "batchnormForwardInfer";
  int64_t rows = Int(info, 6, fn, "rows", 0, kMaxLen), C = Int(info, 7, fn, "C", 1, INT_MAX);
  float* out = F32(info, 0, fn, "out", rows * C);
  float* inp = F32(info, 1, fn, "inp", rows * C);
  float* gamma = F32(info, 2, fn, "gamma", C, true);
  float* beta = F32(info, 3, fn, "beta", C, true);
  float* mm = F32(info, 4, fn, "movingMean", C);
  float* mv = F32(info, 5, fn, "movingVar", C);
  float eps = NumIn(info, 8, fn, "eps", 0, 1e30);
  batchnorm_forward_infer(out, inp, gamma, beta, mm, mv, rows, (int)C, eps);
  return info.Env().Undefined();
}

// batchnormBackward(dinp|null, dgamma, dbeta, dout, xhat, invstd, gamma, rows, C)
Napi::Value BatchnormBackward(const Napi::CallbackInfo& info) {
  const char* fn = "batchnormBackward";
  int64_t rows = Int(info, 7, fn, "rows", 0, kMaxLen), C = Int(info, 8, fn, "C", 1, INT_MAX);
  float* dinp = F32(info, 0, fn, "dinp", rows * C, true);
  float* dgamma = F32(info, 1, fn, "dgamma", C);
  float* dbeta = F32(info, 2, fn, "dbeta", C);
  float* dout = F32(info, 3, fn, "dout", rows * C);
  float* xhat = F32(info, 4, fn, "xhat", rows * C);
  float* invstd = F32(info, 5, fn, "invstd", C);
  float* gamma = F32(info, 6, fn, "gamma", C, true);
  batchnorm_backward(dinp, dgamma, dbeta, dout, xhat, invstd, gamma, rows, (int)C);
  return info.Env().Undefined();
}

// ---- optimizers ---------------------------------------------------------------------------------

// clipByValue(g, n, clip)
Napi::Value ClipByValue(const Napi::CallbackInfo& info) {
  const char* fn = "clipByValue";
  int64_t n = Int(info, 1, fn, "n", 0, kMaxLen);
  float* g = F32(info, 0, fn, "g", n);
  float clip = NumIn(info, 2, fn, "clip", 0, 3.4e38);
  clip_by_value(g, n, clip);
  return info.Env().Undefined();
}

// clipByNorm(g, n, maxNorm)
Napi::Value ClipByNorm(const Napi::CallbackInfo& info) {
  const char* fn = "clipByNorm";
  int64_t n = Int(info, 1, fn, "n", 0, kMaxLen);
  float* g = F32(info, 0, fn, "g", n);
  float max_norm = NumIn(info, 2, fn, "maxNorm", 0, 3.4e38);
  clip_by_norm(g, n, max_norm);
  return info.Env().Undefined();
}

// sgdUpdate(w, g, n, lr)
Napi::Value SgdUpdate(const Napi::CallbackInfo& info) {
  const char* fn = "sgdUpdate";
  int64_t n = Int(info, 2, fn, "n", 0, kMaxLen);
  float* w = F32(info, 0, fn, "w", n);
  float* g = F32(info, 1, fn, "g", n);
  Disjoint(info.Env(), fn, n, {{"w", w}, {"g", g}});
  sgd_update(w, g, n, (float)Num(info, 3, fn, "lr"));
  return info.Env().Undefined();
}

// momentumUpdate(w, v, g, n, lr, momentum, nesterov)
Napi::Value MomentumUpdate(const Napi::CallbackInfo& info) {
  const char* fn = "momentumUpdate";
  int64_t n = Int(info, 3, fn, "n", 0, kMaxLen);
  float* w = F32(info, 0, fn, "w", n);
  float* v = F32(info, 1, fn, "v", n);
  float* g = F32(info, 2, fn, "g", n);
  float lr = (float)Num(info, 4, fn, "lr");
  float momentum = (float)Num(info, 5, fn, "momentum");
  Disjoint(info.Env(), fn, n, {{"w", w}, {"v", v}, {"g", g}});
  momentum_update(w, v, g, n, lr, momentum, Bool(info, 6));
  return info.Env().Undefined();
}

// adamUpdate(w, m, v, g, n, lr, beta1, beta2, eps, t)
Napi::Value AdamUpdate(const Napi::CallbackInfo& info) {
  const char* fn = "adamUpdate";
  int64_t n = Int(info, 4, fn, "n", 0, kMaxLen);
  float* w = F32(info, 0, fn, "w", n);
  float* m = F32(info, 1, fn, "m", n);
  float* v = F32(info, 2, fn, "v", n);
  float* g = F32(info, 3, fn, "g", n);
  float lr = (float)Num(info, 5, fn, "lr");
  float b1 = NumIn(info, 6, fn, "beta1", 0, 1, true), b2 = NumIn(info, 7, fn, "beta2", 0, 1, true);
  float eps = (float)Num(info, 8, fn, "eps");
  int64_t t = Int(info, 9, fn, "t", 1, kMaxLen);
  Disjoint(info.Env(), fn, n, {{"w", w}, {"m", m}, {"v", v}, {"g", g}});
  adam_update(w, m, v, g, n, lr, b1, b2, eps, t);
  return info.Env().Undefined();
}

// adamwUpdate(w, m, v, g, n, lr, beta1, beta2, eps, weightDecay, t)
Napi::Value AdamwUpdate(const Napi::CallbackInfo& info) {
  const char* fn = "adamwUpdate";
  int64_t n = Int(info, 4, fn, "n", 0, kMaxLen);
  float* w = F32(info, 0, fn, "w", n);
  float* m = F32(info, 1, fn, "m", n);
  float* v = F32(info, 2, fn, "v", n);
  float* g = F32(info, 3, fn, "g", n);
  float lr = (float)Num(info, 5, fn, "lr");
  float b1 = NumIn(info, 6, fn, "beta1", 0, 1, true), b2 = NumIn(info, 7, fn, "beta2", 0, 1, true);
  float eps = (float)Num(info, 8, fn, "eps");
  float wd = (float)Num(info, 9, fn, "weightDecay");
  int64_t t = Int(info, 10, fn, "t", 1, kMaxLen);
  Disjoint(info.Env(), fn, n, {{"w", w}, {"m", m}, {"v", v}, {"g", g}});
  adamw_update(w, m, v, g, n, lr, b1, b2, eps, wd, t);
  return info.Env().Undefined();
}

// rmspropUpdate(w, ms, mom, mg|null, g, n, lr, rho, momentum, eps, centered)
Napi::Value RmspropUpdate(const Napi::CallbackInfo& info) {
  const char* fn = "rmspropUpdate";
  int64_t n = Int(info, 5, fn, "n", 0, kMaxLen);
  bool centered = Bool(info, 10);
  float* w = F32(info, 0, fn, "w", n);
  float* ms = F32(info, 1, fn, "ms", n);
  float* mom = F32(info, 2, fn, "mom", n);
  float* mg = F32(info, 3, fn, "mg", n, !centered);
  float* g = F32(info, 4, fn, "g", n);
  float lr = (float)Num(info, 6, fn, "lr");
  float rho = (float)Num(info, 7, fn, "rho");
  float momentum = (float)Num(info, 8, fn, "momentum");
  float eps = (float)Num(info, 9, fn, "eps");
  Disjoint(info.Env(), fn, n, {{"w", w}, {"ms", ms}, {"mom", mom}, {"mg", centered ? mg : nullptr}, {"g", g}});
  rmsprop_update(w, ms, mom, mg, g, n, lr, rho, momentum, eps, centered);
  return info.Env().Undefined();
}

// adagradUpdate(w, acc, g, n, lr, eps)
Napi::Value AdagradUpdate(const Napi::CallbackInfo& info) {
  const char* fn = "adagradUpdate";
  int64_t n = Int(info, 3, fn, "n", 0, kMaxLen);
  float* w = F32(info, 0, fn, "w", n);
  float* acc = F32(info, 1, fn, "acc", n);
  float* g = F32(info, 2, fn, "g", n);
  float lr = (float)Num(info, 4, fn, "lr");
  float eps = (float)Num(info, 5, fn, "eps");
  Disjoint(info.Env(), fn, n, {{"w", w}, {"acc", acc}, {"g", g}});
  adagrad_update(w, acc, g, n, lr, eps);
  return info.Env().Undefined();
}

}  // namespace

void InitTrainOps(Napi::Env env, Napi::Object exports) {
  auto add = [&](const char* name, Napi::Function::Callback cb) {
    exports.Set(name, Napi::Function::New(env, cb, name));
  };
  add("softmaxRows", SoftmaxRows);
  add("softmaxCrossentropy", SoftmaxCrossentropy);
  add("sparseSoftmaxCrossentropy", SparseSoftmaxCrossentropy);
  add("categoricalCrossentropy", CategoricalCrossentropy);
  add("sparseCategoricalCrossentropy", SparseCategoricalCrossentropy);
  add("binaryCrossentropy", BinaryCrossentropy);
  add("meanSquaredError", MeanSquaredError);
  add("meanAbsoluteError", MeanAbsoluteError);
  add("rngSeed", RngSeed);
  add("dropoutForward", DropoutForward);
  add("dropoutBackward", DropoutBackward);
  add("batchnormForwardTrain", BatchnormForwardTrain);
  add("batchnormForwardInfer", BatchnormForwardInfer);
  add("batchnormBackward", BatchnormBackward);
  add("clipByValue", ClipByValue);
  add("clipByNorm", ClipByNorm);
  add("sgdUpdate", SgdUpdate);
  add("momentumUpdate", MomentumUpdate);
  add("adamUpdate", AdamUpdate);
  add("adamwUpdate", AdamwUpdate);
  add("rmspropUpdate", RmspropUpdate);
  add("adagradUpdate", AdagradUpdate);
}

}  // namespace cnn::binding
