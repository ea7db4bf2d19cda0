// The shared thread pool: one std::thread per extra worker, each with its own job slot.
//
// parallel_for takes the pool with a try-lock (busy_), posts the job to as many workers as there
// are chunks beyond the first, and starts claiming chunks itself from the job's counter; so does
// every worker that picks the job up. When the caller runs out of chunks it takes back the posts
// no worker has picked up yet and waits only for chunks already running: a worker the OS has not
// scheduled in time (the machine is busy) costs nothing but its share of the parallelism.
// A second thread (another Node worker, or a nested call from inside a chunk) that finds the pool
// busy runs its whole range serially instead of waiting, so nothing can deadlock.
// Idle workers spin for a few tens of microseconds (kernels come in quick succession), then sleep
// on their slot's condition variable. The pool is created on first use and never destroyed: at
// process exit the sleeping workers simply end with the process, so exit cannot hang on a join.
#include "threadpool.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <exception>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define CNN_CPU_RELAX() _mm_pause()
#elif defined(__aarch64__)
#define CNN_CPU_RELAX() __asm__ __volatile__("yield")
#else
#define CNN_CPU_RELAX() ((void)0)
#endif

namespace cnn {
namespace {

using ChunkFn = std::function<void(int64_t, int64_t, int)>;
constexpr auto kSpin = std::chrono::microseconds(50);  // how long an idle thread spins before sleeping

// One parallel_for call; lives on the caller's stack until every chunk has finished.
struct Job {
  const ChunkFn* fn;
  int64_t n;
  int chunks;
  std::atomic<int> next{0};  // the next chunk to claim
  std::atomic<int> pending;  // workers holding the job (picked up and not finished)
  std::mutex err_mu;
  std::exception_ptr err;

  // Claims and runs chunks until none are left; w is the calling thread's worker id.
  void run(int w) noexcept {
    for (int c; (c = next.fetch_add(1, std::memory_order_relaxed)) < chunks;) {
      const int64_t b = n * c / chunks, e = n * (c + 1) / chunks;
      try {
        (*fn)(b, e, w);
      } catch (...) {
        std::lock_guard<std::mutex> lk(err_mu);
        if (!err) err = std::current_exception();
      }
    }
  }
};

// Spins until pred() or the spin budget is used up; returns pred().
template <class Pred>
bool spin_until(Pred pred) {
  auto start = std::chrono::steady_clock::now();
  for (int i = 1;; ++i) {
    if (pred()) return true;
    CNN_CPU_RELAX();
    if ((i & 63) == 0 && std::chrono::steady_clock::now() - start > kSpin) return pred();
  }
}

int default_threads() {
  if (const char* s = std::getenv("CNN_NUM_THREADS")) {
    char* end = nullptr;
    long v = std::strtol(s, &end, 10);
    if (end != s && v >= 1) return (int)std::min<long>(v, 1024);
  }
  unsigned h = std::thread::hardware_concurrency();
  return h ? (int)std::min<unsigned>(h, 1024) : 1;
}

class Pool {
 public:
  int size() const { return desired_.load(std::memory_order_relaxed); }
  void resize(int n) { desired_.store(std::max(1, std::min(n, 1024)), std::memory_order_relaxed); }

  void parallel_for(int64_t n, int64_t min_chunk, const ChunkFn& fn) {
    if (n <= 0) return;
    min_chunk = std::max<int64_t>(1, min_chunk);
    const int64_t want = std::min<int64_t>(size(), n / min_chunk);
    bool expected = false;
    if (want <= 1 || !busy_.compare_exchange_strong(expected, true, std::memory_order_acquire)) {
      fn(0, n, 0);  // too small, or the pool is busy (another thread, or a nested call)
      return;
    }
    struct Release {
      std::atomic<bool>& b;
      ~Release() { b.store(false, std::memory_order_release); }
    } release{busy_};

    apply_size();
    Job job;
    job.fn = &fn;
    job.n = n;
    job.chunks = (int)std::min<int64_t>(want, (int64_t)workers_.size() + 1);
    const int helpers = job.chunks - 1;
    job.pending.store(helpers, std::memory_order_relaxed);
    for (int w = 0; w < helpers; ++w) workers_[w]->post(&job);
    job.run(0);
    for (int w = 0; w < helpers; ++w) {  // take back the posts nobody picked up
      Job* expected = &job;
      if (workers_[w]->job.compare_exchange_strong(expected, nullptr, std::memory_order_acq_rel))
        job.pending.fetch_sub(1, std::memory_order_relaxed);
    }
    wait_done(job);
    if (job.err) std::rethrow_exception(job.err);
  }

 private:
  struct alignas(64) Worker {
    std::mutex mu;
    std::condition_variable cv;
    std::atomic<Job*> job{nullptr};
    bool stop = false;  // guarded by mu
    std::thread thread;

    void post(Job* j) {
      {
        std::lock_guard<std::mutex> lk(mu);
        job.store(j, std::memory_order_release);
      }
      cv.notify_one();
    }
  };

  // Only called with busy_ held, so no job is in flight and every worker is idle.
  void apply_size() {
    const size_t want = (size_t)size() - 1;
    while (workers_.size() > want) {
      std::unique_ptr<Worker> w = std::move(workers_.back());
      workers_.pop_back();
      {
        std::lock_guard<std::mutex> lk(w->mu);
        w->stop = true;
      }
      w->cv.notify_one();
      w->thread.join();
    }
    while (workers_.size() < want) {
      workers_.push_back(std::make_unique<Worker>());
      Worker* w = workers_.back().get();
      const int id = (int)workers_.size();  // worker ids 1.., the caller is 0
      w->thread = std::thread([this, w, id] { worker_loop(w, id); });
    }
  }

  void worker_loop(Worker* w, int id) {
    for (;;) {
      auto posted = [&] { return w->job.load(std::memory_order_acquire) != nullptr; };
      if (!spin_until(posted)) {
        std::unique_lock<std::mutex> lk(w->mu);
        w->cv.wait(lk, [&] { return w->stop || posted(); });
        if (w->stop) return;
      }
      Job* j = w->job.exchange(nullptr, std::memory_order_acq_rel);
      if (!j) continue;  // the caller took it back: it had already run every chunk
      j->run(id);
      // After this decrement the caller may return and destroy *j: touch only pool state.
      if (j->pending.fetch_sub(1, std::memory_order_acq_rel) == 1) {
        { std::lock_guard<std::mutex> lk(done_mu_); }
        done_cv_.notify_one();
      }
    }
  }

  void wait_done(Job& job) {
    auto done = [&] { return job.pending.load(std::memory_order_acquire) == 0; };
    if (spin_until(done)) return;
    std::unique_lock<std::mutex> lk(done_mu_);
    done_cv_.wait(lk, done);
  }

  std::atomic<int> desired_{default_threads()};
  std::atomic<bool> busy_{false};
  std::vector<std::unique_ptr<Worker>> workers_;  // touched only with busy_ held
  std::mutex done_mu_;
  std::condition_variable done_cv_;
};

Pool& pool() {
  static Pool* p = new Pool();  // never destroyed, see the top of the file
  return *p;
}

}  // namespace

void set_num_threads(int n) { pool().resize(n); }
int get_num_threads() { return pool().size(); }

void parallel_for(int64_t n, int64_t min_chunk, const std::function<void(int64_t, int64_t, int)>& fn) {
  pool().parallel_for(n, min_chunk, fn);
}

}  // namespace cnn
