// Gloo process group: store + TCP device + full-mesh context, and the three collectives the
// data-parallel step needs. Gloo throws gloo::Exception (std::runtime_error) on I/O errors and
// timeouts; run() turns every one into a GroupError naming the op and the rank.
#include "gloo_group.h"

#include <gloo/allreduce.h>
#include <gloo/barrier.h>
#include <gloo/broadcast.h>
#include <gloo/math.h>
#include <gloo/rendezvous/context.h>
#include <gloo/rendezvous/file_store.h>
#include <gloo/rendezvous/prefix_store.h>
#include <gloo/rendezvous/redis_store.h>
#include <gloo/transport/tcp/device.h>

#include <chrono>

namespace cnn::dist {

struct Group::Impl {
  std::unique_ptr<gloo::rendezvous::Store> store;
  std::unique_ptr<gloo::rendezvous::PrefixStore> prefixed;
  std::shared_ptr<gloo::transport::Device> device;
  std::shared_ptr<gloo::rendezvous::Context> context;
};

std::string Group::where(const char* op) const {
  return std::string(op) + " (rank " + std::to_string(rank_) + " of " + std::to_string(world_size_) + ")";
}

template <class F> void Group::run(const char* op, F&& f) {
  std::lock_guard<std::mutex> lock(mu_);
  if (broken_) throw GroupError(where(op) + ": the group failed earlier and cannot be used; call destroy()");
  try {
    f();
  } catch (const std::exception& e) {
    broken_ = true;
    throw GroupError(where(op) + " failed: " + e.what());
  }
}

Group::Group(int rank, int world_size, const StoreSpec& spec, int64_t timeout_ms)
    : impl_(new Impl), rank_(rank), world_size_(world_size), timeout_ms_(timeout_ms) {
  if (world_size < 1) throw GroupError("init: worldSize must be >= 1");
  if (rank < 0 || rank >= world_size) throw GroupError("init: rank must be in [0, worldSize)");
  if (timeout_ms <= 0) throw GroupError("init: timeoutMs must be positive");
  run("init", [&] {
    if (spec.kind == StoreKind::File) {
      impl_->store.reset(new gloo::rendezvous::FileStore(spec.path));
    } else {
      impl_->store.reset(new gloo::rendezvous::RedisStore(spec.host, spec.port));
    }
    impl_->prefixed.reset(new gloo::rendezvous::PrefixStore(spec.prefix, *impl_->store));
    gloo::transport::tcp::attr attr;
    attr.hostname = spec.kind == StoreKind::File ? "127.0.0.1" : "";
    impl_->device = gloo::transport::tcp::CreateDevice(attr);
    impl_->context = std::make_shared<gloo::rendezvous::Context>(rank, world_size);
    impl_->context->setTimeout(std::chrono::milliseconds(timeout_ms));
    impl_->context->connectFullMesh(*impl_->prefixed, impl_->device);
  });
}

Group::~Group() = default;

namespace {
void max_f32(void* c, const void* a, const void* b, size_t n) {
  float* o = static_cast<float*>(c);
  const float* x = static_cast<const float*>(a);
  const float* y = static_cast<const float*>(b);
  for (size_t i = 0; i < n; ++i) o[i] = x[i] > y[i] ? x[i] : y[i];
}
void min_f32(void* c, const void* a, const void* b, size_t n) {
  float* o = static_cast<float*>(c);
  const float* x = static_cast<const float*>(a);
  const float* y = static_cast<const float*>(b);
  for (size_t i = 0; i < n; ++i) o[i] = x[i] < y[i] ? x[i] : y[i];
}
void sum_f32(void* c, const void* a, const void* b, size_t n) {
  float* o = static_cast<float*>(c);
  const float* x = static_cast<const float*>(a);
  const float* y = static_cast<const float*>(b);
  for (size_t i = 0; i < n; ++i) o[i] = x[i] + y[i];
}
}  // namespace

void Group::allreduce(float* data, size_t n, ReduceOp op) {
  if (n == 0) return;
  run("allreduce", [&] {
    gloo::AllreduceOptions o(impl_->context);
    o.setOutput(data, n);
    switch (op) {
      case ReduceOp::Sum:
      case ReduceOp::Average: o.setReduceFunction(&sum_f32); break;
      case ReduceOp::Max: o.setReduceFunction(&max_f32); break;
      case ReduceOp::Min: o.setReduceFunction(&min_f32); break;
    }
    o.setTag(tag_++);
    o.setTimeout(std::chrono::milliseconds(timeout_ms_));
    gloo::allreduce(o);
  });
  if (op == ReduceOp::Average && world_size_ > 1) {
    const float inv = 1.0f / (float)world_size_;
    for (size_t i = 0; i < n; ++i) data[i] *= inv;
  }
}

void Group::broadcast(float* data, size_t n, int root) {
  if (root < 0 || root >= world_size_) throw GroupError(where("broadcast") + ": root must be in [0, worldSize)");
  if (n == 0) return;
  run("broadcast", [&] {
    gloo::BroadcastOptions o(impl_->context);
    o.setOutput(data, n);
    o.setRoot(root);
    o.setTag(tag_++);
    o.setTimeout(std::chrono::milliseconds(timeout_ms_));
    gloo::broadcast(o);
  });
}

void Group::barrier() {
  run("barrier", [&] {
    gloo::BarrierOptions o(impl_->context);
    o.setTag(tag_++);
    o.setTimeout(std::chrono::milliseconds(timeout_ms_));
    gloo::barrier(o);
  });
}

}  // namespace cnn::dist
