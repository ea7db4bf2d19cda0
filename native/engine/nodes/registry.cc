// The registration list of node kinds (node_kind.h): one line per kind.
#include "node_kind.h"

namespace cnn {

const NodeKind& zero_padding2d_node();  // nodes/padding.cc
const NodeKind& cropping2d_node();      // nodes/padding.cc
const NodeKind& upsampling2d_node();    // nodes/padding.cc
const NodeKind& prelu_node();           // nodes/prelu.cc

const NodeKind* node_kind(LayerKind k) {
  static const NodeKind* const all[] = {
      &zero_padding2d_node(),
      &cropping2d_node(),
      &upsampling2d_node(),
      &prelu_node(),
  };
  for (const NodeKind* d : all)
    if (d->kind == k) return d;
  return nullptr;
}

}  // namespace cnn
