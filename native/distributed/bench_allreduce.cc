// The reference for bench/distributed.js: the same Gloo allreduce (through gloo_group.h, no Node,
// no N-API, no worker threads) timed in plain C++ processes, so that the Node path's cost on top
// of Gloo shows. Debian ships no Gloo benchmark binary; this is the closest "Gloo's own" figure.
//
//   bench_allreduce <rank> <world> <store dir> <floats>[,<floats>...]
// Rank 0 prints one line per size: "<floats> <median ms>".
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string>
#include <vector>

#include "gloo_group.h"

int main(int argc, char** argv) {
  if (argc < 5) {
    std::fprintf(stderr, "usage: bench_allreduce <rank> <world> <store dir> <floats>[,<floats>...]\n");
    return 2;
  }
  const int rank = std::atoi(argv[1]), world = std::atoi(argv[2]);
  cnn::dist::StoreSpec store;
  store.kind = cnn::dist::StoreKind::File;
  store.path = argv[3];
  store.prefix = "bench";
  try {
    cnn::dist::Group g(rank, world, store, 60000);
    std::stringstream ss(argv[4]);
    std::string tok;
    while (std::getline(ss, tok, ',')) {
      const size_t n = std::stoul(tok);
      std::vector<float> a(n, 1.f);
      for (int i = 0; i < 3; ++i) g.allreduce(a.data(), n, cnn::dist::ReduceOp::Sum);
      std::vector<double> ms;
      const auto t0 = std::chrono::steady_clock::now();
      for (;;) {
        const auto s = std::chrono::steady_clock::now();
        g.allreduce(a.data(), n, cnn::dist::ReduceOp::Sum);
        ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - s).count());
        // rank 0 decides when to stop, so every rank runs the same number of collectives
        float stop = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() > 1.5 && ms.size() >= 5 ? 1.f : 0.f;
        g.broadcast(&stop, 1, 0);
        if (stop != 0.f) break;
      }
      std::sort(ms.begin(), ms.end());
      if (rank == 0) std::printf("%zu %.4f\n", n, ms[ms.size() / 2]);
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_allreduce rank %d: %s\n", rank, e.what());
    return 1;
  }
  return 0;
}
