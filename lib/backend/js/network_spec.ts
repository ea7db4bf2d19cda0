// Reading and validating a NetworkSpec for the TypeScript engine, with the same rules and messages
// as the native binding (native/binding/network_binding.cc: field types, TypeError) and engine
// (native/engine/network.cc: consistency, Error), so both backends reject the same specs alike.
import {
  Act, ComputeDtype, LayerKind, LossKind, NetworkSpec, OptimizerKind, OptimizerSpec, Padding,
} from '../types';
import { f32 } from './check';
import { conv2dDims } from './conv2d';
import { optimizerSlotCount } from './optim';
import { pool2dDims } from './pool2d';
import { MAX_LAYER_KIND, NodeKind, NodeParam } from './nodes/node_kind';
import { nodeKind } from './nodes/registry';

export type Shape = [number, number, number];

/** A layer with every field filled in (header defaults) and its per-sample sizes. */
export interface LayerInfo {
  kind: LayerKind;
  in: Shape;
  out: Shape;
  inSize: number;
  outSize: number;
  kh: number; kw: number; sh: number; sw: number; dh: number; dw: number;
  padding: Padding;
  filters: number;
  units: number;
  act: Act;
  alpha: number; rate: number; momentum: number; eps: number;
  kernel: number; bias: number; gamma: number; beta: number; movingMean: number; movingVar: number;
  /** Compute dtype of the Conv2D / Dense GEMMs (native/engine/network.h ComputeDtype). */
  dtype: ComputeDtype;
  /** Owns a parameter range inside a trainable variable. */
  trainable: boolean;
  /** Graph form: the tensor ids read (chain form: filled in as [i]); merges read several. */
  inputs: number[];
  /** Graph form: the shapes of the inputs (= [in] for single-input kinds). */
  ins: Shape[];
  axis: number;
  normalize: boolean;
  /** Registry kinds' fields (nodes/). ZeroPadding2D: top, bottom, left, right. */
  pad: [number, number, number, number];
  /** Cropping2D: top, bottom, left, right. */
  crop: [number, number, number, number];
  /** UpSampling2D: row, column factors; interpolation 0 nearest, 1 bilinear. */
  size: [number, number];
  interpolation: number;
  /** PReLU: 1 where alpha is shared over that per-sample axis (H, W, C). */
  shared: [number, number, number];
  /** Registry kinds: the descriptor, the ranges its shape rule listed, floats per sample saved. */
  node?: NodeKind;
  nodeParams: NodeParam[];
  savedSize: number;
}

/** The loss of one output, filled in. */
export interface OutputLoss { loss: LossKind; fromLogits: boolean; labelSmoothing: number; weight: number }

export interface VarInfo { offset: number; size: number; trainable: boolean; slotBase: number }

/** The checked spec: what the engine runs on. */
export interface CheckedSpec {
  layers: LayerInfo[];
  vars: VarInfo[];
  loss: LossKind;
  fromLogits: boolean;
  labelSmoothing: number;
  opt: Required<OptimizerSpec>;
  seed: number;
  paramCount: number;
  slotCount: number;
  inSize: number;
  outSize: number;
  /** Backward stops here; -1 when nothing is trainable. */
  firstTrainable: number;
  /** Last activation Softmax with (sparse) categorical CE on probabilities. */
  fusedSoftmax: boolean;
  /**
   * False when the spec needs the graph engine (network_graph.ts): several inputs or outputs,
   * merge nodes, a node reading anything but the one before it, shared parameters, a loss weight.
   * A graph-form spec that is a plain chain runs on the chain engine, as the chain form does.
   */
  chain: boolean;
  /** Model inputs: their per-sample shapes (tensor ids 0..I-1). */
  inputShapes: Shape[];
  /** Tensor ids of the outputs, and their losses. */
  outputs: number[];
  outputLosses: OutputLoss[];
  /** Per tensor id: its shape. */
  tensorShapes: Shape[];
}

/** A kind's name in messages (the native kind_name). */
export function kindName(k: LayerKind): string {
  return KIND_NAMES[k] ?? nodeKind(k)?.name ?? '?';
}

export const KIND_NAMES = ['Conv2D', 'Dense', 'MaxPool2D', 'AvgPool2D', 'GlobalAvgPool2D', 'GlobalMaxPool2D',
  'Flatten', 'Dropout', 'BatchNorm', 'Activation', 'Add', 'Subtract', 'Multiply', 'Average', 'Maximum',
  'Minimum', 'Concatenate', 'Dot', 'Reshape'];

/** Kinds that read two or more tensors. */
export const isMerge = (k: LayerKind): boolean => k >= LayerKind.Add && k <= LayerKind.Dot;
const INT_MAX = 2147483647;
const MAX_SAFE = 2 ** 53;

// ---- field reading (TypeError, "createNetwork: <path> must be <what>, received <value>") --------

function describe(v: unknown): string {
  if (v === undefined) return 'undefined';
  if (v === null) return 'null';
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'function') return 'a function';
  return 'an object';
}

function specError(path: string, what: string, v: unknown): TypeError {
  return new TypeError(`createNetwork: ${path} must be ${what}, received ${describe(v)}`);
}

function intWhat(lo: number, hi: number): string {
  if (lo === 1 && hi >= INT_MAX) return 'a positive integer';
  if (lo === 0 && hi >= INT_MAX) return 'a non-negative integer';
  return `an integer in [${lo}, ${hi}]`;
}

type Obj = Record<string, unknown>;
const isObject = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

function intField(o: Obj, key: string, path: string, lo: number, hi: number, def: number, required = false): number {
  const v = o[key];
  if (v === undefined && !required) return def;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < lo || v > hi) {
    throw specError(`${path}.${key}`, intWhat(lo, hi), v);
  }
  return v;
}

function numField(o: Obj, key: string, path: string, lo: number, hi: number, def: number, hiOpen = false): number {
  const v = o[key];
  if (v === undefined) return f32(def);
  if (typeof v !== 'number' || !(v >= lo && (hiOpen ? v < hi : v <= hi))) {
    throw specError(`${path}.${key}`, `a number in [${lo}, ${hi}${hiOpen ? ')' : ']'}`, v);
  }
  return f32(v);
}

function boolField(o: Obj, key: string, path: string, def: boolean, required = false): boolean {
  const v = o[key];
  if (v === undefined && !required) return def;
  if (typeof v !== 'boolean') throw specError(`${path}.${key}`, 'a boolean', v);
  return v;
}

function shapeField(o: Obj, key: string, path: string): Shape {
  return shapeAt(o[key], `${path}.${key}`);
}

function shapeAt(v: unknown, p: string): Shape {
  if (!Array.isArray(v) || v.length !== 3) throw specError(p, 'an array of 3 positive integers', v);
  let size = 1;
  for (let i = 0; i < 3; i++) {  // an index loop: forEach would skip holes ([28, , 1])
    const e: unknown = v[i];
    if (typeof e !== 'number' || !Number.isInteger(e) || e < 1 || e > INT_MAX) {
      throw specError(`${p}[${i}]`, 'a positive integer', e);
    }
    size *= e;  // each factor < 2^31 and the product so far <= INT_MAX: the comparison below is exact
    if (size > INT_MAX) throw new RangeError(`createNetwork: ${p} holds more than ${INT_MAX} values per sample`);
  }
  return [v[0], v[1], v[2]];
}

/** a * b * ... for the sizes of one layer, refusing a product above 2^53 (as the native binding does). */
function safeProduct(what: string, xs: number[]): number {
  let p = 1;
  for (const x of xs) {
    if (x !== 0 && p > MAX_SAFE / x) throw new RangeError(`createNetwork: ${what} is too large (more than 2^53 values)`);
    p *= x;
  }
  return p;
}

function readLayer(v: unknown, path: string): LayerInfo {
  if (!isObject(v)) throw specError(path, 'an object', v);
  const kind = intField(v, 'kind', path, 0, MAX_LAYER_KIND, 0, true) as LayerKind;
  const conv = kind === LayerKind.Conv2D, dense = kind === LayerKind.Dense;
  const inS = shapeField(v, 'in', path), outS = shapeField(v, 'out', path);
  const info: LayerInfo = {
    kind, in: inS, out: outS, inSize: inS[0] * inS[1] * inS[2], outSize: outS[0] * outS[1] * outS[2],
    kh: intField(v, 'kh', path, 1, INT_MAX, 1), kw: intField(v, 'kw', path, 1, INT_MAX, 1),
    sh: intField(v, 'sh', path, 1, INT_MAX, 1), sw: intField(v, 'sw', path, 1, INT_MAX, 1),
    dh: intField(v, 'dh', path, 1, INT_MAX, 1), dw: intField(v, 'dw', path, 1, INT_MAX, 1),
    padding: intField(v, 'padding', path, 0, 1, 0) as Padding,
    filters: intField(v, 'filters', path, conv ? 1 : 0, INT_MAX, 0, conv),
    units: intField(v, 'units', path, dense ? 1 : 0, INT_MAX, 0, dense),
    act: intField(v, 'act', path, 0, Act.Relu6, 0) as Act,
    alpha: numField(v, 'alpha', path, -1e30, 1e30, 0),
    rate: numField(v, 'rate', path, 0, 1, 0, true),
    momentum: numField(v, 'momentum', path, 0, 1, 0.99),
    eps: numField(v, 'eps', path, 0, 1e30, 1e-3),
    kernel: intField(v, 'kernel', path, -1, MAX_SAFE, -1), bias: intField(v, 'bias', path, -1, MAX_SAFE, -1),
    gamma: intField(v, 'gamma', path, -1, MAX_SAFE, -1), beta: intField(v, 'beta', path, -1, MAX_SAFE, -1),
    movingMean: intField(v, 'movingMean', path, -1, MAX_SAFE, -1),
    movingVar: intField(v, 'movingVar', path, -1, MAX_SAFE, -1),
    dtype: intField(v, 'dtype', path, 0, ComputeDtype.BFloat16, 0) as ComputeDtype,
    trainable: false,
    inputs: idsField(v, 'inputs', path),
    ins: [],
    axis: intField(v, 'axis', path, 0, 2, 2),
    normalize: boolField(v, 'normalize', path, false),
    pad: intsField(v, 'pad', path, 4, [0, 0, 0, 0]) as [number, number, number, number],
    crop: intsField(v, 'crop', path, 4, [0, 0, 0, 0]) as [number, number, number, number],
    size: intsField(v, 'size', path, 2, [1, 1]) as [number, number],
    interpolation: intField(v, 'interpolation', path, 0, 1, 0),
    shared: intsField(v, 'shared', path, 3, [0, 0, 0]) as [number, number, number],
    nodeParams: [],
    savedSize: 0,
  };
  const insV = v.ins;
  if (insV !== undefined) {
    if (!Array.isArray(insV)) throw specError(`${path}.ins`, 'an array of shapes', insV);
    info.ins = insV.map((e, k) => shapeAt(e, `${path}.ins[${k}]`));
  }
  // The same limits as the native binding, so both backends refuse an absurd spec with one message.
  if (conv) {
    safeProduct(`${path} kernel (kh * kw * in[2] * filters)`, [info.kh, info.kw, inS[2], info.filters]);
    if (safeProduct(`${path} im2col matrix`, [outS[0], outS[1], info.kh, info.kw, inS[2]]) > INT_MAX) {
      throw new RangeError(`createNetwork: ${path} im2col matrix (out[0] * out[1] x kh * kw * in[2]) holds more than ${INT_MAX} values per sample`);
    }
  }
  if (dense) safeProduct(`${path} kernel (in[2] * units)`, [inS[2], info.units]);
  return info;
}

/** An optional array of `count` non-negative integers (def when absent); the binding's IntsField. */
function intsField(o: Obj, key: string, path: string, count: number, def: number[]): number[] {
  const v = o[key];
  if (v === undefined) return def.slice();
  const p = `${path}.${key}`;
  if (!Array.isArray(v) || v.length !== count) throw specError(p, `an array of ${count} non-negative integers`, v);
  const r: number[] = [];
  for (let i = 0; i < count; i++) {
    const e: unknown = v[i];
    if (typeof e !== 'number' || !Number.isInteger(e) || e < 0 || e > INT_MAX) throw specError(`${p}[${i}]`, 'a non-negative integer', e);
    r.push(e);
  }
  return r;
}

/** An optional array of non-negative integer ids ([] when absent). */
function idsField(o: Obj, key: string, path: string): number[] {
  const v = o[key];
  if (v === undefined) return [];
  const p = `${path}.${key}`;
  if (!Array.isArray(v)) throw specError(p, 'an array of tensor ids', v);
  const out: number[] = [];
  for (let i = 0; i < v.length; i++) {
    const e: unknown = v[i];
    if (typeof e !== 'number' || !Number.isInteger(e) || e < 0 || e > INT_MAX) {
      throw specError(`${p}[${i}]`, 'a non-negative integer', e);
    }
    out.push(e);
  }
  return out;
}

function readOutputLoss(v: unknown, path: string): OutputLoss {
  if (!isObject(v)) throw specError(path, 'an object {loss, fromLogits, labelSmoothing, weight}', v);
  return {
    loss: intField(v, 'loss', path, 0, LossKind.MeanAbsoluteError, 0, true) as LossKind,
    fromLogits: boolField(v, 'fromLogits', path, false),
    labelSmoothing: numField(v, 'labelSmoothing', path, 0, 1, 0),
    weight: numField(v, 'weight', path, 0, 1e30, 1),
  };
}

function readOpt(v: unknown): Required<OptimizerSpec> {
  if (!isObject(v)) throw specError('spec.opt', 'an object', v);
  const p = 'opt';
  return {
    kind: intField(v, 'kind', p, 0, OptimizerKind.Adagrad, 0, true) as OptimizerKind,
    beta1: numField(v, 'beta1', p, 0, 1, 0.9, true),
    beta2: numField(v, 'beta2', p, 0, 1, 0.999, true),
    eps: numField(v, 'eps', p, 0, 1e30, 1e-7),
    momentum: numField(v, 'momentum', p, 0, 1e30, 0),
    nesterov: boolField(v, 'nesterov', p, false),
    rho: numField(v, 'rho', p, 0, 1, 0.9),
    centered: boolField(v, 'centered', p, false),
    weightDecay: numField(v, 'weightDecay', p, 0, 1e30, 0),
    clipNorm: numField(v, 'clipNorm', p, 0, 1e30, 0),
    clipValue: numField(v, 'clipValue', p, 0, 1e30, 0),
  };
}

// ---- consistency (Error, "createNetwork: <where>: <msg>") ----------------------------------------

function fail(where: string, msg: string): Error {
  return new Error(`createNetwork: ${where}: ${msg}`);
}

const shapeStr = (s: Shape): string => `[${s[0]}, ${s[1]}, ${s[2]}]`;
const sameShape = (a: Shape, b: Shape): boolean => a[0] === b[0] && a[1] === b[1] && a[2] === b[2];

interface Range { offset: number; size: number; layer: number; field: string; stat: boolean }

/** Reads and checks a spec; throws TypeError for a malformed field, Error for an inconsistent spec. */
export function checkSpec(raw: NetworkSpec): CheckedSpec {
  if (!isObject(raw)) throw specError('spec', 'an object', raw);
  const spec = raw as unknown as Obj;
  if (!Array.isArray(spec.layers)) throw specError('spec.layers', 'an array', spec.layers);
  const layers = (spec.layers as unknown[]).map((l, i) => readLayer(l, `layers[${i}]`));
  if (!Array.isArray(spec.vars)) throw specError('spec.vars', 'an array', spec.vars);
  const vars: VarInfo[] = (spec.vars as unknown[]).map((e, i) => {
    const path = `vars[${i}]`;
    if (!isObject(e)) throw specError(path, 'an object {offset, size, trainable}', e);
    return {
      offset: intField(e, 'offset', path, 0, MAX_SAFE, 0, true),
      size: intField(e, 'size', path, 0, MAX_SAFE, 0, true),
      trainable: boolField(e, 'trainable', path, false, true),
      slotBase: -1,
    };
  });
  let loss = intField(spec, 'loss', 'spec', 0, LossKind.MeanAbsoluteError, 0, true) as LossKind;
  let fromLogits = boolField(spec, 'fromLogits', 'spec', false);
  let labelSmoothing = numField(spec, 'labelSmoothing', 'spec', 0, 1, 0);
  const seed = intField(spec, 'seed', 'spec', 0, 0xffffffff, 0);
  const opt = readOpt(spec.opt);

  // graph fields (absent: the chain form)
  let inputShapes: Shape[] | null = null;
  if (spec.inputs !== undefined) {
    const v = spec.inputs;
    if (!Array.isArray(v)) throw specError('spec.inputs', 'an array of shapes', v);
    inputShapes = v.map((e, k) => shapeAt(e, `inputs[${k}]`));
  }
  const outputsRaw = spec.outputs === undefined ? null : idsField(spec, 'outputs', 'spec');
  let lossesRaw: OutputLoss[] | null = null;
  if (spec.outputLosses !== undefined) {
    const v = spec.outputLosses;
    if (!Array.isArray(v)) throw specError('spec.outputLosses', 'an array', v);
    lossesRaw = v.map((e, k) => readOutputLoss(e, `outputLosses[${k}]`));
  }
  const graphForm = inputShapes !== null || outputsRaw !== null || lossesRaw !== null ||
    (spec.layers as Obj[]).some((l) => l.inputs !== undefined || l.ins !== undefined);

  if (layers.length === 0) throw fail('network', 'the network has no layers');
  if (inputShapes === null) inputShapes = [layers[0].in];
  if (inputShapes.length === 0) throw fail('network', 'the network has no inputs');
  const I = inputShapes.length;

  // vars: no overlaps; the parameter count is the end of the furthest one
  let paramCount = 0;
  for (const v of vars) paramCount = Math.max(paramCount, v.offset + v.size);
  const sorted = vars.map((v) => [v.offset, v.size]).sort((a, b) => a[0] - b[0]);
  for (let j = 1; j < sorted.length; j++) {
    if (sorted[j][0] < sorted[j - 1][0] + sorted[j - 1][1]) {
      throw fail('vars', `variables overlap at offset ${sorted[j][0]}`);
    }
  }
  const varOf = (off: number, size: number): number =>
    vars.findIndex((v) => off >= v.offset && off + size <= v.offset + v.size);

  const tensorShapes: Shape[] = inputShapes.slice();
  const ranges: Range[] = [];
  let chain = I === 1;
  layers.forEach((L, i) => {
    const where = `layers[${i}] (${kindName(L.kind)})`;
    // wiring: the ids read, their count, their shapes
    const prevId = i === 0 ? 0 : I + i - 1;
    if (L.inputs.length === 0) L.inputs = [prevId];
    const nIn = L.inputs.length, merge = isMerge(L.kind);
    if (!merge && nIn !== 1) throw fail(where, `takes 1 input, received ${nIn} ids`);
    if (merge && nIn < 2) throw fail(where, `a merge takes 2 or more inputs, received ${nIn}`);
    if ((L.kind === LayerKind.Subtract || L.kind === LayerKind.Dot) && nIn !== 2) {
      throw fail(where, `takes exactly 2 inputs, received ${nIn}`);
    }
    for (const id of L.inputs) {
      if (id >= I + i) {
        throw fail(where, `input id ${id} is not a model input or an earlier node's output (ids 0..${I + i - 1})`);
      }
    }
    if (nIn !== 1 || L.inputs[0] !== prevId) chain = false;
    const shapes = L.inputs.map((id) => tensorShapes[id]);
    if (!graphForm) {
      if (i > 0 && !sameShape(layers[i - 1].out, L.in)) {
        throw fail(where, `in ${shapeStr(L.in)} does not match the previous layer's out ${shapeStr(layers[i - 1].out)}`);
      }
    } else if (!sameShape(shapes[0], L.in)) {
      throw fail(where, `in ${shapeStr(L.in)} does not match the shape ${shapeStr(shapes[0])} of input id ${L.inputs[0]}`);
    }
    if (L.ins.length > 0) {
      if (L.ins.length !== nIn) throw fail(where, `ins has ${L.ins.length} shapes for ${nIn} inputs`);
      L.ins.forEach((sh, k) => {
        if (!sameShape(sh, shapes[k])) {
          throw fail(where, `ins[${k}] ${shapeStr(sh)} does not match the shape ${shapeStr(shapes[k])} of input id ${L.inputs[k]}`);
        }
      });
    }
    L.ins = shapes;
    const [H, W, C] = L.in;
    const param = (field: 'kernel' | 'bias' | 'gamma' | 'beta' | 'movingMean' | 'movingVar', size: number,
                   optional: boolean, stat = false): void => paramAt(field, L[field], size, optional, stat);
    const paramAt = (field: string, off: number, size: number, optional: boolean, stat = false): void => {
      if (off === -1) {
        if (!optional) throw fail(where, `${field} offset is required`);
        return;
      }
      if (varOf(off, size) < 0) throw fail(where, `${field} [${off}, ${off + size}) is not inside one of the vars`);
      ranges.push({ offset: off, size, layer: i, field, stat });
    };
    const expectOut = (oh: number, ow: number, oc: number): void => {
      const want: Shape = [oh, ow, oc];
      if (!sameShape(want, L.out)) throw fail(where, `out must be ${shapeStr(want)}, received ${shapeStr(L.out)}`);
    };
    const pair = (k: number): string =>
      `input id ${L.inputs[0]} is ${shapeStr(shapes[0])} and input id ${L.inputs[k]} is ${shapeStr(shapes[k])}`;
    if (L.kind > LayerKind.Reshape) {  // a registry kind (nodes/node_kind.ts)
      const nk = nodeKind(L.kind);
      if (nk === undefined) throw fail(where, `unknown layer kind ${L.kind}`);
      chain = false;  // the registry kinds run on the graph engine only
      const sh = nk.shape(L);
      if (sh.error !== undefined) throw fail(where, sh.error);
      expectOut(sh.out[0], sh.out[1], sh.out[2]);
      for (const p of sh.params) {
        paramAt(p.field, p.offset, p.size, p.optional, p.stat === true);
        if (p.stat && p.offset >= 0 && vars[varOf(p.offset, p.size)].trainable) {
          throw fail(where, `${p.field} must lie in non-trainable vars`);
        }
      }
      L.node = nk;
      L.nodeParams = sh.params;
      L.savedSize = nk.savedFloats ? nk.savedFloats(L) : 0;
      tensorShapes.push(L.out);
      return;
    }
    switch (L.kind) {
      case LayerKind.Conv2D: {
        let d;
        try {
          d = conv2dDims(1, H, W, C, L.kh, L.kw, L.filters, L.sh, L.sw, L.dh, L.dw, L.padding);
        } catch {
          throw fail(where, `the kernel does not fit in the input ${shapeStr(L.in)}`);
        }
        expectOut(d.OH, d.OW, L.filters);
        param('kernel', L.kh * L.kw * C * L.filters, false);
        param('bias', L.filters, true);
        break;
      }
      case LayerKind.Dense:
        expectOut(H, W, L.units);
        param('kernel', C * L.units, false);
        param('bias', L.units, true);
        break;
      case LayerKind.MaxPool2D:
      case LayerKind.AvgPool2D: {
        let d;
        try {
          d = pool2dDims(1, H, W, C, L.kh, L.kw, L.sh, L.sw, L.padding);
        } catch {
          throw fail(where, `the pool window does not fit in the input ${shapeStr(L.in)}`);
        }
        expectOut(d.OH, d.OW, C);
        break;
      }
      case LayerKind.GlobalAvgPool2D:
      case LayerKind.GlobalMaxPool2D:
        expectOut(1, 1, C);
        break;
      case LayerKind.Flatten:
        expectOut(1, 1, L.inSize);
        break;
      case LayerKind.Dropout:
        expectOut(H, W, C);
        break;
      case LayerKind.BatchNorm:
        if (!(L.eps > 0)) throw fail(where, 'eps must be positive');
        expectOut(H, W, C);
        param('gamma', C, true);
        param('beta', C, true);
        param('movingMean', C, false, true);
        param('movingVar', C, false, true);
        for (const off of [L.movingMean, L.movingVar]) {
          if (vars[varOf(off, C)].trainable) throw fail(where, 'movingMean / movingVar must lie in non-trainable vars');
        }
        break;
      case LayerKind.Concatenate: {
        const a = L.axis, o: Shape = [shapes[0][0], shapes[0][1], shapes[0][2]];
        for (let k = 1; k < nIn; k++) {
          for (let ax = 0; ax < 3; ax++) {
            if (ax !== a && shapes[k][ax] !== shapes[0][ax]) throw fail(where, `inputs must agree except on axis ${a}: ${pair(k)}`);
          }
          o[a] += shapes[k][a];
        }
        if (o[0] * o[1] * o[2] > INT_MAX) throw fail(where, 'per-sample size too large');
        expectOut(o[0], o[1], o[2]);
        break;
      }
      case LayerKind.Dot:
        if (shapes[0][0] !== 1 || shapes[0][1] !== 1 || !sameShape(shapes[0], shapes[1])) {
          throw fail(where, `needs two [1, 1, F] vectors of the same F: ${pair(1)}`);
        }
        expectOut(1, 1, 1);
        break;
      case LayerKind.Reshape:
        chain = false;
        if (L.outSize !== L.inSize) {
          throw fail(where, `out ${shapeStr(L.out)} must hold as many values as in ${shapeStr(L.in)}`);
        }
        break;
      case LayerKind.Activation:
        expectOut(H, W, C);
        break;
      default: // elementwise merges
        for (let k = 1; k < nIn; k++) {
          if (!sameShape(shapes[k], shapes[0])) throw fail(where, `inputs must have the same shape: ${pair(k)}`);
        }
        expectOut(H, W, C);
        break;
    }
    tensorShapes.push(L.out);
  });

  // Layers share a parameter range only in graph form (one layer applied twice: the same field at
  // the same offset, gradients summed); any other overlap is refused.
  ranges.sort((a, b) => a.offset - b.offset || b.size - a.size);
  let shared = false;
  for (let j = 1; j < ranges.length; j++) {
    const a = ranges[j - 1], b = ranges[j];
    if (b.offset < a.offset + a.size) {
      if (graphForm && a.offset === b.offset && a.size === b.size && a.field === b.field) {
        shared = true;
        continue;
      }
      throw fail(`layers[${b.layer}]`, `${b.field} overlaps layers[${a.layer}].${a.field}`);
    }
  }
  let firstTrainable = -1;
  for (const r of ranges) {
    if (r.stat || r.size === 0 || !vars[varOf(r.offset, r.size)].trainable) continue;
    layers[r.layer].trainable = true;
    if (firstTrainable < 0 || r.layer < firstTrainable) firstTrainable = r.layer;
  }
  if (layers.every((L) => L.kind === LayerKind.Flatten || L.kind === LayerKind.Reshape)) {
    throw fail('network', 'the network has only Flatten layers: nothing to compute');
  }

  // outputs and their losses
  const nT = I + layers.length;
  const outputs = outputsRaw ?? [nT - 1];
  if (outputs.length === 0) throw fail('outputs', 'the network has no outputs');
  outputs.forEach((id, k) => {
    if (id < I || id >= nT) throw fail(`outputs[${k}]`, `id ${id} is not a node's output (ids ${I}..${nT - 1})`);
    if (outputs.indexOf(id) !== k) throw fail(`outputs[${k}]`, `id ${id} is listed twice`);
  });
  if (lossesRaw !== null && lossesRaw.length !== outputs.length) {
    throw fail('outputLosses', `has ${lossesRaw.length} entries for ${outputs.length} outputs`);
  }
  const outputLosses = lossesRaw ?? outputs.map(() => ({ loss, fromLogits, labelSmoothing, weight: 1 }));
  const readers = new Array<number>(nT).fill(0);
  for (const L of layers) for (const id of L.inputs) readers[id]++;
  let fusedSoftmax = false;
  outputLosses.forEach((ol, k) => {
    const shape = tensorShapes[outputs[k]], node = layers[outputs[k] - I];
    const categorical = ol.loss === LossKind.CategoricalCrossentropy || ol.loss === LossKind.SparseCategoricalCrossentropy;
    if (categorical && (shape[0] !== 1 || shape[1] !== 1)) {
      if (outputs.length === 1) {
        throw fail('loss', `categorical losses need a [1, 1, classes] output, the last layer gives ${shapeStr(shape)}` +
          ' (add Flatten or global pooling)');
      }
      throw fail(`outputLosses[${k}]`, `categorical losses need a [1, 1, classes] output, output id ${outputs[k]} gives ${shapeStr(shape)}` +
        ' (add Flatten or global pooling)');
    }
    const softmax = node.act === Act.Softmax &&
      (node.kind === LayerKind.Conv2D || node.kind === LayerKind.Dense || node.kind === LayerKind.Activation);
    if (k === 0) fusedSoftmax = categorical && !ol.fromLogits && softmax && readers[outputs[k]] === 0;
  });
  chain = chain && !shared && outputs.length === 1 && outputs[0] === nT - 1 && outputLosses[0].weight === 1;
  if (chain) ({ loss, fromLogits, labelSmoothing } = outputLosses[0]);

  // optimizer slots, per trainable var in vars order
  const per = optimizerSlotCount(opt.kind);
  let slotCount = 0;
  for (const v of vars) {
    if (!v.trainable) continue;
    v.slotBase = slotCount;
    slotCount += v.size * per;
  }

  const sizeOf = (sh: Shape): number => sh[0] * sh[1] * sh[2];
  return {
    layers, vars, loss, fromLogits, labelSmoothing, opt, seed, paramCount, slotCount,
    inSize: sizeOf(inputShapes[0]), outSize: sizeOf(tensorShapes[outputs[0]]), firstTrainable,
    fusedSoftmax, chain, inputShapes, outputs, outputLosses, tensorShapes,
  };
}
