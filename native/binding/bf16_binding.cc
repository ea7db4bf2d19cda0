// JS bindings of the bf16 kernels (native/kernels/bf16/bf16.h), for tests and benchmarks:
//   bf16Round(dst, src)                 dst[i] = src[i] rounded to bf16 (nearest even), as fp32
//   sbgemm(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc)   the active path
//   sbgemmNaive(...)                    the same arguments, the reference
//   setBf16Kernel(id) -> bool           Bf16Kernel id; false when this CPU cannot run it
//   bf16Kernels() -> { active, activeName, auto, kernels: [{ id, name, available, reason? }] }
// Registered by InitNetwork (network_binding.cc). Arguments are checked before any kernel runs.
#include <algorithm>
#include <string>

#include "../kernels/bf16/bf16.h"
#include "util.h"

namespace cnn::binding {
namespace {

constexpr int64_t kMaxDim = 0x7fffffff;

float* Matrix(const Napi::CallbackInfo& info, size_t i, const char* fn, const char* name, int64_t rows,
              int64_t cols, int64_t ld, const char* ld_name) {
  Napi::Env env = info.Env();
  if (ld < std::max<int64_t>(1, cols))
    throw Napi::RangeError::New(env, std::string(fn) + ": " + ld_name + " (" + std::to_string(ld) +
                                         ") must be >= max(1, " + std::to_string(cols) + "), the row length of " +
                                         name);
  float* p = F32(info, i, fn, name, -1);
  const int64_t need = rows == 0 || cols == 0 ? 0 : (rows - 1) * ld + cols;
  const int64_t have = (int64_t)info[i].As<Napi::Float32Array>().ElementLength();
  if (have < need)
    throw Napi::RangeError::New(env, std::string(fn) + ": " + name + " has " + std::to_string(have) +
                                         " elements, needs at least " + std::to_string(need));
  return p;
}

bool Flag(const Napi::CallbackInfo& info, size_t i, const char* fn, const char* name) {
  if (i >= info.Length() || !(info[i].IsBoolean() || info[i].IsNumber()))
    throw Err(info.Env(), fn, std::string(name) + " must be a boolean");
  return info[i].ToBoolean().Value();
}

template <bool kNaive>
void Sbgemm(const Napi::CallbackInfo& info) {
  const char* fn = kNaive ? "sbgemmNaive" : "sbgemm";
  if (info.Length() != 13)
    throw Err(info.Env(), fn, "expected 13 arguments (transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc), received " +
                                  std::to_string(info.Length()));
  const bool ta = Flag(info, 0, fn, "transA"), tb = Flag(info, 1, fn, "transB");
  const int64_t M = Int(info, 2, fn, "M", 0, kMaxDim);
  const int64_t N = Int(info, 3, fn, "N", 0, kMaxDim);
  const int64_t K = Int(info, 4, fn, "K", 0, kMaxDim);
  const float alpha = (float)Num(info, 5, fn, "alpha");
  const int64_t lda = Int(info, 7, fn, "lda", 0, kMaxDim);
  const int64_t ldb = Int(info, 9, fn, "ldb", 0, kMaxDim);
  const float beta = (float)Num(info, 10, fn, "beta");
  const int64_t ldc = Int(info, 12, fn, "ldc", 0, kMaxDim);
  const float* A = ta ? Matrix(info, 6, fn, "A", K, M, lda, "lda") : Matrix(info, 6, fn, "A", M, K, lda, "lda");
  const float* B = tb ? Matrix(info, 8, fn, "B", N, K, ldb, "ldb") : Matrix(info, 8, fn, "B", K, N, ldb, "ldb");
  float* C = Matrix(info, 11, fn, "C", M, N, ldc, "ldc");
  if (kNaive)
    sbgemm_naive(ta, tb, (int)M, (int)N, (int)K, alpha, A, (int)lda, B, (int)ldb, beta, C, (int)ldc);
  else
    sbgemm(ta, tb, (int)M, (int)N, (int)K, alpha, A, (int)lda, B, (int)ldb, beta, C, (int)ldc);
}

void Bf16Round(const Napi::CallbackInfo& info) {
  const char* fn = "bf16Round";
  if (info.Length() != 2) throw Err(info.Env(), fn, "expected 2 arguments (dst, src)");
  const int64_t n = (int64_t)(info[1].IsTypedArray() ? info[1].As<Napi::TypedArray>().ElementLength() : 0);
  const float* src = F32(info, 1, fn, "src", -1);
  float* dst = F32(info, 0, fn, "dst", n);
  bf16_round_array(dst, src, n);
}

Napi::Value SetBf16Kernel(const Napi::CallbackInfo& info) {
  const int64_t k = Int(info, 0, "setBf16Kernel", "id", 0, (int)Bf16Kernel::Naive);
  return Napi::Boolean::New(info.Env(), sbgemm_set_kernel((Bf16Kernel)k));
}

Napi::Value Bf16Kernels(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Array list = Napi::Array::New(env);
  const Bf16Kernel order[] = {Bf16Kernel::Avx512Bf16, Bf16Kernel::RoundedSgemm, Bf16Kernel::Naive};
  uint32_t n = 0;
  for (Bf16Kernel k : order) {
    Napi::Object o = Napi::Object::New(env);
    const bool ok = k != Bf16Kernel::Avx512Bf16 || cpu_has_avx512_bf16();
    o.Set("id", (int)k);
    o.Set("name", sbgemm_kernel_name(k));
    o.Set("available", ok);
    if (!ok) o.Set("reason", "CPU lacks avx512_bf16 (or the OS does not save the zmm state)");
    list.Set(n++, o);
  }
  Napi::Object r = Napi::Object::New(env);
  const Bf16Kernel active = sbgemm_active_kernel();
  r.Set("active", (int)active);
  r.Set("activeName", sbgemm_kernel_name(active));
  r.Set("auto", cpu_has_avx512_bf16() ? (int)Bf16Kernel::Avx512Bf16 : (int)Bf16Kernel::RoundedSgemm);
  r.Set("kernels", list);
  return r;
}

}  // namespace

void InitBf16(Napi::Env env, Napi::Object exports) {
  exports.Set("sbgemm", Napi::Function::New(env, Sbgemm<false>, "sbgemm"));
  exports.Set("sbgemmNaive", Napi::Function::New(env, Sbgemm<true>, "sbgemmNaive"));
  exports.Set("bf16Round", Napi::Function::New(env, Bf16Round, "bf16Round"));
  exports.Set("setBf16Kernel", Napi::Function::New(env, SetBf16Kernel, "setBf16Kernel"));
  exports.Set("bf16Kernels", Napi::Function::New(env, Bf16Kernels, "bf16Kernels"));
}

}  // namespace cnn::binding
