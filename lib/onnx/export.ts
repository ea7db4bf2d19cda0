/**
 * Sequential and graph (functional) models -> ONNX (opset 13, IR 8). The graph takes the model's
 * channels-last inputs [N, H, W, C] (N symbolic) and gives its outputs. Convolutions and pools run
 * in ONNX's NCHW: a Transpose goes in before the first of them and one comes back out before
 * Flatten (or at an output), so Dense kernels keep TF's (h, w, c) row order and need no
 * permutation. Every tensor of the graph carries its layout; a merge of tensors in different
 * layouts brings them all to NHWC first. Nested models are inlined (model.engineGraph()); a
 * shared layer's weights are emitted once and read by each of its calls.
 *
 * Merges: Add -> Sum, Subtract -> Sub, Multiply -> Mul (chained), Average -> Mean, Maximum -> Max,
 * Minimum -> Min, Concatenate -> Concat on the matching ONNX axis, Dot of two vectors -> Mul +
 * ReduceSum (normalize: LpNormalization first), Reshape -> Reshape in NHWC order.
 *
 * Mapping: Conv2D -> Conv (kernel HWIO -> OIHW, TF 'same' as explicit pads with the extra pixel at
 * the end); MaxPooling2D -> MaxPool; AveragePooling2D -> AveragePool (count_include_pad = 0: padded
 * pixels never count, as in TF); global pools -> GlobalAveragePool / GlobalMaxPool + Flatten;
 * Dense -> Gemm (MatMul + Add beyond 2-D); BatchNormalization -> BatchNormalization (inference);
 * Dropout -> nothing; activations -> Relu, LeakyRelu, Elu, Selu, Sigmoid, Tanh, Softplus,
 * Clip (relu6), x * Sigmoid(x) (swish), exact GELU through Erf, Softmax on the channel axis.
 * Registry layers (lib/model/layers/registry.ts) map themselves through toOnnx: ZeroPadding2D -> Pad
 * (constant zeros on H and W, in the running layout), Cropping2D -> Slice, UpSampling2D -> Resize
 * (NCHW; coordinate_transformation_mode asymmetric, nearest_mode floor: TF.js's sampling); the 1-D
 * layers -> 1-D Conv / MaxPool / AveragePool in NCL between Transposes, ReduceMean / ReduceMax.
 */
import { Act } from '../backend/types';
import { defaultAlpha } from '../model/activations';
import {
  Activation, AveragePooling2D, BatchNormalization, Conv2D, Dense, Dropout, Flatten, GlobalAveragePooling2D,
  GlobalMaxPooling2D, InputLayer, MaxPooling2D,
  Add, Subtract, Multiply, Average, Maximum, Minimum, Concatenate, Dot, Reshape,
} from '../model/layers';
import type { Layer, OnnxEmitter } from '../model/layers';
import type { EngineGraph } from '../model/container';
import { attr, GraphBuilder, valueInfo } from './graph';
import { onnxModelType } from './schema';

export interface OnnxExportOptions {
  /** Graph input name of a one-input model (default 'input'). */
  inputName?: string;
  /** Graph output name of a one-output model (default 'output'). */
  outputName?: string;
  /** Graph input names, one per model input (default: inputName for one input, else the model's input names). */
  inputNames?: string[];
  /** Graph output names, one per model output (default: outputName for one output, else the model's output names). */
  outputNames?: string[];
  /** Name of the symbolic batch dimension (default 'N'). */
  batchName?: string;
  /** Stored in the model as doc_string. */
  docString?: string;
}

export const ONNX_OPSET = 13;
export const ONNX_IR_VERSION = 8;
const PRODUCER = 'cnn-node';
const PRODUCER_VERSION = '0.1.0';

/** Where the running tensor is: its name, layout, and TF (channels-last) per-sample shape. */
interface Cursor {
  name: string;
  /** 'nchw' only for per-sample rank 3 after a Transpose. */
  layout: 'nhwc' | 'nchw';
  shape: number[];
}

/** TF 'same' padding for one spatial dim: [before, after], the extra pixel after (SAME_UPPER). */
export function samePads(inSize: number, k: number, s: number, d: number): [number, number] {
  const out = Math.ceil(inSize / s);
  const total = Math.max((out - 1) * s + (k - 1) * d + 1 - inSize, 0);
  const before = Math.floor(total / 2);
  return [before, total - before];
}

/** HWIO [kh, kw, in, out] -> OIHW [out, in, kh, kw]. */
function hwioToOihw(w: Float32Array, kh: number, kw: number, ci: number, co: number): Float32Array {
  const out = new Float32Array(w.length);
  for (let y = 0; y < kh; y++) {
    for (let x = 0; x < kw; x++) {
      for (let i = 0; i < ci; i++) {
        for (let o = 0; o < co; o++) out[((o * ci + i) * kh + y) * kw + x] = w[((y * kw + x) * ci + i) * co + o];
      }
    }
  }
  return out;
}

class Exporter {
  readonly g = new GraphBuilder();
  cur: Cursor = { name: '', layout: 'nhwc', shape: [] };
  /** Initializers by base name: a shared layer's weights are emitted once. */
  private readonly weights = new Map<string, string>();

  /** A weight initializer named base (layer/weight), emitted at its first use only. */
  weight(base: string, dims: number[], values: () => Float32Array): string {
    let name = this.weights.get(base);
    if (name === undefined) {
      name = this.g.floats(base, dims, values());
      this.weights.set(base, name);
    }
    return name;
  }

  toNchw(base: string): void {
    if (this.cur.shape.length !== 3 || this.cur.layout === 'nchw') return;
    this.cur = { ...this.cur, name: this.g.node('Transpose', [this.cur.name], [attr.ints('perm', [0, 3, 1, 2])], `${base}/to_nchw`), layout: 'nchw' };
  }

  toNhwc(base: string): void {
    if (this.cur.layout !== 'nchw') return;
    this.cur = { ...this.cur, name: this.g.node('Transpose', [this.cur.name], [attr.ints('perm', [0, 2, 3, 1])], `${base}/to_nhwc`), layout: 'nhwc' };
  }

  /** The channel axis of the running tensor, in ONNX terms. */
  private channelAxis(): number {
    return this.cur.layout === 'nchw' ? 1 : -1;
  }

  activation(act: Act, alpha: number, base: string): void {
    const g = this.g;
    const x = this.cur.name;
    let y: string;
    switch (act) {
      case Act.Linear: return;
      case Act.Relu: y = g.node('Relu', [x], [], base); break;
      case Act.LeakyRelu: y = g.node('LeakyRelu', [x], [attr.float('alpha', alpha)], base); break;
      case Act.Elu: y = g.node('Elu', [x], [attr.float('alpha', alpha)], base); break;
      case Act.Selu:
        y = g.node('Selu', [x], [attr.float('alpha', 1.6732632423543772), attr.float('gamma', 1.0507009873554805)], base);
        break;
      case Act.Sigmoid: y = g.node('Sigmoid', [x], [], base); break;
      case Act.Tanh: y = g.node('Tanh', [x], [], base); break;
      case Act.Softplus: y = g.node('Softplus', [x], [], base); break;
      case Act.Relu6: y = g.node('Clip', [x, g.scalar(`${base}/zero`, 0), g.scalar(`${base}/six`, 6)], [], base); break;
      case Act.Swish: y = g.node('Mul', [x, g.node('Sigmoid', [x], [], `${base}/sigmoid`)], [], base); break;
      case Act.Gelu: {
        // x * 0.5 * (1 + erf(x / sqrt(2)))
        const e = g.node('Erf', [g.node('Div', [x, g.scalar(`${base}/sqrt2`, Math.SQRT2)], [], `${base}/scaled`)], [], `${base}/erf`);
        const p = g.node('Add', [e, g.scalar(`${base}/one`, 1)], [], `${base}/erf_plus_1`);
        y = g.node('Mul', [g.node('Mul', [x, p], [], `${base}/x_times`), g.scalar(`${base}/half`, 0.5)], [], base);
        break;
      }
      case Act.Softmax: y = g.node('Softmax', [x], [attr.int('axis', this.channelAxis())], base); break;
      default: throw new Error(`toOnnx: activation ${Act[act] ?? act} has no ONNX mapping`);
    }
    this.cur = { ...this.cur, name: y };
  }

  conv(l: Conv2D): void {
    const [h, w, ci] = l.inputShape!;
    const [kh, kw] = l.kernelSize;
    const [sh, sw] = l.strides;
    const [dh, dw] = l.dilationRate;
    this.toNchw(l.name);
    const g = this.g;
    const wName = this.weight(`${l.name}/kernel`, [l.filters, ci, kh, kw], () => hwioToOihw(l.weightViews[0], kh, kw, ci, l.filters));
    const inputs = [this.cur.name, wName];
    if (l.useBias) inputs.push(this.weight(`${l.name}/bias`, [l.filters], () => l.weightViews[1]));
    const [pt, pb] = l.padding === 'same' ? samePads(h, kh, sh, dh) : [0, 0];
    const [pl, pr] = l.padding === 'same' ? samePads(w, kw, sw, dw) : [0, 0];
    const y = g.node('Conv', inputs, [
      attr.ints('kernel_shape', [kh, kw]), attr.ints('strides', [sh, sw]), attr.ints('dilations', [dh, dw]),
      attr.ints('pads', [pt, pl, pb, pr]), attr.int('group', 1),
    ], l.name);
    this.cur = { name: y, layout: 'nchw', shape: l.outputShape! };
    this.activation(l.activation, defaultAlpha(l.activation), `${l.name}/${Act[l.activation].toLowerCase()}`);
  }

  pool(l: MaxPooling2D | AveragePooling2D, op: 'MaxPool' | 'AveragePool'): void {
    const [h, w] = l.inputShape!;
    const [ph, pw] = l.poolSize;
    const [sh, sw] = l.strides;
    this.toNchw(l.name);
    const [pt, pb] = l.padding === 'same' ? samePads(h, ph, sh, 1) : [0, 0];
    const [pl, pr] = l.padding === 'same' ? samePads(w, pw, sw, 1) : [0, 0];
    const attrs = [attr.ints('kernel_shape', [ph, pw]), attr.ints('strides', [sh, sw]), attr.ints('pads', [pt, pl, pb, pr])];
    if (op === 'AveragePool') attrs.push(attr.int('count_include_pad', 0));
    this.cur = { name: this.g.node(op, [this.cur.name], attrs, l.name), layout: 'nchw', shape: l.outputShape! };
  }

  globalPool(l: Layer, op: 'GlobalAveragePool' | 'GlobalMaxPool'): void {
    this.toNchw(l.name);
    const pooled = this.g.node(op, [this.cur.name], [], `${l.name}/pool`);
    this.cur = { name: this.g.node('Flatten', [pooled], [attr.int('axis', 1)], l.name), layout: 'nhwc', shape: l.outputShape! };
  }

  flatten(l: Flatten): void {
    this.toNhwc(l.name);
    if (this.cur.shape.length > 1) this.cur = { ...this.cur, name: this.g.node('Flatten', [this.cur.name], [attr.int('axis', 1)], l.name) };
    this.cur = { ...this.cur, shape: l.outputShape! };
  }

  dense(l: Dense): void {
    this.toNhwc(l.name);
    const g = this.g;
    const inDim = l.inputShape![l.inputShape!.length - 1];
    const wName = this.weight(`${l.name}/kernel`, [inDim, l.units], () => l.weightViews[0]);
    const bName = l.useBias ? this.weight(`${l.name}/bias`, [l.units], () => l.weightViews[1]) : undefined;
    let y: string;
    if (l.inputShape!.length === 1) {
      y = g.node('Gemm', bName ? [this.cur.name, wName, bName] : [this.cur.name, wName], [], l.name);
    } else {
      // Dense on the last axis of a [N, ..., C] tensor.
      y = g.node('MatMul', [this.cur.name, wName], [], bName ? `${l.name}/matmul` : l.name);
      if (bName) y = g.node('Add', [y, bName], [], l.name);
    }
    this.cur = { name: y, layout: 'nhwc', shape: l.outputShape! };
    this.activation(l.activation, defaultAlpha(l.activation), `${l.name}/${Act[l.activation].toLowerCase()}`);
  }

  batchNorm(l: BatchNormalization): void {
    const g = this.g;
    const c = l.outputShape![l.outputShape!.length - 1];
    const names = ['gamma', 'beta', 'moving_mean', 'moving_variance'].map((n, i) => this.weight(`${l.name}/${n}`, [c], () => l.weightViews[i]));
    const rank = this.cur.shape.length;
    if (rank === 3) this.toNchw(l.name);
    let x = this.cur.name;
    // [N, L, C]: ONNX normalises axis 1, so swap the channels there and back.
    if (rank === 2) x = g.node('Transpose', [x], [attr.ints('perm', [0, 2, 1])], `${l.name}/to_ncl`);
    let y = g.node('BatchNormalization', [x, ...names], [attr.float('epsilon', l.epsilon), attr.float('momentum', l.momentum)], l.name);
    if (rank === 2) y = g.node('Transpose', [y], [attr.ints('perm', [0, 2, 1])], `${l.name}/to_nlc`);
    this.cur = { ...this.cur, name: y };
  }

  /** A merge of several tensors: all in NCHW when they all are, else all brought to NHWC. */
  merge(l: Layer, ins: Cursor[]): void {
    const g = this.g;
    const nchw = ins.every((c) => c.layout === 'nchw');
    const names = ins.map((c, q) => {
      if (nchw || c.layout === 'nhwc') return c.name;
      return g.node('Transpose', [c.name], [attr.ints('perm', [0, 2, 3, 1])], `${l.name}/in${q}_to_nhwc`);
    });
    const layout: Cursor['layout'] = nchw ? 'nchw' : 'nhwc';
    const shape = l.outputShape!;
    const chain = (op: string) => names.slice(1).reduce((acc, n, q) => g.node(op, [acc, n], [], q === names.length - 2 ? l.name : `${l.name}/${q}`), names[0]);
    let y: string;
    if (l instanceof Add) y = g.node('Sum', names, [], l.name);
    else if (l instanceof Subtract) y = g.node('Sub', names, [], l.name);
    else if (l instanceof Multiply) y = chain('Mul');
    else if (l instanceof Average) y = g.node('Mean', names, [], l.name);
    else if (l instanceof Maximum) y = g.node('Max', names, [], l.name);
    else if (l instanceof Minimum) y = g.node('Min', names, [], l.name);
    else if (l instanceof Concatenate) {
      const r = ins[0].shape.length;
      const p = l.axis < 0 ? r + l.axis : l.axis - 1; // per-sample axis
      // NCHW holds per-sample (H, W, C) as axes (2, 3, 1)
      const axis = layout === 'nchw' ? [2, 3, 1][p] : p + 1;
      y = g.node('Concat', names, [attr.int('axis', axis)], l.name);
    } else if (l instanceof Dot) {
      const v = l.normalize ? names.map((n, q) => g.node('LpNormalization', [n], [attr.int('axis', -1), attr.int('p', 2)], `${l.name}/l2_${q}`)) : names;
      const prod = g.node('Mul', v, [], `${l.name}/mul`);
      y = g.node('ReduceSum', [prod, g.int64s(`${l.name}/axes`, [-1])], [attr.int('keepdims', 1)], l.name);
    } else {
      throw new Error(`toOnnx: layer ${l.name} (${l.className}) has no ONNX mapping`);
    }
    this.cur = { name: y, layout, shape };
  }

  reshape(l: Reshape): void {
    this.toNhwc(l.name);
    const target = this.g.int64s(`${l.name}/shape`, [0, ...l.outputShape!]);
    this.cur = { name: this.g.node('Reshape', [this.cur.name, target], [], l.name), layout: 'nhwc', shape: l.outputShape! };
  }

  layer(l: Layer): void {
    if (l instanceof InputLayer || l instanceof Dropout) return;
    if (l instanceof Reshape) return this.reshape(l);
    // registry families (lib/model/layers/registry.ts) map themselves
    const own = (l as Layer & { toOnnx?: (ex: OnnxEmitter) => void }).toOnnx;
    if (typeof own === 'function') return own.call(l, this as unknown as OnnxEmitter);
    if (l instanceof Conv2D) return this.conv(l);
    if (l instanceof Dense) return this.dense(l);
    if (l instanceof MaxPooling2D) return this.pool(l, 'MaxPool');
    if (l instanceof AveragePooling2D) return this.pool(l, 'AveragePool');
    if (l instanceof GlobalAveragePooling2D) return this.globalPool(l, 'GlobalAveragePool');
    if (l instanceof GlobalMaxPooling2D) return this.globalPool(l, 'GlobalMaxPool');
    if (l instanceof Flatten) return this.flatten(l);
    if (l instanceof BatchNormalization) return this.batchNorm(l);
    if (l instanceof Activation) return this.activation(l.activation, l.alpha, l.name);
    throw new Error(`toOnnx: layer ${l.name} (${l.className}) has no ONNX mapping`);
  }
}

/** What the exporter needs of a model (LayersModel and Sequential have it). */
export interface OnnxExportable {
  name: string;
  inputNames: string[];
  outputNames: string[];
  inputShapes: number[][];
  outputShapes: number[][];
  build(): void;
  engineGraph(): EngineGraph;
}

function names(given: string[] | undefined, one: string | undefined, dflt: string, model: string[], what: string): string[] {
  if (given !== undefined) {
    if (!Array.isArray(given) || given.length !== model.length || given.some((n) => typeof n !== 'string' || n === '')) {
      throw new Error(`toOnnx: ${what}Names must be ${model.length} non-empty strings (one per model ${what}), received ${JSON.stringify(given)}`);
    }
    return given.slice();
  }
  if (model.length === 1) return [one ?? dflt];
  if (one !== undefined) throw new Error(`toOnnx: the model has ${model.length} ${what}s: give ${what}Names, not ${what}Name`);
  return model.slice();
}

/** The ONNX model (ModelProto bytes) computing the same function as model.predict. */
export function modelToOnnx(model: OnnxExportable, options: OnnxExportOptions = {}): Uint8Array {
  if (options === null || typeof options !== 'object') throw new TypeError('toOnnx: options must be an object');
  const batch = options.batchName ?? 'N';
  model.build();
  const inNames = names(options.inputNames, options.inputName, 'input', model.inputNames, 'input');
  const outNames = names(options.outputNames, options.outputName, 'output', model.outputNames, 'output');
  const all = [...inNames, ...outNames];
  if (new Set(all).size !== all.length) {
    throw new Error(all.length === 2 ? 'toOnnx: inputName and outputName must differ' : `toOnnx: input and output names must all differ, received ${JSON.stringify(all)}`);
  }
  const graph = model.engineGraph();
  const I = graph.inputShapes.length;
  const ex = new Exporter();
  // the graph's output names are taken before any layer names a tensor (a layer may be called 'output')
  for (const n of outNames) ex.g.reserve(n);
  const cursors: Cursor[] = graph.inputShapes.map((shape, i) => ({ name: ex.g.reserve(inNames[i]), layout: 'nhwc', shape: shape.slice() }));
  for (const nd of graph.nodes) {
    const ins = nd.inputs.map((id) => cursors[id]);
    if (ins.length > 1 || nd.layer instanceof Dot) {
      ex.merge(nd.layer, ins);
    } else {
      ex.cur = ins[0];
      ex.layer(nd.layer);
    }
    cursors.push(ex.cur);
  }
  const g = ex.g;
  const outputs = graph.outputs.map((id, k) => {
    let c = cursors[id];
    if (c.layout === 'nchw') {
      ex.cur = c;
      ex.toNhwc(outNames[k]);
      c = ex.cur;
    }
    // a model input passed through, or a tensor read again later, gets its own Identity
    if (id < I || outNames.includes(c.name) || !g.renameLastOutput(c.name, outNames[k])) g.nodeTo('Identity', [c.name], [], outNames[k]);
    else cursors.forEach((q) => { if (q.name === c.name) q.name = outNames[k]; });
    return valueInfo(outNames[k], [batch, ...model.outputShapes[k]]);
  });
  const msg = {
    ir_version: ONNX_IR_VERSION,
    opset_import: [{ domain: '', version: ONNX_OPSET }],
    producer_name: PRODUCER,
    producer_version: PRODUCER_VERSION,
    doc_string: options.docString,
    graph: {
      name: model.name,
      node: g.nodes,
      initializer: g.initializers,
      input: graph.inputShapes.map((s, i) => valueInfo(inNames[i], [batch, ...s])),
      output: outputs,
    },
  };
  const type = onnxModelType();
  const err = type.verify(msg);
  if (err) throw new Error(`toOnnx: internal error, the model message is invalid: ${err}`);
  return type.encode(type.fromObject(msg)).finish();
}
