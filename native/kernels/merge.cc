// Merge kernels; see merge.h. Plain loops: these are memory-bound and small next to the convs.
#include "merge.h"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace cnn {

void merge_forward(MergeOp op, float* out, const float* const* ins, int k, int64_t len) {
  const float* x0 = ins[0];
  switch (op) {
    case MergeOp::Subtract: {
      const float* x1 = ins[1];
      for (int64_t e = 0; e < len; ++e) out[e] = x0[e] - x1[e];
      return;
    }
    case MergeOp::Maximum:
    case MergeOp::Minimum: {
      const bool mx = op == MergeOp::Maximum;
      for (int64_t e = 0; e < len; ++e) {
        float v = x0[e];
        for (int i = 1; i < k; ++i) {
          const float w = ins[i][e];
          if (mx ? w > v : w < v) v = w;
        }
        out[e] = v;
      }
      return;
    }
    case MergeOp::Multiply:
      for (int64_t e = 0; e < len; ++e) {
        float v = x0[e];
        for (int i = 1; i < k; ++i) v *= ins[i][e];
        out[e] = v;
      }
      return;
    case MergeOp::Add:
    case MergeOp::Average: {
      if (out != x0) std::memcpy(out, x0, sizeof(float) * (size_t)len);
      for (int i = 1; i < k; ++i) {
        const float* xi = ins[i];
        for (int64_t e = 0; e < len; ++e) out[e] += xi[e];
      }
      if (op == MergeOp::Average)
        for (int64_t e = 0; e < len; ++e) out[e] /= (float)k;
      return;
    }
  }
}

void merge_backward_input(MergeOp op, float* dx, int i, const float* dout, const float* const* ins, int k,
                          int64_t len) {
  switch (op) {
    case MergeOp::Add:
      std::memcpy(dx, dout, sizeof(float) * (size_t)len);
      return;
    case MergeOp::Average: {
      const float s = 1.f / (float)k;
      for (int64_t e = 0; e < len; ++e) dx[e] = dout[e] * s;
      return;
    }
    case MergeOp::Subtract:
      if (i == 0)
        std::memcpy(dx, dout, sizeof(float) * (size_t)len);
      else
        for (int64_t e = 0; e < len; ++e) dx[e] = -dout[e];
      return;
    case MergeOp::Multiply:
      for (int64_t e = 0; e < len; ++e) {
        float v = dout[e];
        for (int j = 0; j < k; ++j)
          if (j != i) v *= ins[j][e];
        dx[e] = v;
      }
      return;
    case MergeOp::Maximum:
    case MergeOp::Minimum: {
      const bool mx = op == MergeOp::Maximum;
      for (int64_t e = 0; e < len; ++e) {
        float v = ins[0][e];
        int w = 0;
        for (int j = 1; j < k; ++j) {
          const float u = ins[j][e];
          if (mx ? u > v : u < v) {
            v = u;
            w = j;
          }
        }
        dx[e] = w == i ? dout[e] : 0.f;
      }
      return;
    }
  }
}

void concat_forward(float* out, const float* const* ins, const int64_t* inner, int k, int64_t outer) {
  int64_t total = 0;
  for (int i = 0; i < k; ++i) total += inner[i];
  int64_t off = 0;
  for (int i = 0; i < k; ++i) {
    const int64_t s = inner[i];
    for (int64_t r = 0; r < outer; ++r) std::memcpy(out + r * total + off, ins[i] + r * s, sizeof(float) * (size_t)s);
    off += s;
  }
}

void concat_backward_input(float* dx, int i, const float* dout, const int64_t* inner, int k, int64_t outer) {
  int64_t total = 0, off = 0;
  for (int j = 0; j < k; ++j) {
    if (j < i) off += inner[j];
    total += inner[j];
  }
  const int64_t s = inner[i];
  for (int64_t r = 0; r < outer; ++r) std::memcpy(dx + r * s, dout + r * total + off, sizeof(float) * (size_t)s);
}

namespace {

constexpr double kL2Eps = 1e-12;

// |v| as l2_normalize takes it, and whether the sum of squares was above eps (then it depends on v).
double l2norm(const float* v, int F, bool* live) {
  double ss = 0.0;
  for (int f = 0; f < F; ++f) ss += (double)v[f] * v[f];
  *live = ss >= kL2Eps;
  return std::sqrt(std::max(ss, kL2Eps));
}

}  // namespace

void dot_forward(float* out, const float* a, const float* b, int64_t rows, int F, bool normalize) {
  for (int64_t r = 0; r < rows; ++r) {
    const float* ar = a + r * F;
    const float* br = b + r * F;
    double s = 0.0;
    for (int f = 0; f < F; ++f) s += (double)ar[f] * br[f];
    if (normalize) {
      bool la, lb;
      s /= l2norm(ar, F, &la) * l2norm(br, F, &lb);
    }
    out[r] = (float)s;
  }
}

void dot_backward(float* da, float* db, const float* dout, const float* a, const float* b, int64_t rows, int F,
                  bool normalize) {
  for (int64_t r = 0; r < rows; ++r) {
    const float* ar = a + r * F;
    const float* br = b + r * F;
    const double g = dout[r];
    if (!normalize) {
      if (da) for (int f = 0; f < F; ++f) da[r * F + f] = (float)(g * br[f]);
      if (db) for (int f = 0; f < F; ++f) db[r * F + f] = (float)(g * ar[f]);
      continue;
    }
    // y = â·b̂ with â = a / |a|: dy/da = (b̂ - y â) / |a| (the y â term only while |a|² >= eps)
    bool la, lb;
    const double na = l2norm(ar, F, &la), nb = l2norm(br, F, &lb);
    double y = 0.0;
    for (int f = 0; f < F; ++f) y += (double)ar[f] * br[f];
    y /= na * nb;
    for (int f = 0; f < F; ++f) {
      const double ah = ar[f] / na, bh = br[f] / nb;
      if (da) da[r * F + f] = (float)(g * (bh - (la ? y * ah : 0.0)) / na);
      if (db) db[r * F + f] = (float)(g * (ah - (lb ? y * bh : 0.0)) / nb);
    }
  }
}

}  // namespace cnn
