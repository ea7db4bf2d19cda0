// Conv kernel micro-benchmark: one tile of the engine's conv layers (native/engine/conv_tiles.cc),
// im2col + SGEMM against the direct kernels (native/kernels/conv2d_direct.h), best of --reps calls
// on one thread, GFLOPS. Built and run by bench/conv/run.sh against the kernel sources directly.
//
//   conv_bench [--reps N] [--shape N,H,W,C,K,OC,pad]...   (pad: valid | same)
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "../../native/kernels/conv2d.h"
#include "../../native/kernels/conv2d_direct.h"
#include "../../native/kernels/dense.h"
#include "../../native/kernels/gemm/sgemm.h"
#include "../../native/kernels/pool2d.h"
#include "../../native/kernels/threadpool.h"

namespace {

struct Shape {
  int N, H, W, C, K, OC;
  cnn::Padding pad;
};

double best_ms(int reps, const std::function<void()>& f) {
  f();
  double best = 1e30;
  for (int r = 0; r < reps; ++r) {
    auto t0 = std::chrono::steady_clock::now();
    f();
    best = std::min(best, std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  return best;
}

std::vector<float> rnd(size_t n, unsigned seed) {
  std::mt19937 g(seed);
  std::uniform_real_distribution<float> u(-1.f, 1.f);
  std::vector<float> v(n);
  for (float& x : v) x = u(g);
  return v;
}

}  // namespace

int main(int argc, char** argv) {
  int reps = 30;
  std::vector<Shape> shapes;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--reps" && i + 1 < argc) reps = std::atoi(argv[++i]);
    else if (a == "--shape" && i + 1 < argc) {
      Shape s{};
      char pad[16] = {0};
      if (std::sscanf(argv[++i], "%d,%d,%d,%d,%d,%d,%15s", &s.N, &s.H, &s.W, &s.C, &s.K, &s.OC, pad) != 7) return 2;
      s.pad = std::strcmp(pad, "same") == 0 ? cnn::Padding::Same : cnn::Padding::Valid;
      shapes.push_back(s);
    }
  }
  if (shapes.empty())  // the engine's tiles of the seed net and of the 2-conv net
    shapes = {{1, 28, 28, 1, 3, 32, cnn::Padding::Valid}, {1, 28, 28, 1, 5, 32, cnn::Padding::Same},
              {1, 14, 14, 32, 5, 64, cnn::Padding::Same}, {4, 14, 14, 32, 5, 64, cnn::Padding::Same}};
  cnn::set_num_threads(1);
  std::printf("%-28s %10s %10s %10s %10s %10s %10s\n", "tile (N,H,W,C,K,OC,pad)", "fwd gemm", "fwd direct", "+pool sep",
              "+pool fused", "dW gemm", "dW direct");
  for (const Shape& s : shapes) {
    cnn::Conv2DDims d = cnn::conv2d_dims(s.N, s.H, s.W, s.C, s.K, s.K, s.OC, 1, 1, 1, 1, s.pad);
    const int P = d.N * d.OH * d.OW, K = d.KH * d.KW * d.C;
    const double flops = 2.0 * P * K * d.OC;
    auto x = rnd((size_t)d.N * d.H * d.W * d.C, 1), w = rnd((size_t)K * d.OC, 2), b = rnd(d.OC, 3);
    auto dy = rnd((size_t)P * d.OC, 4);
    std::vector<float> col((size_t)P * K), out((size_t)P * d.OC), dw((size_t)K * d.OC);
    const cnn::Conv2DDims dp = cnn::conv2d_padded_dims(d);
    std::vector<float> xpad((size_t)d.N * dp.H * dp.W * d.C);
    const bool pad = cnn::conv2d_needs_padding(d);
    cnn::Conv2DDims dd = pad ? dp : d;
    const float* xd = pad ? xpad.data() : x.data();
    const double fg = best_ms(reps, [&] {
      cnn::im2col(col.data(), x.data(), d);
      cnn::dense_forward(out.data(), col.data(), w.data(), b.data(), P, K, d.OC, cnn::Act::Relu, 0.f);
    });
    const bool direct = cnn::conv2d_direct_applies(d);
    const double fd = !direct ? 0 : best_ms(reps, [&] {
      if (pad) cnn::conv2d_pad_input(xpad.data(), x.data(), d);
      cnn::conv2d_direct_forward(out.data(), xd, w.data(), b.data(), dd, true);
    });
    // forward + 2x2 max pool: separate pool pass vs fused in registers
    const cnn::Pool2DDims pd = cnn::pool2d_dims(d.N, d.OH, d.OW, d.OC, 2, 2, 2, 2, cnn::Padding::Valid);
    std::vector<float> pooled((size_t)pd.N * pd.OH * pd.OW * pd.C);
    std::vector<int32_t> am(pooled.size());
    const double ps = !direct ? 0 : best_ms(reps, [&] {
      if (pad) cnn::conv2d_pad_input(xpad.data(), x.data(), d);
      cnn::conv2d_direct_forward(out.data(), xd, w.data(), b.data(), dd, true);
      cnn::maxpool2d_forward(pooled.data(), am.data(), out.data(), pd);
    });
    const double pf = !direct ? 0 : best_ms(reps, [&] {
      if (pad) cnn::conv2d_pad_input(xpad.data(), x.data(), d);
      cnn::conv2d_direct_forward_maxpool(pooled.data(), am.data(), xd, w.data(), b.data(), dd, true, pd);
    });
    const double wg = best_ms(reps, [&] {
      cnn::im2col(col.data(), x.data(), d);
      cnn::sgemm(true, false, K, d.OC, P, 1.f, col.data(), K, dy.data(), d.OC, 0.f, dw.data(), d.OC);
    });
    const double wd = !direct ? 0 : best_ms(reps, [&] {
      if (pad) cnn::conv2d_pad_input(xpad.data(), x.data(), d);
      cnn::conv2d_direct_dweight(dw.data(), xd, dy.data(), dd, false);
    });
    char name[64];
    std::snprintf(name, sizeof name, "%d,%d,%d,%d,%d,%d,%s", s.N, s.H, s.W, s.C, s.K, s.OC, pad ? "same" : "valid");
    auto gf = [&](double ms) { return ms > 0 ? flops / ms / 1e6 : 0.0; };
    std::printf("%-28s %6.1f GF/s %6.1f GF/s %6.1f GF/s %6.1f GF/s %6.1f GF/s %6.1f GF/s\n", name, gf(fg), gf(fd), gf(ps), gf(pf),
                gf(wg), gf(wd));
  }
  return 0;
}
