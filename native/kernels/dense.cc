// Fully connected layer (see dense.h): one sgemm each way, bias and activation fused in one pass.
// conv2d.cc reuses both functions on the im2col matrix.
#include "dense.h"

#include <algorithm>
#include <vector>

#include "activations.h"
#include "gemm/sgemm.h"
#include "threadpool.h"

namespace cnn {

namespace {

constexpr int64_t kChunk = 1 << 15;     // floats per parallel chunk, at least
constexpr int64_t kBlockFloats = 4096;  // rows finished together while they sit in L1
constexpr int64_t kRowBlock = 256;      // rows per partial column sum

// out (rows, cols) = act(out + bias), bias (cols) or nullptr.
void bias_activation(float* out, const float* bias, int64_t rows, int cols, Act act, float alpha) {
  if (!bias && act == Act::Linear) return;
  const int64_t block = std::max<int64_t>(1, kBlockFloats / cols);
  parallel_for(rows, std::max<int64_t>(1, kChunk / cols), [&](int64_t r0, int64_t r1, int) {
    for (int64_t b0 = r0; b0 < r1; b0 += block) {
      const int64_t b1 = std::min(r1, b0 + block);
      float* blk = out + b0 * cols;
      if (act == Act::Relu && bias) {  // the common case in one pass
        for (int64_t r = b0; r < b1; ++r) {
          float* row = out + r * cols;
          for (int j = 0; j < cols; ++j) {
            const float v = row[j] + bias[j];
            row[j] = v > 0.f ? v : 0.f;
          }
        }
        continue;
      }
      if (bias)
        for (int64_t r = b0; r < b1; ++r) {
          float* row = out + r * cols;
          for (int j = 0; j < cols; ++j) row[j] += bias[j];
        }
      if (act == Act::Softmax)
        for (int64_t r = b0; r < b1; ++r) activation_row_inplace(out + r * cols, cols, act, alpha);
      else if (act != Act::Linear)
        activation_row_inplace(blk, (b1 - b0) * cols, act, alpha);  // element-wise: one run
    }
  });
}

// sums (cols) = column sums of m (rows, cols). Fixed row blocks summed in block order: the
// result does not depend on the thread count.
void column_sums(float* sums, const float* m, int64_t rows, int cols) {
  const int64_t nblocks = (rows + kRowBlock - 1) / kRowBlock;
  thread_local std::vector<float> partial;  // (nblocks, cols), grown, never shrunk
  if (partial.size() < (size_t)(nblocks * cols)) partial.resize((size_t)(nblocks * cols));
  float* part = partial.data();
  parallel_for(nblocks, std::max<int64_t>(1, kChunk / (kRowBlock * cols)),
               [&](int64_t b0, int64_t b1, int) {
                 for (int64_t b = b0; b < b1; ++b) {
                   float* acc = part + b * cols;
                   std::fill(acc, acc + cols, 0.f);
                   const int64_t r1 = std::min(rows, (b + 1) * kRowBlock);
                   for (int64_t r = b * kRowBlock; r < r1; ++r) {
                     const float* row = m + r * cols;
                     for (int j = 0; j < cols; ++j) acc[j] += row[j];
                   }
                 }
               });
  thread_local std::vector<double> total;  // (cols)
  total.assign((size_t)cols, 0.0);
  for (int64_t b = 0; b < nblocks; ++b)
    for (int j = 0; j < cols; ++j) total[j] += part[b * cols + j];
  for (int j = 0; j < cols; ++j) sums[j] = (float)total[j];
}

}  // namespace

// out (N,UNITS); inp (N,IN); weight (IN,UNITS); bias (UNITS) or nullptr.
void dense_forward(float* out, const float* inp, const float* weight, const float* bias, int N, int IN,
                   int UNITS, Act act, float alpha) {
  if (N <= 0 || UNITS <= 0) return;
  sgemm(false, false, N, UNITS, IN, 1.f, inp, IN, weight, UNITS, 0.f, out, UNITS);
  bias_activation(out, bias, N, UNITS, act, alpha);
}

// dinp (N,IN) or nullptr; dweight (IN,UNITS); dbias (UNITS) or nullptr; dout (N,UNITS);
// inp (N,IN); weight (IN,UNITS).
void dense_backward(float* dinp, float* dweight, float* dbias, const float* dout, const float* inp,
                    const float* weight, int N, int IN, int UNITS) {
  if (IN <= 0 || UNITS <= 0) return;
  sgemm(true, false, IN, UNITS, N, 1.f, inp, IN, dout, UNITS, 0.f, dweight, UNITS);
  if (dbias) column_sums(dbias, dout, N, UNITS);
  if (dinp && N > 0) sgemm(false, true, N, IN, UNITS, 1.f, dout, UNITS, weight, UNITS, 0.f, dinp, IN);
}

}  // namespace cnn
