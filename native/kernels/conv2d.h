// 2-D convolution, NHWC activations, HWIO kernels, by im2col + GEMM.
//   forward:  out[P, OC] = col[P, K] · W[K, OC] + b      (P = N*OH*OW, K = KH*KW*C)
//   backward: dW = colᵀ · dY,  db = column sums of dY,  dcol = dY · Wᵀ then col2im -> dX
#pragma once
#include <cstddef>
#include <cstdint>
#include "common.h"

namespace cnn {

struct Conv2DDims {
  int N, H, W, C;   // input (N,H,W,C)
  int KH, KW, OC;   // kernel (KH,KW,C,OC)
  int SH, SW;       // strides
  int DH, DW;       // dilation
  int PT, PL;       // top / left zero padding (bottom / right follow from OH / OW)
  int OH, OW;       // output (N,OH,OW,OC)
};

// Fills the output size and padding by TF's rule (same: out = ceil(in/stride), extra pad at end).
Conv2DDims conv2d_dims(int N, int H, int W, int C, int KH, int KW, int OC, int SH, int SW, int DH,
                       int DW, Padding pad);
// True for 1x1, stride 1, no padding: the input already is the col matrix, no im2col needed.
bool conv2d_is_pointwise(const Conv2DDims& d);
// Floats the caller must provide for col (and for dcol in backward); 0 when pointwise.
size_t conv2d_col_size(const Conv2DDims& d);

// col is (N*OH*OW, KH*KW*C), row order (n,oh,ow), column order (kh,kw,c): matches HWIO W rows.
void im2col(float* col, const float* inp, const Conv2DDims& d);
// dinp (N,H,W,C) is overwritten with the sum of the col entries that read each pixel.
void col2im(float* dinp, const float* col, const Conv2DDims& d);

// out (N,OH,OW,OC) = act(conv(inp, weight) + bias); col scratch (conv2d_col_size floats, kept for
// backward); inp (N,H,W,C); weight (KH,KW,C,OC); bias (OC) or nullptr. alpha: activation parameter.
void conv2d_forward(float* out, float* col, const float* inp, const float* weight, const float* bias,
                    const Conv2DDims& d, Act act, float alpha);
// dout (N,OH,OW,OC): gradient w.r.t. the conv output *before* activation (the caller applies
// activation_backward first). Overwrites dweight (KH,KW,C,OC), dbias (OC) if non-null, and dinp
// (N,H,W,C) if non-null (nullptr skips the input gradient, e.g. for the first layer).
// col: what forward left in it; dcol: scratch of conv2d_col_size floats.
void conv2d_backward(float* dinp, float* dweight, float* dbias, float* dcol, const float* dout,
                     const float* col, const float* inp, const float* weight, const Conv2DDims& d);

// Direct seven-loop references (no im2col), same contracts minus the scratch buffers.
void conv2d_forward_naive(float* out, const float* inp, const float* weight, const float* bias,
                          const Conv2DDims& d, Act act, float alpha);
void conv2d_backward_naive(float* dinp, float* dweight, float* dbias, const float* dout,
                           const float* inp, const float* weight, const Conv2DDims& d);

}  // namespace cnn
