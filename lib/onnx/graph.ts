/**
 * A small ONNX graph builder: nodes in topological order, float32 initializers stored as
 * little-endian raw_data, unique tensor names. Its objects are plain protobufjs-ready messages
 * whose field names are onnx.proto's.
 */

/** TensorProto.DataType values used here. */
export const FLOAT = 1;
export const INT64 = 7;

/** AttributeProto.AttributeType values used here. */
const ATTR_FLOAT = 1;
const ATTR_INT = 2;
const ATTR_STRING = 3;
const ATTR_INTS = 7;

export interface AttributeMsg { name: string; type: number; f?: number; i?: number; ints?: number[]; s?: Uint8Array }
export interface NodeMsg { name: string; op_type: string; input: string[]; output: string[]; attribute: AttributeMsg[]; domain: string }
export interface TensorMsg { name: string; dims: number[]; data_type: number; raw_data: Uint8Array }
export interface ValueInfoMsg {
  name: string;
  type: { tensor_type: { elem_type: number; shape: { dim: ({ dim_value: number } | { dim_param: string })[] } } };
}

export const attr = {
  int: (name: string, i: number): AttributeMsg => ({ name, type: ATTR_INT, i }),
  ints: (name: string, ints: number[]): AttributeMsg => ({ name, type: ATTR_INTS, ints }),
  float: (name: string, f: number): AttributeMsg => ({ name, type: ATTR_FLOAT, f }),
  string: (name: string, s: string): AttributeMsg => ({ name, type: ATTR_STRING, s: new TextEncoder().encode(s) }),
};

/** A graph input / output: float32 with the given dims; strings are symbolic (the batch 'N'). */
export function valueInfo(name: string, dims: (number | string)[]): ValueInfoMsg {
  return {
    name,
    type: { tensor_type: { elem_type: FLOAT, shape: { dim: dims.map((d) => (typeof d === 'string' ? { dim_param: d } : { dim_value: d })) } } },
  };
}

/** float32 values as little-endian bytes, whatever the host's byte order. */
function floatBytes(v: Float32Array): Uint8Array {
  const out = new Uint8Array(v.length * 4);
  const dv = new DataView(out.buffer);
  for (let i = 0; i < v.length; i++) dv.setFloat32(4 * i, v[i], true);
  return out;
}

function int64Bytes(v: number[]): Uint8Array {
  const out = new Uint8Array(v.length * 8);
  const dv = new DataView(out.buffer);
  for (let i = 0; i < v.length; i++) dv.setBigInt64(8 * i, BigInt(v[i]), true);
  return out;
}

export class GraphBuilder {
  readonly nodes: NodeMsg[] = [];
  readonly initializers: TensorMsg[] = [];
  private readonly used = new Set<string>();

  /** A tensor / node name not used yet: base, base_1, base_2 ... */
  unique(base: string): string {
    let name = base;
    for (let k = 1; this.used.has(name); k++) name = `${base}_${k}`;
    this.used.add(name);
    return name;
  }

  /** Reserves a name given from outside (the graph input). */
  reserve(name: string): string {
    this.used.add(name);
    return name;
  }

  /** A float32 initializer; returns its name. */
  floats(base: string, dims: number[], values: Float32Array): string {
    const size = dims.reduce((a, b) => a * b, 1);
    if (values.length !== size) throw new Error(`toOnnx: initializer ${base} has ${values.length} values for dims [${dims.join(',')}]`);
    const name = this.unique(base);
    this.initializers.push({ name, dims: dims.slice(), data_type: FLOAT, raw_data: floatBytes(values) });
    return name;
  }

  /** A float32 scalar constant. */
  scalar(base: string, v: number): string {
    return this.floats(base, [], new Float32Array([v]));
  }

  /** An int64 initializer (Reshape shapes and the like). */
  int64s(base: string, values: number[]): string {
    const name = this.unique(base);
    this.initializers.push({ name, dims: [values.length], data_type: INT64, raw_data: int64Bytes(values) });
    return name;
  }

  /** Appends a node with one output; returns the output's name. */
  node(op: string, inputs: string[], attrs: AttributeMsg[], base: string): string {
    const out = this.unique(base);
    this.nodes.push({ name: this.unique(`${base}/${op}`), op_type: op, input: inputs, output: [out], attribute: attrs, domain: '' });
    return out;
  }

  /** Appends a node whose output is the given name (reserved beforehand: a graph output). */
  nodeTo(op: string, inputs: string[], attrs: AttributeMsg[], out: string): void {
    this.used.add(out);
    this.nodes.push({ name: this.unique(`${out}/${op}`), op_type: op, input: inputs, output: [out], attribute: attrs, domain: '' });
  }

  /** Renames the tensor `from` (the output of the last node) to `to`. False when it is not that. */
  renameLastOutput(from: string, to: string): boolean {
    const last = this.nodes[this.nodes.length - 1];
    if (!last || last.output[0] !== from) return false;
    this.used.add(to);
    last.output[0] = to;
    return true;
  }
}
