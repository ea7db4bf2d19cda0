// The graph engine (network.h, graph form): runs a spec the chain engine (network.cc) does not —
// several inputs and outputs, merge nodes, nodes reading any earlier tensor, shared parameters,
// weighted per-output losses. The TypeScript twin is lib/backend/js/network_graph.ts; both follow
// the same plan (graph_plan below, lib/backend/js/network_graph_plan.ts) and semantics:
// - Nodes run in spec order. Flatten and Reshape (and Dropout at inference) are views.
// - Total loss = sum_k weight_k * loss_k (sw applies to every output). A Softmax output node with
//   (sparse) categorical CE on probabilities, whose output no other node reads, takes the fused
//   (p - y) gradient.
// - Backward runs for the nodes on a path from a trainable parameter to an output. The gradient of
//   a tensor read by several nodes is the sum of their contributions (the first overwrites, the
//   next go to a scratch buffer and are added, in reverse node order); a parameter range used by
//   several nodes gets the sum of their gradients (each shared node writes a private copy first).
// - Activations and gradients live in one arena per mode planned by liveness (see GraphPlan);
//   per-node buffers backward needs (argmax, dropout mask, BN xhat) are separate.
#pragma once
#include <cstdint>
#include <vector>

#include "network_impl.h"

namespace cnn {

// Where every buffer of one mode lives, in floats per sample (an arena for n samples places
// buffer b at n * off[b]).
struct ArenaPlan {
  int64_t floats = 0;
  std::vector<int64_t> off;       // per tensor id: its own forward buffer, -1 if none
  std::vector<int64_t> grad_off;  // per tensor id (gradient roots): its gradient, -1 if none
  int64_t scratch_off = -1;       // the gradient-sum scratch (max_act floats), -1 without backward
};

// Liveness. Time runs over forward node j (time j), the loss (time L), backward node j (2L - j).
// A tensor's buffer is taken when its node runs and given back after its last use: its last
// forward reader, or the backward of a node reading it there (a Conv2D / Dense / Multiply /
// Maximum / Minimum / Dot input, an activation's output); model outputs are kept. A gradient's
// buffer is taken at its first contribution and given back after its producer's backward.
// Offsets are first-fit.
struct GraphPlan {
  int nT = 0;
  std::vector<int64_t> size;              // floats per sample per tensor
  std::vector<std::vector<int>> readers;  // per tensor: the nodes reading it
  std::vector<int> storage_of;            // per tensor: the tensor owning its training buffer
  std::vector<int> grad_root;             // per tensor: the tensor holding its gradient
  std::vector<char> need_grad, run_back, shared;
  int64_t max_act = 0;
  ArenaPlan train, infer;
};

GraphPlan plan_graph(const Network::Impl& m);

struct GraphNodeBufs {
  std::vector<float> pre, mask, xhat, mean, invstd;
  std::vector<int32_t> argmax;
  std::vector<float> dw, db, dgamma, dbeta;  // shared nodes: private parameter gradients
  // registry kinds: the saved floats (n, saved_size); shared nodes: per NodeParam its private gradient
  std::vector<float> saved;
  std::vector<std::vector<float>> dnode;
};

struct Graph {
  Network::Impl& m;
  GraphPlan plan;
  int I = 0;
  std::vector<int64_t> in_sizes, out_sizes;
  std::vector<char> fused;  // per output
  std::vector<char> skip_act;  // per node: its output takes the fused softmax gradient
  // training
  int train_cap = 0;
  std::vector<float> arena;
  std::vector<GraphNodeBufs> nodes;
  std::vector<std::vector<float>> probs;  // per output (fromLogits CCE)
  // inference
  int infer_cap = 0;
  std::vector<float> iarena;
  std::vector<int32_t> iargmax;
  std::vector<std::vector<float>> eval_probs;
  std::vector<const float*> data;  // per tensor, of the last forward
  std::vector<char> written;       // per tensor, during backward
  int last_n = 0;

  explicit Graph(Network::Impl& impl);
  void ensure_train(int n);
  void ensure_infer(int n);
  int infer_chunk() const;
  void forward(const std::vector<const float*>& xs, int n, bool training);
  float loss(int k, float* dout, const float* out, const void* y, const float* sw, int n,
             std::vector<float>& scratch);
  float forward_backward(const std::vector<const float*>& xs, const std::vector<const void*>& ys, const float* sw,
                         int n);
  void predict(const std::vector<float*>& outs, const std::vector<const float*>& xs, int n);
  float evaluate(const std::vector<float*>& outs, const std::vector<const float*>& xs,
                 const std::vector<const void*>& ys, const float* sw, int n);
  void check_labels(const std::vector<const void*>& ys, int n) const;
  const float* output(int k) const;
  int64_t arena_bytes() const;
};

}  // namespace cnn
