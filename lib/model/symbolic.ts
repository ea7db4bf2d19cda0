/**
 * The Functional API's symbolic tensors: tf.input() makes one, layer.apply() maps some to a new
 * one and records the call as an inbound node of the layer; tf.model() walks back from its outputs.
 */

/** What a node's producer is: a layer, or a model used as a layer (each has a name and a class name). */
export interface NodeOwner {
  readonly name: string;
  readonly className: string;
  inboundNodes: InboundNode[];
}

/** One call of a layer: the tensors it read and the tensor it made. */
export interface InboundNode {
  inputs: SymbolicTensor[];
  output: SymbolicTensor;
}

let nextId = 0;

export class SymbolicTensor {
  /** Creation order: a tensor is always made after the tensors it depends on. */
  readonly id = nextId++;
  readonly dtype = 'float32';
  /**
   * @param shape with the batch dimension first (null)
   * @param sourceLayer the layer (or InputLayer, or model) that produced it
   * @param nodeIndex which call of sourceLayer
   * @param inputs the tensors that call read ([] for a model input)
   */
  constructor(
    readonly shape: (number | null)[],
    readonly sourceLayer: NodeOwner,
    readonly nodeIndex: number,
    readonly inputs: SymbolicTensor[],
    readonly name: string,
  ) {}
  get rank(): number {
    return this.shape.length;
  }
  /** Per-sample shape (without the batch dimension). */
  get sampleShape(): number[] {
    return this.shape.slice(1) as number[];
  }
  toString(): string {
    return `SymbolicTensor ${this.name} [${this.shape.map((d) => (d === null ? 'null' : d)).join(',')}]`;
  }
}

export function isSymbolic(v: unknown): v is SymbolicTensor {
  return v instanceof SymbolicTensor;
}
