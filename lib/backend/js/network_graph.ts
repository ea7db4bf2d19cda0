// The graph engine of the TypeScript backend: the twin of native/engine/network_graph.cc. It runs
// any spec the chain engine (network.ts) does not: several inputs and outputs, merge nodes, nodes
// reading any earlier tensor, shared parameters, weighted per-output losses.
//
// Semantics (shared with the C++ graph engine):
// - Nodes run in spec order. Tensor ids 0..I-1 are the model inputs, I + j node j's output.
//   Flatten and Reshape (and Dropout at inference) are views of their input.
// - Total loss = sum_k weight_k * loss_k over the outputs (sw applies to every output); getLosses
//   gives the loss_k. A Softmax output node with (sparse) categorical CE on probabilities whose
//   output no other node reads takes the fused (p - y) gradient, as in the chain engine.
// - Backward runs for the nodes on a path from a trainable parameter to an output. The gradient
//   of a tensor read by several nodes is the sum of their contributions (the first overwrites,
//   the next are written into a scratch buffer and added, in reverse node order); a parameter
//   range used by several nodes (a shared layer) gets the sum of their gradients.
// - Activations and gradients live in one arena planned by liveness (graph_plan.ts): a tensor's
//   buffer is reused once its last reader ran (forward) and its last backward use is over; a
//   gradient's once its producer's backward ran. Inference runs in its own, smaller arena.
import { Act, ComputeDtype, Conv2DDims, Inputs, LabelSet, Labels, LayerKind, LossKind, Network, Outputs, Pool2DDims } from '../types';
import { activationApply, activationGrad, activationNeedsInput, softmaxRowsInto } from './activations';
import { bf16RoundInto, bf16Rounded } from './bf16';
import { batchnormBackwardUnchecked, batchnormInferUnchecked, batchnormTrainUnchecked } from './batchnorm';
import { conv2dBackwardUnchecked, conv2dColSize, conv2dDims, conv2dForwardUnchecked } from './conv2d';
import { denseBackwardUnchecked, denseForwardUnchecked } from './dense';
import { dropoutForwardUnchecked } from './dropout';
import {
  binaryCrossentropy, categoricalCrossentropy, meanAbsoluteError, meanSquaredError,
  softmaxCrossentropy, sparseCategoricalCrossentropy, sparseSoftmaxCrossentropy,
} from './loss';
import {
  concatBackward, concatForward, dotBackward, dotForward, isElementwiseMerge, mergeBackward, mergeForward,
} from './merge';
import { GraphPlan, planGraph } from './network_graph_plan';
import { TrainVar, applyUpdate, argF32, argI32, argInt, checkParamsSlots } from './network_common';
import { CheckedSpec, LayerInfo } from './network_spec';
import { optimizerSlotCount } from './optim';
import {
  avgPool2dBackward, avgPool2dForward, globalAvgPoolBackward, globalAvgPoolForward,
  globalMaxPoolBackward, globalMaxPoolForward, maxPool2dBackward, maxPool2dForward, pool2dDims,
} from './pool2d';
import { rngSeed } from './rng';

const INT_MAX = 2147483647;
const MAX_SAFE = 2 ** 53;

/** A node's parameter views; gradients go to private buffers when the node shares its ranges. */
interface NodeParams {
  W: Float32Array | null; b: Float32Array | null; dW: Float32Array | null; db: Float32Array | null;
  gamma: Float32Array; beta: Float32Array; dgamma: Float32Array; dbeta: Float32Array;
  movingMean: Float32Array | null; movingVar: Float32Array | null;
  /** [private gradient, its place in grads] pairs to add after backward (shared nodes). */
  adds: [Float32Array, Float32Array][];
  /** Registry kinds: per NodeParam its view and its gradient (private when shared; null: none). */
  node: (Float32Array | null)[];
  dnode: (Float32Array | null)[];
}

/** Per-node training buffers (kept for backward), sized for cap samples. */
interface NodeBufs {
  pre: Float32Array | null; col: Float32Array | null; argmax: Int32Array | null;
  xhat: Float32Array | null; mean: Float32Array | null; invstd: Float32Array | null; mask: Float32Array | null;
  /** Registry kinds: (cap, savedSize) kept for backward. */
  saved: Float32Array | null;
}

interface TrainArena {
  cap: number; arena: Float32Array; nodes: NodeBufs[];
  probs: (Float32Array | null)[]; dcol: Float32Array | null;
}

interface InferArena { cap: number; arena: Float32Array; col: Float32Array | null; argmax: Int32Array }

interface GBatch { xs: Float32Array[]; ys: Labels[]; sw: Float32Array | null; n: number }

const isCategorical = (l: LossKind): boolean =>
  l === LossKind.CategoricalCrossentropy || l === LossKind.SparseCategoricalCrossentropy;

class JsGraphNetwork implements Network {
  readonly inSizes: number[];
  readonly outSizes: number[];
  readonly inSize: number;
  readonly outSize: number;
  readonly paramCount: number;
  readonly slotCount: number;

  private readonly s: CheckedSpec;
  private readonly g: GraphPlan;
  private readonly I: number;
  private readonly params: Float32Array;
  private readonly slots: Float32Array;
  private readonly np: NodeParams[];
  private readonly trainVars: TrainVar[];
  private readonly grads: Float32Array;
  /** Per output: fused softmax + CE. */
  private readonly fused: boolean[];
  private readonly rng = new Uint32Array(4);
  private train: TrainArena | null = null;
  private infer: InferArena | null = null;
  private evalProbs: (Float32Array | null)[] = [];
  private readonly losses: Float32Array;
  /** Per tensor: its data in the last forward (training or inference). */
  private data: Float32Array[] = [];
  private lastN = 0;
  private busy = false;
  private disposed = false;

  constructor(s: CheckedSpec, params: Float32Array, slots: Float32Array) {
    checkParamsSlots(s.paramCount, s.slotCount, params, slots);
    this.s = s;
    this.g = planGraph(s);
    this.I = s.inputShapes.length;
    this.params = params;
    this.slots = slots;
    this.inSizes = s.inputShapes.map((sh) => sh[0] * sh[1] * sh[2]);
    this.outSizes = s.outputs.map((id) => this.g.size[id]);
    this.inSize = this.inSizes[0];
    this.outSize = this.outSizes[0];
    this.paramCount = s.paramCount;
    this.slotCount = s.slotCount;
    this.grads = new Float32Array(s.paramCount);
    this.losses = new Float32Array(s.outputs.length);
    this.fused = s.outputs.map((id, k) => {
      const ol = s.outputLosses[k], L = s.layers[id - this.I];
      const softmax = L.act === Act.Softmax &&
        (L.kind === LayerKind.Conv2D || L.kind === LayerKind.Dense || L.kind === LayerKind.Activation);
      return isCategorical(ol.loss) && !ol.fromLogits && softmax && this.g.readers[id].length === 0;
    });

    const per = optimizerSlotCount(s.opt.kind);
    this.trainVars = s.vars.filter((v) => v.trainable && v.size > 0).map((v) => ({
      size: v.size,
      w: params.subarray(v.offset, v.offset + v.size),
      g: this.grads.subarray(v.offset, v.offset + v.size),
      slots: Array.from({ length: per }, (_, k) =>
        slots.subarray(v.slotBase + k * v.size, v.slotBase + (k + 1) * v.size)),
    }));
    this.np = s.layers.map((L, j) => this.nodeParams(L, this.g.shared[j]));
    rngSeed(this.rng, s.seed);
  }

  private nodeParams(L: LayerInfo, shared: boolean): NodeParams {
    const C = L.in[2];
    const kSize = L.kind === LayerKind.Conv2D ? L.kh * L.kw * C * L.filters : C * L.units;
    const bSize = L.kind === LayerKind.Conv2D ? L.filters : L.units;
    const bn = L.kind === LayerKind.BatchNorm;
    const adds: [Float32Array, Float32Array][] = [];
    const view = (a: Float32Array, off: number, size: number): Float32Array | null =>
      off >= 0 ? a.subarray(off, off + size) : null;
    const gview = (off: number, size: number): Float32Array | null => {
      const dst = view(this.grads, off, size);
      if (dst === null || !shared) return dst;
      const own = new Float32Array(size);
      adds.push([own, dst]);
      return own;
    };
    const withParams = L.kind === LayerKind.Conv2D || L.kind === LayerKind.Dense;
    return {
      W: withParams ? view(this.params, L.kernel, kSize) : null, b: withParams ? view(this.params, L.bias, bSize) : null,
      dW: withParams ? gview(L.kernel, kSize) : null, db: withParams ? gview(L.bias, bSize) : null,
      gamma: (bn && view(this.params, L.gamma, C)) || new Float32Array(C).fill(1),
      beta: (bn && view(this.params, L.beta, C)) || new Float32Array(C),
      dgamma: (bn && gview(L.gamma, C)) || new Float32Array(C),
      dbeta: (bn && gview(L.beta, C)) || new Float32Array(C),
      movingMean: bn ? view(this.params, L.movingMean, C) : null,
      movingVar: bn ? view(this.params, L.movingVar, C) : null,
      adds,
      node: L.nodeParams.map((p) => view(this.params, p.offset, p.size)),
      dnode: L.nodeParams.map((p) => (p.stat ? null : gview(p.offset, p.size))),
    };
  }

  private convDims(L: LayerInfo, n: number): Conv2DDims {
    return conv2dDims(n, L.in[0], L.in[1], L.in[2], L.kh, L.kw, L.filters, L.sh, L.sw, L.dh, L.dw, L.padding);
  }

  private poolDims(L: LayerInfo, n: number): Pool2DDims {
    return pool2dDims(n, L.in[0], L.in[1], L.in[2], L.kh, L.kw, L.sh, L.sw, L.padding);
  }

  private gemmOperands(L: LayerInfo, x: Float32Array, n: number, W: Float32Array): [Float32Array, Float32Array] {
    if (L.dtype !== ComputeDtype.BFloat16) return [x, W];
    return [bf16Rounded(x.subarray(0, n * L.inSize)), bf16Rounded(W)];
  }

  // ---- arenas -------------------------------------------------------------------------------

  private trainArena(n: number): TrainArena {
    if (this.train !== null && this.train.cap >= n) return this.train;
    let maxCol = 0;
    const nodes = this.s.layers.map((L, j): NodeBufs => {
      const b: NodeBufs = {
        pre: null, col: null, argmax: null, xhat: null, mean: null, invstd: null, mask: null,
        saved: L.node !== undefined && L.savedSize > 0 ? new Float32Array(n * L.savedSize) : null,
      };
      const back = this.g.runBack[j];
      switch (L.kind) {
        case LayerKind.Conv2D: {
          const cs = conv2dColSize(this.convDims(L, n));
          if (cs > 0) b.col = new Float32Array(cs);
          if (back) maxCol = Math.max(maxCol, cs);
          if (activationNeedsInput(L.act)) b.pre = new Float32Array(n * L.outSize);
          break;
        }
        case LayerKind.Dense:
          if (activationNeedsInput(L.act)) b.pre = new Float32Array(n * L.outSize);
          break;
        case LayerKind.MaxPool2D:
        case LayerKind.GlobalMaxPool2D:
          b.argmax = new Int32Array(n * L.outSize);
          break;
        case LayerKind.Dropout:
          b.mask = new Float32Array(n * L.inSize);
          break;
        case LayerKind.BatchNorm:
          b.xhat = new Float32Array(n * L.inSize);
          b.mean = new Float32Array(L.in[2]);
          b.invstd = new Float32Array(L.in[2]);
          break;
        default:
          break;
      }
      return b;
    });
    this.train = {
      cap: n, arena: new Float32Array(n * this.g.train.floats), nodes,
      probs: this.s.outputs.map((id, k) => this.probsFor(k, n)),
      dcol: maxCol > 0 ? new Float32Array(maxCol) : null,
    };
    return this.train;
  }

  private probsFor(k: number, n: number): Float32Array | null {
    const ol = this.s.outputLosses[k];
    return ol.fromLogits && isCategorical(ol.loss) ? new Float32Array(n * this.outSizes[k]) : null;
  }

  private inferChunk(): number {
    let maxCol = 0, maxOut = 0;
    for (const L of this.s.layers) {
      maxOut = Math.max(maxOut, L.outSize);
      if (L.kind === LayerKind.Conv2D) maxCol = Math.max(maxCol, conv2dColSize(this.convDims(L, 1)));
    }
    const per = this.g.infer.floats + maxCol + maxOut;
    return Math.max(1, Math.min(256, Math.floor((16 << 20) / Math.max(per, 1))));
  }

  private inferArena(n: number): InferArena {
    if (this.infer !== null && this.infer.cap >= n) return this.infer;
    let maxCol = 0, maxOut = 0;
    for (const L of this.s.layers) {
      maxOut = Math.max(maxOut, L.outSize);
      if (L.kind === LayerKind.Conv2D) maxCol = Math.max(maxCol, conv2dColSize(this.convDims(L, n)));
    }
    this.infer = {
      cap: n, arena: new Float32Array(n * this.g.infer.floats), col: maxCol > 0 ? new Float32Array(maxCol) : null,
      argmax: new Int32Array(n * maxOut),
    };
    return this.infer;
  }

  /** The n-sample view of a planned buffer (offset and size per sample) in an arena of cap samples. */
  private static slot(arena: Float32Array, cap: number, off: number, size: number, n: number): Float32Array {
    return arena.subarray(off * cap, off * cap + n * size);
  }

  // ---- forward ------------------------------------------------------------------------------

  /** Forward of n samples; fills this.data per tensor. */
  private forward(xs: Float32Array[], n: number, training: boolean): void {
    const { g, I } = this;
    const layers = this.s.layers;
    const plan = training ? g.train : g.infer;
    const A = training ? (this.train as TrainArena) : (this.infer as InferArena);
    const data = this.data;
    for (let t = 0; t < I; t++) data[t] = xs[t];
    for (let j = 0; j < layers.length; j++) {
      const L = layers[j], P = this.np[j], id = I + j;
      const ins = L.inputs.map((t) => data[t]);
      const cur = ins[0];
      const view = L.kind === LayerKind.Flatten || L.kind === LayerKind.Reshape ||
        (L.kind === LayerKind.Dropout && !training);
      if (view) {
        data[id] = cur;
        continue;
      }
      const out = JsGraphNetwork.slot(A.arena, A.cap, plan.off[id], L.outSize, n);
      data[id] = out;
      const b: NodeBufs | null = training ? (A as TrainArena).nodes[j] : null;
      const ia = training ? null : (A as InferArena);
      const rows = n * L.in[0] * L.in[1], C = L.in[2];
      if (L.node !== undefined) {  // a registry kind
        L.node.forward({
          s: L, n, in: ins, out, saved: b !== null ? b.saved : null, params: P.node, dparams: [], dout: null, din: [],
          rng: this.rng, training,
        });
        continue;
      }
      switch (L.kind) {
        case LayerKind.Conv2D: {
          const d = this.convDims(L, n);
          const [xin, W] = this.gemmOperands(L, cur, n, P.W as Float32Array);
          const col = b !== null ? b.col : (ia as InferArena).col;
          if (b !== null && b.pre !== null) {
            conv2dForwardUnchecked(b.pre, col, xin, W, P.b, d, Act.Linear, 0);
            activationApply(out, b.pre, n * d.OH * d.OW, d.OC, L.act, L.alpha);
          } else {
            conv2dForwardUnchecked(out, col, xin, W, P.b, d, L.act, L.alpha);
          }
          break;
        }
        case LayerKind.Dense: {
          const [xin, W] = this.gemmOperands(L, cur, n, P.W as Float32Array);
          if (b !== null && b.pre !== null) {
            denseForwardUnchecked(b.pre, xin, W, P.b, rows, C, L.units, Act.Linear, 0);
            activationApply(out, b.pre, rows, L.units, L.act, L.alpha);
          } else {
            denseForwardUnchecked(out, xin, W, P.b, rows, C, L.units, L.act, L.alpha);
          }
          break;
        }
        case LayerKind.MaxPool2D:
          maxPool2dForward(out, b !== null ? b.argmax as Int32Array : (ia as InferArena).argmax, cur, this.poolDims(L, n));
          break;
        case LayerKind.AvgPool2D:
          avgPool2dForward(out, cur, this.poolDims(L, n));
          break;
        case LayerKind.GlobalAvgPool2D:
          globalAvgPoolForward(out, cur, n, L.in[0] * L.in[1], C);
          break;
        case LayerKind.GlobalMaxPool2D:
          globalMaxPoolForward(out, b !== null ? b.argmax as Int32Array : (ia as InferArena).argmax, cur, n,
            L.in[0] * L.in[1], C);
          break;
        case LayerKind.Dropout:
          dropoutForwardUnchecked(out, (b as NodeBufs).mask as Float32Array, cur, n * L.inSize, L.rate, this.rng);
          break;
        case LayerKind.BatchNorm:
          if (b !== null) {
            batchnormTrainUnchecked(out, b.xhat as Float32Array, b.mean as Float32Array, b.invstd as Float32Array,
              P.movingMean as Float32Array, P.movingVar as Float32Array, cur, P.gamma, P.beta, rows, C,
              L.momentum, L.eps);
          } else {
            batchnormInferUnchecked(out, cur, P.gamma, P.beta, P.movingMean as Float32Array,
              P.movingVar as Float32Array, rows, C, L.eps);
          }
          break;
        case LayerKind.Activation:
          activationApply(out, cur, rows, C, L.act, L.alpha);
          break;
        case LayerKind.Concatenate: {
          const outer = n * (L.axis === 0 ? 1 : L.axis === 1 ? L.in[0] : L.in[0] * L.in[1]);
          concatForward(out, ins, outer, L.ins.map((sh) => (sh[0] * sh[1] * sh[2] * n) / outer));
          break;
        }
        case LayerKind.Dot:
          dotForward(out, ins[0], ins[1], n, L.in[2], L.normalize);
          break;
        default:
          if (isElementwiseMerge(L.kind)) mergeForward(L.kind, out, ins, n * L.outSize);
          break;
      }
    }
  }

  // ---- loss -----------------------------------------------------------------------------------

  /** Output k's loss against y; dout receives its gradient (the logits' when fused) unless null. */
  private lossOf(k: number, probs: Float32Array | null, dout: Float32Array | null, out: Float32Array, y: Labels,
                 sw: Float32Array | null, n: number): number {
    const ol = this.s.outputLosses[k];
    const D = this.outSizes[k], sm = ol.labelSmoothing;
    const sparse = ol.loss === LossKind.SparseCategoricalCrossentropy;
    switch (ol.loss) {
      case LossKind.CategoricalCrossentropy:
      case LossKind.SparseCategoricalCrossentropy: {
        let p = out;
        if (ol.fromLogits) {
          p = probs as Float32Array;
          softmaxRowsInto(p, out, n, D);
        } else if (!this.fused[k]) {
          return sparse
            ? sparseCategoricalCrossentropy(dout, out, y as Int32Array, sw, n, D, sm)
            : categoricalCrossentropy(dout, out, y as Float32Array, sw, n, D, sm);
        }
        return sparse
          ? sparseSoftmaxCrossentropy(dout, p, y as Int32Array, sw, n, D, sm)
          : softmaxCrossentropy(dout, p, y as Float32Array, sw, n, D, sm);
      }
      case LossKind.BinaryCrossentropy:
        return binaryCrossentropy(dout, out, y as Float32Array, sw, n, D, ol.fromLogits, sm);
      case LossKind.MeanSquaredError:
        return meanSquaredError(dout, out, y as Float32Array, sw, n, D);
      default:
        return meanAbsoluteError(dout, out, y as Float32Array, sw, n, D);
    }
  }

  // ---- backward -----------------------------------------------------------------------------

  private forwardBackwardRun(b: GBatch): number {
    const { g, I } = this;
    const A = this.trainArena(b.n);
    const n = b.n, layers = this.s.layers;
    this.lastN = 0;
    this.forward(b.xs, n, true);
    this.lastN = n;
    this.grads.fill(0);
    const grad = (root: number): Float32Array =>
      JsGraphNetwork.slot(A.arena, A.cap, g.train.gradOff[root], g.size[root], n);
    const scratch = g.train.scratchOff >= 0 ? JsGraphNetwork.slot(A.arena, A.cap, g.train.scratchOff, g.maxAct, n) : null;
    const written = new Uint8Array(g.nT);
    // The buffer a contribution to tensor t's gradient goes into, and how to finish it.
    let pending = -1;
    const target = (t: number): Float32Array => {
      const r = g.gradRoot[t];
      if (!written[r]) {
        written[r] = 1;
        pending = -1;
        return grad(r);
      }
      pending = r;
      return (scratch as Float32Array).subarray(0, n * g.size[r]);
    };
    const finish = (): void => {
      if (pending < 0) return;
      const dst = grad(pending), src = scratch as Float32Array, len = n * g.size[pending];
      for (let e = 0; e < len; e++) dst[e] += src[e];
      pending = -1;
    };

    let total = 0;
    this.s.outputs.forEach((id, k) => {
      const w = this.s.outputLosses[k].weight;
      const dout = g.needGrad[id] ? target(id) : null;
      const l = this.lossOf(k, A.probs[k], dout, this.data[id], b.ys[k], b.sw, n);
      if (dout !== null) {
        if (w !== 1) { const f = Math.fround(w); for (let e = 0; e < dout.length; e++) dout[e] *= f; }
        finish();
      }
      this.losses[k] = l;
      total += Math.fround(w) * l;
    });

    for (let j = layers.length - 1; j >= 0; j--) {
      if (!g.runBack[j]) continue;
      const L = layers[j], P = this.np[j], bufs = A.nodes[j], id = I + j;
      if (L.kind === LayerKind.Flatten || L.kind === LayerKind.Reshape) continue; // the gradient is shared
      const gout = grad(g.gradRoot[id]).subarray(0, n * L.outSize);
      const ins = L.inputs.map((t) => this.data[t]);
      const inp = ins[0], out = this.data[id];
      const need = L.inputs.map((t) => g.needGrad[t]);
      const rows = n * L.in[0] * L.in[1], C = L.in[2];
      const skipAct = this.s.outputs.some((o, k) => o === id && this.fused[k]);
      if (L.node !== undefined) {  // a registry kind: one call per input needing a gradient (the scratch holds one)
        const nIn = ins.length;
        for (let q = 0; q < Math.max(nIn, 1); q++) {
          const din: (Float32Array | null)[] = ins.map(() => null);
          if (q < nIn && need[q]) din[q] = target(L.inputs[q]);
          const last = q === nIn - 1;
          if (din[q] === null && !(last && L.trainable)) continue;
          const dparams = last && L.trainable ? P.dnode : P.dnode.map(() => null);
          L.node.backward({
            s: L, n, in: ins, out, saved: bufs.saved, params: P.node, dparams, dout: gout, din, rng: this.rng,
            training: true,
          });
          if (din[q] !== null) finish();
        }
        for (const [own, dst] of P.adds) for (let e = 0; e < own.length; e++) dst[e] += own[e];
        continue;
      }
      switch (L.kind) {
        case LayerKind.Conv2D: {
          const d = this.convDims(L, n);
          if (L.act !== Act.Linear && !skipAct) activationGrad(gout, gout, bufs.pre, out, n * d.OH * d.OW, d.OC, L.act, L.alpha);
          const [xin, W] = this.gemmOperands(L, inp, n, P.W as Float32Array);
          if (L.dtype === ComputeDtype.BFloat16) bf16RoundInto(gout, gout, n * L.outSize);
          const dst = need[0] ? target(L.inputs[0]) : null;
          conv2dBackwardUnchecked(dst, P.dW as Float32Array, P.db, dst !== null ? A.dcol : null, gout, bufs.col, xin, W, d);
          finish();
          break;
        }
        case LayerKind.Dense: {
          if (L.act !== Act.Linear && !skipAct) activationGrad(gout, gout, bufs.pre, out, rows, L.units, L.act, L.alpha);
          const [xin, W] = this.gemmOperands(L, inp, n, P.W as Float32Array);
          if (L.dtype === ComputeDtype.BFloat16) bf16RoundInto(gout, gout, rows * L.units);
          const dst = need[0] ? target(L.inputs[0]) : null;
          denseBackwardUnchecked(dst, P.dW as Float32Array, P.db, gout, xin, W, rows, C, L.units);
          finish();
          break;
        }
        case LayerKind.BatchNorm: {
          const dst = need[0] ? target(L.inputs[0]) : null;
          batchnormBackwardUnchecked(dst, P.dgamma, P.dbeta, gout, bufs.xhat as Float32Array,
            bufs.invstd as Float32Array, P.gamma, rows, C);
          finish();
          break;
        }
        default: {
          if (!need[0] && !need.some((x) => x)) break;
          if (L.kind === LayerKind.Concatenate || L.kind === LayerKind.Dot || isElementwiseMerge(L.kind)) {
            const outer = n * (L.axis === 0 ? 1 : L.axis === 1 ? L.in[0] : L.in[0] * L.in[1]);
            for (let i = 0; i < ins.length; i++) {
              if (!need[i]) continue;
              const dst = target(L.inputs[i]);
              const dins: (Float32Array | null)[] = ins.map((_, k) => (k === i ? dst : null));
              if (L.kind === LayerKind.Concatenate) {
                concatBackward(dins, gout, outer, L.ins.map((sh) => (sh[0] * sh[1] * sh[2] * n) / outer));
              } else if (L.kind === LayerKind.Dot) {
                dotBackward(dins[0], dins[1], gout, ins[0], ins[1], n, L.in[2], L.normalize);
              } else if (isElementwiseMerge(L.kind)) {
                mergeBackward(L.kind, dins, gout, ins, n * L.outSize);
              }
              finish();
            }
            break;
          }
          const dst = target(L.inputs[0]);
          switch (L.kind) {
            case LayerKind.MaxPool2D:
              maxPool2dBackward(dst, gout, bufs.argmax as Int32Array, this.poolDims(L, n));
              break;
            case LayerKind.AvgPool2D:
              avgPool2dBackward(dst, gout, this.poolDims(L, n));
              break;
            case LayerKind.GlobalAvgPool2D:
              globalAvgPoolBackward(dst, gout, n, L.in[0] * L.in[1], C);
              break;
            case LayerKind.GlobalMaxPool2D:
              globalMaxPoolBackward(dst, gout, bufs.argmax as Int32Array, n, L.in[0] * L.in[1], C);
              break;
            case LayerKind.Dropout: {
              const m = bufs.mask as Float32Array, len = n * L.inSize;
              for (let e = 0; e < len; e++) dst[e] = gout[e] * m[e];
              break;
            }
            default: // Activation
              if (skipAct) dst.set(gout);
              else activationGrad(dst, gout, activationNeedsInput(L.act) ? inp : null, out, rows, C, L.act, L.alpha);
              break;
          }
          finish();
        }
      }
      for (const [own, dst] of P.adds) for (let e = 0; e < own.length; e++) dst[e] += own[e];
    }
    for (const v of this.s.vars) if (!v.trainable) this.grads.fill(0, v.offset, v.offset + v.size);
    return total;
  }

  private predictRun(outs: Float32Array[], xs: Float32Array[], n: number): void {
    const chunk = Math.min(n, this.inferChunk());
    this.inferArena(chunk);
    for (let c0 = 0; c0 < n; c0 += chunk) {
      const c = Math.min(chunk, n - c0);
      this.forward(xs.map((x, t) => x.subarray(c0 * this.inSizes[t], (c0 + c) * this.inSizes[t])), c, false);
      this.s.outputs.forEach((id, k) => {
        const D = this.outSizes[k];
        outs[k].set(this.data[id].subarray(0, c * D), c0 * D);
      });
    }
  }

  // ---- guards and argument reading ------------------------------------------------------------

  private ready(fn: string): void {
    if (this.disposed) throw new Error(`${fn}: network was disposed`);
    if (this.busy) throw new Error(`${fn}: network is busy (an async call is running)`);
    if (this.params.length < this.paramCount || this.slots.length < this.slotCount) {
      throw new Error(`${fn}: the params or slots buffer was detached or shrunk`);
    }
  }

  /** One array per model input / output: a list of exactly that many, or a single array when there is one. */
  private list<T>(fn: string, name: string, v: T | T[], count: number, what: string): T[] {
    if (Array.isArray(v)) {
      if (v.length !== count) throw new TypeError(`${fn}: ${name} must hold ${count} arrays (one per model ${what}), received ${v.length}`);
      return v;
    }
    if (count !== 1) throw new TypeError(`${fn}: ${name} must be an array of ${count} arrays (one per model ${what})`);
    return [v];
  }

  private readXs(fn: string, x: Inputs, n: number): Float32Array[] {
    const xs = this.list(fn, 'x', x, this.I, 'input');
    return xs.map((a, t) => argF32(fn, this.I === 1 ? 'x' : `x[${t}]`, a, n * this.inSizes[t]) as Float32Array);
  }

  private readOuts(fn: string, out: Outputs, n: number): Float32Array[] {
    const K = this.outSizes.length;
    const os = this.list(fn, 'out', out, K, 'output');
    return os.map((a, k) => argF32(fn, K === 1 ? 'out' : `out[${k}]`, a, n * this.outSizes[k]) as Float32Array);
  }

  private readBatch(fn: string, x: Inputs, y: LabelSet, sw: Float32Array | null, n: number): GBatch {
    argInt(fn, 'n', n, 1, INT_MAX);
    const xs = this.readXs(fn, x, n);
    const K = this.outSizes.length;
    const ys = this.list(fn, 'y', y, K, 'output').map((ya, k): Labels => {
      const name = K === 1 ? 'y' : `y[${k}]`, D = this.outSizes[k];
      if (this.s.outputLosses[k].loss !== LossKind.SparseCategoricalCrossentropy) {
        return argF32(fn, name, ya, n * D) as Float32Array;
      }
      const yi = argI32(fn, name, ya, n);
      for (let i = 0; i < n; i++) {
        if (yi[i] < 0 || yi[i] >= D) {
          throw new RangeError(`${fn}: ${K === 1 ? 'labels' : `labels[${k}]`}[${i}] = ${yi[i]} is not a class index in [0, ${D})`);
        }
      }
      return yi;
    });
    return { xs, ys, sw: argF32(fn, 'sw', sw, n, true), n };
  }

  private readStep(fn: string, lr: number, t: number): void {
    if (typeof lr !== 'number') throw new TypeError(`${fn}: lr must be a number`);
    argInt(fn, 't', t, 1, MAX_SAFE);
  }

  private run<T>(job: () => T): T {
    this.busy = true;
    try {
      return job();
    } finally {
      this.busy = false;
    }
  }

  private runAsync<T>(check: () => void, job: () => T): Promise<T> {
    try {
      check();
    } catch (e) {
      return Promise.reject(e);
    }
    this.busy = true;
    return new Promise<T>((resolve, reject) => {
      setImmediate(() => {
        try {
          resolve(job());
        } catch (e) {
          reject(e);
        } finally {
          this.busy = false;
        }
      });
    });
  }

  // ---- the Network interface ------------------------------------------------------------------

  forwardBackward(x: Inputs, y: LabelSet, sw: Float32Array | null, n: number): number {
    const fn = 'forwardBackward';
    this.ready(fn);
    const b = this.readBatch(fn, x, y, sw, n);
    return this.run(() => this.forwardBackwardRun(b));
  }

  trainStep(x: Inputs, y: LabelSet, sw: Float32Array | null, n: number, lr: number, t: number): number {
    const fn = 'trainStep';
    this.ready(fn);
    const b = this.readBatch(fn, x, y, sw, n);
    this.readStep(fn, lr, t);
    return this.run(() => {
      const loss = this.forwardBackwardRun(b);
      applyUpdate(this.trainVars, this.s.opt, lr, t);
      return loss;
    });
  }

  trainStepAsync(x: Inputs, y: LabelSet, sw: Float32Array | null, n: number, lr: number, t: number): Promise<number> {
    const fn = 'trainStepAsync';
    let b: GBatch;
    return this.runAsync(() => {
      this.ready(fn);
      b = this.readBatch(fn, x, y, sw, n);
      this.readStep(fn, lr, t);
    }, () => {
      const loss = this.forwardBackwardRun(b);
      applyUpdate(this.trainVars, this.s.opt, lr, t);
      return loss;
    });
  }

  forwardBackwardAsync(x: Inputs, y: LabelSet, sw: Float32Array | null, n: number): Promise<number> {
    const fn = 'forwardBackwardAsync';
    let b: GBatch;
    return this.runAsync(() => {
      this.ready(fn);
      b = this.readBatch(fn, x, y, sw, n);
    }, () => this.forwardBackwardRun(b));
  }

  applyGradients(g: Float32Array, lr: number, t: number): void {
    const fn = 'applyGradients';
    this.ready(fn);
    const ga = argF32(fn, 'g', g, this.paramCount) as Float32Array;
    this.readStep(fn, lr, t);
    this.grads.set(ga.subarray(0, this.paramCount));
    for (const v of this.s.vars) if (!v.trainable) this.grads.fill(0, v.offset, v.offset + v.size);
    applyUpdate(this.trainVars, this.s.opt, lr, t);
  }

  applyGradientsAsync(g: Float32Array, lr: number, t: number): Promise<void> {
    const fn = 'applyGradientsAsync';
    let ga: Float32Array;
    return this.runAsync(() => {
      this.ready(fn);
      ga = argF32(fn, 'g', g, this.paramCount) as Float32Array;
      this.readStep(fn, lr, t);
    }, () => {
      this.grads.set(ga.subarray(0, this.paramCount));
      for (const v of this.s.vars) if (!v.trainable) this.grads.fill(0, v.offset, v.offset + v.size);
      applyUpdate(this.trainVars, this.s.opt, lr, t);
    });
  }

  predict(out: Outputs, x: Inputs, n: number): void {
    const fn = 'predict';
    this.ready(fn);
    argInt(fn, 'n', n, 1, INT_MAX);
    const os = this.readOuts(fn, out, n), xs = this.readXs(fn, x, n);
    this.run(() => this.predictRun(os, xs, n));
  }

  predictAsync(out: Outputs, x: Inputs, n: number): Promise<void> {
    const fn = 'predictAsync';
    let os: Float32Array[], xs: Float32Array[];
    return this.runAsync(() => {
      this.ready(fn);
      argInt(fn, 'n', n, 1, INT_MAX);
      os = this.readOuts(fn, out, n);
      xs = this.readXs(fn, x, n);
    }, () => this.predictRun(os, xs, n));
  }

  evaluate(out: Outputs, x: Inputs, y: LabelSet, sw: Float32Array | null, n: number): number {
    const fn = 'evaluate';
    this.ready(fn);
    const b = this.readBatch(fn, x, y, sw, n);
    const os = this.readOuts(fn, out, n);
    return this.run(() => {
      this.predictRun(os, b.xs, n);
      let total = 0;
      this.s.outputs.forEach((_, k) => {
        const D = this.outSizes[k];
        if (this.evalProbs[k] === undefined || (this.evalProbs[k] !== null && (this.evalProbs[k] as Float32Array).length < n * D)) {
          this.evalProbs[k] = this.probsFor(k, n);
        }
        const l = this.lossOf(k, this.evalProbs[k], null, os[k], b.ys[k], b.sw, n);
        this.losses[k] = l;
        total += Math.fround(this.s.outputLosses[k].weight) * l;
      });
      return total;
    });
  }

  getOutput(dst: Float32Array, k = 0): void {
    const fn = 'getOutput';
    this.ready(fn);
    argInt(fn, 'k', k, 0, this.outSizes.length - 1);
    if (this.lastN === 0 || this.train === null) throw new Error(`${fn}: no forwardBackward or trainStep has run yet`);
    const len = this.lastN * this.outSizes[k];
    const d = argF32(fn, 'dst', dst, len) as Float32Array;
    const id = this.s.outputs[k];
    const A = this.train;
    const src = this.g.storageOf[id] < this.I
      ? null
      : JsGraphNetwork.slot(A.arena, A.cap, this.g.train.off[this.g.storageOf[id]], this.g.size[id], this.lastN);
    if (src === null) throw new Error(`${fn}: output ${k} is a view of a model input`);
    d.set(src.subarray(0, len));
  }

  getLosses(dst: Float32Array): void {
    const fn = 'getLosses';
    this.ready(fn);
    (argF32(fn, 'dst', dst, this.losses.length) as Float32Array).set(this.losses);
  }

  getGrads(dst: Float32Array): void {
    const fn = 'getGrads';
    this.ready(fn);
    (argF32(fn, 'dst', dst, this.paramCount) as Float32Array).set(this.grads);
  }

  arenaBytes(): number {
    let bytes = 0;
    const T = this.train, F = this.infer;
    if (T !== null) {
      bytes += T.arena.byteLength + (T.dcol?.byteLength ?? 0);
      for (const b of T.nodes) {
        for (const a of [b.pre, b.col, b.argmax, b.xhat, b.mean, b.invstd, b.mask, b.saved]) bytes += a?.byteLength ?? 0;
      }
      for (const p of T.probs) bytes += p?.byteLength ?? 0;
    }
    if (F !== null) bytes += F.arena.byteLength + (F.col?.byteLength ?? 0) + F.argmax.byteLength;
    return bytes;
  }

  dispose(): void {
    if (this.disposed) throw new Error('dispose: network was disposed');
    if (this.busy) throw new Error('dispose: network is busy (an async call is running)');
    this.disposed = true;
    this.train = null;
    this.infer = null;
    this.data = [];
  }
}

/** The graph engine over a checked spec (createNetwork in network.ts picks it). */
export function createGraphNetwork(s: CheckedSpec, params: Float32Array, slots: Float32Array): Network {
  return new JsGraphNetwork(s, params, slots);
}
