// Pooling over NHWC activations.
#pragma once
#include <cstdint>
#include "common.h"

namespace cnn {

struct Pool2DDims {
  int N, H, W, C;  // input (N,H,W,C)
  int PH, PW;      // window
  int SH, SW;      // strides
  int PT, PL;      // top / left padding (padded pixels never win a max, never count in an average)
  int OH, OW;      // output (N,OH,OW,C)
};
Pool2DDims pool2d_dims(int N, int H, int W, int C, int PH, int PW, int SH, int SW, Padding pad);

// argmax (N,OH,OW,C): index of the winning input inside its sample, (h*W + w)*C + c.
// Ties go to the first element in row-major window order.
void maxpool2d_forward(float* out, int32_t* argmax, const float* inp, const Pool2DDims& d);
// dinp (N,H,W,C) overwritten: zero, then each dout scatter-added to its winner.
void maxpool2d_backward(float* dinp, const float* dout, const int32_t* argmax, const Pool2DDims& d);

// Averages over the real (unpadded) pixels of each window, as TF does.
void avgpool2d_forward(float* out, const float* inp, const Pool2DDims& d);
void avgpool2d_backward(float* dinp, const float* dout, const Pool2DDims& d);  // dinp overwritten

// Global pooling: inp (N,HW,C) -> out (N,C); argmax (N,C) holds the winning pixel index in [0,HW).
void global_avgpool_forward(float* out, const float* inp, int N, int HW, int C);
void global_avgpool_backward(float* dinp, const float* dout, int N, int HW, int C);
void global_maxpool_forward(float* out, int32_t* argmax, const float* inp, int N, int HW, int C);
void global_maxpool_backward(float* dinp, const float* dout, const int32_t* argmax, int N, int HW, int C);

}  // namespace cnn
