// The padding family's node kinds: ZeroPadding2D (LayerSpec.pad = top, bottom, left, right).
#include <string>

#include "../../kernels/padding.h"
#include "node_kind.h"

namespace cnn {

namespace {

NodeShape zero_padding2d_shape(const LayerSpec& s) {
  NodeShape r;
  for (int k = 0; k < 4; ++k)
    if (s.pad[k] < 0) {
      r.error = "pad must be 4 non-negative sizes (top, bottom, left, right)";
      return r;
    }
  const int64_t oh = (int64_t)s.in[0] + s.pad[0] + s.pad[1], ow = (int64_t)s.in[1] + s.pad[2] + s.pad[3];
  if (oh * ow * s.in[2] > INT32_MAX) {
    r.error = "per-sample size too large";
    return r;
  }
  r.out[0] = (int)oh;
  r.out[1] = (int)ow;
  r.out[2] = s.in[2];
  return r;
}

void zero_padding2d_forward(const NodeCall& c) {
  const LayerSpec& s = c.s;
  pad2d_forward(c.out, c.in[0], c.n, s.in[0], s.in[1], s.in[2], s.pad[0], s.pad[1], s.pad[2], s.pad[3]);
}

void zero_padding2d_backward(const NodeCall& c) {
  const LayerSpec& s = c.s;
  if (c.din[0]) pad2d_backward(c.din[0], c.dout, c.n, s.in[0], s.in[1], s.in[2], s.pad[0], s.pad[1], s.pad[2], s.pad[3]);
}

}  // namespace

const NodeKind& zero_padding2d_node() {
  static const NodeKind k{LayerKind::ZeroPadding2D, "ZeroPadding2D", 1, zero_padding2d_shape, nullptr, false, false,
                          zero_padding2d_forward, zero_padding2d_backward};
  return k;
}

}  // namespace cnn
