/**
 * Mixed precision as Keras spells it: dtype policies. A policy names the dtype a layer computes in
 * and the dtype its variables are stored in:
 *
 *   'float32'         compute float32, variables float32 (the default)
 *   'mixed_bfloat16'  compute bfloat16, variables float32: the layer's GEMMs (Conv2D, Dense; forward
 *                     and both gradients) read bf16-rounded inputs, kernels and output gradients and
 *                     accumulate in float32; bias, activations, pooling, normalisation, the loss,
 *                     weights, gradients and optimizer state stay float32, and activations are
 *                     stored as float32 (see native/engine/network.h ComputeDtype)
 *
 * `setGlobalPolicy` sets the policy of every layer created afterwards (as in Keras, layers made
 * earlier keep theirs); a layer's `dtype` option overrides it. As Keras recommends, give the last
 * layer `dtype: 'float32'` when you want its softmax computed from float32 inputs. 'mixed_float16'
 * and the pure 'float16' / 'bfloat16' policies are refused: there is no float16 arithmetic here
 * and variables are always float32.
 */

export type PolicyName = 'float32' | 'mixed_bfloat16';
export type ComputeDtypeName = 'float32' | 'bfloat16';

/** A layer's dtype as a string, a Policy, or a Keras 2 / 3 policy config ({ className, config: { name } }). */
export type DTypeLike = PolicyName | Policy | { className?: string; config: { name: string } };

const KNOWN: Record<PolicyName, ComputeDtypeName> = { float32: 'float32', mixed_bfloat16: 'bfloat16' };

const REFUSED: Record<string, string> = {
  mixed_float16: "'mixed_float16' is not supported: there is no float16 arithmetic in cnn-node; use 'mixed_bfloat16'",
  float16: "'float16' is not supported: variables are always float32; use 'mixed_bfloat16'",
  bfloat16: "'bfloat16' is not supported: variables are always float32; use 'mixed_bfloat16' (bfloat16 compute, float32 variables)",
  float64: "'float64' is not supported: cnn-node computes in float32 (or bfloat16 with 'mixed_bfloat16')",
};

function describe(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeof v === 'object' ? 'an object' : String(v);
}

/** Keras' DTypePolicy (keras.mixed_precision.Policy): immutable, compared by name. */
export class Policy {
  readonly name: PolicyName;

  constructor(name: string) {
    if (typeof name !== 'string') throw new TypeError(`Policy: name must be a string, received ${describe(name)}`);
    if (name in REFUSED) throw new Error(`Policy: ${REFUSED[name]}`);
    if (!(name in KNOWN)) {
      throw new Error(`Policy: unknown dtype policy ${JSON.stringify(name)} (supported: 'float32', 'mixed_bfloat16')`);
    }
    this.name = name as PolicyName;
    Object.freeze(this);
  }

  /** The dtype the layer computes in. */
  get computeDtype(): ComputeDtypeName { return KNOWN[this.name]; }
  /** The dtype the layer's variables are stored in (always float32). */
  get variableDtype(): 'float32' { return 'float32'; }

  /** Keras 3's serialised form ({"module": "keras", "class_name": "DTypePolicy", ...} in model.json). */
  toConfig(): { module: 'keras'; className: 'DTypePolicy'; config: { name: PolicyName }; registeredName: null } {
    return { module: 'keras', className: 'DTypePolicy', config: { name: this.name }, registeredName: null };
  }

  toString(): string { return `<DTypePolicy "${this.name}">`; }
}

/** Keras 3's class name for the same thing. */
export const DTypePolicy = Policy;

const CACHE = new Map<string, Policy>();

/** The Policy for a DTypeLike; `where` prefixes the error (e.g. "Dense"). */
export function toPolicy(v: unknown, where = 'dtype'): Policy {
  if (v instanceof Policy) return v;
  let name: unknown = v;
  if (typeof v === 'object' && v !== null && !Array.isArray(v)) {
    const c = (v as { config?: unknown }).config;
    name = typeof c === 'object' && c !== null ? (c as { name?: unknown }).name : undefined;
    if (typeof name !== 'string') throw new TypeError(`${where}: a dtype policy object must be { className: 'DTypePolicy', config: { name } }`);
  } else if (typeof v !== 'string') {
    throw new TypeError(`${where}: dtype must be 'float32', 'mixed_bfloat16' or a Policy, received ${describe(v)}`);
  }
  const key = name as string;
  let p = CACHE.get(key);
  if (!p) {
    try {
      p = new Policy(key);
    } catch (e) {
      throw new (e instanceof TypeError ? TypeError : Error)(`${where}: ${(e as Error).message.replace(/^Policy: /, '')}`);
    }
    CACHE.set(key, p);
  }
  return p;
}

let global: Policy = toPolicy('float32');

/** Sets the policy of every layer created from now on (Keras: keras.mixed_precision.set_global_policy). */
export function setGlobalPolicy(policy: PolicyName | Policy): void {
  global = toPolicy(policy, 'setGlobalPolicy');
}

/** The current global policy (Keras: keras.mixed_precision.global_policy). */
export function getGlobalPolicy(): Policy {
  return global;
}

/** Keras' spelling of getGlobalPolicy. */
export const globalPolicy = getGlobalPolicy;
