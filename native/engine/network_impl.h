// Internals of the compiled network (network.h), shared by network.cc (arena, forward, backward,
// update) and network_validate.cc (spec checks, derived layer facts). Not part of the contract.
#pragma once
#include <array>
#include <memory>
#include <vector>

#include "../kernels/conv2d.h"
#include "../kernels/pool2d.h"
#include "conv_tiles.h"
#include "network.h"
#include "nodes/node_kind.h"

namespace cnn {

// Static facts about one layer, derived from its spec once.
struct LayerInfo {
  LayerSpec s;
  int64_t in_size = 0, out_size = 0;  // floats per sample
  int64_t pixels = 1;                 // in[0] * in[1]: rows per sample for Dense / BN / Activation
  Conv2DDims conv{};                  // N = 1; the batch sets N
  Pool2DDims pool{};                  // N = 1
  bool keep_pre = false;              // Conv2D / Dense whose activation backward needs its input
  bool trainable = false;             // owns a parameter range inside a trainable variable
  bool is_view = false;               // Flatten: output aliases input; Dropout at inference too
  ConvPlan plan{};                    // Conv2D: tiling, and whether the next layer's pool is fused in
  bool fused = false;                 // MaxPool2D run inside the Conv2D before it (no work of its own)
  // Registry kinds (nodes/node_kind.h): the descriptor, the ranges its shape rule listed, and the
  // floats per sample kept for backward. node == nullptr for the classic kinds.
  const NodeKind* node = nullptr;
  std::vector<NodeParam> node_params;
  int64_t saved_size = 0;
};

// Per-layer training buffers, each sized for `cap` samples.
struct LayerBuffers {
  std::vector<float> out;     // (cap, out_size), unless the layer is a view or a conv with its pool fused
  std::vector<float> pre;     // (cap, out_size) pre-activation, when keep_pre
  std::vector<int32_t> argmax;  // (cap, out_size) max pools
  std::vector<float> mask;    // (cap, in_size) dropout
  std::vector<float> xhat;    // (cap, in_size) batch norm
  std::vector<float> mean, invstd;  // (C) batch norm
  std::vector<float> xq, wq;  // emulated bf16 Dense (no AVX512-BF16): its rounded input (cap, in_size), kernel
};

struct Graph;  // network_graph.h: the graph engine, when the spec is not a plain chain
void graph_delete(Graph* g);
struct GraphDeleter {
  void operator()(Graph* g) const { graph_delete(g); }
};

struct Network::Impl {
  NetworkSpec spec;
  // Graph facts (filled for both forms by validate): model input shapes, per tensor id its shape,
  // output tensor ids and their losses; chain: the chain engine runs this spec.
  bool chain = true;
  std::vector<std::array<int, 3>> input_shapes;
  std::vector<std::array<int, 3>> tensor_shapes;
  std::vector<int> output_ids;
  std::vector<OutputLoss> out_losses;
  std::vector<float> losses;  // per output, of the last call
  std::unique_ptr<Graph, GraphDeleter> graph;
  float* params;  // (param_count) caller-owned
  float* slots;   // (slot_count) caller-owned
  std::vector<LayerInfo> layers;
  std::vector<int64_t> slot_base;  // per var, -1 for non-trainable
  int64_t param_count = 0, slot_count = 0;
  int64_t in_size = 0, out_size = 0;
  int64_t max_act = 0;       // max floats per sample of any layer input / output that is stored
  int first_trainable = -1;  // backward stops at this layer (no layer below needs gradients)
  bool fused_softmax = false;  // last act is softmax, loss is (sparse) CCE on probabilities
  Rng rng{};

  // training arena
  int train_cap = 0;
  std::vector<LayerBuffers> bufs;
  std::vector<const float*> inputs;  // per layer, the input of the last training forward
  std::vector<float*> outputs;       // per layer, its output (a view's is its input)
  std::vector<float> grad_a, grad_b;  // (cap, max_act) ping-pong activation gradients
  std::vector<ConvScratch> conv_scratch;  // per thread: one conv tile (training and inference)
  ConvPartials conv_partial;          // per-slice weight / bias gradient sums of conv backward
  std::vector<float> probs;           // (cap, out_size) softmax of logits (fromLogits CCE)
  std::vector<float> grads;           // (param_count)
  int last_n = 0;

  // inference arena
  int infer_cap = 0;
  std::vector<float> act_a, act_b;    // (cap, max_act)
  std::vector<int32_t> iargmax;       // (cap, max_act)
  std::vector<float> eval_probs;      // (n, out_size) for fromLogits CCE in evaluate

  void validate();
  int64_t arena_bytes() const;  // the chain engine's arenas
  void plan_convs();
  void ensure_train(int n);
  void ensure_infer(int n);
  int infer_chunk() const;
  void check_batch(int n) const;
  void check_labels(const void* y, int n) const;
  float loss(float* dout, const float* out, const void* y, const float* sw, int n, std::vector<float>& scratch);
  const float* forward_train(const float* x, int n);
  void backward(int n);
  const float* forward_infer(const float* x, int n);
  void update(float lr, int64_t t);
  float* P(int64_t off) const { return off >= 0 ? params + off : nullptr; }
};

}  // namespace cnn
