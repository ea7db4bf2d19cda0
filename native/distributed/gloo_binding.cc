// N-API binding of cnn_gloo.node: validates and converts, then runs each collective in an
// AsyncWorker (Gloo blocks until every rank arrives). One Group per process; lib/distributed/
// checks the arguments first with precise messages, these checks are the backstop.
#include <napi.h>

#include <functional>
#include <memory>
#include <string>

#include "gloo_group.h"

namespace {

using cnn::dist::Group;
using cnn::dist::GroupError;
using cnn::dist::ReduceOp;
using cnn::dist::StoreKind;
using cnn::dist::StoreSpec;

// The process's group: created by init, dropped by destroy. Owned by shared_ptr so a worker in
// flight keeps it alive even if destroy() runs meanwhile.
std::shared_ptr<Group> g_group;
bool g_pending_init = false;
int g_in_flight = 0;  // async collectives queued and not yet settled (main thread only)

Napi::Error Err(Napi::Env env, const std::string& fn, const std::string& msg) {
  return Napi::TypeError::New(env, "cnn_gloo." + fn + ": " + msg);
}

std::shared_ptr<Group> Need(Napi::Env env, const char* fn) {
  if (!g_group) throw Err(env, fn, "not initialised (call init first)");
  return g_group;
}

// Runs `work` on a worker thread; resolves with undefined, rejects with GroupError's message.
class Worker : public Napi::AsyncWorker {
 public:
  using Work = std::function<void()>;
  Worker(Napi::Env env, Work work, Napi::Value keep, std::function<void()> done = nullptr)
      : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)), work_(std::move(work)),
        done_(std::move(done)) {
    if (!keep.IsUndefined()) keep_ = Napi::Persistent(keep.As<Napi::Object>());
  }
  Napi::Promise Promise() { return deferred_.Promise(); }
  void Start() {
    ++g_in_flight;
    Queue();
  }
  void Execute() override {
    try {
      work_();
    } catch (const std::exception& e) {
      SetError(e.what());
    }
  }
  void OnOK() override {
    --g_in_flight;
    if (done_) done_();
    deferred_.Resolve(Env().Undefined());
  }
  void OnError(const Napi::Error& e) override {
    --g_in_flight;
    if (done_) done_();
    deferred_.Reject(Napi::Error::New(Env(), e.Message()).Value());
  }

 private:
  Napi::Promise::Deferred deferred_;
  Work work_;
  std::function<void()> done_;
  Napi::ObjectReference keep_;  // the buffer being reduced, alive until the worker ends
};

std::string Str(Napi::Object o, const char* key, const char* fn) {
  Napi::Value v = o.Get(key);
  if (!v.IsString()) throw Err(o.Env(), fn, std::string("store.") + key + " must be a string");
  return v.As<Napi::String>().Utf8Value();
}

// init(rank, worldSize, store, timeoutMs) -> Promise<void>
Napi::Value Init(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* fn = "init";
  if (g_group || g_pending_init) throw Err(env, fn, "already initialised (call destroy first)");
  if (info.Length() < 4 || !info[0].IsNumber() || !info[1].IsNumber() || !info[2].IsObject() || !info[3].IsNumber())
    throw Err(env, fn, "expected (rank, worldSize, store, timeoutMs)");
  const int rank = info[0].As<Napi::Number>().Int32Value();
  const int world = info[1].As<Napi::Number>().Int32Value();
  const int64_t timeout = info[3].As<Napi::Number>().Int64Value();
  Napi::Object s = info[2].As<Napi::Object>();
  StoreSpec spec;
  const std::string kind = Str(s, "kind", fn);
  if (kind == "file") {
    spec.kind = StoreKind::File;
    spec.path = Str(s, "path", fn);
  } else if (kind == "redis") {
    spec.kind = StoreKind::Redis;
    spec.host = Str(s, "host", fn);
    if (!s.Get("port").IsNumber()) throw Err(env, fn, "store.port must be a number");
    spec.port = s.Get("port").As<Napi::Number>().Int32Value();
  } else {
    throw Err(env, fn, "store.kind must be 'file' or 'redis'");
  }
  if (s.Has("prefix") && !s.Get("prefix").IsUndefined()) spec.prefix = Str(s, "prefix", fn);
  auto out = std::make_shared<std::shared_ptr<Group>>();
  g_pending_init = true;
  auto* w = new Worker(
      env, [=] { *out = std::make_shared<Group>(rank, world, spec, timeout); }, env.Undefined(),
      [out] {
        g_pending_init = false;
        if (*out) g_group = *out;
      });
  w->Start();
  return w->Promise();
}

ReduceOp Op(Napi::Env env, Napi::Value v) {
  const std::string s = v.IsString() ? v.As<Napi::String>().Utf8Value() : "";
  if (s == "sum") return ReduceOp::Sum;
  if (s == "average") return ReduceOp::Average;
  if (s == "max") return ReduceOp::Max;
  if (s == "min") return ReduceOp::Min;
  throw Err(env, "allreduce", "op must be 'sum', 'average', 'max' or 'min'");
}

Napi::Float32Array F32(const Napi::CallbackInfo& info, const char* fn) {
  if (info.Length() < 1 || !info[0].IsTypedArray() ||
      info[0].As<Napi::TypedArray>().TypedArrayType() != napi_float32_array)
    throw Err(info.Env(), fn, "data must be a Float32Array");
  return info[0].As<Napi::Float32Array>();
}

// allreduce(data: Float32Array, op) -> Promise<void>, in place
Napi::Value Allreduce(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto g = Need(env, "allreduce");
  Napi::Float32Array a = F32(info, "allreduce");
  const ReduceOp op = Op(env, info.Length() > 1 ? info[1] : env.Undefined());
  float* p = a.Data();
  const size_t n = a.ElementLength();
  auto* w = new Worker(env, [g, p, n, op] { g->allreduce(p, n, op); }, a);
  w->Start();
  return w->Promise();
}

// allreduceSync(data: Float32Array, op) -> undefined, in place, on the calling thread: for the
// synchronous APIs (evaluate), which block the event loop anyway. Refused while an async collective
// is in flight, so the order of collectives stays the order of the calls on every rank.
Napi::Value AllreduceSync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto g = Need(env, "allreduceSync");
  Napi::Float32Array a = F32(info, "allreduceSync");
  const ReduceOp op = Op(env, info.Length() > 1 ? info[1] : env.Undefined());
  if (g_in_flight > 0) throw Err(env, "allreduceSync", "an asynchronous collective is still in flight; await it first");
  try {
    g->allreduce(a.Data(), a.ElementLength(), op);
  } catch (const std::exception& e) {
    throw Napi::Error::New(env, e.what());
  }
  return env.Undefined();
}

// broadcast(data: Float32Array, root) -> Promise<void>, in place
Napi::Value Broadcast(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto g = Need(env, "broadcast");
  Napi::Float32Array a = F32(info, "broadcast");
  const int root = info.Length() > 1 && info[1].IsNumber() ? info[1].As<Napi::Number>().Int32Value() : 0;
  float* p = a.Data();
  const size_t n = a.ElementLength();
  auto* w = new Worker(env, [g, p, n, root] { g->broadcast(p, n, root); }, a);
  w->Start();
  return w->Promise();
}

Napi::Value Barrier(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto g = Need(env, "barrier");
  auto* w = new Worker(env, [g] { g->barrier(); }, env.Undefined());
  w->Start();
  return w->Promise();
}

// destroy(): drops the group (its sockets close when the last collective in flight ends).
Napi::Value Destroy(const Napi::CallbackInfo& info) {
  g_group.reset();
  return info.Env().Undefined();
}

Napi::Object Register(Napi::Env env, Napi::Object exports) {
  exports.Set("init", Napi::Function::New(env, Init, "init"));
  exports.Set("allreduce", Napi::Function::New(env, Allreduce, "allreduce"));
  exports.Set("allreduceSync", Napi::Function::New(env, AllreduceSync, "allreduceSync"));
  exports.Set("broadcast", Napi::Function::New(env, Broadcast, "broadcast"));
  exports.Set("barrier", Napi::Function::New(env, Barrier, "barrier"));
  exports.Set("destroy", Napi::Function::New(env, Destroy, "destroy"));
  return exports;
}

}  // namespace

NODE_API_MODULE(cnn_gloo, Register)
