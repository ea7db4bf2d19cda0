// Helpers shared by the binding files: argument checks that throw JS errors, TypedArray views.
// Only native/binding/ and native/addon.cc include napi.h.
#pragma once
#include <napi.h>
#include <cstdint>
#include <string>
#include <initializer_list>
#include <utility>

namespace cnn::binding {

inline Napi::Error Err(Napi::Env env, const std::string& fn, const std::string& msg) {
  return Napi::TypeError::New(env, fn + ": " + msg);
}

// A Float32Array argument with at least `min_len` elements (min_len < 0: no check).
// allow_null: null / undefined gives nullptr.
inline float* F32(const Napi::CallbackInfo& info, size_t i, const char* fn, const char* name,
                  int64_t min_len, bool allow_null = false) {
  Napi::Env env = info.Env();
  if (i >= info.Length() || info[i].IsNull() || info[i].IsUndefined()) {
    if (allow_null) return nullptr;
    throw Err(env, fn, std::string(name) + " must be a Float32Array, received nothing");
  }
  if (!info[i].IsTypedArray() || info[i].As<Napi::TypedArray>().TypedArrayType() != napi_float32_array)
    throw Err(env, fn, std::string(name) + " must be a Float32Array");
  auto a = info[i].As<Napi::Float32Array>();
  if (min_len >= 0 && (int64_t)a.ElementLength() < min_len)
    throw Err(env, fn, std::string(name) + " has " + std::to_string(a.ElementLength()) +
                           " elements, needs at least " + std::to_string(min_len));
  return a.Data();
}

inline int32_t* I32(const Napi::CallbackInfo& info, size_t i, const char* fn, const char* name,
                    int64_t min_len, bool allow_null = false) {
  Napi::Env env = info.Env();
  if (i >= info.Length() || info[i].IsNull() || info[i].IsUndefined()) {
    if (allow_null) return nullptr;
    throw Err(env, fn, std::string(name) + " must be an Int32Array, received nothing");
  }
  if (!info[i].IsTypedArray() || info[i].As<Napi::TypedArray>().TypedArrayType() != napi_int32_array)
    throw Err(env, fn, std::string(name) + " must be an Int32Array");
  auto a = info[i].As<Napi::Int32Array>();
  if (min_len >= 0 && (int64_t)a.ElementLength() < min_len)
    throw Err(env, fn, std::string(name) + " has " + std::to_string(a.ElementLength()) +
                           " elements, needs at least " + std::to_string(min_len));
  return a.Data();
}

// The optimizer updates read and write their arrays element by element (8 at a time on the AVX
// path): two that share memory would make the result depend on the path and the thread split, so
// they are refused. Each entry is (name, pointer), all of n floats; nullptr entries are skipped.
inline void Disjoint(Napi::Env env, const char* fn, int64_t n,
                     std::initializer_list<std::pair<const char*, const float*>> arrays) {
  if (n <= 0) return;
  for (auto a = arrays.begin(); a != arrays.end(); ++a) {
    for (auto b = a + 1; b != arrays.end(); ++b) {
      if (!a->second || !b->second) continue;
      const uintptr_t a0 = (uintptr_t)a->second, b0 = (uintptr_t)b->second, bytes = (uintptr_t)n * sizeof(float);
      if (a0 < b0 + bytes && b0 < a0 + bytes)
        throw Napi::Error::New(env, std::string(fn) + ": " + a->first + " and " + b->first +
                                        " share memory; the arrays must not overlap");
    }
  }
}

// An integer argument in [lo, hi].
inline int64_t Int(const Napi::CallbackInfo& info, size_t i, const char* fn, const char* name,
                   int64_t lo, int64_t hi) {
  Napi::Env env = info.Env();
  if (i >= info.Length() || !info[i].IsNumber())
    throw Err(env, fn, std::string(name) + " must be a number");
  double v = info[i].As<Napi::Number>().DoubleValue();
  if (!(v >= (double)lo && v <= (double)hi) || v != (double)(int64_t)v)
    throw Napi::RangeError::New(env, std::string(fn) + ": " + name + " must be an integer in [" +
                                         std::to_string(lo) + ", " + std::to_string(hi) + "], received " +
                                         std::to_string(v));
  return (int64_t)v;
}

inline double Num(const Napi::CallbackInfo& info, size_t i, const char* fn, const char* name) {
  if (i >= info.Length() || !info[i].IsNumber())
    throw Err(info.Env(), fn, std::string(name) + " must be a number");
  return info[i].As<Napi::Number>().DoubleValue();
}

inline bool Bool(const Napi::CallbackInfo& info, size_t i) {
  return i < info.Length() && info[i].ToBoolean().Value();
}

// Reads an integer field of a plain object (e.g. a dims object), with a range check.
inline int ObjInt(Napi::Object o, const char* key, const char* fn, int lo, int hi) {
  Napi::Value v = o.Get(key);
  if (!v.IsNumber()) throw Err(o.Env(), fn, std::string("dims.") + key + " must be a number");
  double d = v.As<Napi::Number>().DoubleValue();
  if (!(d >= lo && d <= hi) || d != (double)(int)d)
    throw Napi::RangeError::New(o.Env(), std::string(fn) + ": dims." + key + " out of range [" +
                                             std::to_string(lo) + ", " + std::to_string(hi) + "]");
  return (int)d;
}

}  // namespace cnn::binding
