// A compiled network: one call runs a whole training step (forward, loss, backward, optimizer
// update) with no allocation after the first batch of a given size and no JS involved.
// The TypeScript twin is lib/backend/js/network.ts; both follow this contract exactly.
//
// Two forms of spec. The chain form (no graph fields): node i reads node i-1, node 0 the single
// input, the last node is the single output. The graph form: model inputs (tensor ids 0..I-1),
// nodes reading any earlier tensors by id (node j's output is id I + j), merge nodes, several
// outputs with weighted losses, shared parameters (the same range on several nodes: gradients
// summed). A graph-form spec that is a plain chain runs exactly as the chain form (chain engine,
// network.cc, with its fused fast paths); any other runs on the graph engine (network_graph.cc).
#pragma once
#include <cstdint>
#include <array>
#include <memory>
#include <vector>
#include "../kernels/common.h"
#include "../kernels/loss.h"

namespace cnn {

enum class LayerKind : int32_t {
  Conv2D = 0, Dense = 1, MaxPool2D = 2, AvgPool2D = 3, GlobalAvgPool2D = 4, GlobalMaxPool2D = 5,
  Flatten = 6, Dropout = 7, BatchNorm = 8, Activation = 9,
  // graph nodes: elementwise merges of 2+ same-shaped tensors (Subtract: exactly 2), Concatenate on
  // one per-sample axis, Dot of two (1, 1, F) vectors -> (1, 1, 1), Reshape (a view)
  Add = 10, Subtract = 11, Multiply = 12, Average = 13, Maximum = 14, Minimum = 15, Concatenate = 16,
  Dot = 17, Reshape = 18,
  // registry kinds (engine/nodes/node_kind.h: one descriptor per kind; the numbers are reserved there)
  ZeroPadding2D = 19, Cropping2D = 20, UpSampling2D = 21, DepthwiseConv2D = 22, Conv2DTranspose = 23,
  LayerNorm = 24, PReLU = 25, Softmax = 26, SpatialDropout2D = 27, GaussianNoise = 28, GaussianDropout = 29,
  Rescaling = 30, Resizing = 31, CenterCrop = 32, RandomFlip = 33, RandomRotation = 34, RandomZoom = 35,
  RandomTranslation = 36, RandomContrast = 37, RandomCrop = 38,
};

// The dtype a layer computes in (its Keras dtype policy's compute dtype). BFloat16 (mixed_bfloat16):
// the Conv2D / Dense GEMMs read bf16-rounded operands (input activations, kernel, and in backward
// the output gradient, rounded in place after the activation's derivative) and accumulate in fp32;
// bias, activation and everything else stay fp32, as do activations in memory, parameters,
// gradients, loss and optimizer state. Other layer kinds ignore it.
enum class ComputeDtype : int32_t { Float32 = 0, BFloat16 = 1 };

// Per-sample shapes are (H, W, C); a vector of F features is (1, 1, F).
// Dense acts on the last axis: rows = N*H*W, IN = C (Keras semantics); after Flatten H = W = 1.
struct LayerSpec {
  LayerKind kind;
  int in[3];
  int out[3];
  int kh = 1, kw = 1, sh = 1, sw = 1, dh = 1, dw = 1;  // conv / pool window, strides, dilation
  Padding padding = Padding::Valid;
  int filters = 0;   // Conv2D OC
  int units = 0;     // Dense UNITS
  Act act = Act::Linear;  // fused into Conv2D / Dense output; the op of an Activation layer
  float alpha = 0.f;      // activation parameter (leakyRelu slope, elu alpha)
  float rate = 0.f;       // Dropout
  float momentum = 0.99f, eps = 1e-3f;  // BatchNorm
  ComputeDtype dtype = ComputeDtype::Float32;  // Conv2D / Dense GEMMs
  // Offsets (in floats) into the flat parameter buffer, -1 when absent.
  int64_t kernel = -1, bias = -1, gamma = -1, beta = -1, movingMean = -1, movingVar = -1;
  // Graph form: the tensor ids read (empty: the previous tensor); merges give all input shapes in
  // ins (empty: not checked).
  std::vector<int> inputs;
  std::vector<std::array<int, 3>> ins;
  int axis = 2;            // Concatenate: 0 = H, 1 = W, 2 = C
  bool normalize = false;  // Dot: of the L2-normalised vectors
  // Registry kinds' fields (engine/nodes/): read by name by the binding.
  int pad[4] = {0, 0, 0, 0};   // ZeroPadding2D: rows added at the top, bottom, columns at the left, right
  int crop[4] = {0, 0, 0, 0};  // Cropping2D: rows removed at the top, bottom, columns at the left, right
  int size[2] = {1, 1};        // UpSampling2D: row and column factors
  int interpolation = 0;       // UpSampling2D: 0 nearest, 1 bilinear (kernels/upsampling.h)
  int shared[3] = {0, 0, 0};   // PReLU: 1 where alpha is shared over that per-sample axis (H, W, C)
};

// The loss of one model output (graph form). Total loss = sum over outputs of weight * loss.
struct OutputLoss {
  Loss loss = Loss::CategoricalCrossentropy;
  bool fromLogits = false;
  float labelSmoothing = 0.f;
  float weight = 1.f;
};

enum class OptimizerKind : int32_t { Sgd = 0, Momentum = 1, Adam = 2, AdamW = 3, RMSprop = 4, Adagrad = 5 };

struct OptimizerSpec {
  OptimizerKind kind = OptimizerKind::Adam;
  float beta1 = 0.9f, beta2 = 0.999f, eps = 1e-7f;  // Adam / AdamW; eps also RMSprop / Adagrad
  float momentum = 0.f;                              // Momentum / RMSprop
  bool nesterov = false;
  float rho = 0.9f;                                  // RMSprop
  bool centered = false;
  float weightDecay = 0.f;                           // AdamW
  float clipNorm = 0.f, clipValue = 0.f;             // 0 = off; per variable, before the update
};

// A parameter tensor inside the flat buffer. Non-trainable ones (BN moving stats, frozen layers)
// get no gradient and no update.
struct Variable {
  int64_t offset, size;
  bool trainable;
};

struct NetworkSpec {
  std::vector<LayerSpec> layers;
  std::vector<Variable> vars;
  Loss loss = Loss::CategoricalCrossentropy;
  bool fromLogits = false;
  float labelSmoothing = 0.f;
  OptimizerSpec opt;
  uint32_t seed = 0;  // dropout RNG
  // Graph form (all empty: the chain form). inputs: per-sample shapes of the model inputs;
  // outputs: tensor ids of the model outputs (each once, never a model input); outputLosses: one
  // per output (empty: loss / fromLogits / labelSmoothing above for each, weight 1).
  std::vector<std::array<int, 3>> inputs;
  std::vector<int> outputs;
  std::vector<OutputLoss> outputLosses;
  bool graph = false;  // set by the reader when any graph field was given (a layer's inputs / ins too)
  bool hasInputs = false, hasOutputs = false, hasOutputLosses = false;  // given (possibly empty)
};

// Optimizer slots, per trainable variable, laid out in `slots` (caller-owned) in vars order:
// Sgd 0, Momentum 1 (v), Adam/AdamW 2 (m, v), RMSprop 3 (ms, mom, mg), Adagrad 1 (acc).
// For each trainable variable, its k-th slot starts at slots + slotBase(var) + k * size.
int optimizer_slot_count(OptimizerKind k);

class Network {
 public:
  // params (total floats covering every var) and slots (sum over trainable vars of size *
  // optimizer_slot_count) are owned by the caller and must outlive the network. Throws
  // std::invalid_argument on an inconsistent spec.
  Network(NetworkSpec spec, float* params, float* slots);
  ~Network();

  // Forward (training mode), loss, backward into grads(). No update. Returns the batch loss.
  // x (n, in); y: (n, D) floats, or (n) int32 class indices for the sparse loss; sw (n) or nullptr.
  float forward_backward(const float* x, const void* y, const float* sw, int n);
  // forward_backward, then the optimizer update with learning rate lr and step t (1-based).
  float train_step(const float* x, const void* y, const float* sw, int n, float lr, int64_t t);
  // The optimizer update (clipping included) from a given flat gradient g (param_count floats,
  // e.g. the average over data-parallel ranks of forward_backward's grads()), with learning rate
  // lr and step t (1-based): what train_step does after its forward_backward. g's non-trainable
  // ranges are ignored. grads() holds g afterwards (clipped).
  void apply_gradients(const float* g, float lr, int64_t t);
  // Inference-mode forward (dropout off, BN moving statistics) into out (n, outSize).
  void predict(float* out, const float* x, int n);
  // Inference-mode forward into out, and the loss against y (no gradients).
  float evaluate(float* out, const float* x, const void* y, const float* sw, int n);

  const float* output() const;  // (n, outSize) of the last forward_backward / train_step
  const float* grads() const;   // flat, same layout as params; trainable ranges only meaningful
  int64_t out_size() const;     // floats per sample of the final output
  int64_t in_size() const;      // floats per sample of the input
  int64_t param_count() const;  // floats in params
  int64_t slot_count() const;   // floats in slots

  // Several inputs and outputs: xs one pointer per model input, ys one label array per output
  // (int32 class ids for a sparse output), outs one buffer per output. Returns the total loss.
  float forward_backward(const std::vector<const float*>& xs, const std::vector<const void*>& ys, const float* sw,
                         int n);
  float train_step(const std::vector<const float*>& xs, const std::vector<const void*>& ys, const float* sw, int n,
                   float lr, int64_t t);
  void predict(const std::vector<float*>& outs, const std::vector<const float*>& xs, int n);
  float evaluate(const std::vector<float*>& outs, const std::vector<const float*>& xs,
                 const std::vector<const void*>& ys, const float* sw, int n);
  int num_inputs() const;
  int num_outputs() const;
  int64_t in_size(int k) const;
  int64_t out_size(int k) const;
  bool sparse_output(int k) const;  // output k takes int32 class ids
  const float* output(int k) const;  // output k of the last forward_backward / train_step
  // Per-output (unweighted) losses of the last forward_backward / train_step / evaluate.
  const std::vector<float>& losses() const;
  // Bytes of the training and inference arenas allocated so far.
  int64_t arena_bytes() const;

  struct Impl;  // internal: network_impl.h (shared by the chain and graph engines)

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace cnn
