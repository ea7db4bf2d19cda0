// One small pool of std::threads shared by every kernel.
// Size: set_num_threads(n); default = CNN_NUM_THREADS env var if set, else hardware_concurrency().
#pragma once
#include <cstdint>
#include <functional>

namespace cnn {

void set_num_threads(int n);  // n >= 1
int get_num_threads();

// Runs fn(begin, end, worker) over [0, n) split into at most get_num_threads() contiguous chunks
// (never smaller than min_chunk items), and returns when all are done. worker is in
// [0, get_num_threads()) and distinct between concurrently running chunks, so callers may
// index per-thread scratch with it. The calling thread does a share of the work.
// Safe from several threads at once and re-entrant: when the pool is busy (another model training,
// or a nested call) the whole range runs serially on the calling thread as one chunk, worker = 0.
void parallel_for(int64_t n, int64_t min_chunk, const std::function<void(int64_t, int64_t, int)>& fn);

}  // namespace cnn
