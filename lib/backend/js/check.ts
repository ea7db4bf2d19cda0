// Light argument checks for the pure TypeScript kernels. The public API validates user input
// first; these only catch a caller passing buffers too small for the dimensions, with a message
// naming the kernel and the buffer.

/** Throws when `a` holds fewer than `need` elements. */
export function checkLen(fn: string, name: string, a: ArrayLike<number> | null, need: number): void {
  if (a === null || a === undefined) throw new TypeError(`${fn}: ${name} is required`);
  if (a.length < need) {
    throw new RangeError(`${fn}: ${name} has ${a.length} elements, needs at least ${need}`);
  }
}

/** Like checkLen, but null is allowed (an optional buffer). */
export function checkOptLen(fn: string, name: string, a: ArrayLike<number> | null, need: number): void {
  if (a !== null && a !== undefined) checkLen(fn, name, a, need);
}

/** Throws unless every named value is an integer >= min. */
export function checkInts(fn: string, values: Record<string, number>, min: number): void {
  for (const k of Object.keys(values)) {
    const v = values[k];
    if (!Number.isInteger(v) || v < min) {
      throw new RangeError(`${fn}: ${k} must be an integer >= ${min}, received ${v}`);
    }
  }
}

/** Rounds to float32, as the C++ kernels receive every scalar parameter as a float. */
export const f32 = Math.fround;
