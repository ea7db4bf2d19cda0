// A process group over Gloo: rendezvous through a store, then collectives on float buffers.
// Knows nothing of Node; native/distributed/gloo_binding.cc wraps it. One collective at a time:
// the group serialises its calls with a mutex (Gloo's context is not safe for concurrent
// collectives). Every failure throws GroupError, whose message names the op and this rank.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>

namespace cnn::dist {

struct GroupError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

enum class StoreKind { File, Redis };

struct StoreSpec {
  StoreKind kind = StoreKind::File;
  std::string path;    // File: a directory shared by all ranks (one machine or a shared fs)
  std::string host;    // Redis
  int port = 6379;     // Redis
  std::string prefix;  // keys of this run (File and Redis)
};

enum class ReduceOp { Sum, Average, Max, Min };

class Group {
 public:
  // Blocks until all world_size ranks have met in the store (or timeout_ms passes).
  Group(int rank, int world_size, const StoreSpec& store, int64_t timeout_ms);
  ~Group();
  Group(const Group&) = delete;
  Group& operator=(const Group&) = delete;

  int rank() const { return rank_; }
  int world_size() const { return world_size_; }

  // data is (n) floats, reduced in place over all ranks.
  void allreduce(float* data, size_t n, ReduceOp op);
  // data is (n) floats; rank root's values overwrite every other rank's.
  void broadcast(float* data, size_t n, int root);
  void barrier();
  // After a failed collective the group cannot be used again (peers are out of step).
  bool broken() const { return broken_; }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  int rank_, world_size_;
  int64_t timeout_ms_;
  bool broken_ = false;
  uint32_t tag_ = 0;
  std::mutex mu_;
  std::string where(const char* op) const;
  template <class F> void run(const char* op, F&& f);
};

}  // namespace cnn::dist
