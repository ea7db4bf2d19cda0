// Direct convolution for layers with few input channels (an image network's first layer: C = 1
// to 4), where im2col rows are runs of a few floats and packing them for the GEMM costs more than
// the multiply-adds. Each output pixel's window is read straight from the input through a table
// of tap offsets, and 8-lane groups of output channels are accumulated in registers.
// NHWC activations, HWIO weights (same layouts as conv2d.h). AVX2+FMA (the fused max pool forward
// and its weight gradient also in AVX-512, with the same bits): call the kernels only when
// conv2d_direct_applies(d); conv2d.h's im2col + GEMM path is the fallback and the reference.
#pragma once
#include <cstddef>
#include <cstdint>
#include "conv2d.h"
#include "pool2d.h"

namespace cnn {

// True when d suits the direct kernels (OC a multiple of 8, C * KW <= 16, KH*KW*C <= 256) and they
// can run: the CPU has AVX2+FMA and the active GEMM kernel is the AVX2 or the AVX-512 one (so
// that sgemm_set_kernel(Portable / Naive) also selects the portable path here).
bool conv2d_direct_applies(const Conv2DDims& d);

// The zero-padded copy of an input that the kernels read: every window inside, no padding left.
// Returns d for the padded input (H, W grown, PT = PL = 0, same OH / OW).
Conv2DDims conv2d_padded_dims(const Conv2DDims& d);
// True when d already has every window inside its input (no copy needed).
bool conv2d_needs_padding(const Conv2DDims& d);
// xpad (N, HP, WP, C) = inp (N,H,W,C) placed at (PT, PL) with zeros around; dims from
// conv2d_padded_dims(d).
void conv2d_pad_input(float* xpad, const float* inp, const Conv2DDims& d);

// out (N,OH,OW,OC) = conv(inp, weight) + bias, then max(., 0) when relu. inp (N,H,W,C) with every
// window inside (d.PT = d.PL = 0; see conv2d_pad_input); weight (KH,KW,C,OC); bias (OC) or nullptr.
void conv2d_direct_forward(float* out, const float* inp, const float* weight, const float* bias,
                           const Conv2DDims& d, bool relu);
// The same convolution with a max pool over its output fused in: each pool window's pixels are
// computed in registers, activated (relu or none) and reduced to their max; the convolution output
// is never stored. out, argmax (N,POH,POW,OC) exactly as maxpool2d_forward on the activated output
// (argmax (h*OW + w)*OC + c within the sample, ties to the first pixel in row-major order).
// pd: the pool over the conv output (pd.H = d.OH, pd.W = d.OW, pd.C = d.OC, pd.N = d.N).
void conv2d_direct_forward_maxpool(float* out, int32_t* argmax, const float* inp, const float* weight,
                                   const float* bias, const Conv2DDims& d, bool relu, const Pool2DDims& pd);
// dout (N,OH,OW,OC) = the max pool's input gradient: dpool (N,POH,POW,OC) placed at argmax, zeros
// elsewhere (maxpool2d_backward), for pools whose windows tile the input without overlap or padding
// (pd.SH == pd.PH, pd.SW == pd.PW, PT = PL = 0); conv2d_unpool_applies says so.
bool conv2d_unpool_applies(const Pool2DDims& pd);
void conv2d_unpool(float* dout, const float* dpool, const int32_t* argmax, const Pool2DDims& pd);

// The weight gradient straight from a fused 2x2 / stride 2 max pool's gradient: dpool, argmax
// (N,POH,POW,OC) as conv2d_direct_forward_maxpool left them (dpool already through the activation's
// derivative); the same result as conv2d_unpool then conv2d_direct_dweight, without writing the
// conv-size gradient. Applies when conv2d_direct_applies(d) and every pool window is 2x2 inside.
bool conv2d_direct_dweight_pooled_applies(const Conv2DDims& d, const Pool2DDims& pd);
void conv2d_direct_dweight_pooled(float* dweight, const float* inp, const float* dpool, const int32_t* argmax,
                                  const Conv2DDims& d, const Pool2DDims& pd, bool accumulate);

// dweight (KH,KW,C,OC) = (accumulate ? dweight : 0) + sum over output pixels of window ⊗ dout row.
// inp as for forward; dout (N,OH,OW,OC) the gradient before the activation.
void conv2d_direct_dweight(float* dweight, const float* inp, const float* dout, const Conv2DDims& d,
                           bool accumulate);

}  // namespace cnn
