// Batch normalisation over channels (see batchnorm.h). inp is viewed as (rows, C), C contiguous.
// Column reductions run over fixed blocks of rows whose partial sums are added in block order, so
// the result is the same whatever the thread count; the inner loops run along C and vectorise.
#include "batchnorm.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "threadpool.h"

namespace cnn {

constexpr int64_t kRowBlock = 256;     // rows per partial sum
constexpr int64_t kParallelMin = 1 << 15;  // floats per parallel chunk, at least

// Column sums of K quantities: out (K, C) in double. row_fn(acc, r) adds row r of each quantity
// into acc (K, C), double so that a large common offset (inputs near 500) keeps its precision.
template <int K, class RowFn>
static void blocked_column_sums(double* out, int64_t rows, int C, RowFn row_fn) {
  const int64_t nblocks = (rows + kRowBlock - 1) / kRowBlock;
  std::vector<double> partial((size_t)(nblocks * K * C), 0.0);  // (nblocks, K, C)
  const int64_t min_chunk = std::max<int64_t>(1, kParallelMin / (kRowBlock * C));
  parallel_for(nblocks, min_chunk, [&](int64_t b0, int64_t b1, int) {
    for (int64_t b = b0; b < b1; ++b) {
      double* acc = partial.data() + b * K * C;
      const int64_t r1 = std::min(rows, (b + 1) * kRowBlock);
      for (int64_t r = b * kRowBlock; r < r1; ++r) row_fn(acc, r);
    }
  });
  for (int64_t i = 0; i < (int64_t)K * C; ++i) out[i] = 0.0;
  for (int64_t b = 0; b < nblocks; ++b)
    for (int64_t i = 0; i < (int64_t)K * C; ++i) out[i] += partial[b * K * C + i];
}

// Runs fn(r0, r1) over row ranges, in parallel when the tensor is big.
template <class Fn>
static void for_rows(int64_t rows, int C, Fn fn) {
  const int64_t min_chunk = std::max<int64_t>(1, kParallelMin / C);
  parallel_for(rows, min_chunk, [&](int64_t r0, int64_t r1, int) { fn(r0, r1); });
}

// out, xhat, inp (rows,C); mean, invstd, moving_mean, moving_var, gamma, beta (C).
// gamma / beta may be nullptr (scale 1 / offset 0: Keras' scale=false / center=false).
void batchnorm_forward_train(float* out, float* xhat, float* mean, float* invstd, float* moving_mean,
                             float* moving_var, const float* inp, const float* gamma, const float* beta,
                             int64_t rows, int C, float momentum, float eps) {
  if (rows <= 0 || C <= 0) return;
  std::vector<double> sums((size_t)C);  // (C)
  blocked_column_sums<1>(sums.data(), rows, C, [&](double* acc, int64_t r) {
    const float* x = inp + r * C;
    for (int c = 0; c < C; ++c) acc[c] += x[c];
  });
  for (int c = 0; c < C; ++c) mean[c] = (float)(sums[c] / rows);
  // two-pass variance: sum (x - mean)^2, biased
  blocked_column_sums<1>(sums.data(), rows, C, [&](double* acc, int64_t r) {
    const float* x = inp + r * C;
    for (int c = 0; c < C; ++c) {
      const float d = x[c] - mean[c];
      acc[c] += d * d;
    }
  });
  for (int c = 0; c < C; ++c) {
    const float var = (float)(sums[c] / rows);
    invstd[c] = 1.f / std::sqrt(var + eps);
    moving_mean[c] = moving_mean[c] * momentum + mean[c] * (1.f - momentum);
    moving_var[c] = moving_var[c] * momentum + var * (1.f - momentum);
  }
  for_rows(rows, C, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const float* x = inp + r * C;
      float* xh = xhat + r * C;
      float* y = out + r * C;
      for (int c = 0; c < C; ++c) {
        xh[c] = (x[c] - mean[c]) * invstd[c];
        y[c] = (gamma ? gamma[c] : 1.f) * xh[c] + (beta ? beta[c] : 0.f);
      }
    }
  });
}

// out, inp (rows,C); gamma, beta (nullable), moving_mean, moving_var (C).
void batchnorm_forward_infer(float* out, const float* inp, const float* gamma, const float* beta,
                             const float* moving_mean, const float* moving_var, int64_t rows, int C,
                             float eps) {
  if (rows <= 0 || C <= 0) return;
  std::vector<float> scale((size_t)C);  // (C) gamma / sqrt(var + eps)
  for (int c = 0; c < C; ++c) scale[c] = (gamma ? gamma[c] : 1.f) / std::sqrt(moving_var[c] + eps);
  const float* s = scale.data();
  for_rows(rows, C, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const float* x = inp + r * C;
      float* y = out + r * C;
      for (int c = 0; c < C; ++c) y[c] = (x[c] - moving_mean[c]) * s[c] + (beta ? beta[c] : 0.f);
    }
  });
}

// dinp, dout, xhat (rows,C); dgamma, dbeta, invstd, gamma (C). With S = sum over rows:
//   dbeta = S dout, dgamma = S dout*xhat,
//   dinp = gamma * invstd / rows * (rows * dout - dbeta - xhat * dgamma).
// dinp may alias dout. dgamma / dbeta / gamma may be nullptr.
void batchnorm_backward(float* dinp, float* dgamma, float* dbeta, const float* dout, const float* xhat,
                        const float* invstd, const float* gamma, int64_t rows, int C) {
  if (rows <= 0 || C <= 0) return;
  std::vector<double> sums((size_t)2 * C);  // (2,C): sum dout, sum dout*xhat
  blocked_column_sums<2>(sums.data(), rows, C, [&](double* acc, int64_t r) {
    const float* dy = dout + r * C;
    const float* xh = xhat + r * C;
    for (int c = 0; c < C; ++c) {
      acc[c] += dy[c];
      acc[C + c] += dy[c] * xh[c];
    }
  });
  std::vector<float> k((size_t)3 * C);  // (3,C): sum dout, sum dout*xhat, gamma*invstd/rows
  float* sdy = k.data();
  float* sdyx = k.data() + C;
  float* coef = k.data() + 2 * C;
  for (int c = 0; c < C; ++c) {
    sdy[c] = (float)sums[c];
    sdyx[c] = (float)sums[C + c];
    coef[c] = (gamma ? gamma[c] : 1.f) * invstd[c] / (float)rows;
    if (dbeta) dbeta[c] = sdy[c];
    if (dgamma) dgamma[c] = sdyx[c];
  }
  if (!dinp) return;
  const float n = (float)rows;
  for_rows(rows, C, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const float* dy = dout + r * C;
      const float* xh = xhat + r * C;
      float* dx = dinp + r * C;
      for (int c = 0; c < C; ++c) dx[c] = coef[c] * (n * dy[c] - sdy[c] - xh[c] * sdyx[c]);
    }
  });
}

}  // namespace cnn
