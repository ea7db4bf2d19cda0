// PReLU (LayerKind 25): LayerSpec.kernel is the offset of alpha, LayerSpec.shared[3] marks the
// per-sample axes (H, W, C) alpha is shared over (size 1 there). Reads its input in backward.
#include "../../kernels/prelu.h"
#include "node_kind.h"

namespace cnn {

namespace {

void alpha_dims(const LayerSpec& s, int a[3]) {
  for (int k = 0; k < 3; ++k) a[k] = s.shared[k] ? 1 : s.in[k];
}

NodeShape prelu_shape(const LayerSpec& s) {
  NodeShape r;
  int a[3];
  alpha_dims(s, a);
  for (int k = 0; k < 3; ++k) r.out[k] = s.in[k];
  r.params.push_back(NodeParam{s.kernel, (int64_t)a[0] * a[1] * a[2], "kernel", false});
  return r;
}

void prelu_fwd(const NodeCall& c) {
  int a[3];
  alpha_dims(c.s, a);
  prelu_forward(c.out, c.in[0], c.params[0], c.n, c.s.in[0], c.s.in[1], c.s.in[2], a[0], a[1], a[2]);
}

void prelu_bwd(const NodeCall& c) {
  int a[3];
  alpha_dims(c.s, a);
  prelu_backward(c.din[0], c.dparams[0], c.dout, c.in[0], c.params[0], c.n, c.s.in[0], c.s.in[1], c.s.in[2], a[0], a[1],
                 a[2]);
}

}  // namespace

const NodeKind& prelu_node() {
  static const NodeKind k{LayerKind::PReLU, "PReLU", 1, prelu_shape, nullptr, true, false, prelu_fwd, prelu_bwd};
  return k;
}

}  // namespace cnn
