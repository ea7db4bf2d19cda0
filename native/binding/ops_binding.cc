// Bindings for conv2d.h, pool2d.h, dense.h and activations.h (names and argument orders as in the
// `Kernels` interface of lib/backend/types.ts). Every call is synchronous. Before a kernel runs,
// the dims are checked for range and consistency and every array for length, so that no call can
// read or write outside a TypedArray, whatever the arguments.
#include <algorithm>
#include <cstdint>
#include <initializer_list>
#include <string>

#include "../kernels/activations.h"
#include "../kernels/conv2d.h"
#include "../kernels/dense.h"
#include "../kernels/pool2d.h"
#include "util.h"

namespace cnn::binding {

namespace {

constexpr int kMaxCount = INT32_MAX;  // N, C, OC, IN, UNITS, rows, cols
constexpr int kMaxSide = 1 << 24;     // H, W, OH, OW
constexpr int kMaxWin = 1 << 15;      // kernel / window sides, strides, dilations
constexpr int64_t kMaxElems = int64_t(1) << 53;

Napi::RangeError RangeErr(Napi::Env env, const char* fn, const std::string& msg) {
  return Napi::RangeError::New(env, std::string(fn) + ": " + msg);
}

// Product of sizes, each >= 0, refusing anything above `limit`.
int64_t Prod(Napi::Env env, const char* fn, const char* what, std::initializer_list<int64_t> xs,
             int64_t limit = kMaxElems) {
  int64_t p = 1;
  for (int64_t x : xs) {
    if (x != 0 && p > limit / x) throw RangeErr(env, fn, std::string(what) + " is too large");
    p *= x;
  }
  if (p > limit) throw RangeErr(env, fn, std::string(what) + " is too large");
  return p;
}

Act ActArg(const Napi::CallbackInfo& info, size_t i, const char* fn) {
  return (Act)Int(info, i, fn, "act", (int)Act::Linear, (int)Act::Relu6);
}

Padding PadArg(const Napi::CallbackInfo& info, size_t i, const char* fn) {
  return (Padding)Int(info, i, fn, "pad", (int)Padding::Valid, (int)Padding::Same);
}

Napi::Object DimsObject(const Napi::CallbackInfo& info, size_t i, const char* fn) {
  if (i >= info.Length() || !info[i].IsObject() || info[i].IsArray() || info[i].IsTypedArray())
    throw Err(info.Env(), fn, "d must be a dims object");
  return info[i].As<Napi::Object>();
}

// One spatial axis: the output size must be what some bottom / right padding in
// [0, effective kernel - 1] gives with this leading padding (conv2dDims / pool2dDims always do).
void CheckAxis(Napi::Env env, const char* fn, const char* out_name, int64_t in, int64_t k,
               int64_t s, int64_t dil, int64_t lead, const char* lead_name, int64_t out) {
  const int64_t ek = (k - 1) * dil + 1;
  if (lead > ek - 1)
    throw RangeErr(env, fn, std::string("dims.") + lead_name + " = " + std::to_string(lead) +
                                " must be smaller than the (dilated) window, " + std::to_string(ek));
  const int64_t lo = std::max<int64_t>(in + lead - ek, 0) / s + 1, hi = (in + lead - 1) / s + 1;
  if (out < lo || out > hi)
    throw RangeErr(env, fn, std::string("dims.") + out_name + " = " + std::to_string(out) +
                                " is inconsistent with the input size, window, stride and padding " +
                                "(expected " + std::to_string(lo) +
                                (lo == hi ? "" : " to " + std::to_string(hi)) + ")");
}

// Sizes of a validated convolution.
struct ConvSizes {
  int64_t inp, out, weight, col, k;
};

ConvSizes CheckConv(Napi::Env env, const char* fn, const Conv2DDims& d) {
  CheckAxis(env, fn, "OH", d.H, d.KH, d.SH, d.DH, d.PT, "PT", d.OH);
  CheckAxis(env, fn, "OW", d.W, d.KW, d.SW, d.DW, d.PL, "PL", d.OW);
  ConvSizes s;
  s.inp = Prod(env, fn, "the input (N*H*W*C)", {d.N, d.H, d.W, d.C});
  const int64_t P = Prod(env, fn, "N*OH*OW", {d.N, d.OH, d.OW}, INT32_MAX);
  s.k = Prod(env, fn, "KH*KW*C", {d.KH, d.KW, d.C}, INT32_MAX);
  s.out = Prod(env, fn, "the output (N*OH*OW*OC)", {P, d.OC});
  s.weight = Prod(env, fn, "the kernel (KH*KW*C*OC)", {s.k, d.OC});
  s.col = conv2d_is_pointwise(d) ? 0 : Prod(env, fn, "the col matrix", {P, s.k});
  return s;
}

Conv2DDims ConvDimsArg(const Napi::CallbackInfo& info, size_t i, const char* fn, ConvSizes& sizes) {
  Napi::Object o = DimsObject(info, i, fn);
  Conv2DDims d;
  d.N = ObjInt(o, "N", fn, 1, kMaxCount);
  d.H = ObjInt(o, "H", fn, 1, kMaxSide);
  d.W = ObjInt(o, "W", fn, 1, kMaxSide);
  d.C = ObjInt(o, "C", fn, 1, kMaxCount);
  d.KH = ObjInt(o, "KH", fn, 1, kMaxWin);
  d.KW = ObjInt(o, "KW", fn, 1, kMaxWin);
  d.OC = ObjInt(o, "OC", fn, 1, kMaxCount);
  d.SH = ObjInt(o, "SH", fn, 1, kMaxWin);
  d.SW = ObjInt(o, "SW", fn, 1, kMaxWin);
  d.DH = ObjInt(o, "DH", fn, 1, kMaxWin);
  d.DW = ObjInt(o, "DW", fn, 1, kMaxWin);
  d.PT = ObjInt(o, "PT", fn, 0, INT32_MAX);
  d.PL = ObjInt(o, "PL", fn, 0, INT32_MAX);
  d.OH = ObjInt(o, "OH", fn, 1, kMaxSide);
  d.OW = ObjInt(o, "OW", fn, 1, kMaxSide);
  sizes = CheckConv(info.Env(), fn, d);
  return d;
}

Napi::Object ConvDimsToObject(Napi::Env env, const Conv2DDims& d) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("N", d.N), o.Set("H", d.H), o.Set("W", d.W), o.Set("C", d.C);
  o.Set("KH", d.KH), o.Set("KW", d.KW), o.Set("OC", d.OC);
  o.Set("SH", d.SH), o.Set("SW", d.SW), o.Set("DH", d.DH), o.Set("DW", d.DW);
  o.Set("PT", d.PT), o.Set("PL", d.PL), o.Set("OH", d.OH), o.Set("OW", d.OW);
  return o;
}

struct PoolSizes {
  int64_t inp, out;
};

PoolSizes CheckPool(Napi::Env env, const char* fn, const Pool2DDims& d) {
  CheckAxis(env, fn, "OH", d.H, d.PH, d.SH, 1, d.PT, "PT", d.OH);
  CheckAxis(env, fn, "OW", d.W, d.PW, d.SW, 1, d.PL, "PL", d.OW);
  Prod(env, fn, "a sample (H*W*C)", {d.H, d.W, d.C}, INT32_MAX);  // argmax indices are int32
  return {Prod(env, fn, "the input (N*H*W*C)", {d.N, d.H, d.W, d.C}),
          Prod(env, fn, "the output (N*OH*OW*C)", {d.N, d.OH, d.OW, d.C})};
}

Pool2DDims PoolDimsArg(const Napi::CallbackInfo& info, size_t i, const char* fn, PoolSizes& sizes) {
  Napi::Object o = DimsObject(info, i, fn);
  Pool2DDims d;
  d.N = ObjInt(o, "N", fn, 1, kMaxCount);
  d.H = ObjInt(o, "H", fn, 1, kMaxSide);
  d.W = ObjInt(o, "W", fn, 1, kMaxSide);
  d.C = ObjInt(o, "C", fn, 1, kMaxCount);
  d.PH = ObjInt(o, "PH", fn, 1, kMaxWin);
  d.PW = ObjInt(o, "PW", fn, 1, kMaxWin);
  d.SH = ObjInt(o, "SH", fn, 1, kMaxWin);
  d.SW = ObjInt(o, "SW", fn, 1, kMaxWin);
  d.PT = ObjInt(o, "PT", fn, 0, INT32_MAX);
  d.PL = ObjInt(o, "PL", fn, 0, INT32_MAX);
  d.OH = ObjInt(o, "OH", fn, 1, kMaxSide);
  d.OW = ObjInt(o, "OW", fn, 1, kMaxSide);
  sizes = CheckPool(info.Env(), fn, d);
  return d;
}

Napi::Object PoolDimsToObject(Napi::Env env, const Pool2DDims& d) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("N", d.N), o.Set("H", d.H), o.Set("W", d.W), o.Set("C", d.C);
  o.Set("PH", d.PH), o.Set("PW", d.PW), o.Set("SH", d.SH), o.Set("SW", d.SW);
  o.Set("PT", d.PT), o.Set("PL", d.PL), o.Set("OH", d.OH), o.Set("OW", d.OW);
  return o;
}

// Every argmax entry must index inside its sample: [0, limit).
void CheckArgmax(Napi::Env env, const char* fn, const int32_t* a, int64_t n, int64_t limit) {
  for (int64_t i = 0; i < n; ++i)
    if ((uint32_t)a[i] >= (uint64_t)limit)
      throw RangeErr(env, fn, "argmax[" + std::to_string(i) + "] = " + std::to_string(a[i]) +
                                  " is outside [0, " + std::to_string(limit) + ")");
}

// ---- conv2d ----

Napi::Value Conv2dDims(const Napi::CallbackInfo& info) {
  const char* fn = "conv2dDims";
  const int N = (int)Int(info, 0, fn, "N", 1, kMaxCount), H = (int)Int(info, 1, fn, "H", 1, kMaxSide),
            W = (int)Int(info, 2, fn, "W", 1, kMaxSide), C = (int)Int(info, 3, fn, "C", 1, kMaxCount);
  const int KH = (int)Int(info, 4, fn, "KH", 1, kMaxWin), KW = (int)Int(info, 5, fn, "KW", 1, kMaxWin);
  const int OC = (int)Int(info, 6, fn, "OC", 1, kMaxCount);
  const int SH = (int)Int(info, 7, fn, "SH", 1, kMaxWin), SW = (int)Int(info, 8, fn, "SW", 1, kMaxWin);
  const int DH = (int)Int(info, 9, fn, "DH", 1, kMaxWin), DW = (int)Int(info, 10, fn, "DW", 1, kMaxWin);
  const Padding pad = PadArg(info, 11, fn);
  const Conv2DDims d = conv2d_dims(N, H, W, C, KH, KW, OC, SH, SW, DH, DW, pad);
  if (d.OH < 1 || d.OW < 1)
    throw RangeErr(info.Env(), fn, "the (dilated) kernel " + std::to_string((KH - 1) * DH + 1) + "x" +
                                       std::to_string((KW - 1) * DW + 1) + " does not fit in the " +
                                       std::to_string(H) + "x" + std::to_string(W) +
                                       " input with valid padding");
  CheckConv(info.Env(), fn, d);
  return ConvDimsToObject(info.Env(), d);
}

Napi::Value Conv2dColSize(const Napi::CallbackInfo& info) {
  ConvSizes s;
  ConvDimsArg(info, 0, "conv2dColSize", s);
  return Napi::Number::New(info.Env(), (double)s.col);
}

// conv2dForward(out, col | null, inp, weight, bias | null, d, act, alpha)
Napi::Value Conv2dForward(const Napi::CallbackInfo& info) {
  const char* fn = "conv2dForward";
  ConvSizes s;
  const Conv2DDims d = ConvDimsArg(info, 5, fn, s);
  float* out = F32(info, 0, fn, "out", s.out);
  float* col = s.col ? F32(info, 1, fn, "col", s.col) : nullptr;
  const float* inp = F32(info, 2, fn, "inp", s.inp);
  const float* weight = F32(info, 3, fn, "weight", s.weight);
  const float* bias = F32(info, 4, fn, "bias", d.OC, true);
  const Act act = ActArg(info, 6, fn);
  const float alpha = (float)Num(info, 7, fn, "alpha");
  conv2d_forward(out, col, inp, weight, bias, d, act, alpha);
  return info.Env().Undefined();
}

// conv2dBackward(dinp | null, dweight, dbias | null, dcol | null, dout, col | null, inp, weight, d)
Napi::Value Conv2dBackward(const Napi::CallbackInfo& info) {
  const char* fn = "conv2dBackward";
  ConvSizes s;
  const Conv2DDims d = ConvDimsArg(info, 8, fn, s);
  float* dinp = F32(info, 0, fn, "dinp", s.inp, true);
  float* dweight = F32(info, 1, fn, "dweight", s.weight);
  float* dbias = F32(info, 2, fn, "dbias", d.OC, true);
  float* dcol = s.col && dinp ? F32(info, 3, fn, "dcol", s.col) : nullptr;
  const float* dout = F32(info, 4, fn, "dout", s.out);
  const float* col = s.col ? F32(info, 5, fn, "col", s.col) : nullptr;
  const float* inp = F32(info, 6, fn, "inp", s.inp);
  const float* weight = F32(info, 7, fn, "weight", s.weight);
  conv2d_backward(dinp, dweight, dbias, dcol, dout, col, inp, weight, d);
  return info.Env().Undefined();
}

// conv2dForwardNaive(out, inp, weight, bias | null, d, act, alpha)
Napi::Value Conv2dForwardNaive(const Napi::CallbackInfo& info) {
  const char* fn = "conv2dForwardNaive";
  ConvSizes s;
  const Conv2DDims d = ConvDimsArg(info, 4, fn, s);
  float* out = F32(info, 0, fn, "out", s.out);
  const float* inp = F32(info, 1, fn, "inp", s.inp);
  const float* weight = F32(info, 2, fn, "weight", s.weight);
  const float* bias = F32(info, 3, fn, "bias", d.OC, true);
  const Act act = ActArg(info, 5, fn);
  const float alpha = (float)Num(info, 6, fn, "alpha");
  conv2d_forward_naive(out, inp, weight, bias, d, act, alpha);
  return info.Env().Undefined();
}

// conv2dBackwardNaive(dinp | null, dweight, dbias | null, dout, inp, weight, d)
Napi::Value Conv2dBackwardNaive(const Napi::CallbackInfo& info) {
  const char* fn = "conv2dBackwardNaive";
  ConvSizes s;
  const Conv2DDims d = ConvDimsArg(info, 6, fn, s);
  float* dinp = F32(info, 0, fn, "dinp", s.inp, true);
  float* dweight = F32(info, 1, fn, "dweight", s.weight);
  float* dbias = F32(info, 2, fn, "dbias", d.OC, true);
  const float* dout = F32(info, 3, fn, "dout", s.out);
  const float* inp = F32(info, 4, fn, "inp", s.inp);
  const float* weight = F32(info, 5, fn, "weight", s.weight);
  conv2d_backward_naive(dinp, dweight, dbias, dout, inp, weight, d);
  return info.Env().Undefined();
}

// ---- pool2d ----

Napi::Value Pool2dDims(const Napi::CallbackInfo& info) {
  const char* fn = "pool2dDims";
  const int N = (int)Int(info, 0, fn, "N", 1, kMaxCount), H = (int)Int(info, 1, fn, "H", 1, kMaxSide),
            W = (int)Int(info, 2, fn, "W", 1, kMaxSide), C = (int)Int(info, 3, fn, "C", 1, kMaxCount);
  const int PH = (int)Int(info, 4, fn, "PH", 1, kMaxWin), PW = (int)Int(info, 5, fn, "PW", 1, kMaxWin);
  const int SH = (int)Int(info, 6, fn, "SH", 1, kMaxWin), SW = (int)Int(info, 7, fn, "SW", 1, kMaxWin);
  const Padding pad = PadArg(info, 8, fn);
  const Pool2DDims d = pool2d_dims(N, H, W, C, PH, PW, SH, SW, pad);
  if (d.OH < 1 || d.OW < 1)
    throw RangeErr(info.Env(), fn, "the " + std::to_string(PH) + "x" + std::to_string(PW) +
                                       " window does not fit in the " + std::to_string(H) + "x" +
                                       std::to_string(W) + " input with valid padding");
  CheckPool(info.Env(), fn, d);
  return PoolDimsToObject(info.Env(), d);
}

// maxPool2dForward(out, argmax, inp, d)
Napi::Value MaxPool2dForward(const Napi::CallbackInfo& info) {
  const char* fn = "maxPool2dForward";
  PoolSizes s;
  const Pool2DDims d = PoolDimsArg(info, 3, fn, s);
  float* out = F32(info, 0, fn, "out", s.out);
  int32_t* argmax = I32(info, 1, fn, "argmax", s.out);
  const float* inp = F32(info, 2, fn, "inp", s.inp);
  maxpool2d_forward(out, argmax, inp, d);
  return info.Env().Undefined();
}

// maxPool2dBackward(dinp, dout, argmax, d)
Napi::Value MaxPool2dBackward(const Napi::CallbackInfo& info) {
  const char* fn = "maxPool2dBackward";
  PoolSizes s;
  const Pool2DDims d = PoolDimsArg(info, 3, fn, s);
  float* dinp = F32(info, 0, fn, "dinp", s.inp);
  const float* dout = F32(info, 1, fn, "dout", s.out);
  const int32_t* argmax = I32(info, 2, fn, "argmax", s.out);
  CheckArgmax(info.Env(), fn, argmax, s.out, (int64_t)d.H * d.W * d.C);
  maxpool2d_backward(dinp, dout, argmax, d);
  return info.Env().Undefined();
}

// avgPool2dForward(out, inp, d)
Napi::Value AvgPool2dForward(const Napi::CallbackInfo& info) {
  const char* fn = "avgPool2dForward";
  PoolSizes s;
  const Pool2DDims d = PoolDimsArg(info, 2, fn, s);
  float* out = F32(info, 0, fn, "out", s.out);
  const float* inp = F32(info, 1, fn, "inp", s.inp);
  avgpool2d_forward(out, inp, d);
  return info.Env().Undefined();
}

// avgPool2dBackward(dinp, dout, d)
Napi::Value AvgPool2dBackward(const Napi::CallbackInfo& info) {
  const char* fn = "avgPool2dBackward";
  PoolSizes s;
  const Pool2DDims d = PoolDimsArg(info, 2, fn, s);
  float* dinp = F32(info, 0, fn, "dinp", s.inp);
  const float* dout = F32(info, 1, fn, "dout", s.out);
  avgpool2d_backward(dinp, dout, d);
  return info.Env().Undefined();
}

// Global pooling sizes (N, HW, C) from arguments first..first+2.
struct GlobalSizes {
  int N, HW, C;
  int64_t inp, out;
};
GlobalSizes GlobalArgs(const Napi::CallbackInfo& info, size_t first, const char* fn) {
  GlobalSizes g;
  g.N = (int)Int(info, first, fn, "N", 1, kMaxCount);
  g.HW = (int)Int(info, first + 1, fn, "HW", 1, kMaxCount);
  g.C = (int)Int(info, first + 2, fn, "C", 1, kMaxCount);
  Prod(info.Env(), fn, "a sample (HW*C)", {g.HW, g.C}, INT32_MAX);
  g.inp = Prod(info.Env(), fn, "the input (N*HW*C)", {g.N, g.HW, g.C});
  g.out = Prod(info.Env(), fn, "the output (N*C)", {g.N, g.C});
  return g;
}

// globalAvgPoolForward(out, inp, N, HW, C)
Napi::Value GlobalAvgPoolForward(const Napi::CallbackInfo& info) {
  const char* fn = "globalAvgPoolForward";
  const GlobalSizes g = GlobalArgs(info, 2, fn);
  float* out = F32(info, 0, fn, "out", g.out);
  const float* inp = F32(info, 1, fn, "inp", g.inp);
  global_avgpool_forward(out, inp, g.N, g.HW, g.C);
  return info.Env().Undefined();
}

// globalAvgPoolBackward(dinp, dout, N, HW, C)
Napi::Value GlobalAvgPoolBackward(const Napi::CallbackInfo& info) {
  const char* fn = "globalAvgPoolBackward";
  const GlobalSizes g = GlobalArgs(info, 2, fn);
  float* dinp = F32(info, 0, fn, "dinp", g.inp);
  const float* dout = F32(info, 1, fn, "dout", g.out);
  global_avgpool_backward(dinp, dout, g.N, g.HW, g.C);
  return info.Env().Undefined();
}

// globalMaxPoolForward(out, argmax, inp, N, HW, C)
Napi::Value GlobalMaxPoolForward(const Napi::CallbackInfo& info) {
  const char* fn = "globalMaxPoolForward";
  const GlobalSizes g = GlobalArgs(info, 3, fn);
  float* out = F32(info, 0, fn, "out", g.out);
  int32_t* argmax = I32(info, 1, fn, "argmax", g.out);
  const float* inp = F32(info, 2, fn, "inp", g.inp);
  global_maxpool_forward(out, argmax, inp, g.N, g.HW, g.C);
  return info.Env().Undefined();
}

// globalMaxPoolBackward(dinp, dout, argmax, N, HW, C)
Napi::Value GlobalMaxPoolBackward(const Napi::CallbackInfo& info) {
  const char* fn = "globalMaxPoolBackward";
  const GlobalSizes g = GlobalArgs(info, 3, fn);
  float* dinp = F32(info, 0, fn, "dinp", g.inp);
  const float* dout = F32(info, 1, fn, "dout", g.out);
  const int32_t* argmax = I32(info, 2, fn, "argmax", g.out);
  CheckArgmax(info.Env(), fn, argmax, g.out, g.HW);
  global_maxpool_backward(dinp, dout, argmax, g.N, g.HW, g.C);
  return info.Env().Undefined();
}

// ---- dense ----

struct DenseSizes {
  int N, IN, UNITS;
};
DenseSizes DenseArgs(const Napi::CallbackInfo& info, size_t first, const char* fn) {
  DenseSizes s;
  s.N = (int)Int(info, first, fn, "N", 1, kMaxCount);
  s.IN = (int)Int(info, first + 1, fn, "IN", 1, kMaxCount);
  s.UNITS = (int)Int(info, first + 2, fn, "UNITS", 1, kMaxCount);
  return s;
}

// denseForward(out, inp, weight, bias | null, N, IN, UNITS, act, alpha)
Napi::Value DenseForward(const Napi::CallbackInfo& info) {
  const char* fn = "denseForward";
  const DenseSizes s = DenseArgs(info, 4, fn);
  float* out = F32(info, 0, fn, "out", (int64_t)s.N * s.UNITS);
  const float* inp = F32(info, 1, fn, "inp", (int64_t)s.N * s.IN);
  const float* weight = F32(info, 2, fn, "weight", (int64_t)s.IN * s.UNITS);
  const float* bias = F32(info, 3, fn, "bias", s.UNITS, true);
  const Act act = ActArg(info, 7, fn);
  const float alpha = (float)Num(info, 8, fn, "alpha");
  dense_forward(out, inp, weight, bias, s.N, s.IN, s.UNITS, act, alpha);
  return info.Env().Undefined();
}

// denseBackward(dinp | null, dweight, dbias | null, dout, inp, weight, N, IN, UNITS)
Napi::Value DenseBackward(const Napi::CallbackInfo& info) {
  const char* fn = "denseBackward";
  const DenseSizes s = DenseArgs(info, 6, fn);
  float* dinp = F32(info, 0, fn, "dinp", (int64_t)s.N * s.IN, true);
  float* dweight = F32(info, 1, fn, "dweight", (int64_t)s.IN * s.UNITS);
  float* dbias = F32(info, 2, fn, "dbias", s.UNITS, true);
  const float* dout = F32(info, 3, fn, "dout", (int64_t)s.N * s.UNITS);
  const float* inp = F32(info, 4, fn, "inp", (int64_t)s.N * s.IN);
  const float* weight = F32(info, 5, fn, "weight", (int64_t)s.IN * s.UNITS);
  dense_backward(dinp, dweight, dbias, dout, inp, weight, s.N, s.IN, s.UNITS);
  return info.Env().Undefined();
}

// ---- activations ----

// activationForward(y, x, rows, cols, act, alpha)
Napi::Value ActivationForward(const Napi::CallbackInfo& info) {
  const char* fn = "activationForward";
  const int64_t rows = Int(info, 2, fn, "rows", 0, kMaxCount);
  const int64_t cols = Int(info, 3, fn, "cols", 1, kMaxCount);
  float* y = F32(info, 0, fn, "y", rows * cols);
  const float* x = F32(info, 1, fn, "x", rows * cols);
  const Act act = ActArg(info, 4, fn);
  const float alpha = (float)Num(info, 5, fn, "alpha");
  activation_forward(y, x, rows, cols, act, alpha);
  return info.Env().Undefined();
}

// activationBackward(dx, dy, x | null, y, rows, cols, act, alpha); x is required for gelu / swish.
Napi::Value ActivationBackward(const Napi::CallbackInfo& info) {
  const char* fn = "activationBackward";
  const int64_t rows = Int(info, 4, fn, "rows", 0, kMaxCount);
  const int64_t cols = Int(info, 5, fn, "cols", 1, kMaxCount);
  const Act act = ActArg(info, 6, fn);
  const float alpha = (float)Num(info, 7, fn, "alpha");
  float* dx = F32(info, 0, fn, "dx", rows * cols);
  const float* dy = F32(info, 1, fn, "dy", rows * cols);
  const float* x = F32(info, 2, fn, "x", rows * cols, !activation_needs_input(act));
  const float* y = F32(info, 3, fn, "y", rows * cols);
  activation_backward(dx, dy, x, y, rows, cols, act, alpha);
  return info.Env().Undefined();
}

}  // namespace

void InitOps(Napi::Env env, Napi::Object exports) {
  auto add = [&](const char* name, Napi::Value (*f)(const Napi::CallbackInfo&)) {
    exports.Set(name, Napi::Function::New(env, f, name));
  };
  add("conv2dDims", Conv2dDims);
  add("conv2dColSize", Conv2dColSize);
  add("conv2dForward", Conv2dForward);
  add("conv2dBackward", Conv2dBackward);
  add("conv2dForwardNaive", Conv2dForwardNaive);
  add("conv2dBackwardNaive", Conv2dBackwardNaive);
  add("pool2dDims", Pool2dDims);
  add("maxPool2dForward", MaxPool2dForward);
  add("maxPool2dBackward", MaxPool2dBackward);
  add("avgPool2dForward", AvgPool2dForward);
  add("avgPool2dBackward", AvgPool2dBackward);
  add("globalAvgPoolForward", GlobalAvgPoolForward);
  add("globalAvgPoolBackward", GlobalAvgPoolBackward);
  add("globalMaxPoolForward", GlobalMaxPoolForward);
  add("globalMaxPoolBackward", GlobalMaxPoolBackward);
  add("denseForward", DenseForward);
  add("denseBackward", DenseBackward);
  add("activationForward", ActivationForward);
  add("activationBackward", ActivationBackward);
}

}  // namespace cnn::binding
