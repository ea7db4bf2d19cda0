// JS bindings for the thread pool and SGEMM (native/kernels/threadpool.h, gemm/sgemm.h).
// Every argument is checked before the kernel runs: a bad call throws, it never reads or writes
// past the end of a Float32Array.
#include <algorithm>
#include <string>

#include "../kernels/cpu_features.h"
#include "../kernels/gemm/sgemm.h"
#include "../kernels/threadpool.h"
#include "util.h"

namespace cnn::binding {
namespace {

constexpr int64_t kMaxDim = 0x7fffffff;

// A stored matrix of rows x cols (row stride ld) inside the Float32Array argument i.
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
                                         " elements, needs at least " + std::to_string(need) + " (" +
                                         std::to_string(rows) + " rows of " + std::to_string(cols) +
                                         " with stride " + std::to_string(ld) + ")");
  return p;
}

bool TransFlag(const Napi::CallbackInfo& info, size_t i, const char* fn, const char* name) {
  if (i >= info.Length() || !(info[i].IsBoolean() || info[i].IsNumber()))
    throw Err(info.Env(), fn, std::string(name) + " must be a boolean");
  return info[i].ToBoolean().Value();
}

// sgemm(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc)
template <bool kNaive>
void Sgemm(const Napi::CallbackInfo& info) {
  const char* fn = kNaive ? "sgemmNaive" : "sgemm";
  if (info.Length() != 13)
    throw Err(info.Env(), fn, "expected 13 arguments (transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc), received " +
                                  std::to_string(info.Length()));
  const bool ta = TransFlag(info, 0, fn, "transA"), tb = TransFlag(info, 1, fn, "transB");
  const int64_t M = Int(info, 2, fn, "M", 0, kMaxDim);
  const int64_t N = Int(info, 3, fn, "N", 0, kMaxDim);
  const int64_t K = Int(info, 4, fn, "K", 0, kMaxDim);
  const float alpha = (float)Num(info, 5, fn, "alpha");
  const int64_t lda = Int(info, 7, fn, "lda", 0, kMaxDim);
  const int64_t ldb = Int(info, 9, fn, "ldb", 0, kMaxDim);
  const float beta = (float)Num(info, 10, fn, "beta");
  const int64_t ldc = Int(info, 12, fn, "ldc", 0, kMaxDim);
  // A is M x K (K x M when transposed), B is K x N (N x K when transposed), C is M x N.
  const float* A = ta ? Matrix(info, 6, fn, "A", K, M, lda, "lda") : Matrix(info, 6, fn, "A", M, K, lda, "lda");
  const float* B = tb ? Matrix(info, 8, fn, "B", N, K, ldb, "ldb") : Matrix(info, 8, fn, "B", K, N, ldb, "ldb");
  float* C = Matrix(info, 11, fn, "C", M, N, ldc, "ldc");
  if (kNaive)
    sgemm_naive(ta, tb, (int)M, (int)N, (int)K, alpha, A, (int)lda, B, (int)ldb, beta, C, (int)ldc);
  else
    sgemm(ta, tb, (int)M, (int)N, (int)K, alpha, A, (int)lda, B, (int)ldb, beta, C, (int)ldc);
}

void SetNumThreads(const Napi::CallbackInfo& info) {
  set_num_threads((int)Int(info, 0, "setNumThreads", "n", 1, 1024));
}

Napi::Value GetNumThreads(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), get_num_threads());
}

Napi::Value SetGemmKernel(const Napi::CallbackInfo& info) {
  const int64_t k = Int(info, 0, "setGemmKernel", "k", 0, kGemmKernelCount - 1);
  return Napi::Boolean::New(info.Env(), sgemm_set_kernel((GemmKernel)k));
}

// gemmKernels() -> { active, activeName, auto, kernels: [{ id, name, available, reason? }] }:
// which kernels exist (GemmKernel ids), which this CPU can run (reason: why not, e.g. "CPU lacks
// avx512f"), which one sgemm uses now and which one Auto picks.
Napi::Value GemmKernels(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Array list = Napi::Array::New(env);
  const GemmKernel order[] = {GemmKernel::Avx512, GemmKernel::Avx2Fma, GemmKernel::Portable, GemmKernel::Naive};
  uint32_t n = 0;
  for (GemmKernel k : order) {
    Napi::Object o = Napi::Object::New(env);
    const char* why = sgemm_kernel_unavailable(k);
    o.Set("id", (int)k);
    o.Set("name", sgemm_kernel_name(k));
    o.Set("available", why == nullptr);
    if (why) o.Set("reason", why);
    list.Set(n++, o);
  }
  Napi::Object r = Napi::Object::New(env);
  const GemmKernel active = sgemm_active_kernel();
  r.Set("active", (int)active);
  r.Set("activeName", sgemm_kernel_name(active));
  r.Set("auto", sgemm_kernel_name(GemmKernel::Auto));
  r.Set("kernels", list);
  return r;
}

Napi::Value GetGemmKernel(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), (int)sgemm_active_kernel());
}

Napi::Value CpuHasAvx2Fma(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), cpu_has_avx2_fma());
}

Napi::Value CpuHasAvx512(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), cpu_has_avx512());
}

}  // namespace

void InitGemm(Napi::Env env, Napi::Object exports) {
  exports.Set("setNumThreads", Napi::Function::New(env, SetNumThreads, "setNumThreads"));
  exports.Set("getNumThreads", Napi::Function::New(env, GetNumThreads, "getNumThreads"));
  exports.Set("setGemmKernel", Napi::Function::New(env, SetGemmKernel, "setGemmKernel"));
  exports.Set("gemmKernel", Napi::Function::New(env, GetGemmKernel, "gemmKernel"));
  exports.Set("cpuHasAvx2Fma", Napi::Function::New(env, CpuHasAvx2Fma, "cpuHasAvx2Fma"));
  exports.Set("cpuHasAvx512", Napi::Function::New(env, CpuHasAvx512, "cpuHasAvx512"));
  exports.Set("gemmKernels", Napi::Function::New(env, GemmKernels, "gemmKernels"));
  exports.Set("sgemm", Napi::Function::New(env, Sgemm<false>, "sgemm"));
  exports.Set("sgemmNaive", Napi::Function::New(env, Sgemm<true>, "sgemmNaive"));
}

}  // namespace cnn::binding
