// Dense layer with bf16 GEMMs (dense_bf16.h).
#include "dense_bf16.h"

#include <algorithm>
#include <vector>

#include "../activations.h"
#include "bf16.h"

namespace cnn {

namespace {

constexpr int64_t kRowBlock = 256;  // rows per float partial of a column sum

// sums (cols) = column sums of m (rows, cols): float partials per block of rows, added in double.
void column_sums(float* sums, const float* m, int64_t rows, int cols) {
  thread_local std::vector<float> part;
  thread_local std::vector<double> total;
  part.assign((size_t)cols, 0.f);
  total.assign((size_t)cols, 0.0);
  for (int64_t r0 = 0; r0 < rows; r0 += kRowBlock) {
    std::fill(part.begin(), part.end(), 0.f);
    const int64_t r1 = std::min(rows, r0 + kRowBlock);
    for (int64_t r = r0; r < r1; ++r) {
      const float* row = m + r * cols;
      for (int j = 0; j < cols; ++j) part[j] += row[j];
    }
    for (int j = 0; j < cols; ++j) total[j] += part[j];
  }
  for (int j = 0; j < cols; ++j) sums[j] = (float)total[j];
}

}  // namespace

void dense_forward_bf16(float* out, const float* inp, const float* weight, const float* bias, int N, int IN,
                        int UNITS, Act act, float alpha) {
  if (N <= 0 || UNITS <= 0) return;
  sbgemm(false, false, N, UNITS, IN, 1.f, inp, IN, weight, UNITS, 0.f, out, UNITS);
  if (bias)
    for (int64_t r = 0; r < N; ++r) {
      float* row = out + r * UNITS;
      for (int j = 0; j < UNITS; ++j) row[j] += bias[j];
    }
  if (act != Act::Linear) activation_forward(out, out, N, UNITS, act, alpha);
}

void dense_backward_bf16(float* dinp, float* dweight, float* dbias, const float* dout, const float* inp,
                         const float* weight, int N, int IN, int UNITS) {
  if (IN <= 0 || UNITS <= 0) return;
  sbgemm(true, false, IN, UNITS, N, 1.f, inp, IN, dout, UNITS, 0.f, dweight, UNITS);
  if (dbias) column_sums(dbias, dout, N, UNITS);
  if (dinp && N > 0) sbgemm(false, true, N, IN, UNITS, 1.f, dout, UNITS, weight, UNITS, 0.f, dinp, IN);
}

}  // namespace cnn
