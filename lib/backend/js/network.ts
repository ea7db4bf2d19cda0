// A compiled Sequential network in plain TypeScript: the twin of native/engine/network.h.
// One call runs a whole training step (forward in training mode, loss, backward into a flat
// gradient buffer laid out like params, per-variable clip and optimizer update). Buffers are
// allocated once per batch size (one set for training, one for inference) and reused.
//
// Semantics shared with the C++ engine:
// - The output of the last layer is what predict returns. When the last layer's activation is
//   Softmax and the loss is (sparse) categorical CE with fromLogits false, softmax and CE are
//   fused: the loss is taken on the probabilities and the gradient (p - y) goes straight to the
//   pre-softmax values. With fromLogits the output is treated as logits (softmax taken inside the
//   loss, for categorical CE; the stable logit form for binary CE).
// - Categorical losses need a (1, 1, D) output.
// - Dropout draws from one xoshiro128** stream seeded once from spec.seed at construction, each
//   dropout layer drawing n * size numbers in layer order on every training forward (also at
//   rate 0). predict / evaluate run in inference mode: no dropout, BN moving statistics.
// - A training forward updates BN moving statistics (also in forwardBackward).
// - grads: the backward overwrites each layer's parameter gradients; ranges of non-trainable
//   variables are then zeroed. trainStep clips each trainable variable's gradient in place
//   (clipNorm first, then clipValue) and then applies the update with its slots.
import {
  Act, Conv2DDims, Labels, LayerKind, LayerSpec, LossKind, Network, NetworkSpec, OptimizerKind,
  Padding, Pool2DDims,
} from '../types';
import { activationApply, activationGrad, activationNeedsInput, softmaxRowsInto } from './activations';
import { batchnormBackwardUnchecked, batchnormInferUnchecked, batchnormTrainUnchecked } from './batchnorm';
import { f32 } from './check';
import { conv2dBackwardUnchecked, conv2dColSize, conv2dDims, conv2dForwardUnchecked } from './conv2d';
import { denseBackwardUnchecked, denseForwardUnchecked } from './dense';
import { dropoutForwardUnchecked } from './dropout';
import {
  binaryCrossentropy, categoricalCrossentropy, meanAbsoluteError, meanSquaredError,
  softmaxCrossentropy, sparseCategoricalCrossentropy, sparseSoftmaxCrossentropy,
} from './loss';
import {
  adagradUpdate, adamUpdate, adamwUpdate, clipByNorm, clipByValue, momentumUpdate,
  optimizerSlotCount, rmspropUpdate, sgdUpdate,
} from './optim';
import {
  avgPool2dBackward, avgPool2dForward, globalAvgPoolBackward, globalAvgPoolForward,
  globalMaxPoolBackward, globalMaxPoolForward, maxPool2dBackward, maxPool2dForward, pool2dDims,
} from './pool2d';
import { rngSeed } from './rng';

type Shape = [number, number, number];

/** A layer with defaults filled in, its parameter views and its per-sample sizes. */
interface Layer {
  kind: LayerKind;
  name: string; // for messages: "layer 2 (Dense)"
  in: Shape;
  out: Shape;
  inSize: number;
  outSize: number;
  kh: number; kw: number; sh: number; sw: number; dh: number; dw: number;
  padding: Padding;
  act: Act;
  alpha: number;
  rate: number;
  momentum: number;
  eps: number;
  // views into params / grads (null when absent)
  W: Float32Array | null; b: Float32Array | null; dW: Float32Array | null; db: Float32Array | null;
  gamma: Float32Array | null; beta: Float32Array | null; dgamma: Float32Array | null; dbeta: Float32Array | null;
  movingMean: Float32Array | null; movingVar: Float32Array | null;
}

/** A trainable variable's views: weights, gradient, optimizer slots. */
interface TrainVar { size: number; w: Float32Array; g: Float32Array; slots: Float32Array[] }

/** Per-layer buffers for one batch size. */
interface LayerBufs {
  out: Float32Array | null; // null: the layer passes its input through (Flatten, inference Dropout)
  pre: Float32Array | null; // pre-activation, when the fused activation's derivative needs it
  col: Float32Array | null;
  argmax: Int32Array | null;
  xhat: Float32Array | null; mean: Float32Array | null; invstd: Float32Array | null;
  mask: Float32Array | null;
  conv: Conv2DDims | null;
  pool: Pool2DDims | null;
}

interface BatchBufs {
  n: number;
  layers: LayerBufs[];
  outs: Float32Array[]; // each layer's output of the last forward (aliases resolved)
  probs: Float32Array | null; // softmax of logits for fromLogits categorical CE
  gA: Float32Array | null; gB: Float32Array | null; // backward ping-pong
  dcol: Float32Array | null;
}

const KIND_NAMES = ['Conv2D', 'Dense', 'MaxPool2D', 'AvgPool2D', 'GlobalAvgPool2D', 'GlobalMaxPool2D',
  'Flatten', 'Dropout', 'BatchNorm', 'Activation'];

const size3 = (s: Shape): number => s[0] * s[1] * s[2];

function specError(msg: string): Error {
  return new Error(`createNetwork: ${msg}`);
}

function int(v: unknown, def: number, what: string, min: number): number {
  const x = v === undefined ? def : v;
  if (typeof x !== 'number' || !Number.isInteger(x) || x < min) {
    throw specError(`${what} must be an integer >= ${min}, received ${String(v)}`);
  }
  return x;
}

function num(v: unknown, def: number, what: string): number {
  const x = v === undefined ? def : v;
  if (typeof x !== 'number' || !Number.isFinite(x)) throw specError(`${what} must be a finite number, received ${String(v)}`);
  return f32(x);
}

function shape(v: unknown, what: string): Shape {
  if (!Array.isArray(v) || v.length !== 3 || !v.every((d) => Number.isInteger(d) && d >= 1)) {
    throw specError(`${what} must be [H, W, C] with positive integers, received ${JSON.stringify(v)}`);
  }
  return [v[0], v[1], v[2]];
}

const sameShape = (a: Shape, b: Shape): boolean => a[0] === b[0] && a[1] === b[1] && a[2] === b[2];

class JsNetwork implements Network {
  readonly inSize: number;
  readonly outSize: number;
  readonly paramCount: number;
  readonly slotCount: number;

  private readonly layers: Layer[];
  private readonly trainVars: TrainVar[];
  private readonly frozen: Array<[number, number]>; // [offset, end) of non-trainable variables
  private readonly grads: Float32Array;
  private readonly loss: LossKind;
  private readonly fromLogits: boolean;
  private readonly smoothing: number;
  private readonly fused: boolean;
  private readonly opt: Required<NetworkSpec['opt']>;
  private readonly rng = new Uint32Array(4);
  private readonly ones: Float32Array; // gamma / beta stand-ins and scratch for absent BN params
  private readonly zeros: Float32Array;
  private readonly scratchC: Float32Array;
  private train: BatchBufs | null = null;
  private infer: BatchBufs | null = null;
  private lastOut: Float32Array | null = null; // output of the last training forward
  private lastN = 0;
  private busy = false;
  private disposed = false;

  constructor(spec: NetworkSpec, params: Float32Array, slots: Float32Array) {
    if (spec === null || typeof spec !== 'object') throw specError('spec must be an object');
    if (!(params instanceof Float32Array)) throw specError('params must be a Float32Array');
    if (!(slots instanceof Float32Array)) throw specError('slots must be a Float32Array');
    if (!Array.isArray(spec.layers) || spec.layers.length === 0) throw specError('spec.layers must be a non-empty array');
    if (!Array.isArray(spec.vars)) throw specError('spec.vars must be an array');

    // Variables: the parameter count is the end of the furthest one.
    let paramCount = 0;
    spec.vars.forEach((v, i) => {
      const off = int(v?.offset, -1, `vars[${i}].offset`, 0);
      const sz = int(v?.size, -1, `vars[${i}].size`, 0);
      paramCount = Math.max(paramCount, off + sz);
    });
    if (params.length < paramCount) {
      throw specError(`params has ${params.length} floats, the variables need ${paramCount}`);
    }
    this.paramCount = paramCount;
    this.grads = new Float32Array(paramCount);

    const optIn = spec.opt ?? ({} as NetworkSpec['opt']);
    const kind = int(optIn.kind, OptimizerKind.Adam, 'opt.kind', 0);
    if (kind > OptimizerKind.Adagrad) throw specError(`opt.kind ${kind} is not an optimizer`);
    this.opt = {
      kind,
      beta1: num(optIn.beta1, 0.9, 'opt.beta1'), beta2: num(optIn.beta2, 0.999, 'opt.beta2'),
      eps: num(optIn.eps, 1e-7, 'opt.eps'), momentum: num(optIn.momentum, 0, 'opt.momentum'),
      nesterov: !!optIn.nesterov, rho: num(optIn.rho, 0.9, 'opt.rho'), centered: !!optIn.centered,
      weightDecay: num(optIn.weightDecay, 0, 'opt.weightDecay'),
      clipNorm: num(optIn.clipNorm, 0, 'opt.clipNorm'), clipValue: num(optIn.clipValue, 0, 'opt.clipValue'),
    };

    // Slots, in vars order, for trainable variables only.
    const perVar = optimizerSlotCount(kind);
    let slotCount = 0;
    for (const v of spec.vars) if (v.trainable) slotCount += v.size * perVar;
    if (slots.length < slotCount) throw specError(`slots has ${slots.length} floats, the optimizer needs ${slotCount}`);
    this.slotCount = slotCount;
    this.trainVars = [];
    this.frozen = [];
    let base = 0;
    for (const v of spec.vars) {
      if (!v.trainable) {
        if (v.size > 0) this.frozen.push([v.offset, v.offset + v.size]);
        continue;
      }
      const s: Float32Array[] = [];
      for (let k = 0; k < perVar; k++) s.push(slots.subarray(base + k * v.size, base + (k + 1) * v.size));
      base += v.size * perVar;
      this.trainVars.push({
        size: v.size,
        w: params.subarray(v.offset, v.offset + v.size),
        g: this.grads.subarray(v.offset, v.offset + v.size),
        slots: s,
      });
    }

    // Layers.
    let maxC = 1;
    let prevOut: Shape | null = null;
    this.layers = spec.layers.map((ls, i) => {
      const layer = this.buildLayer(ls, i, params, prevOut);
      prevOut = layer.out;
      maxC = Math.max(maxC, layer.in[2], layer.out[2]);
      return layer;
    });
    this.ones = new Float32Array(maxC).fill(1);
    this.zeros = new Float32Array(maxC);
    this.scratchC = new Float32Array(maxC);
    this.inSize = this.layers[0].inSize;
    const last = this.layers[this.layers.length - 1];
    this.outSize = last.outSize;

    // Loss.
    this.loss = int(spec.loss, LossKind.CategoricalCrossentropy, 'loss', 0);
    if (this.loss > LossKind.MeanAbsoluteError) throw specError(`loss ${this.loss} is not a loss`);
    this.fromLogits = !!spec.fromLogits;
    this.smoothing = num(spec.labelSmoothing, 0, 'labelSmoothing');
    if (this.smoothing < 0 || this.smoothing > 1) throw specError(`labelSmoothing must be in [0, 1], received ${spec.labelSmoothing}`);
    const categorical = this.loss === LossKind.CategoricalCrossentropy ||
      this.loss === LossKind.SparseCategoricalCrossentropy;
    if (categorical && last.out[0] * last.out[1] !== 1) {
      throw specError(`categorical losses need a (1, 1, D) output, the last layer gives [${last.out.join(', ')}]`);
    }
    const lastAct = last.kind === LayerKind.Conv2D || last.kind === LayerKind.Dense ||
      last.kind === LayerKind.Activation ? last.act : Act.Linear;
    this.fused = categorical && !this.fromLogits && lastAct === Act.Softmax;

    rngSeed(this.rng, int(spec.seed, 0, 'seed', 0) >>> 0);
  }

  private buildLayer(ls: LayerSpec, i: number, params: Float32Array, prevOut: Shape | null): Layer {
    if (ls === null || typeof ls !== 'object') throw specError(`layers[${i}] must be an object`);
    const kind = int(ls.kind, -1, `layers[${i}].kind`, 0);
    if (kind >= KIND_NAMES.length) throw specError(`layers[${i}].kind ${kind} is not a layer kind`);
    const name = `layer ${i} (${KIND_NAMES[kind]})`;
    const inS = shape(ls.in, `${name}: in`);
    const outS = shape(ls.out, `${name}: out`);
    if (prevOut !== null && !sameShape(inS, prevOut)) {
      throw specError(`${name}: in [${inS.join(', ')}] does not match the previous layer's out [${prevOut.join(', ')}]`);
    }
    const act = int(ls.act, Act.Linear, `${name}: act`, 0);
    if (act > Act.Relu6) throw specError(`${name}: act ${act} is not an activation`);
    const padding = int(ls.padding, Padding.Valid, `${name}: padding`, 0);
    if (padding > Padding.Same) throw specError(`${name}: padding ${padding} is not 0 (valid) or 1 (same)`);
    const L: Layer = {
      kind, name, in: inS, out: outS, inSize: size3(inS), outSize: size3(outS),
      kh: int(ls.kh, 1, `${name}: kh`, 1), kw: int(ls.kw, 1, `${name}: kw`, 1),
      sh: int(ls.sh, 1, `${name}: sh`, 1), sw: int(ls.sw, 1, `${name}: sw`, 1),
      dh: int(ls.dh, 1, `${name}: dh`, 1), dw: int(ls.dw, 1, `${name}: dw`, 1),
      padding, act, alpha: num(ls.alpha, 0, `${name}: alpha`), rate: num(ls.rate, 0, `${name}: rate`),
      momentum: num(ls.momentum, 0.99, `${name}: momentum`), eps: num(ls.eps, 1e-3, `${name}: eps`),
      W: null, b: null, dW: null, db: null, gamma: null, beta: null, dgamma: null, dbeta: null,
      movingMean: null, movingVar: null,
    };
    const [H, W, C] = inS;
    // A parameter tensor: required or optional, checked against the variables' extent.
    const view = (field: 'kernel' | 'bias' | 'gamma' | 'beta' | 'movingMean' | 'movingVar', size: number,
                  required: boolean): [Float32Array, Float32Array] | null => {
      const off = ls[field] === undefined ? -1 : ls[field];
      if (typeof off !== 'number' || !Number.isInteger(off) || off < -1) {
        throw specError(`${name}: ${field} offset must be an integer >= -1, received ${String(off)}`);
      }
      if (off === -1) {
        if (required) throw specError(`${name}: needs a ${field} offset`);
        return null;
      }
      if (off + size > this.paramCount) {
        throw specError(`${name}: ${field} [${off}, ${off + size}) is outside the parameters (${this.paramCount} floats)`);
      }
      return [params.subarray(off, off + size), this.grads.subarray(off, off + size)];
    };
    let expected: Shape;
    switch (kind) {
      case LayerKind.Conv2D: {
        const filters = int(ls.filters, 0, `${name}: filters`, 1);
        let d: Conv2DDims;
        try {
          d = conv2dDims(1, H, W, C, L.kh, L.kw, filters, L.sh, L.sw, L.dh, L.dw, padding);
        } catch (e) {
          throw specError(`${name}: ${(e as Error).message}`);
        }
        expected = [d.OH, d.OW, filters];
        const k = view('kernel', L.kh * L.kw * C * filters, true);
        const b = view('bias', filters, false);
        [L.W, L.dW] = k as [Float32Array, Float32Array];
        if (b) [L.b, L.db] = b;
        break;
      }
      case LayerKind.Dense: {
        const units = int(ls.units, 0, `${name}: units`, 1);
        expected = [H, W, units];
        [L.W, L.dW] = view('kernel', C * units, true) as [Float32Array, Float32Array];
        const b = view('bias', units, false);
        if (b) [L.b, L.db] = b;
        break;
      }
      case LayerKind.MaxPool2D:
      case LayerKind.AvgPool2D: {
        let d: Pool2DDims;
        try {
          d = pool2dDims(1, H, W, C, L.kh, L.kw, L.sh, L.sw, padding);
        } catch (e) {
          throw specError(`${name}: ${(e as Error).message}`);
        }
        expected = [d.OH, d.OW, C];
        break;
      }
      case LayerKind.GlobalAvgPool2D:
      case LayerKind.GlobalMaxPool2D:
        expected = [1, 1, C];
        break;
      case LayerKind.Flatten:
        expected = [1, 1, H * W * C];
        break;
      case LayerKind.Dropout:
        if (!(L.rate >= 0 && L.rate < 1)) throw specError(`${name}: rate must be in [0, 1), received ${ls.rate}`);
        expected = inS;
        break;
      case LayerKind.BatchNorm: {
        if (!(L.eps > 0)) throw specError(`${name}: eps must be > 0, received ${ls.eps}`);
        const g = view('gamma', C, false), bt = view('beta', C, false);
        if (g) [L.gamma, L.dgamma] = g;
        if (bt) [L.beta, L.dbeta] = bt;
        L.movingMean = (view('movingMean', C, true) as [Float32Array, Float32Array])[0];
        L.movingVar = (view('movingVar', C, true) as [Float32Array, Float32Array])[0];
        expected = inS;
        break;
      }
      case LayerKind.Activation:
        expected = inS;
        break;
      default:
        throw specError(`${name}: unknown kind`);
    }
    if (!sameShape(outS, expected)) {
      throw specError(`${name}: out [${outS.join(', ')}] does not match the computed [${expected.join(', ')}]`);
    }
    return L;
  }

  // ---- buffers ---------------------------------------------------------------------------

  private buffers(n: number, training: boolean): BatchBufs {
    const cur = training ? this.train : this.infer;
    if (cur !== null && cur.n === n) return cur;
    let maxSize = this.inSize, maxCol = 0;
    const layers: LayerBufs[] = this.layers.map((L) => {
      maxSize = Math.max(maxSize, L.outSize);
      const [H, W, C] = L.in;
      const rows = n * L.in[0] * L.in[1];
      const b: LayerBufs = {
        out: null, pre: null, col: null, argmax: null, xhat: null, mean: null, invstd: null, mask: null,
        conv: null, pool: null,
      };
      const passThrough = L.kind === LayerKind.Flatten || (L.kind === LayerKind.Dropout && !training);
      if (!passThrough) b.out = new Float32Array(n * L.outSize);
      switch (L.kind) {
        case LayerKind.Conv2D: {
          b.conv = conv2dDims(n, H, W, C, L.kh, L.kw, L.out[2], L.sh, L.sw, L.dh, L.dw, L.padding);
          const cs = conv2dColSize(b.conv);
          if (cs > 0) b.col = new Float32Array(cs);
          maxCol = Math.max(maxCol, cs);
          if (activationNeedsInput(L.act)) b.pre = new Float32Array(n * L.outSize);
          break;
        }
        case LayerKind.Dense:
          if (activationNeedsInput(L.act)) b.pre = new Float32Array(n * L.outSize);
          break;
        case LayerKind.MaxPool2D:
          b.argmax = new Int32Array(n * L.outSize);
          b.pool = pool2dDims(n, H, W, C, L.kh, L.kw, L.sh, L.sw, L.padding);
          break;
        case LayerKind.AvgPool2D:
          b.pool = pool2dDims(n, H, W, C, L.kh, L.kw, L.sh, L.sw, L.padding);
          break;
        case LayerKind.GlobalMaxPool2D:
          b.argmax = new Int32Array(n * C);
          break;
        case LayerKind.Dropout:
          if (training) b.mask = new Float32Array(n * L.inSize);
          break;
        case LayerKind.BatchNorm:
          if (training) {
            b.xhat = new Float32Array(rows * C);
            b.mean = new Float32Array(C);
            b.invstd = new Float32Array(C);
          }
          break;
        default:
          break;
      }
      return b;
    });
    const bufs: BatchBufs = {
      n, layers, outs: new Array<Float32Array>(this.layers.length),
      probs: this.fromLogits && (this.loss === LossKind.CategoricalCrossentropy ||
        this.loss === LossKind.SparseCategoricalCrossentropy) ? new Float32Array(n * this.outSize) : null,
      gA: training ? new Float32Array(n * maxSize) : null,
      gB: training ? new Float32Array(n * maxSize) : null,
      dcol: training && maxCol > 0 ? new Float32Array(maxCol) : null,
    };
    if (training) this.train = bufs;
    else this.infer = bufs;
    return bufs;
  }

  // ---- forward / loss / backward ---------------------------------------------------------

  private forward(B: BatchBufs, x: Float32Array, n: number, training: boolean): Float32Array {
    let cur = x;
    for (let i = 0; i < this.layers.length; i++) {
      const L = this.layers[i], b = B.layers[i];
      const out = b.out as Float32Array;
      const rows = n * L.in[0] * L.in[1];
      const C = L.in[2];
      switch (L.kind) {
        case LayerKind.Conv2D:
          if (b.pre !== null) {
            conv2dForwardUnchecked(b.pre, b.col, cur, L.W as Float32Array, L.b, b.conv as Conv2DDims, Act.Linear, 0);
            activationApply(out, b.pre, n * L.out[0] * L.out[1], L.out[2], L.act, L.alpha);
          } else {
            conv2dForwardUnchecked(out, b.col, cur, L.W as Float32Array, L.b, b.conv as Conv2DDims, L.act, L.alpha);
          }
          break;
        case LayerKind.Dense:
          if (b.pre !== null) {
            denseForwardUnchecked(b.pre, cur, L.W as Float32Array, L.b, rows, C, L.out[2], Act.Linear, 0);
            activationApply(out, b.pre, rows, L.out[2], L.act, L.alpha);
          } else {
            denseForwardUnchecked(out, cur, L.W as Float32Array, L.b, rows, C, L.out[2], L.act, L.alpha);
          }
          break;
        case LayerKind.MaxPool2D:
          maxPool2dForward(out, b.argmax as Int32Array, cur, b.pool as Pool2DDims);
          break;
        case LayerKind.AvgPool2D:
          avgPool2dForward(out, cur, b.pool as Pool2DDims);
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
              L.movingMean as Float32Array, L.movingVar as Float32Array, cur, L.gamma ?? this.ones,
              L.beta ?? this.zeros, rows, C, L.momentum, L.eps);
          } else {
            batchnormInferUnchecked(out, cur, L.gamma ?? this.ones, L.beta ?? this.zeros,
              L.movingMean as Float32Array, L.movingVar as Float32Array, rows, C, L.eps);
          }
          break;
        case LayerKind.Activation:
          activationApply(out, cur, rows, C, L.act, L.alpha);
          break;
        default:
          break;
      }
      if (b.out !== null) cur = b.out;
      B.outs[i] = cur;
    }
    return cur;
  }

  /** The batch loss of `out` against y; writes dL/d(out) into dout unless it is null. */
  private lossOf(B: BatchBufs, dout: Float32Array | null, out: Float32Array, y: Labels,
                 sw: Float32Array | null, n: number): number {
    const D = this.outSize, s = this.smoothing;
    switch (this.loss) {
      case LossKind.CategoricalCrossentropy:
        if (this.fused) return softmaxCrossentropy(dout, out, y as Float32Array, sw, n, D, s);
        if (this.fromLogits) {
          softmaxRowsInto(B.probs as Float32Array, out, n, D);
          return softmaxCrossentropy(dout, B.probs as Float32Array, y as Float32Array, sw, n, D, s);
        }
        return categoricalCrossentropy(dout, out, y as Float32Array, sw, n, D, s);
      case LossKind.SparseCategoricalCrossentropy:
        if (this.fused) return sparseSoftmaxCrossentropy(dout, out, y as Int32Array, sw, n, D, s);
        if (this.fromLogits) {
          softmaxRowsInto(B.probs as Float32Array, out, n, D);
          return sparseSoftmaxCrossentropy(dout, B.probs as Float32Array, y as Int32Array, sw, n, D, s);
        }
        return sparseCategoricalCrossentropy(dout, out, y as Int32Array, sw, n, D, s);
      case LossKind.BinaryCrossentropy:
        return binaryCrossentropy(dout, out, y as Float32Array, sw, n, D, this.fromLogits, s);
      case LossKind.MeanSquaredError:
        return meanSquaredError(dout, out, y as Float32Array, sw, n, D);
      case LossKind.MeanAbsoluteError:
        return meanAbsoluteError(dout, out, y as Float32Array, sw, n, D);
      default:
        throw new Error(`unknown loss ${this.loss}`);
    }
  }

  private backward(B: BatchBufs, x: Float32Array, n: number): void {
    const gA = B.gA as Float32Array, gB = B.gB as Float32Array;
    let g = gA; // gradient w.r.t. the current layer's output
    const lastIdx = this.layers.length - 1;
    for (let i = lastIdx; i >= 0; i--) {
      const L = this.layers[i], b = B.layers[i];
      const inp = i === 0 ? x : B.outs[i - 1];
      const out = B.outs[i];
      const needDx = i > 0;
      const dst = g === gA ? gB : gA;
      const rows = n * L.in[0] * L.in[1];
      const C = L.in[2];
      const skipAct = i === lastIdx && this.fused; // the fused loss gave d/d(pre-softmax)
      switch (L.kind) {
        case LayerKind.Conv2D:
          if (L.act !== Act.Linear && !skipAct) {
            activationGrad(g, g, b.pre, out, n * L.out[0] * L.out[1], L.out[2], L.act, L.alpha);
          }
          conv2dBackwardUnchecked(needDx ? dst : null, L.dW as Float32Array, L.db, needDx ? B.dcol : null, g,
            b.col, inp, L.W as Float32Array, b.conv as Conv2DDims);
          g = dst;
          break;
        case LayerKind.Dense:
          if (L.act !== Act.Linear && !skipAct) activationGrad(g, g, b.pre, out, rows, L.out[2], L.act, L.alpha);
          denseBackwardUnchecked(needDx ? dst : null, L.dW as Float32Array, L.db, g, inp, L.W as Float32Array,
            rows, C, L.out[2]);
          g = dst;
          break;
        case LayerKind.MaxPool2D:
          if (needDx) maxPool2dBackward(dst, g, b.argmax as Int32Array, b.pool as Pool2DDims);
          g = dst;
          break;
        case LayerKind.AvgPool2D:
          if (needDx) avgPool2dBackward(dst, g, b.pool as Pool2DDims);
          g = dst;
          break;
        case LayerKind.GlobalAvgPool2D:
          if (needDx) globalAvgPoolBackward(dst, g, n, L.in[0] * L.in[1], C);
          g = dst;
          break;
        case LayerKind.GlobalMaxPool2D:
          if (needDx) globalMaxPoolBackward(dst, g, b.argmax as Int32Array, n, L.in[0] * L.in[1], C);
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
          batchnormBackwardUnchecked(needDx ? dst : null, L.dgamma ?? this.scratchC, L.dbeta ?? this.scratchC, g,
            b.xhat as Float32Array, b.invstd as Float32Array, L.gamma ?? this.ones, rows, C);
          g = dst;
          break;
        case LayerKind.Activation:
          if (!skipAct) activationGrad(g, g, inp, out, rows, C, L.act, L.alpha);
          break;
        default:
          break;
      }
    }
    for (const [a, e] of this.frozen) this.grads.fill(0, a, e);
  }

  private forwardBackwardRun(x: Float32Array, y: Labels, sw: Float32Array | null, n: number): number {
    const B = this.buffers(n, true);
    const out = this.forward(B, x, n, true);
    const loss = this.lossOf(B, B.gA, out, y, sw, n);
    this.backward(B, x, n);
    this.lastOut = out;
    this.lastN = n;
    return loss;
  }

  private update(lr: number, t: number): void {
    const o = this.opt;
    for (const v of this.trainVars) {
      const { w, g, size, slots } = v;
      if (o.clipNorm > 0) clipByNorm(g, size, o.clipNorm);
      if (o.clipValue > 0) clipByValue(g, size, o.clipValue);
      switch (o.kind) {
        case OptimizerKind.Sgd: sgdUpdate(w, g, size, lr); break;
        case OptimizerKind.Momentum: momentumUpdate(w, slots[0], g, size, lr, o.momentum, o.nesterov); break;
        case OptimizerKind.Adam: adamUpdate(w, slots[0], slots[1], g, size, lr, o.beta1, o.beta2, o.eps, t); break;
        case OptimizerKind.AdamW:
          adamwUpdate(w, slots[0], slots[1], g, size, lr, o.beta1, o.beta2, o.eps, o.weightDecay, t);
          break;
        case OptimizerKind.RMSprop:
          rmspropUpdate(w, slots[0], slots[1], o.centered ? slots[2] : null, g, size, lr, o.rho, o.momentum,
            o.eps, o.centered);
          break;
        case OptimizerKind.Adagrad: adagradUpdate(w, slots[0], g, size, lr, o.eps); break;
        default: break;
      }
    }
  }

  // ---- argument checks and the busy / disposed guard --------------------------------------

  private guard(): void {
    if (this.disposed) throw new Error('network was disposed');
    if (this.busy) throw new Error('network is busy');
  }

  private checkBatch(fn: string, x: Float32Array, n: number): void {
    if (!Number.isInteger(n) || n < 1) throw new RangeError(`${fn}: n must be an integer >= 1, received ${n}`);
    if (!(x instanceof Float32Array)) throw new TypeError(`${fn}: x must be a Float32Array`);
    if (x.length < n * this.inSize) {
      throw new RangeError(`${fn}: x has ${x.length} floats, ${n} samples of ${this.inSize} need ${n * this.inSize}`);
    }
  }

  private checkLabels(fn: string, y: Labels, sw: Float32Array | null, n: number): void {
    if (this.loss === LossKind.SparseCategoricalCrossentropy) {
      if (!(y instanceof Int32Array)) throw new TypeError(`${fn}: sparse categorical labels must be an Int32Array`);
      if (y.length < n) throw new RangeError(`${fn}: y has ${y.length} labels, needs ${n}`);
      for (let i = 0; i < n; i++) {
        if (y[i] < 0 || y[i] >= this.outSize) {
          throw new RangeError(`${fn}: label ${y[i]} of sample ${i} is outside [0, ${this.outSize})`);
        }
      }
    } else {
      if (!(y instanceof Float32Array)) throw new TypeError(`${fn}: labels must be a Float32Array`);
      if (y.length < n * this.outSize) {
        throw new RangeError(`${fn}: y has ${y.length} floats, needs ${n * this.outSize}`);
      }
    }
    if (sw !== null && sw !== undefined) {
      if (!(sw instanceof Float32Array)) throw new TypeError(`${fn}: sample weights must be a Float32Array or null`);
      if (sw.length < n) throw new RangeError(`${fn}: sample weights have ${sw.length} values, need ${n}`);
    }
  }

  private checkOut(fn: string, out: Float32Array, n: number): void {
    if (!(out instanceof Float32Array)) throw new TypeError(`${fn}: out must be a Float32Array`);
    if (out.length < n * this.outSize) {
      throw new RangeError(`${fn}: out has ${out.length} floats, needs ${n * this.outSize}`);
    }
  }

  private checkTrain(fn: string, x: Float32Array, y: Labels, sw: Float32Array | null, n: number,
                     lr: number, t: number): void {
    this.checkBatch(fn, x, n);
    this.checkLabels(fn, y, sw, n);
    if (typeof lr !== 'number' || !Number.isFinite(lr)) throw new RangeError(`${fn}: lr must be a finite number, received ${lr}`);
    if (!Number.isInteger(t) || t < 1) throw new RangeError(`${fn}: t must be an integer >= 1, received ${t}`);
  }

  /** Runs fn with the busy flag set. */
  private run<T>(fn: () => T): T {
    this.busy = true;
    try {
      return fn();
    } finally {
      this.busy = false;
    }
  }

  /** Sets the busy flag now, runs fn after yielding to the event loop, clears the flag. */
  private runAsync<T>(fn: () => T): Promise<T> {
    this.busy = true;
    return new Promise<T>((resolve, reject) => {
      setImmediate(() => {
        try {
          resolve(fn());
        } catch (e) {
          reject(e);
        } finally {
          this.busy = false;
        }
      });
    });
  }

  // ---- the Network interface ---------------------------------------------------------------

  forwardBackward(x: Float32Array, y: Labels, sw: Float32Array | null, n: number): number {
    this.guard();
    this.checkBatch('forwardBackward', x, n);
    this.checkLabels('forwardBackward', y, sw, n);
    return this.run(() => this.forwardBackwardRun(x, y, sw ?? null, n));
  }

  trainStep(x: Float32Array, y: Labels, sw: Float32Array | null, n: number, lr: number, t: number): number {
    this.guard();
    this.checkTrain('trainStep', x, y, sw, n, lr, t);
    return this.run(() => {
      const loss = this.forwardBackwardRun(x, y, sw ?? null, n);
      this.update(lr, t);
      return loss;
    });
  }

  trainStepAsync(x: Float32Array, y: Labels, sw: Float32Array | null, n: number, lr: number, t: number): Promise<number> {
    this.guard();
    this.checkTrain('trainStepAsync', x, y, sw, n, lr, t);
    return this.runAsync(() => {
      const loss = this.forwardBackwardRun(x, y, sw ?? null, n);
      this.update(lr, t);
      return loss;
    });
  }

  predict(out: Float32Array, x: Float32Array, n: number): void {
    this.guard();
    this.checkBatch('predict', x, n);
    this.checkOut('predict', out, n);
    this.run(() => this.predictRun(out, x, n));
  }

  predictAsync(out: Float32Array, x: Float32Array, n: number): Promise<void> {
    this.guard();
    this.checkBatch('predictAsync', x, n);
    this.checkOut('predictAsync', out, n);
    return this.runAsync(() => {
      this.predictRun(out, x, n);
    });
  }

  private predictRun(out: Float32Array, x: Float32Array, n: number): Float32Array {
    const B = this.buffers(n, false);
    const y = this.forward(B, x, n, false);
    const len = n * this.outSize;
    out.set(y.length === len ? y : y.subarray(0, len));
    return y;
  }

  evaluate(out: Float32Array, x: Float32Array, y: Labels, sw: Float32Array | null, n: number): number {
    this.guard();
    this.checkBatch('evaluate', x, n);
    this.checkOut('evaluate', out, n);
    this.checkLabels('evaluate', y, sw, n);
    return this.run(() => {
      const pred = this.predictRun(out, x, n);
      return this.lossOf(this.infer as BatchBufs, null, pred, y, sw ?? null, n);
    });
  }

  getOutput(dst: Float32Array): void {
    this.guard();
    const len = this.lastN * this.outSize;
    if (!(dst instanceof Float32Array) || dst.length < len) {
      throw new RangeError(`getOutput: dst must be a Float32Array of at least ${len} floats`);
    }
    if (this.lastOut !== null) dst.set(this.lastOut.subarray(0, len));
  }

  getGrads(dst: Float32Array): void {
    this.guard();
    if (!(dst instanceof Float32Array) || dst.length < this.paramCount) {
      throw new RangeError(`getGrads: dst must be a Float32Array of at least ${this.paramCount} floats`);
    }
    dst.set(this.grads);
  }

  dispose(): void {
    if (this.disposed) return;
    if (this.busy) throw new Error('network is busy');
    this.disposed = true;
    this.train = null;
    this.infer = null;
    this.lastOut = null;
  }
}

/** Compiles a network over caller-owned params and slots (see native/engine/network.h). */
export function createNetwork(spec: NetworkSpec, params: Float32Array, slots: Float32Array): Network {
  return new JsNetwork(spec, params, slots);
}
