/**
 * Keras JSON is snake_case; TF.js configs are camelCase. These follow TF.js's own conversion
 * (tfjs-layers utils/serialization_utils.ts) so files written here match the ones TF.js writes:
 * keys AND string values are converted, except the values of `name` (and `class_name` on the way
 * out), which are identifiers.
 */

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** 'batchInputShape' -> 'batch_input_shape', 'channelsLast' -> 'channels_last', 'tensorFlow.js' -> 'tensor_flow.js'. */
export function toSnakeCase(s: string): string {
  const words = s.replace(/(.)([A-Z][a-z0-9]+)/g, '$1_$2');
  const snake = words.replace(/([a-z])([A-Z])/g, '$1_$2').toLowerCase();
  // A leading underscore would make an unsafe scope name; TF.js prefixes 'private'.
  return snake.startsWith('_') ? `private${snake}` : snake;
}

/** 'batch_input_shape' -> 'batchInputShape'; strings without '_' are returned as they are. */
export function toCamelCase(s: string): string {
  if (s.length <= 1 || !s.includes('_')) return s;
  return s.replace(/_+(\w|$)/g, (_m, c: string) => c.toUpperCase());
}

/** TF.js config (camelCase) -> Keras JSON (snake_case). undefined becomes null, as in TF.js. */
export function toPythonic(v: unknown): Json {
  if (v === null || v === undefined) return null;
  if (typeof v === 'string') return toSnakeCase(v);
  if (typeof v === 'number' || typeof v === 'boolean') return v;
  if (Array.isArray(v)) return v.map((x) => toPythonic(x));
  if (typeof v === 'object') {
    const out: { [k: string]: Json } = {};
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
      out[toSnakeCase(k)] = (k === 'name' || k === 'className') && typeof x === 'string' ? x : toPythonic(x);
    }
    return out;
  }
  throw new TypeError(`cannot serialise a ${typeof v} into Keras JSON`);
}

/** Deepest nesting accepted in a config read from a file (Keras configs nest a few levels). */
export const MAX_CONFIG_DEPTH = 64;

/**
 * Keras JSON (snake_case) -> TF.js config (camelCase). A config nested deeper than
 * MAX_CONFIG_DEPTH is refused with an Error naming `where` (not a stack overflow).
 */
export function fromPythonic(v: unknown, where = 'config', depth = 0): unknown {
  if (v === null || v === undefined) return null;
  if (typeof v === 'string') return toCamelCase(v);
  if (typeof v === 'number' || typeof v === 'boolean') return v;
  if (depth >= MAX_CONFIG_DEPTH) throw new Error(`${where}: the config is nested more than ${MAX_CONFIG_DEPTH} levels deep`);
  if (Array.isArray(v)) return v.map((x) => fromPythonic(x, where, depth + 1));
  if (typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
      if (k === 'name' && typeof x === 'string') out[k] = x;
      else out[toCamelCase(k)] = fromPythonic(x, where, depth + 1);
    }
    return out;
  }
  return v;
}

export { isPlainObject, shown } from '../../io/json';
