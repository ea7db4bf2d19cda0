// The node-kind registry: every layer kind added from LayerKind 19 on is described in ONE place, a
// NodeKind descriptor, instead of a case in each engine switch. The graph engine
// (network_graph.cc: plan, buffers, forward, backward, shared-parameter sums, arena_bytes) and the
// validator (network_validate.cc) consult node_kind(kind) in their default branches; a spec holding
// any registry kind runs on the graph engine (also in chain form). The 19 classic kinds (0..18)
// keep their own switches and node_kind() returns nullptr for them.
//
// How to add a layer kind (e.g. the "foo" family):
//  1. native/kernels/foo.{h,cc}: pure forward/backward kernels (plus a naive reference beside any
//     optimised one); add foo.cc to native/sources.txt.
//  2. native/engine/nodes/foo.cc: the NodeKind (shape rule, params, saved floats, forward, backward)
//     and a `const NodeKind& foo_node()` accessor; list it in nodes/registry.cc; add the file to
//     native/sources.txt. New LayerSpec fields go into network.h (with comments) and are read by
//     name in native/binding/network_binding.cc (ReadLayer).
//  3. TS twin: lib/backend/js/foo.ts (kernels), lib/backend/js/nodes/foo.ts (the NodeKind, same
//     messages), listed in lib/backend/js/nodes/registry.ts; fields in lib/backend/types.ts
//     (LayerSpec) and read in lib/backend/js/network_spec.ts (readLayer).
//  4. Model side: lib/model/layers/<family>.ts (class, Keras config, ONNX), listed in its registry.
//
// Reserved LayerKind numbers (so parallel branches never collide):
//   19 ZeroPadding2D      20 Cropping2D        21 UpSampling2D      22 DepthwiseConv2D
//   23 Conv2DTranspose    24 LayerNorm         25 PReLU             26 Softmax (layer, any axis)
//   27 SpatialDropout2D   28 GaussianNoise     29 GaussianDropout
//   30 Rescaling 31 Resizing 32 CenterCrop 33 RandomFlip 34 RandomRotation 35 RandomZoom
//   36 RandomTranslation 37 RandomContrast 38 RandomCrop   (39: first free number)
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "../network.h"

namespace cnn {

// One parameter range a node reads: `size` floats at `offset` in the flat buffer (-1: absent, allowed
// only when optional). The validator checks it lies inside one var and that only the same field of
// the same kind shares it; the engine gives the call one pointer per entry, in this order.
struct NodeParam {
  int64_t offset;
  int64_t size;
  const char* field;  // the LayerSpec field name, for messages ("kernel", "alpha", ...)
  bool optional;
  bool stat = false;  // a non-trainable statistic (never gets a gradient)
};

// What the validator learns from a node's shape rule.
struct NodeShape {
  int out[3] = {0, 0, 0};        // the output shape (the spec's `out` must equal it)
  std::vector<NodeParam> params;  // the ranges the node reads
  std::string error;             // non-empty: the spec is refused with "layers[i] (Name): <error>"
};

// One forward or backward call over a batch of n samples. Sizes per sample come from s.in / s.out.
struct NodeCall {
  const LayerSpec& s;
  int n;
  const float* const* in;      // per input tensor, (n, in size)
  float* out;                  // forward: written (n, out size); backward: the forward output
  float* saved;                // (n, saved_floats) kept from forward(training) for backward
  const float* const* params;  // per NodeParam (nullptr where absent)
  float* const* dparams;       // backward: per NodeParam its gradient, overwritten (nullptr: not wanted)
  const float* dout;           // backward: (n, out size)
  float* const* din;           // backward: per input its gradient, overwritten (nullptr: not wanted)
  Rng* rng;                    // the network's RNG (noise / dropout kinds)
  bool training;
};

struct NodeKind {
  LayerKind kind;
  const char* name;  // as in messages: "ZeroPadding2D"
  int inputs;        // number of input tensors (1 for every kind so far)
  // Shape rule + field checks: from s.in and the kind's fields.
  NodeShape (*shape)(const LayerSpec& s);
  // Floats per sample backward needs saved from forward (masks, ...); nullptr: none.
  int64_t (*saved_floats)(const LayerSpec& s);
  bool back_reads_inputs;  // backward reads in[] (liveness: the inputs stay alive until then)
  bool back_reads_output;  // backward reads out
  void (*forward)(const NodeCall& c);
  void (*backward)(const NodeCall& c);
};

// The descriptor of a registry kind, nullptr for the classic kinds 0..18 and unknown numbers.
const NodeKind* node_kind(LayerKind k);

// The highest LayerKind number the spec readers accept (reserved ones fail in validation until
// registered).
constexpr int kMaxLayerKind = 38;

}  // namespace cnn
