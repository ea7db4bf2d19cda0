/** Small shared helpers for the TypeScript layer: name normalisation and argument checks. */

/** 'categorical_crossentropy', 'categoricalCrossentropy' and 'CategoricalCrossentropy' all become 'categoricalcrossentropy'. */
export function normName(name: string): string {
  return name.replace(/[_\-\s]/g, '').toLowerCase();
}

/** Looks a name up in a table keyed by normName(), throwing an Error listing the valid names. */
export function lookup<T>(table: Record<string, T>, name: unknown, what: string, valid: string[]): T {
  if (typeof name !== 'string') {
    throw new TypeError(`${what} must be a string (one of ${valid.join(', ')}), received ${describe(name)}`);
  }
  const key = normName(name);
  const v = Object.hasOwn(table, key) ? table[key] : undefined;
  if (v === undefined) {
    throw new Error(`Unknown ${what} ${JSON.stringify(name)}. Valid: ${valid.join(', ')}`);
  }
  return v;
}

export function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return `array(${v.length})`;
  if (ArrayBuffer.isView(v)) return v.constructor.name;
  if (typeof v === 'object') return (v as object).constructor?.name ?? 'object';
  if (typeof v === 'string') return JSON.stringify(v);
  return String(v);
}

export function checkPositiveInt(v: unknown, fn: string, name: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) {
    throw new RangeError(`${fn}: ${name} must be a positive integer, received ${describe(v)}`);
  }
  return v;
}

export function checkNonNegInt(v: unknown, fn: string, name: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) {
    throw new RangeError(`${fn}: ${name} must be a non-negative integer, received ${describe(v)}`);
  }
  return v;
}

export function checkNumber(v: unknown, fn: string, name: string, lo = -Infinity, hi = Infinity): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < lo || v > hi) {
    const range = lo === -Infinity && hi === Infinity ? 'a finite number' : `a number in [${lo}, ${hi}]`;
    throw new RangeError(`${fn}: ${name} must be ${range}, received ${describe(v)}`);
  }
  return v;
}

/** A positive int or a pair of them, as TF.js accepts for kernelSize / strides / poolSize. */
export function pair(v: unknown, fn: string, name: string): [number, number] {
  if (typeof v === 'number') {
    checkPositiveInt(v, fn, name);
    return [v, v];
  }
  if (Array.isArray(v) && v.length === 2) {
    checkPositiveInt(v[0], fn, `${name}[0]`);
    checkPositiveInt(v[1], fn, `${name}[1]`);
    return [v[0], v[1]];
  }
  throw new RangeError(`${fn}: ${name} must be a positive integer or a pair of them, received ${describe(v)}`);
}

export function shapeStr(s: ReadonlyArray<number | null>): string {
  return `[${s.map((d) => (d === null ? 'null' : d)).join(',')}]`;
}
