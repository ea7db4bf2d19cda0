// 2-D convolution by im2col + one GEMM each way (see conv2d.h). On the col matrix a convolution is
// a dense layer: forward and backward are dense_forward / dense_backward on (P, K) x (K, OC),
// wrapped in im2col / col2im. The direct-loop references follow.
#include "conv2d.h"

#include <algorithm>

#include "activations.h"
#include "dense.h"

namespace cnn {

// One axis by TF's rule. Returns the output size and sets the leading padding.
static int out_size(int in, int k, int s, int dil, Padding pad, int& lead) {
  const int64_t ek = (int64_t)(k - 1) * dil + 1;  // effective (dilated) kernel extent
  if (pad == Padding::Valid) {
    lead = 0;
    return in >= ek ? (int)((in - ek) / s + 1) : 0;
  }
  const int64_t out = ((int64_t)in + s - 1) / s;
  const int64_t total = std::max<int64_t>((out - 1) * s + ek - in, 0);
  lead = (int)(total / 2);
  return (int)out;
}

Conv2DDims conv2d_dims(int N, int H, int W, int C, int KH, int KW, int OC, int SH, int SW, int DH,
                       int DW, Padding pad) {
  Conv2DDims d{N, H, W, C, KH, KW, OC, SH, SW, DH, DW, 0, 0, 0, 0};
  d.OH = out_size(H, KH, SH, DH, pad, d.PT);
  d.OW = out_size(W, KW, SW, DW, pad, d.PL);
  return d;
}

bool conv2d_is_pointwise(const Conv2DDims& d) {
  return d.KH == 1 && d.KW == 1 && d.SH == 1 && d.SW == 1 && d.PT == 0 && d.PL == 0 && d.OH == d.H &&
         d.OW == d.W;
}

size_t conv2d_col_size(const Conv2DDims& d) {
  if (conv2d_is_pointwise(d)) return 0;
  return (size_t)d.N * d.OH * d.OW * ((size_t)d.KH * d.KW * d.C);
}

// out (N,OH,OW,OC); col (N*OH*OW, KH*KW*C) scratch, unused when pointwise; inp (N,H,W,C);
// weight (KH,KW,C,OC) = (K, OC) row-major; bias (OC) or nullptr.
void conv2d_forward(float* out, float* col, const float* inp, const float* weight, const float* bias,
                    const Conv2DDims& d, Act act, float alpha) {
  const int P = d.N * d.OH * d.OW, K = d.KH * d.KW * d.C;
  const float* a = inp;  // (P, K)
  if (!conv2d_is_pointwise(d)) {
    im2col(col, inp, d);
    a = col;
  }
  dense_forward(out, a, weight, bias, P, K, d.OC, act, alpha);
}

// dinp (N,H,W,C) or nullptr; dweight (KH,KW,C,OC); dbias (OC) or nullptr; dcol (P, K) scratch,
// unused when pointwise or when dinp is nullptr; dout (N,OH,OW,OC); col (P, K) from forward;
// inp (N,H,W,C), read only when pointwise; weight (KH,KW,C,OC).
void conv2d_backward(float* dinp, float* dweight, float* dbias, float* dcol, const float* dout,
                     const float* col, const float* inp, const float* weight, const Conv2DDims& d) {
  const int P = d.N * d.OH * d.OW, K = d.KH * d.KW * d.C;
  if (conv2d_is_pointwise(d)) {  // inp is the col matrix and dinp the dcol matrix
    dense_backward(dinp, dweight, dbias, dout, inp, weight, P, K, d.OC);
    return;
  }
  dense_backward(dinp ? dcol : nullptr, dweight, dbias, dout, col, weight, P, K, d.OC);
  if (dinp) col2im(dinp, dcol, d);
}

// ---- references: direct loops, double accumulators ----

void conv2d_forward_naive(float* out, const float* inp, const float* weight, const float* bias,
                          const Conv2DDims& d, Act act, float alpha) {
  for (int n = 0; n < d.N; ++n)
    for (int oh = 0; oh < d.OH; ++oh)
      for (int ow = 0; ow < d.OW; ++ow) {
        float* o = out + (((int64_t)n * d.OH + oh) * d.OW + ow) * d.OC;
        for (int oc = 0; oc < d.OC; ++oc) {
          double acc = bias ? bias[oc] : 0.0;
          for (int kh = 0; kh < d.KH; ++kh) {
            const int ih = oh * d.SH - d.PT + kh * d.DH;
            if (ih < 0 || ih >= d.H) continue;
            for (int kw = 0; kw < d.KW; ++kw) {
              const int iw = ow * d.SW - d.PL + kw * d.DW;
              if (iw < 0 || iw >= d.W) continue;
              const float* x = inp + (((int64_t)n * d.H + ih) * d.W + iw) * d.C;
              const float* w = weight + ((int64_t)kh * d.KW + kw) * d.C * d.OC + oc;
              for (int c = 0; c < d.C; ++c) acc += (double)x[c] * w[(int64_t)c * d.OC];
            }
          }
          o[oc] = (float)acc;
        }
        activation_row_inplace(o, d.OC, act, alpha);
      }
}

// Gathers every gradient (no scatter), so it shares no structure with the im2col path.
void conv2d_backward_naive(float* dinp, float* dweight, float* dbias, const float* dout,
                           const float* inp, const float* weight, const Conv2DDims& d) {
  auto dy = [&](int n, int oh, int ow, int oc) {
    return (double)dout[(((int64_t)n * d.OH + oh) * d.OW + ow) * d.OC + oc];
  };
  if (dbias)
    for (int oc = 0; oc < d.OC; ++oc) {
      double acc = 0.0;
      for (int n = 0; n < d.N; ++n)
        for (int oh = 0; oh < d.OH; ++oh)
          for (int ow = 0; ow < d.OW; ++ow) acc += dy(n, oh, ow, oc);
      dbias[oc] = (float)acc;
    }
  for (int kh = 0; kh < d.KH; ++kh)
    for (int kw = 0; kw < d.KW; ++kw)
      for (int c = 0; c < d.C; ++c)
        for (int oc = 0; oc < d.OC; ++oc) {
          double acc = 0.0;
          for (int n = 0; n < d.N; ++n)
            for (int oh = 0; oh < d.OH; ++oh) {
              const int ih = oh * d.SH - d.PT + kh * d.DH;
              if (ih < 0 || ih >= d.H) continue;
              for (int ow = 0; ow < d.OW; ++ow) {
                const int iw = ow * d.SW - d.PL + kw * d.DW;
                if (iw < 0 || iw >= d.W) continue;
                acc += inp[(((int64_t)n * d.H + ih) * d.W + iw) * d.C + c] * dy(n, oh, ow, oc);
              }
            }
          dweight[(((int64_t)kh * d.KW + kw) * d.C + c) * d.OC + oc] = (float)acc;
        }
  if (!dinp) return;
  for (int n = 0; n < d.N; ++n)
    for (int h = 0; h < d.H; ++h)
      for (int w = 0; w < d.W; ++w)
        for (int c = 0; c < d.C; ++c) {
          double acc = 0.0;
          for (int kh = 0; kh < d.KH; ++kh) {
            const int th = h + d.PT - kh * d.DH;  // = oh * SH
            if (th < 0 || th % d.SH) continue;
            const int oh = th / d.SH;
            if (oh >= d.OH) continue;
            for (int kw = 0; kw < d.KW; ++kw) {
              const int tw = w + d.PL - kw * d.DW;
              if (tw < 0 || tw % d.SW) continue;
              const int ow = tw / d.SW;
              if (ow >= d.OW) continue;
              const float* wr = weight + (((int64_t)kh * d.KW + kw) * d.C + c) * d.OC;
              for (int oc = 0; oc < d.OC; ++oc) acc += wr[oc] * dy(n, oh, ow, oc);
            }
          }
          dinp[(((int64_t)n * d.H + h) * d.W + w) * d.C + c] = (float)acc;
        }
}

}  // namespace cnn
