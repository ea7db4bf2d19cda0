// The padding family's node kinds: ZeroPadding2D (LayerSpec.pad = top, bottom, left, right),
// Cropping2D (LayerSpec.crop, same order; its forward is the padding's backward and vice versa),
// UpSampling2D (LayerSpec.size, LayerSpec.interpolation).
#include <string>

#include "../../kernels/padding.h"
#include "../../kernels/upsampling.h"
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

NodeShape cropping2d_shape(const LayerSpec& s) {
  NodeShape r;
  for (int k = 0; k < 4; ++k)
    if (s.crop[k] < 0) {
      r.error = "crop must be 4 non-negative sizes (top, bottom, left, right)";
      return r;
    }
  const int64_t oh = (int64_t)s.in[0] - s.crop[0] - s.crop[1], ow = (int64_t)s.in[1] - s.crop[2] - s.crop[3];
  if (oh < 1 || ow < 1) {
    r.error = "crop removes the whole input " + std::to_string(s.in[0]) + "x" + std::to_string(s.in[1]);
    return r;
  }
  r.out[0] = (int)oh;
  r.out[1] = (int)ow;
  r.out[2] = s.in[2];
  return r;
}

void cropping2d_forward(const NodeCall& c) {
  const LayerSpec& s = c.s;
  pad2d_backward(c.out, c.in[0], c.n, s.out[0], s.out[1], s.in[2], s.crop[0], s.crop[1], s.crop[2], s.crop[3]);
}

void cropping2d_backward(const NodeCall& c) {
  const LayerSpec& s = c.s;
  if (c.din[0]) pad2d_forward(c.din[0], c.dout, c.n, s.out[0], s.out[1], s.in[2], s.crop[0], s.crop[1], s.crop[2], s.crop[3]);
}

NodeShape upsampling2d_shape(const LayerSpec& s) {
  NodeShape r;
  if (s.size[0] < 1 || s.size[1] < 1) {
    r.error = "size must be 2 positive factors";
    return r;
  }
  if (s.interpolation != 0 && s.interpolation != 1) {
    r.error = "interpolation must be 0 (nearest) or 1 (bilinear), received " + std::to_string(s.interpolation);
    return r;
  }
  const int64_t oh = (int64_t)s.in[0] * s.size[0], ow = (int64_t)s.in[1] * s.size[1];
  if (oh * ow * s.in[2] > INT32_MAX) {
    r.error = "per-sample size too large";
    return r;
  }
  r.out[0] = (int)oh;
  r.out[1] = (int)ow;
  r.out[2] = s.in[2];
  return r;
}

void upsampling2d_forward(const NodeCall& c) {
  const LayerSpec& s = c.s;
  upsample2d_forward(c.out, c.in[0], c.n, s.in[0], s.in[1], s.in[2], s.size[0], s.size[1], (Interp)s.interpolation);
}

void upsampling2d_backward(const NodeCall& c) {
  const LayerSpec& s = c.s;
  if (c.din[0])
    upsample2d_backward(c.din[0], c.dout, c.n, s.in[0], s.in[1], s.in[2], s.size[0], s.size[1], (Interp)s.interpolation);
}

}  // namespace

const NodeKind& cropping2d_node() {
  static const NodeKind k{LayerKind::Cropping2D, "Cropping2D", 1, cropping2d_shape, nullptr, false, false,
                          cropping2d_forward, cropping2d_backward};
  return k;
}

const NodeKind& upsampling2d_node() {
  static const NodeKind k{LayerKind::UpSampling2D, "UpSampling2D", 1, upsampling2d_shape, nullptr, false, false,
                          upsampling2d_forward, upsampling2d_backward};
  return k;
}

const NodeKind& zero_padding2d_node() {
  static const NodeKind k{LayerKind::ZeroPadding2D, "ZeroPadding2D", 1, zero_padding2d_shape, nullptr, false, false,
                          zero_padding2d_forward, zero_padding2d_backward};
  return k;
}

}  // namespace cnn
