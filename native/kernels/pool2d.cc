// Max / average / global pooling over NHWC activations (see pool2d.h). Each window is clipped to
// the image first, so padded pixels are never visited; the inner loops run along C and vectorise.
// Forward splits the (n, oh) output rows over threads; backward scatters, so it splits the batch.
//
// Before any include, so that the whole file (std:: helpers too) shares the option and inlines:
// it lets g++ if-convert the selects in the loops below and vectorise them. Values are unchanged;
// nothing here reads the floating-point exception flags. Clang behaves so by default.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-trapping-math")
#endif
#include "pool2d.h"

#include <algorithm>
#include <cstring>

#include "threadpool.h"

namespace cnn {

namespace {

constexpr int64_t kChunk = 1 << 15;  // floats touched per parallel chunk, at least

// The real pixels [h0, h1) x [w0, w1) of output window (oh, ow).
struct Window {
  int h0, h1, w0, w1;
  int count() const { return (h1 - h0) * (w1 - w0); }
};
inline Window window(const Pool2DDims& d, int oh, int ow) {
  const int hs = oh * d.SH - d.PT, ws = ow * d.SW - d.PL;
  return {std::max(hs, 0), std::min(hs + d.PH, d.H), std::max(ws, 0), std::min(ws + d.PW, d.W)};
}

// Runs fn(n0, n1) over the batch, split when a sample's work is small enough to group.
template <class Fn>
void for_batch(int N, int64_t work_per_sample, Fn fn) {
  parallel_for(N, std::max<int64_t>(1, kChunk / std::max<int64_t>(1, work_per_sample)),
               [&](int64_t n0, int64_t n1, int) { fn((int)n0, (int)n1); });
}

int pool_out(int in, int k, int s, Padding pad, int& lead) {
  if (pad == Padding::Valid) {
    lead = 0;
    return in >= k ? (in - k) / s + 1 : 0;
  }
  const int64_t out = ((int64_t)in + s - 1) / s;
  lead = (int)(std::max<int64_t>((out - 1) * s + k - in, 0) / 2);
  return (int)out;
}

}  // namespace

Pool2DDims pool2d_dims(int N, int H, int W, int C, int PH, int PW, int SH, int SW, Padding pad) {
  Pool2DDims d{N, H, W, C, PH, PW, SH, SW, 0, 0, 0, 0};
  d.OH = pool_out(H, PH, SH, pad, d.PT);
  d.OW = pool_out(W, PW, SW, pad, d.PL);
  return d;
}

// out, argmax (N,OH,OW,C); inp (N,H,W,C). The first real pixel seeds each channel, later ones
// replace it only when strictly greater: ties keep the first in row-major order.
void maxpool2d_forward(float* out, int32_t* argmax, const float* inp, const Pool2DDims& d) {
  const int64_t C = d.C, rows = (int64_t)d.N * d.OH;
  const int64_t row_work = (int64_t)d.OW * d.PH * d.PW * C;
  parallel_for(rows, std::max<int64_t>(1, kChunk / row_work), [&](int64_t r0, int64_t r1, int) {
    for (int64_t r = r0; r < r1; ++r) {
      const int n = (int)(r / d.OH), oh = (int)(r % d.OH);
      const float* x = inp + (int64_t)n * d.H * d.W * C;
      for (int ow = 0; ow < d.OW; ++ow) {
        float* o = out + (r * d.OW + ow) * C;
        int32_t* a = argmax + (r * d.OW + ow) * C;
        const Window win = window(d, oh, ow);
        const int32_t first = (int32_t)(((int64_t)win.h0 * d.W + win.w0) * C);
        for (int64_t c = 0; c < C; ++c) {
          o[c] = x[first + c];
          a[c] = first + (int32_t)c;
        }
        for (int h = win.h0; h < win.h1; ++h)
          for (int w = win.w0; w < win.w1; ++w) {
            const int32_t base = (int32_t)(((int64_t)h * d.W + w) * C);
            const float* v = x + base;
            for (int64_t c = 0; c < C; ++c) {  // branch-free so that it vectorises
              const float cur = o[c], val = v[c];
              const int32_t m = -(int32_t)(val > cur);
              a[c] = (a[c] & ~m) | ((base + (int32_t)c) & m);
              o[c] = val > cur ? val : cur;
            }
          }
      }
    }
  });
}

// dinp (N,H,W,C) overwritten; dout, argmax (N,OH,OW,C); argmax values in [0, H*W*C).
void maxpool2d_backward(float* dinp, const float* dout, const int32_t* argmax, const Pool2DDims& d) {
  const int64_t sample = (int64_t)d.H * d.W * d.C, outs = (int64_t)d.OH * d.OW * d.C;
  for_batch(d.N, sample + outs, [&](int n0, int n1) {
    std::memset(dinp + n0 * sample, 0, (size_t)((n1 - n0) * sample) * sizeof(float));
    for (int64_t n = n0; n < n1; ++n) {
      float* dx = dinp + n * sample;
      const float* dy = dout + n * outs;
      const int32_t* a = argmax + n * outs;
      for (int64_t i = 0; i < outs; ++i) dx[a[i]] += dy[i];
    }
  });
}

// out (N,OH,OW,C); inp (N,H,W,C). Divides by the number of real pixels in each window.
void avgpool2d_forward(float* out, const float* inp, const Pool2DDims& d) {
  const int64_t C = d.C, rows = (int64_t)d.N * d.OH;
  const int64_t row_work = (int64_t)d.OW * d.PH * d.PW * C;
  parallel_for(rows, std::max<int64_t>(1, kChunk / row_work), [&](int64_t r0, int64_t r1, int) {
    for (int64_t r = r0; r < r1; ++r) {
      const int n = (int)(r / d.OH), oh = (int)(r % d.OH);
      const float* x = inp + (int64_t)n * d.H * d.W * C;
      for (int ow = 0; ow < d.OW; ++ow) {
        float* o = out + (r * d.OW + ow) * C;
        const Window win = window(d, oh, ow);
        std::fill(o, o + C, 0.f);
        for (int h = win.h0; h < win.h1; ++h)
          for (int w = win.w0; w < win.w1; ++w) {
            const float* v = x + ((int64_t)h * d.W + w) * C;
            for (int64_t c = 0; c < C; ++c) o[c] += v[c];
          }
        const float inv = 1.f / (float)win.count();
        for (int64_t c = 0; c < C; ++c) o[c] *= inv;
      }
    }
  });
}

// dinp (N,H,W,C) overwritten; dout (N,OH,OW,C): each gradient spread evenly over its real pixels.
void avgpool2d_backward(float* dinp, const float* dout, const Pool2DDims& d) {
  const int64_t C = d.C, sample = (int64_t)d.H * d.W * C;
  const int64_t work = (int64_t)d.OH * d.OW * d.PH * d.PW * C;
  for_batch(d.N, sample + work, [&](int n0, int n1) {
    std::memset(dinp + n0 * sample, 0, (size_t)((n1 - n0) * sample) * sizeof(float));
    for (int64_t n = n0; n < n1; ++n) {
      float* dx = dinp + n * sample;
      for (int oh = 0; oh < d.OH; ++oh)
        for (int ow = 0; ow < d.OW; ++ow) {
          const float* g = dout + ((n * d.OH + oh) * d.OW + ow) * C;
          const Window win = window(d, oh, ow);
          const float inv = 1.f / (float)win.count();
          for (int h = win.h0; h < win.h1; ++h)
            for (int w = win.w0; w < win.w1; ++w) {
              float* v = dx + ((int64_t)h * d.W + w) * C;
              for (int64_t c = 0; c < C; ++c) v[c] += g[c] * inv;
            }
        }
    }
  });
}

// out (N,C); inp (N,HW,C).
void global_avgpool_forward(float* out, const float* inp, int N, int HW, int C) {
  const int64_t sample = (int64_t)HW * C;
  for_batch(N, sample, [&](int n0, int n1) {
    for (int64_t n = n0; n < n1; ++n) {
      float* o = out + n * C;
      const float* x = inp + n * sample;
      std::fill(o, o + C, 0.f);
      for (int64_t p = 0; p < HW; ++p)
        for (int c = 0; c < C; ++c) o[c] += x[p * C + c];
      const float inv = 1.f / (float)HW;
      for (int c = 0; c < C; ++c) o[c] *= inv;
    }
  });
}

// dinp (N,HW,C) overwritten; dout (N,C).
void global_avgpool_backward(float* dinp, const float* dout, int N, int HW, int C) {
  const int64_t sample = (int64_t)HW * C;
  const float inv = 1.f / (float)HW;
  for_batch(N, sample, [&](int n0, int n1) {
    for (int64_t n = n0; n < n1; ++n) {
      const float* g = dout + n * C;
      float* dx = dinp + n * sample;
      for (int64_t p = 0; p < HW; ++p)
        for (int c = 0; c < C; ++c) dx[p * C + c] = g[c] * inv;
    }
  });
}

// out, argmax (N,C); inp (N,HW,C). argmax holds the pixel index; ties keep the first pixel.
void global_maxpool_forward(float* out, int32_t* argmax, const float* inp, int N, int HW, int C) {
  const int64_t sample = (int64_t)HW * C;
  for_batch(N, sample, [&](int n0, int n1) {
    const int nc = C, hw = HW;  // locals: the int32 stores below cannot alias them
    for (int64_t n = n0; n < n1; ++n) {
      float* o = out + n * nc;
      int32_t* a = argmax + n * nc;
      const float* x = inp + n * sample;
      for (int c = 0; c < nc; ++c) {
        o[c] = x[c];
        a[c] = 0;
      }
      for (int32_t p = 1; p < hw; ++p) {
        const float* v = x + (int64_t)p * nc;
        for (int c = 0; c < nc; ++c) {
          const float cur = o[c], val = v[c];
          const int32_t m = -(int32_t)(val > cur);
          a[c] = (a[c] & ~m) | (p & m);
          o[c] = val > cur ? val : cur;
        }
      }
    }
  });
}

// dinp (N,HW,C) overwritten; dout, argmax (N,C), argmax values in [0, HW).
void global_maxpool_backward(float* dinp, const float* dout, const int32_t* argmax, int N, int HW,
                             int C) {
  const int64_t sample = (int64_t)HW * C;
  for_batch(N, sample, [&](int n0, int n1) {
    std::memset(dinp + (int64_t)n0 * sample, 0, (size_t)((n1 - n0) * sample) * sizeof(float));
    for (int64_t n = n0; n < n1; ++n)
      for (int c = 0; c < C; ++c) dinp[n * sample + (int64_t)argmax[n * C + c] * C + c] += dout[n * C + c];
  });
}

}  // namespace cnn
