// A compiled Sequential network in plain TypeScript: the twin of native/engine/network.h (and of
// its binding's argument rules). One call runs a whole training step: forward in training mode,
// loss, backward into a flat gradient buffer laid out like params, per-variable clip and update.
//
// Semantics shared with the C++ engine:
// - The output of the last layer is what predict returns. When the last activation is Softmax and
//   the loss is (sparse) categorical CE with fromLogits false, softmax and CE are fused: the loss is
//   taken on the probabilities and its gradient (p - y) goes straight to the pre-softmax values.
//   With fromLogits the output is treated as logits (softmax inside the loss for categorical CE, the
//   stable logit form for binary CE). Categorical losses need a [1, 1, classes] output.
// - Dropout draws from one xoshiro128** stream seeded once from spec.seed at construction; each
//   dropout layer draws n * size numbers in layer order on every training forward (also at rate 0).
//   predict / evaluate run in inference mode: no dropout, BN moving statistics.
// - Every training forward (forwardBackward too) updates BN moving statistics.
// - grads are zeroed, then backward (down to the first layer owning a trainable parameter) writes
//   each layer's parameter gradients, then the ranges of non-trainable variables are zeroed again.
//   trainStep clips each trainable variable's gradient in place (clipNorm, then clipValue) and
//   applies the update with that variable's slots (slot k at slotBase + k * size).
// Buffers are allocated for the largest training batch seen (and, separately, the largest
// inference batch) and reused for smaller ones.
import {
  Act, ComputeDtype, Conv2DDims, Inputs, LabelSet, Labels, LayerKind, LossKind, Network, NetworkSpec, Outputs,
  Pool2DDims,
} from '../types';
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
import { createGraphNetwork } from './network_graph';
import { CheckedSpec, LayerInfo, checkSpec } from './network_spec';
import { optimizerSlotCount } from './optim';
import { TrainVar, applyUpdate, argF32, argI32, argInt, checkParamsSlots, one } from './network_common';
import {
  avgPool2dBackward, avgPool2dForward, globalAvgPoolBackward, globalAvgPoolForward,
  globalMaxPoolBackward, globalMaxPoolForward, maxPool2dBackward, maxPool2dForward, pool2dDims,
} from './pool2d';
import { rngSeed } from './rng';

const INT_MAX = 2147483647;
const MAX_SAFE = 2 ** 53;

/** A layer's views into params and grads (null when absent). */
interface LayerParams {
  W: Float32Array | null; b: Float32Array | null; dW: Float32Array | null; db: Float32Array | null;
  gamma: Float32Array; beta: Float32Array; dgamma: Float32Array; dbeta: Float32Array; // BN (stand-ins when absent)
  movingMean: Float32Array | null; movingVar: Float32Array | null;
}


/** A layer's buffers for `cap` samples; dims are rebuilt per call for the actual batch. */
interface LayerBufs {
  out: Float32Array | null; // null: the output is the input (Flatten; Dropout at inference)
  pre: Float32Array | null; // pre-activation when the fused activation's derivative needs it
  col: Float32Array | null; // im2col matrix (kept for backward in training)
  argmax: Int32Array | null;
  xhat: Float32Array | null; mean: Float32Array | null; invstd: Float32Array | null; // BN, training
  mask: Float32Array | null; // dropout, training
}

interface Arena {
  cap: number;
  layers: LayerBufs[];
  outs: Float32Array[]; // each layer's output in the last forward
  probs: Float32Array | null; // softmax of the logits for fromLogits categorical CE
  gA: Float32Array | null; gB: Float32Array | null; // backward ping-pong, (cap, max activation)
  dcol: Float32Array | null;
}

interface Batch { x: Float32Array; y: Labels; sw: Float32Array | null; n: number }

class JsNetwork implements Network {
  readonly inSize: number;
  readonly outSize: number;
  readonly inSizes: number[];
  readonly outSizes: number[];
  readonly paramCount: number;
  readonly slotCount: number;

  private readonly s: CheckedSpec;
  private readonly params: Float32Array;
  private readonly slots: Float32Array;
  private readonly lp: LayerParams[];
  private readonly trainVars: TrainVar[];
  private readonly grads: Float32Array;
  private readonly sparse: boolean;
  private readonly rng = new Uint32Array(4);
  private train: Arena | null = null;
  private infer: Arena | null = null;
  private evalProbs: Float32Array | null = null;
  private lastN = 0;
  private lastLoss = 0;
  private busy = false;
  private disposed = false;

  constructor(s: CheckedSpec, params: Float32Array, slots: Float32Array) {
    checkParamsSlots(s.paramCount, s.slotCount, params, slots);
    this.s = s;
    this.params = params;
    this.slots = slots;
    this.inSize = s.inSize;
    this.outSize = s.outSize;
    this.inSizes = [s.inSize];
    this.outSizes = [s.outSize];
    this.paramCount = s.paramCount;
    this.slotCount = s.slotCount;
    this.sparse = s.loss === LossKind.SparseCategoricalCrossentropy;
    this.grads = new Float32Array(s.paramCount);

    const per = optimizerSlotCount(s.opt.kind);
    this.trainVars = s.vars.filter((v) => v.trainable && v.size > 0).map((v) => ({
      size: v.size,
      w: params.subarray(v.offset, v.offset + v.size),
      g: this.grads.subarray(v.offset, v.offset + v.size),
      slots: Array.from({ length: per }, (_, k) =>
        slots.subarray(v.slotBase + k * v.size, v.slotBase + (k + 1) * v.size)),
    }));

    const view = (a: Float32Array, off: number, size: number): Float32Array | null =>
      off >= 0 ? a.subarray(off, off + size) : null;
    this.lp = s.layers.map((L) => {
      const C = L.in[2];
      const kSize = L.kind === LayerKind.Conv2D ? L.kh * L.kw * C * L.filters : C * L.units;
      const bSize = L.kind === LayerKind.Conv2D ? L.filters : L.units;
      const bn = L.kind === LayerKind.BatchNorm;
      return {
        W: view(params, L.kernel, kSize), b: view(params, L.bias, bSize),
        dW: view(this.grads, L.kernel, kSize), db: view(this.grads, L.bias, bSize),
        gamma: (bn && view(params, L.gamma, C)) || new Float32Array(C).fill(1),
        beta: (bn && view(params, L.beta, C)) || new Float32Array(C),
        dgamma: (bn && view(this.grads, L.gamma, C)) || new Float32Array(C),
        dbeta: (bn && view(this.grads, L.beta, C)) || new Float32Array(C),
        movingMean: bn ? view(params, L.movingMean, C) : null,
        movingVar: bn ? view(params, L.movingVar, C) : null,
      };
    });
    rngSeed(this.rng, s.seed);
  }

  // ---- arenas -------------------------------------------------------------------------------

  /** Training buffers for at least n samples: everything backward needs, per layer. */
  private trainArena(n: number): Arena {
    if (this.train !== null && this.train.cap >= n) return this.train;
    let maxAct = this.inSize, maxCol = 0;
    const layers = this.s.layers.map((L): LayerBufs => {
      maxAct = Math.max(maxAct, L.outSize);
      const C = L.in[2];
      const b: LayerBufs = { out: null, pre: null, col: null, argmax: null, xhat: null, mean: null, invstd: null, mask: null };
      if (L.kind !== LayerKind.Flatten) b.out = new Float32Array(n * L.outSize);
      switch (L.kind) {
        case LayerKind.Conv2D: {
          const cs = conv2dColSize(this.convDims(L, n));
          if (cs > 0) b.col = new Float32Array(cs);
          maxCol = Math.max(maxCol, cs);
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
          b.mean = new Float32Array(C);
          b.invstd = new Float32Array(C);
          break;
        default:
          break;
      }
      return b;
    });
    this.train = {
      cap: n, layers, outs: new Array<Float32Array>(layers.length), probs: this.probsBuffer(n),
      gA: new Float32Array(n * maxAct), gB: new Float32Array(n * maxAct),
      dcol: maxCol > 0 ? new Float32Array(maxCol) : null,
    };
    return this.train;
  }

  /**
   * Inference buffers for at least n samples: two activation buffers the layers alternate
   * between, one col and one argmax scratch shared by all layers (nothing is kept for backward).
   */
  private inferArena(n: number): Arena {
    if (this.infer !== null && this.infer.cap >= n) return this.infer;
    let maxAct = this.inSize, maxCol = 0;
    for (const L of this.s.layers) {
      maxAct = Math.max(maxAct, L.outSize);
      if (L.kind === LayerKind.Conv2D) maxCol = Math.max(maxCol, conv2dColSize(this.convDims(L, n)));
    }
    const act = [new Float32Array(n * maxAct), new Float32Array(n * maxAct)];
    const col = maxCol > 0 ? new Float32Array(maxCol) : null;
    const argmax = new Int32Array(n * maxAct);
    let k = 0;
    const layers = this.s.layers.map((L): LayerBufs => {
      const view = L.kind === LayerKind.Flatten || L.kind === LayerKind.Dropout;
      const out = view ? null : act[k];
      if (!view) k ^= 1;
      return { out, pre: null, col, argmax, xhat: null, mean: null, invstd: null, mask: null };
    });
    this.infer = {
      cap: n, layers, outs: new Array<Float32Array>(layers.length), probs: this.probsBuffer(n),
      gA: null, gB: null, dcol: null,
    };
    return this.infer;
  }

  /** Samples per inference chunk, as the native engine: about 64 MB of buffers, 1 to 256 samples. */
  private inferChunk(): number {
    let maxAct = this.inSize;
    for (const L of this.s.layers) maxAct = Math.max(maxAct, L.inSize, L.outSize);
    let per = 3 * maxAct;
    for (const L of this.s.layers) {
      if (L.kind === LayerKind.Conv2D) per = Math.max(per, 3 * maxAct + conv2dColSize(this.convDims(L, 1)));
    }
    return Math.max(1, Math.min(256, Math.floor((16 << 20) / Math.max(per, 1))));
  }

  /** Softmax scratch for fromLogits categorical CE, else null. */
  private probsBuffer(n: number): Float32Array | null {
    const categorical = this.s.loss === LossKind.CategoricalCrossentropy || this.sparse;
    return this.s.fromLogits && categorical ? new Float32Array(n * this.outSize) : null;
  }

  /**
   * The input (n samples) and kernel a Conv2D / Dense GEMM reads: x and W themselves, or under
   * bf16 their bf16-rounded copies (the native engine rounds them as the GEMM packs them).
   */
  private gemmOperands(L: LayerInfo, x: Float32Array, n: number, W: Float32Array): [Float32Array, Float32Array] {
    if (L.dtype !== ComputeDtype.BFloat16) return [x, W];
    return [bf16Rounded(x.subarray(0, n * L.inSize)), bf16Rounded(W)];
  }

  private convDims(L: LayerInfo, n: number): Conv2DDims {
    return conv2dDims(n, L.in[0], L.in[1], L.in[2], L.kh, L.kw, L.filters, L.sh, L.sw, L.dh, L.dw, L.padding);
  }

  private poolDims(L: LayerInfo, n: number): Pool2DDims {
    return pool2dDims(n, L.in[0], L.in[1], L.in[2], L.kh, L.kw, L.sh, L.sw, L.padding);
  }

  // ---- forward / loss / backward ------------------------------------------------------------

  private forward(A: Arena, x: Float32Array, n: number, training: boolean): Float32Array {
    let cur = x;
    const layers = this.s.layers;
    for (let i = 0; i < layers.length; i++) {
      const L = layers[i], P = this.lp[i], b = A.layers[i];
      const out = b.out as Float32Array;
      const rows = n * L.in[0] * L.in[1], C = L.in[2];
      switch (L.kind) {
        case LayerKind.Conv2D: {
          const d = this.convDims(L, n);
          const [xin, W] = this.gemmOperands(L, cur, n, P.W as Float32Array);
          if (b.pre !== null) {
            conv2dForwardUnchecked(b.pre, b.col, xin, W, P.b, d, Act.Linear, 0);
            activationApply(out, b.pre, n * d.OH * d.OW, d.OC, L.act, L.alpha);
          } else {
            conv2dForwardUnchecked(out, b.col, xin, W, P.b, d, L.act, L.alpha);
          }
          break;
        }
        case LayerKind.Dense: {
          const [xin, W] = this.gemmOperands(L, cur, n, P.W as Float32Array);
          if (b.pre !== null) {
            denseForwardUnchecked(b.pre, xin, W, P.b, rows, C, L.units, Act.Linear, 0);
            activationApply(out, b.pre, rows, L.units, L.act, L.alpha);
          } else {
            denseForwardUnchecked(out, xin, W, P.b, rows, C, L.units, L.act, L.alpha);
          }
          break;
        }
        case LayerKind.MaxPool2D:
          maxPool2dForward(out, b.argmax as Int32Array, cur, this.poolDims(L, n));
          break;
        case LayerKind.AvgPool2D:
          avgPool2dForward(out, cur, this.poolDims(L, n));
          break;
        case LayerKind.GlobalAvgPool2D:
          globalAvgPoolForward(out, cur, n, L.in[0] * L.in[1], C);
          break;
        case LayerKind.GlobalMaxPool2D:
          globalMaxPoolForward(out, b.argmax as Int32Array, cur, n, L.in[0] * L.in[1], C);
          break;
        case LayerKind.Flatten:
          break;
        case LayerKind.Dropout:
          if (training) dropoutForwardUnchecked(out, b.mask as Float32Array, cur, n * L.inSize, L.rate, this.rng);
          break;
        case LayerKind.BatchNorm:
          if (training) {
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
        default:
          break;
      }
      if (b.out !== null) cur = b.out;
      A.outs[i] = cur;
    }
    return cur;
  }

  /** The batch loss of out against y; dout receives dL/d(out) (dL/d(logits) when fused) unless null. */
  private lossOf(probs: Float32Array | null, dout: Float32Array | null, out: Float32Array, y: Labels,
                 sw: Float32Array | null, n: number): number {
    const D = this.outSize, sm = this.s.labelSmoothing;
    switch (this.s.loss) {
      case LossKind.CategoricalCrossentropy:
      case LossKind.SparseCategoricalCrossentropy: {
        let p = out;
        if (this.s.fromLogits) {
          p = probs as Float32Array;
          softmaxRowsInto(p, out, n, D);
        } else if (!this.s.fusedSoftmax) {
          return this.sparse
            ? sparseCategoricalCrossentropy(dout, out, y as Int32Array, sw, n, D, sm)
            : categoricalCrossentropy(dout, out, y as Float32Array, sw, n, D, sm);
        }
        return this.sparse
          ? sparseSoftmaxCrossentropy(dout, p, y as Int32Array, sw, n, D, sm)
          : softmaxCrossentropy(dout, p, y as Float32Array, sw, n, D, sm);
      }
      case LossKind.BinaryCrossentropy:
        return binaryCrossentropy(dout, out, y as Float32Array, sw, n, D, this.s.fromLogits, sm);
      case LossKind.MeanSquaredError:
        return meanSquaredError(dout, out, y as Float32Array, sw, n, D);
      default:
        return meanAbsoluteError(dout, out, y as Float32Array, sw, n, D);
    }
  }

  /** Backward from A.gA (dL/d(output)) down to the first trainable layer, into this.grads. */
  private backward(A: Arena, x: Float32Array, n: number): void {
    const first = this.s.firstTrainable;
    if (first < 0) return;
    const gA = A.gA as Float32Array, gB = A.gB as Float32Array;
    let g = gA; // dL/d(current layer's output)
    const layers = this.s.layers, last = layers.length - 1;
    for (let i = last; i >= first; i--) {
      const L = layers[i], P = this.lp[i], b = A.layers[i];
      const inp = i === 0 ? x : A.outs[i - 1], out = A.outs[i];
      const dst = g === gA ? gB : gA; // receives dL/d(input)
      const needDx = i > first;
      const rows = n * L.in[0] * L.in[1], C = L.in[2];
      const skipAct = i === last && this.s.fusedSoftmax; // the loss gave the logits gradient
      switch (L.kind) {
        case LayerKind.Conv2D: {
          const d = this.convDims(L, n);
          if (L.act !== Act.Linear && !skipAct) {
            activationGrad(g, g, b.pre, out, n * d.OH * d.OW, d.OC, L.act, L.alpha);
          }
          const [xin, W] = this.gemmOperands(L, inp, n, P.W as Float32Array);
          if (L.dtype === ComputeDtype.BFloat16) bf16RoundInto(g, g, n * L.outSize);
          conv2dBackwardUnchecked(needDx ? dst : null, P.dW as Float32Array, P.db, needDx ? A.dcol : null, g, b.col,
            xin, W, d);
          g = dst;
          break;
        }
        case LayerKind.Dense: {
          if (L.act !== Act.Linear && !skipAct) activationGrad(g, g, b.pre, out, rows, L.units, L.act, L.alpha);
          const [xin, W] = this.gemmOperands(L, inp, n, P.W as Float32Array);
          if (L.dtype === ComputeDtype.BFloat16) bf16RoundInto(g, g, rows * L.units);
          denseBackwardUnchecked(needDx ? dst : null, P.dW as Float32Array, P.db, g, xin, W, rows, C, L.units);
          g = dst;
          break;
        }
        case LayerKind.MaxPool2D:
          maxPool2dBackward(dst, g, b.argmax as Int32Array, this.poolDims(L, n));
          g = dst;
          break;
        case LayerKind.AvgPool2D:
          avgPool2dBackward(dst, g, this.poolDims(L, n));
          g = dst;
          break;
        case LayerKind.GlobalAvgPool2D:
          globalAvgPoolBackward(dst, g, n, L.in[0] * L.in[1], C);
          g = dst;
          break;
        case LayerKind.GlobalMaxPool2D:
          globalMaxPoolBackward(dst, g, b.argmax as Int32Array, n, L.in[0] * L.in[1], C);
          g = dst;
          break;
        case LayerKind.Flatten:
          break;
        case LayerKind.Dropout: {
          const m = b.mask as Float32Array, len = n * L.inSize;
          for (let k = 0; k < len; k++) g[k] *= m[k];
          break;
        }
        case LayerKind.BatchNorm:
          batchnormBackwardUnchecked(needDx ? dst : null, P.dgamma, P.dbeta, g, b.xhat as Float32Array,
            b.invstd as Float32Array, P.gamma, rows, C);
          g = dst;
          break;
        case LayerKind.Activation:
          if (!skipAct) activationGrad(g, g, inp, out, rows, C, L.act, L.alpha);
          break;
        default:
          break;
      }
    }
  }

  private forwardBackwardRun(b: Batch): number {
    const A = this.trainArena(b.n);
    this.lastN = 0;
    const out = this.forward(A, b.x, b.n, true);
    this.lastN = b.n;
    const loss = this.lossOf(A.probs, this.s.firstTrainable >= 0 ? A.gA : null, out, b.y, b.sw, b.n);
    this.grads.fill(0);
    this.backward(A, b.x, b.n);
    // frozen layers' kernels wrote gradients too: non-trainable ranges read as zero
    for (const v of this.s.vars) if (!v.trainable) this.grads.fill(0, v.offset, v.offset + v.size);
    return loss;
  }

  private update(lr: number, t: number): void {
    applyUpdate(this.trainVars, this.s.opt, lr, t);
  }

  /** Inference-mode forward of n samples into out, in chunks. */
  private predictRun(out: Float32Array, x: Float32Array, n: number): void {
    const chunk = Math.min(n, this.inferChunk());
    const A = this.inferArena(chunk);
    const inS = this.inSize, outS = this.outSize;
    for (let c0 = 0; c0 < n; c0 += chunk) {
      const c = Math.min(chunk, n - c0);
      const xc = c0 === 0 ? x : x.subarray(c0 * inS, (c0 + c) * inS);
      const y = this.forward(A, xc, c, false);
      out.set(y.subarray(0, c * outS), c0 * outS);
    }
  }

  // ---- guards and argument reading ------------------------------------------------------------

  /** Throws unless the network can run a call now: not disposed, not busy, buffers intact. */
  private ready(fn: string): void {
    if (this.disposed) throw new Error(`${fn}: network was disposed`);
    if (this.busy) throw new Error(`${fn}: network is busy (an async call is running)`);
    if (this.params.length < this.paramCount || this.slots.length < this.slotCount) {
      throw new Error(`${fn}: the params or slots buffer was detached or shrunk`);
    }
  }

  /** (x, y, sw, n) with n read first, as the binding does. */
  private readBatch(fn: string, xs: Inputs, ys: LabelSet, sw: Float32Array | null, n: number): Batch {
    argInt(fn, 'n', n, 1, INT_MAX);
    const x = one(fn, 'x', xs), y = one(fn, 'y', ys);
    const xa = argF32(fn, 'x', x, n * this.inSize) as Float32Array;
    let ya: Labels;
    if (this.sparse) {
      ya = argI32(fn, 'y', y, n);
      for (let i = 0; i < n; i++) {
        if (ya[i] < 0 || ya[i] >= this.outSize) {
          throw new RangeError(`${fn}: labels[${i}] = ${ya[i]} is not a class index in [0, ${this.outSize})`);
        }
      }
    } else {
      ya = argF32(fn, 'y', y, n * this.outSize) as Float32Array;
    }
    return { x: xa, y: ya, sw: argF32(fn, 'sw', sw, n, true), n };
  }

  private readStep(fn: string, lr: number, t: number): void {
    if (typeof lr !== 'number') throw new TypeError(`${fn}: lr must be a number`);
    argInt(fn, 't', t, 1, MAX_SAFE);
  }

  /** Runs job with the busy flag set (a throwing job leaves the network usable). */
  private run<T>(job: () => T): T {
    this.busy = true;
    try {
      return job();
    } finally {
      this.busy = false;
    }
  }

  /** Checks now (errors reject), sets busy, runs job after yielding to the event loop. */
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
    return this.run(() => (this.lastLoss = this.forwardBackwardRun(b)));
  }

  trainStep(x: Inputs, y: LabelSet, sw: Float32Array | null, n: number, lr: number, t: number): number {
    const fn = 'trainStep';
    this.ready(fn);
    const b = this.readBatch(fn, x, y, sw, n);
    this.readStep(fn, lr, t);
    return this.run(() => {
      const loss = this.forwardBackwardRun(b);
      this.lastLoss = loss;
      this.update(lr, t);
      return loss;
    });
  }

  trainStepAsync(x: Inputs, y: LabelSet, sw: Float32Array | null, n: number, lr: number, t: number): Promise<number> {
    const fn = 'trainStepAsync';
    let b: Batch;
    return this.runAsync(() => {
      this.ready(fn);
      b = this.readBatch(fn, x, y, sw, n);
      this.readStep(fn, lr, t);
    }, () => {
      const loss = this.forwardBackwardRun(b);
      this.lastLoss = loss;
      this.update(lr, t);
      return loss;
    });
  }

  forwardBackwardAsync(x: Inputs, y: LabelSet, sw: Float32Array | null, n: number): Promise<number> {
    const fn = 'forwardBackwardAsync';
    let b: Batch;
    return this.runAsync(() => {
      this.ready(fn);
      b = this.readBatch(fn, x, y, sw, n);
    }, () => (this.lastLoss = this.forwardBackwardRun(b)));
  }

  applyGradients(g: Float32Array, lr: number, t: number): void {
    const fn = 'applyGradients';
    this.ready(fn);
    const ga = argF32(fn, 'g', g, this.paramCount) as Float32Array;
    this.readStep(fn, lr, t);
    this.grads.set(ga.subarray(0, this.paramCount));
    for (const v of this.s.vars) if (!v.trainable) this.grads.fill(0, v.offset, v.offset + v.size);
    this.update(lr, t);
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
      this.update(lr, t);
    });
  }

  predict(out: Outputs, x: Inputs, n: number): void {
    const fn = 'predict';
    this.ready(fn);
    argInt(fn, 'n', n, 1, INT_MAX);
    const o = argF32(fn, 'out', one(fn, 'out', out), n * this.outSize) as Float32Array;
    const xa = argF32(fn, 'x', one(fn, 'x', x), n * this.inSize) as Float32Array;
    this.run(() => this.predictRun(o, xa, n));
  }

  predictAsync(out: Outputs, x: Inputs, n: number): Promise<void> {
    const fn = 'predictAsync';
    let o: Float32Array, xa: Float32Array;
    return this.runAsync(() => {
      this.ready(fn);
      argInt(fn, 'n', n, 1, INT_MAX);
      o = argF32(fn, 'out', one(fn, 'out', out), n * this.outSize) as Float32Array;
      xa = argF32(fn, 'x', one(fn, 'x', x), n * this.inSize) as Float32Array;
    }, () => this.predictRun(o, xa, n));
  }

  evaluate(out: Outputs, x: Inputs, y: LabelSet, sw: Float32Array | null, n: number): number {
    const fn = 'evaluate';
    this.ready(fn);
    const b = this.readBatch(fn, x, y, sw, n);
    const o = argF32(fn, 'out', one(fn, 'out', out), n * this.outSize) as Float32Array;
    return this.run(() => {
      this.predictRun(o, b.x, n);
      if (this.s.fromLogits && (this.evalProbs === null || this.evalProbs.length < n * this.outSize)) {
        this.evalProbs = this.probsBuffer(n); // the softmax of the whole set's logits
      }
      return (this.lastLoss = this.lossOf(this.evalProbs, null, o, b.y, b.sw, n));
    });
  }

  getLosses(dst: Float32Array): void {
    const fn = 'getLosses';
    this.ready(fn);
    (argF32(fn, 'dst', dst, 1) as Float32Array)[0] = this.lastLoss;
  }

  arenaBytes(): number {
    let bytes = 0;
    for (const A of [this.train, this.infer]) {
      if (A === null) continue;
      const seen = new Set<ArrayBufferLike>();
      const add = (a: Float32Array | Int32Array | null): void => {
        if (a !== null && !seen.has(a.buffer)) { seen.add(a.buffer); bytes += a.byteLength; }
      };
      for (const b of A.layers) [b.out, b.pre, b.col, b.argmax, b.xhat, b.mean, b.invstd, b.mask].forEach(add);
      [A.probs, A.gA, A.gB, A.dcol].forEach(add);
    }
    return bytes;
  }

  getOutput(dst: Float32Array, k = 0): void {
    const fn = 'getOutput';
    this.ready(fn);
    argInt(fn, 'k', k, 0, 0);
    if (this.lastN === 0 || this.train === null) throw new Error(`${fn}: no forwardBackward or trainStep has run yet`);
    const len = this.lastN * this.outSize;
    const d = argF32(fn, 'dst', dst, len) as Float32Array;
    const outs = this.train.outs;
    d.set(outs[outs.length - 1].subarray(0, len));
  }

  getGrads(dst: Float32Array): void {
    const fn = 'getGrads';
    this.ready(fn);
    (argF32(fn, 'dst', dst, this.paramCount) as Float32Array).set(this.grads);
  }

  dispose(): void {
    if (this.disposed) throw new Error('dispose: network was disposed');
    if (this.busy) throw new Error('dispose: network is busy (an async call is running)');
    this.disposed = true;
    this.train = null;
    this.infer = null;
    this.evalProbs = null;
  }
}

/** Compiles a network over caller-owned params and slots (see native/engine/network.h). */
export function createNetwork(spec: NetworkSpec, params: Float32Array, slots: Float32Array): Network {
  const s = checkSpec(spec);
  return s.chain ? new JsNetwork(s, params, slots) : createGraphNetwork(s, params, slots);
}
