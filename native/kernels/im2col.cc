// im2col / col2im for NHWC inputs (see conv2d.h). One moving pointer walks col row by row in
// (kh, kw, c) order; in NHWC each (kh, kw) tap is C contiguous floats, and with dilation 1 a whole
// kernel row (KW*C floats) is contiguous, so the inner work is a copy / add of a run of floats.
// Bounds checks are one unsigned compare each.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-tree-loop-distribute-patterns")  // keep copy_run / zero_run inline
#endif
#include <algorithm>
#include <cstring>

#include "conv2d.h"
#include "threadpool.h"

namespace cnn {

namespace {

constexpr int64_t kChunk = 1 << 15;  // floats per parallel chunk, at least

inline void add_run(float* __restrict dst, const float* __restrict src, int64_t n) {
  for (int64_t i = 0; i < n; ++i) dst[i] += src[i];
}
// Short runs (few channels, e.g. the first layer) are copied inline: a memcpy call costs more.
// (The file is built with loop-distribute-patterns off, or g++ would turn these loops into calls.)
inline void copy_run(float* __restrict dst, const float* __restrict src, int64_t n) {
  if (n >= 32) {
    std::memcpy(dst, src, (size_t)n * sizeof(float));
    return;
  }
  for (int64_t i = 0; i < n; ++i) dst[i] = src[i];
}
inline void zero_run(float* dst, int64_t n) {
  if (n >= 32) {
    std::memset(dst, 0, (size_t)n * sizeof(float));
    return;
  }
  for (int64_t i = 0; i < n; ++i) dst[i] = 0.f;
}

// Walks the (n, oh, ow) rows [p0, p1) of col and, for each tap (kh, kw), calls
// run(col_ptr, inp_offset, count) on every in-bounds run of floats and gap(col_ptr, count) on
// every padded one. col_ptr advances by K per row.
template <class Run, class Gap>
inline void walk_rows(const Conv2DDims& d, int64_t p0, int64_t p1, Run run, Gap gap) {
  const int64_t C = d.C, rowlen = (int64_t)d.KW * d.C;
  const int64_t pix = (int64_t)d.OH * d.OW;
  int64_t n = p0 / pix, r = p0 % pix;
  int oh = (int)(r / d.OW), ow = (int)(r % d.OW);
  int64_t k = 0;  // col offset of the current row
  for (int64_t p = p0; p < p1; ++p) {
    const int64_t base = n * d.H * d.W * C;
    const int ih0 = oh * d.SH - d.PT, iw0 = ow * d.SW - d.PL;
    const bool row_inside = d.DW == 1 && iw0 >= 0 && iw0 + d.KW <= d.W;
    for (int kh = 0; kh < d.KH; ++kh) {
      const int ih = ih0 + kh * d.DH;
      if ((unsigned)ih >= (unsigned)d.H) {
        gap(k, rowlen);
        k += rowlen;
        continue;
      }
      const int64_t src_row = base + (int64_t)ih * d.W * C;
      if (row_inside) {
        run(k, src_row + iw0 * C, rowlen);
        k += rowlen;
        continue;
      }
      for (int kw = 0; kw < d.KW; ++kw) {
        const int iw = iw0 + kw * d.DW;
        if ((unsigned)iw < (unsigned)d.W)
          run(k, src_row + iw * C, C);
        else
          gap(k, C);
        k += C;
      }
    }
    if (++ow == d.OW) {
      ow = 0;
      if (++oh == d.OH) {
        oh = 0;
        ++n;
      }
    }
  }
}

}  // namespace

// col (N*OH*OW, KH*KW*C); inp (N,H,W,C).
void im2col(float* col, const float* inp, const Conv2DDims& d) {
  const int64_t K = (int64_t)d.KH * d.KW * d.C;
  const int64_t P = (int64_t)d.N * d.OH * d.OW;
  parallel_for(P, std::max<int64_t>(1, kChunk / K), [&](int64_t p0, int64_t p1, int) {
    float* dst = col + p0 * K;  // walk_rows offsets are relative to row p0
    walk_rows(
        d, p0, p1,
        [&](int64_t k, int64_t src, int64_t cnt) { copy_run(dst + k, inp + src, cnt); },
        [&](int64_t k, int64_t cnt) { zero_run(dst + k, cnt); });
  });
}

// dinp (N,H,W,C) overwritten; col (N*OH*OW, KH*KW*C). Samples are independent, so the batch is
// split over threads; inside a sample, overlapping windows add in col order.
void col2im(float* dinp, const float* col, const Conv2DDims& d) {
  const int64_t K = (int64_t)d.KH * d.KW * d.C;
  const int64_t pix = (int64_t)d.OH * d.OW;
  const int64_t sample = (int64_t)d.H * d.W * d.C;
  parallel_for(d.N, std::max<int64_t>(1, kChunk / (pix * K)), [&](int64_t n0, int64_t n1, int) {
    std::memset(dinp + n0 * sample, 0, (size_t)((n1 - n0) * sample) * sizeof(float));
    const float* src = col + n0 * pix * K;
    walk_rows(
        d, n0 * pix, n1 * pix,
        [&](int64_t k, int64_t off, int64_t cnt) { add_run(dinp + off, src + k, cnt); },
        [](int64_t, int64_t) {});
  });
}

}  // namespace cnn
