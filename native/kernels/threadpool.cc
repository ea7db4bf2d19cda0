// TEMPORARY: serial until the pool lands.
#include "threadpool.h"
namespace cnn {
static int g_threads = 1;
void set_num_threads(int n) { g_threads = n < 1 ? 1 : n; }
int get_num_threads() { return g_threads; }
void parallel_for(int64_t n, int64_t, const std::function<void(int64_t, int64_t, int)>& fn) { if (n > 0) fn(0, n, 0); }
}  // namespace cnn
