/**
 * Merge layers of the Functional API (Keras / TF.js names and shape rules): add, subtract,
 * multiply, average, maximum, minimum (two or more inputs of one shape; no broadcasting),
 * concatenate (equal shapes except on `axis`), dot (two vectors), and reshape. Each layer's shape
 * rule, config and engine node are here; the engine's node reads every input (LayerSpec.inputs).
 */
import { LayerKind } from '../../backend/types';
import type { LayerSpec } from '../../backend/types';
import { describe, shapeStr } from '../../util';
import { hwc, Layer, LayerArgs } from './base';

/** The elementwise merges: one output of the inputs' common shape. */
abstract class Merge extends Layer {
  protected abstract readonly kind: LayerKind;
  /** Exactly this many inputs (subtract: 2), else two or more. */
  protected readonly arity: number | null = null;

  override buildFromShapes(shapes: number[][]): number[] {
    this.checkCount(shapes.length);
    const first = shapes[0];
    for (const s of shapes) {
      if (shapeStr(s) !== shapeStr(first)) {
        throw new Error(`${this.className} (${this.name}): the inputs must have the same shape (no broadcasting), received ${shapes.map((x) => shapeStr([null, ...x])).join(', ')}`);
      }
    }
    this.inputShape = first.slice();
    this.inputShapes = shapes.map((s) => s.slice());
    this.weightSpecs = [];
    this.outputShape = first.slice();
    return this.outputShape;
  }

  protected checkCount(n: number): void {
    if (this.arity !== null && n !== this.arity) {
      throw new Error(`A \`${this.className.toLowerCase()}\` layer should be called on exactly ${this.arity} inputs. Got ${n} input(s).`);
    }
    if (n < 2) throw new Error(`A merge layer should be called on an Array of at least 2 inputs. Got ${n} input(s).`);
  }

  override build(inputShape: number[]): number[] {
    // a merge layer in a chain (Sequential) would have one input
    this.checkCount(1);
    return inputShape;
  }

  computeOutputShape(s: number[]): number[] {
    return s.slice();
  }

  toSpec(): LayerSpec {
    return { kind: this.kind, in: hwc(this.inputShape!), out: hwc(this.outputShape!) };
  }
}

export class Add extends Merge {
  readonly className = 'Add';
  protected readonly kind = LayerKind.Add;
  constructor(args: LayerArgs = {}) { super(args ?? {}, 'Add'); }
}

export class Subtract extends Merge {
  readonly className = 'Subtract';
  protected readonly kind = LayerKind.Subtract;
  protected override readonly arity = 2;
  constructor(args: LayerArgs = {}) { super(args ?? {}, 'Subtract'); }
}

export class Multiply extends Merge {
  readonly className = 'Multiply';
  protected readonly kind = LayerKind.Multiply;
  constructor(args: LayerArgs = {}) { super(args ?? {}, 'Multiply'); }
}

export class Average extends Merge {
  readonly className = 'Average';
  protected readonly kind = LayerKind.Average;
  constructor(args: LayerArgs = {}) { super(args ?? {}, 'Average'); }
}

export class Maximum extends Merge {
  readonly className = 'Maximum';
  protected readonly kind = LayerKind.Maximum;
  constructor(args: LayerArgs = {}) { super(args ?? {}, 'Maximum'); }
}

export class Minimum extends Merge {
  readonly className = 'Minimum';
  protected readonly kind = LayerKind.Minimum;
  constructor(args: LayerArgs = {}) { super(args ?? {}, 'Minimum'); }
}

export interface ConcatenateArgs extends LayerArgs {
  /** Axis of the full shape (batch first): -1 (default) is the last, 1 the first per-sample axis. */
  axis?: number;
}

/** Joins two or more inputs along one axis; every other dimension must agree. */
export class Concatenate extends Layer {
  readonly className = 'Concatenate';
  readonly axis: number;
  /** The engine's axis over [H, W, C] (set when built). */
  private engineAxis = 2;

  constructor(args: ConcatenateArgs = {}) {
    super(args ?? {}, 'Concatenate');
    const a = (args ?? {}).axis ?? -1;
    if (!Number.isInteger(a) || a === 0) throw new Error(`concatenate(${this.name}): axis must be a non-zero integer (0 is the batch axis), received ${describe(a)}`);
    this.axis = a;
  }

  override buildFromShapes(shapes: number[][]): number[] {
    if (shapes.length < 2) throw new Error(`A \`Concatenate\` layer should be called on a list of at least 2 inputs. Got ${shapes.length} input(s).`);
    const r = shapes[0].length;
    if (shapes.some((s) => s.length !== r)) {
      throw new Error(`A \`Concatenate\` layer requires inputs with matching shapes except for the concat axis. Got input shapes: ${shapes.map((s) => shapeStr([null, ...s])).join(', ')}`);
    }
    const p = this.axis < 0 ? r + this.axis : this.axis - 1;
    if (p < 0 || p >= r) throw new Error(`concatenate(${this.name}): axis ${this.axis} is out of range for inputs of rank ${r + 1}`);
    for (const s of shapes) {
      if (s.some((d, i) => i !== p && d !== shapes[0][i])) {
        throw new Error(`A \`Concatenate\` layer requires inputs with matching shapes except for the concat axis. Got input shapes: ${shapes.map((x) => shapeStr([null, ...x])).join(', ')}`);
      }
    }
    this.engineAxis = 3 - r + p;
    this.inputShape = shapes[0].slice();
    this.inputShapes = shapes.map((s) => s.slice());
    this.weightSpecs = [];
    const out = shapes[0].slice();
    out[p] = shapes.reduce((sum, s) => sum + s[p], 0);
    this.outputShape = out;
    return out;
  }

  override build(_inputShape: number[]): number[] {
    throw new Error(`A \`Concatenate\` layer should be called on a list of at least 2 inputs. Got 1 input(s).`);
  }

  computeOutputShape(s: number[]): number[] {
    return s.slice();
  }

  toSpec(): LayerSpec {
    return { kind: LayerKind.Concatenate, in: hwc(this.inputShape!), out: hwc(this.outputShape!), axis: this.engineAxis };
  }

  override getConfig(): Record<string, unknown> {
    return { ...super.getConfig(), axis: this.axis };
  }
}

export interface DotArgs extends LayerArgs {
  /** The axis of each input summed over: only the feature axis (1 or -1, or [1, 1]) of two vectors. */
  axes: number | [number, number];
  /** Divide by both L2 norms first (cosine proximity). Default false. */
  normalize?: boolean;
}

/** The dot product of two feature vectors: [batch, F] x [batch, F] -> [batch, 1]. */
export class Dot extends Layer {
  readonly className = 'Dot';
  readonly axes: number | [number, number];
  readonly normalize: boolean;

  constructor(args: DotArgs) {
    super(args ?? ({} as DotArgs), 'Dot');
    if (!args || typeof args !== 'object' || args.axes === undefined) throw new TypeError('dot: expected {axes} (the feature axis, -1 or 1)');
    const ax = Array.isArray(args.axes) ? args.axes : [args.axes, args.axes];
    if (ax.length !== 2 || ax.some((a) => a !== 1 && a !== -1)) {
      throw new Error(`dot(${this.name}): only the feature axis of two vectors is supported (axes 1 or -1), received ${describe(args.axes)}`);
    }
    this.axes = args.axes;
    this.normalize = args.normalize ?? false;
  }

  override buildFromShapes(shapes: number[][]): number[] {
    if (shapes.length !== 2) throw new Error(`A \`Dot\` layer should be called on a list of 2 inputs. Got ${shapes.length} input(s).`);
    const [a, b] = shapes;
    if (a.length !== 1 || b.length !== 1) {
      throw new Error(`dot(${this.name}): only vectors ([batch, F]) are supported, received ${shapeStr([null, ...a])} and ${shapeStr([null, ...b])}`);
    }
    if (a[0] !== b[0]) throw new Error(`Dimension incompatibility: ${a[0]} !== ${b[0]}. Layer shapes: ${shapeStr([null, ...a])}, ${shapeStr([null, ...b])}. Chosen axes: ${JSON.stringify(this.axes)}`);
    this.inputShape = a.slice();
    this.inputShapes = [a.slice(), b.slice()];
    this.weightSpecs = [];
    this.outputShape = [1];
    return this.outputShape;
  }

  override build(_inputShape: number[]): number[] {
    throw new Error('A `Dot` layer should be called on a list of 2 inputs. Got 1 input(s).');
  }

  computeOutputShape(): number[] {
    return [1];
  }

  toSpec(): LayerSpec {
    return { kind: LayerKind.Dot, in: hwc(this.inputShape!), out: [1, 1, 1], normalize: this.normalize };
  }

  override getConfig(): Record<string, unknown> {
    return { ...super.getConfig(), axes: this.axes, normalize: this.normalize };
  }
}

export interface ReshapeArgs extends LayerArgs {
  /** Per-sample target shape; one entry may be -1 (inferred). */
  targetShape: number[];
}

/** A view with a new per-sample shape (same number of values). */
export class Reshape extends Layer {
  readonly className = 'Reshape';
  readonly targetShape: number[];

  constructor(args: ReshapeArgs) {
    super(args ?? ({} as ReshapeArgs), 'Reshape');
    if (!args || !Array.isArray(args.targetShape) || args.targetShape.length === 0 || args.targetShape.length > 3) {
      throw new TypeError(`reshape: targetShape must be an array of 1 to 3 dimensions, received ${describe(args?.targetShape)}`);
    }
    if (args.targetShape.some((d) => !Number.isInteger(d) || (d < 1 && d !== -1)) || args.targetShape.filter((d) => d === -1).length > 1) {
      throw new Error(`reshape(${this.name}): targetShape ${shapeStr(args.targetShape)} must hold positive integers and at most one -1`);
    }
    this.targetShape = args.targetShape.slice();
  }

  computeOutputShape(s: number[]): number[] {
    const size = s.reduce((a, b) => a * b, 1);
    const known = this.targetShape.filter((d) => d !== -1).reduce((a, b) => a * b, 1);
    const out = this.targetShape.map((d) => (d === -1 ? size / known : d));
    if (out.some((d) => !Number.isInteger(d)) || out.reduce((a, b) => a * b, 1) !== size) {
      throw new Error(`reshape(${this.name}): total size of new array must be unchanged; input shape ${shapeStr(s)}, target shape ${shapeStr(this.targetShape)}`);
    }
    return out;
  }

  toSpec(): LayerSpec {
    return { kind: LayerKind.Reshape, in: hwc(this.inputShape!), out: hwc(this.outputShape!) };
  }

  override getConfig(): Record<string, unknown> {
    return { ...super.getConfig(), targetShape: this.targetShape.slice() };
  }
}
