// Bindings for tensor_ops.h: tensorBinary, tensorUnary, tensorReduce (and their *Naive
// references) and tensorCopy. Synchronous; every array length and op code is checked first, so
// no call can read or write outside its TypedArrays. Signatures: TensorOpKernels in
// lib/backend/js/tensor_ops.ts.
#include <string>

#include "../kernels/tensor_ops.h"
#include "util.h"

namespace cnn::binding {
namespace {

constexpr int64_t kMaxLen = (int64_t)1 << 53;

// tensorBinary(op, out, a, b, mode, n, inner)
template <bool NAIVE>
Napi::Value TensorBinary(const Napi::CallbackInfo& info) {
  const char* fn = NAIVE ? "tensorBinaryNaive" : "tensorBinary";
  const auto op = (BinaryOp)Int(info, 0, fn, "op", 0, 5);
  const auto mode = (Bcast)Int(info, 4, fn, "mode", 0, 4);
  const int64_t n = Int(info, 5, fn, "n", 0, kMaxLen);
  const int64_t inner = Int(info, 6, fn, "inner", 0, kMaxLen);
  if ((mode == Bcast::RowA || mode == Bcast::RowB) && (inner < 1 || n % inner != 0))
    throw Napi::RangeError::New(info.Env(), std::string(fn) + ": inner must be >= 1 and divide n for a row broadcast");
  const int64_t na = mode == Bcast::ScalarA ? 1 : mode == Bcast::RowA ? inner : n;
  const int64_t nb = mode == Bcast::ScalarB ? 1 : mode == Bcast::RowB ? inner : n;
  float* out = F32(info, 1, fn, "out", n);
  const float* a = F32(info, 2, fn, "a", n ? na : 0);
  const float* b = F32(info, 3, fn, "b", n ? nb : 0);
  (NAIVE ? binary_naive : binary_forward)(out, a, b, op, mode, n, inner);
  return info.Env().Undefined();
}

// tensorUnary(op, out, x, n)
template <bool NAIVE>
Napi::Value TensorUnary(const Napi::CallbackInfo& info) {
  const char* fn = NAIVE ? "tensorUnaryNaive" : "tensorUnary";
  const auto op = (UnaryOp)Int(info, 0, fn, "op", 0, 8);
  const int64_t n = Int(info, 3, fn, "n", 0, kMaxLen);
  float* out = F32(info, 1, fn, "out", n);
  const float* x = F32(info, 2, fn, "x", n);
  (NAIVE ? unary_naive : unary_forward)(out, x, op, n);
  return info.Env().Undefined();
}

// tensorReduce(op, out, x, outer, inner)
template <bool NAIVE>
Napi::Value TensorReduce(const Napi::CallbackInfo& info) {
  const char* fn = NAIVE ? "tensorReduceNaive" : "tensorReduce";
  const auto op = (ReduceOp)Int(info, 0, fn, "op", 0, 3);
  const int64_t outer = Int(info, 3, fn, "outer", 0, kMaxLen);
  const int64_t inner = Int(info, 4, fn, "inner", 0, kMaxLen);
  if (inner != 0 && outer > kMaxLen / inner) throw Napi::RangeError::New(info.Env(), std::string(fn) + ": outer * inner is too large");
  float* out = F32(info, 1, fn, "out", outer);
  const float* x = F32(info, 2, fn, "x", outer * inner);
  (NAIVE ? reduce_rows_naive : reduce_rows)(out, x, op, outer, inner);
  return info.Env().Undefined();
}

// tensorCopy(dst, src, n)
Napi::Value TensorCopy(const Napi::CallbackInfo& info) {
  const char* fn = "tensorCopy";
  const int64_t n = Int(info, 2, fn, "n", 0, kMaxLen);
  float* dst = F32(info, 0, fn, "dst", n);
  const float* src = F32(info, 1, fn, "src", n);
  parallel_copy(dst, src, n);
  return info.Env().Undefined();
}

}  // namespace

void InitTensorOps(Napi::Env env, Napi::Object exports) {
  auto add = [&](const char* name, Napi::Function::Callback cb) {
    exports.Set(name, Napi::Function::New(env, cb, name));
  };
  add("tensorBinary", TensorBinary<false>);
  add("tensorBinaryNaive", TensorBinary<true>);
  add("tensorUnary", TensorUnary<false>);
  add("tensorUnaryNaive", TensorUnary<true>);
  add("tensorReduce", TensorReduce<false>);
  add("tensorReduceNaive", TensorReduce<true>);
  add("tensorCopy", TensorCopy);
}

}  // namespace cnn::binding
