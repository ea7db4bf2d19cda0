/**
 * Small JSON helpers shared by the transports and the model serialisation: a plain-object test and
 * a bounded rendering of a value for error messages.
 */

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !ArrayBuffer.isView(v) && !(v instanceof ArrayBuffer);
}

/**
 * A value as it appears in an error message: JSON, cut to `max` characters. Never throws (a value
 * nested too deeply for JSON.stringify is described by its type), so a hostile file cannot turn an
 * error message into a stack overflow or a message of megabytes.
 */
export function shown(v: unknown, max = 80): string {
  let s: string | undefined;
  try {
    s = JSON.stringify(v);
  } catch {
    s = undefined;
  }
  if (s === undefined) s = Array.isArray(v) ? `an array of ${v.length}` : typeof v;
  return s.length > max ? `${s.slice(0, max)}...` : s;
}
