/**
 * Lazy iterators: the streams a Dataset hands out, one per `dataset.iterator()` call.
 *
 * Each iterator pulls from its upstream only when asked (`next()`), so a pipeline holds at most
 * the elements its buffers (batch, shuffle, prefetch) need. `next()` calls may overlap (prefetch
 * issues several); the base class serves them one after another, in order.
 *
 * Tensors that a stage drops are disposed as TF.js does: filter's rejects, skip's skipped
 * elements, and map's inputs that the transform did not pass through.
 */
import { Tensor } from '../tensor';
import { describe } from '../util';

/** What `next()` resolves to; `value` is null once `done`. */
export type Result<T> = IteratorResult<T, null>;

const DONE: Result<never> = Object.freeze({ value: null, done: true }) as Result<never>;

/** The end-of-stream result ({ value: null, done: true }). */
export function done<T>(): Result<T> {
  return DONE;
}

export abstract class LazyIterator<T> implements AsyncIterableIterator<T> {
  private lastRead: Promise<unknown> = Promise.resolve();

  /** The next element, or { value: null, done: true } at the end. */
  next(): Promise<Result<T>> {
    const p = this.lastRead.then(() => this.serialNext());
    this.lastRead = p.catch(() => undefined);
    return p;
  }

  /** Produces the next element; never called while a previous call is pending. */
  protected abstract serialNext(): Promise<Result<T>>;

  /** Releases what the iterator holds (open files...); `for await` calls it on `break`. */
  async return(): Promise<Result<T>> {
    await this.close();
    return done();
  }

  /** Override to release resources; pass it on to upstream iterators. */
  protected async close(): Promise<void> {}

  [Symbol.asyncIterator](): this {
    return this;
  }

  /** Every remaining element (only for streams that fit in memory). */
  async toArray(): Promise<T[]> {
    const out: T[] = [];
    for (let r = await this.next(); !r.done; r = await this.next()) out.push(r.value);
    return out;
  }

  /** Calls f on every remaining element (awaiting it when it returns a promise), then disposes the element's tensors as TF.js does. */
  async forEachAsync(f: (value: T) => unknown): Promise<void> {
    for (let r = await this.next(); !r.done; r = await this.next()) {
      await f(r.value);
      disposeDropped(r.value, undefined);
    }
  }
}

/** Closes an iterator that may or may not be a LazyIterator. */
async function closeIterator(it: { return?: () => unknown } | null | undefined): Promise<void> {
  if (it && typeof it.return === 'function') await it.return();
}

// ------------------------------------------------------------------ tensors in containers

/** Every tensor in a nested structure of arrays and plain objects. */
export function tensorsIn(x: unknown, out: Tensor[] = [], depth = 0): Tensor[] {
  if (x instanceof Tensor) out.push(x);
  else if (depth < 64 && Array.isArray(x)) for (const e of x) tensorsIn(e, out, depth + 1);
  else if (depth < 64 && isPlainObject(x)) for (const e of Object.values(x)) tensorsIn(e, out, depth + 1);
  return out;
}

/** Disposes the tensors of `input` that `output` does not hold. */
export function disposeDropped(input: unknown, output: unknown): void {
  const ins = tensorsIn(input);
  if (ins.length === 0) return;
  const keep = new Set(tensorsIn(output));
  for (const t of ins) if (!keep.has(t)) t.dispose();
}

export function isPlainObject(x: unknown): x is Record<string, unknown> {
  if (x === null || typeof x !== 'object' || Array.isArray(x) || ArrayBuffer.isView(x)) return false;
  const proto = Object.getPrototypeOf(x);
  return proto === Object.prototype || proto === null;
}

/**
 * A copy of a nested structure with every tensor cloned (TF.js's array() hands out clones). As
 * TF.js's clone, a clone shares the values (tensors are immutable), so disposing it leaves the
 * original intact and costs no copy.
 */
export function deepClone<T>(x: T, depth = 0): T {
  if (x instanceof Tensor) return new (Tensor as unknown as new (v: unknown, s: number[], d: string) => Tensor)(x.values, x.shape, x.dtype) as T;
  if (depth < 64 && Array.isArray(x)) return x.map((e) => deepClone(e, depth + 1)) as T;
  if (depth < 64 && isPlainObject(x)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(x)) out[k] = deepClone(v, depth + 1);
    return out as T;
  }
  return x;
}

// ------------------------------------------------------------------ sources

/** Elements of an array, tensors cloned so that downstream disposal never touches the source. */
export class ArrayIterator<T> extends LazyIterator<T> {
  private i = 0;
  constructor(private readonly items: readonly T[]) {
    super();
  }
  protected async serialNext(): Promise<Result<T>> {
    if (this.i >= this.items.length) return done();
    return { value: deepClone(this.items[this.i++]), done: false };
  }
  protected override async close(): Promise<void> {
    this.i = this.items.length;
  }
}

/** Anything with a next() method returning {value, done} (or a promise of it). */
export interface IteratorLike<T> {
  next(): IteratorResult<T> | Promise<IteratorResult<T>>;
  return?: () => unknown;
}

/** Wraps a JS iterator (sync or async, e.g. a generator object) or a next() function. */
export class FunctionIterator<T> extends LazyIterator<T> {
  private finished = false;
  constructor(
    private readonly source: IteratorLike<T>,
    private readonly what = 'dataset',
  ) {
    super();
  }
  protected async serialNext(): Promise<Result<T>> {
    if (this.finished) return done();
    let r: IteratorResult<T>;
    try {
      r = await this.source.next();
    } catch (e) {
      if (e instanceof Error) {
        e.message = `Error thrown while iterating through a ${this.what}: ${e.message}`;
        throw e;
      }
      throw new Error(`Error thrown while iterating through a ${this.what}: ${String(e)}`);
    }
    if (r === null || typeof r !== 'object') {
      throw new TypeError(`${this.what}: next() must return {value, done}, received ${describe(r)}`);
    }
    if (r.done) {
      this.finished = true;
      return done();
    }
    return { value: r.value, done: false };
  }
  protected override async close(): Promise<void> {
    if (this.finished) return;
    this.finished = true;
    await closeIterator(this.source);
  }
}

/** A LazyIterator over any iterator, async iterable or iterable. */
export function iteratorFrom<T>(source: IteratorLike<T> | AsyncIterable<T> | Iterable<T>, what = 'dataset'): LazyIterator<T> {
  if (source instanceof LazyIterator) return source;
  const s = source as Partial<AsyncIterable<T> & Iterable<T> & IteratorLike<T>>;
  if (s && typeof s.next === 'function') return new FunctionIterator(s as IteratorLike<T>, what);
  if (s && typeof s[Symbol.asyncIterator] === 'function') return new FunctionIterator(s[Symbol.asyncIterator]!(), what);
  if (s && typeof s[Symbol.iterator] === 'function' && typeof s !== 'string') return new FunctionIterator(s[Symbol.iterator]!(), what);
  throw new TypeError(`${what}: expected an iterator (an object with next()), an iterable or an async iterable, received ${describe(source)}`);
}

// ------------------------------------------------------------------ one-to-one transforms

export class MapIterator<T, O> extends LazyIterator<O> {
  constructor(
    private readonly upstream: LazyIterator<T>,
    private readonly transform: (x: T) => O | Promise<O>,
  ) {
    super();
  }
  protected async serialNext(): Promise<Result<O>> {
    const r = await this.upstream.next();
    if (r.done) return done();
    const out = await this.transform(r.value);
    disposeDropped(r.value, out);
    return { value: out, done: false };
  }
  protected override close(): Promise<void> {
    return closeIterator(this.upstream);
  }
}

export class FilterIterator<T> extends LazyIterator<T> {
  constructor(
    private readonly upstream: LazyIterator<T>,
    private readonly predicate: (x: T) => unknown,
  ) {
    super();
  }
  protected async serialNext(): Promise<Result<T>> {
    for (;;) {
      const r = await this.upstream.next();
      if (r.done || this.predicate(r.value)) return r;
      disposeDropped(r.value, undefined);
    }
  }
  protected override close(): Promise<void> {
    return closeIterator(this.upstream);
  }
}

/** The first `count` elements (all of them when count is Infinity). */
export class TakeIterator<T> extends LazyIterator<T> {
  private taken = 0;
  constructor(
    private readonly upstream: LazyIterator<T>,
    private readonly count: number,
  ) {
    super();
  }
  protected async serialNext(): Promise<Result<T>> {
    if (this.taken >= this.count) {
      if (this.taken++ === this.count) await closeIterator(this.upstream);
      return done();
    }
    this.taken++;
    return this.upstream.next();
  }
  protected override close(): Promise<void> {
    return closeIterator(this.upstream);
  }
}

/** Drops the first `count` elements (disposing their tensors). */
export class SkipIterator<T> extends LazyIterator<T> {
  private skipped = 0;
  constructor(
    private readonly upstream: LazyIterator<T>,
    private readonly count: number,
  ) {
    super();
  }
  protected async serialNext(): Promise<Result<T>> {
    while (this.skipped < this.count) {
      const r = await this.upstream.next();
      if (r.done) {
        this.skipped = this.count;
        return r;
      }
      this.skipped++;
      disposeDropped(r.value, undefined);
    }
    return this.upstream.next();
  }
  protected override close(): Promise<void> {
    return closeIterator(this.upstream);
  }
}

// ------------------------------------------------------------------ grouping and buffering

/** Arrays of `size` consecutive elements; the last one may be shorter when `smallLast`. */
export class RowBatchIterator<T> extends LazyIterator<T[]> {
  constructor(
    private readonly upstream: LazyIterator<T>,
    private readonly size: number,
    private readonly smallLast: boolean,
  ) {
    super();
  }
  protected async serialNext(): Promise<Result<T[]>> {
    const rows: T[] = [];
    while (rows.length < this.size) {
      const r = await this.upstream.next();
      if (r.done) {
        if (this.smallLast && rows.length > 0) break;
        disposeDropped(rows, undefined);
        return done();
      }
      rows.push(r.value);
    }
    return { value: rows, done: false };
  }
  protected override close(): Promise<void> {
    return closeIterator(this.upstream);
  }
}

/**
 * Keeps up to `size` upstream reads in flight, so the upstream works (file reads, decoding,
 * an async generator) while the consumer works.
 */
export class PrefetchIterator<T> extends LazyIterator<T> {
  private readonly buffer: Promise<Result<T>>[] = [];
  private ended = false;
  constructor(
    private readonly upstream: LazyIterator<T>,
    private readonly size: number,
  ) {
    super();
  }
  private refill(): void {
    while (!this.ended && this.buffer.length < this.size) {
      const p = this.upstream.next();
      p.then(
        (r) => {
          if (r.done) this.ended = true;
        },
        () => {
          this.ended = true;
        },
      );
      this.buffer.push(p);
    }
  }
  protected async serialNext(): Promise<Result<T>> {
    this.refill();
    const head = this.buffer.shift();
    if (!head) return done();
    const r = await head;
    this.refill();
    return r;
  }
  protected override async close(): Promise<void> {
    this.ended = true;
    const pending = this.buffer.splice(0);
    for (const p of pending) {
      const r = await p.catch(() => null);
      if (r && !r.done) disposeDropped(r.value, undefined);
    }
    await closeIterator(this.upstream);
  }
}

/**
 * TF.js's windowed shuffle: a buffer of up to `size` elements; each output is drawn uniformly
 * from the buffer and its slot refilled from upstream. With size >= the stream length it is a
 * uniform permutation; memory is bounded by `size` elements.
 */
export class ShuffleIterator<T> extends LazyIterator<T> {
  private readonly buffer: T[] = [];
  private upstreamDone = false;
  constructor(
    private readonly upstream: LazyIterator<T>,
    private readonly size: number,
    private readonly randomInt: (n: number) => number,
  ) {
    super();
  }
  protected async serialNext(): Promise<Result<T>> {
    while (!this.upstreamDone && this.buffer.length < this.size) {
      const r = await this.upstream.next();
      if (r.done) this.upstreamDone = true;
      else this.buffer.push(r.value);
    }
    const n = this.buffer.length;
    if (n === 0) return done();
    const i = this.randomInt(n);
    const value = this.buffer[i];
    this.buffer[i] = this.buffer[n - 1];
    this.buffer.pop();
    return { value, done: false };
  }
  protected override close(): Promise<void> {
    disposeDropped(this.buffer.splice(0), undefined);
    return closeIterator(this.upstream);
  }
}

// ------------------------------------------------------------------ combining

/**
 * The elements of several streams one after another. `streams` yields the streams lazily
 * (repeat() opens a new pass over its dataset only when the previous one ends). A stream that
 * yields nothing ends the chain when `stopOnEmpty` is set, so repeating an empty dataset
 * forever terminates instead of spinning.
 */
export class ChainedIterator<T> extends LazyIterator<T> {
  private current: LazyIterator<T> | null = null;
  private currentYielded = false;
  private finished = false;
  constructor(
    private readonly streams: () => Promise<LazyIterator<T> | null>,
    private readonly stopOnEmpty = false,
  ) {
    super();
  }
  protected async serialNext(): Promise<Result<T>> {
    while (!this.finished) {
      if (!this.current) {
        this.current = await this.streams();
        this.currentYielded = false;
        if (!this.current) break;
      }
      const r = await this.current.next();
      if (!r.done) {
        this.currentYielded = true;
        return r;
      }
      this.current = null;
      if (this.stopOnEmpty && !this.currentYielded) break;
    }
    this.finished = true;
    return done();
  }
  protected override close(): Promise<void> {
    this.finished = true;
    const c = this.current;
    this.current = null;
    return closeIterator(c);
  }
}

/** A nested structure (arrays and plain objects) whose leaves are iterators. */
export type IteratorContainer = LazyIterator<unknown> | IteratorContainer[] | { [key: string]: IteratorContainer };

function mapLeaves(c: IteratorContainer, f: (it: LazyIterator<unknown>) => unknown): unknown {
  if (c instanceof LazyIterator) return f(c);
  if (Array.isArray(c)) return c.map((e) => mapLeaves(e, f));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(c)) out[k] = mapLeaves(v, f);
  return out;
}

class Slot {
  value: unknown = undefined;
}

/** Elements of several streams side by side, in the streams' structure; ends with the shortest. */
export class ZipIterator<T> extends LazyIterator<T> {
  private finished = false;
  constructor(private readonly streams: IteratorContainer) {
    super();
  }
  protected async serialNext(): Promise<Result<T>> {
    if (this.finished) return done();
    const pending: Promise<void>[] = [];
    let ended = false;
    const slots = mapLeaves(this.streams, (it) => {
      const slot = new Slot();
      pending.push(
        it.next().then((r) => {
          if (r.done) ended = true;
          else slot.value = r.value;
        }),
      );
      return slot;
    });
    await Promise.all(pending);
    const unwrap = (s: unknown): unknown => {
      if (s instanceof Slot) return s.value;
      if (Array.isArray(s)) return s.map(unwrap);
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(s as object)) out[k] = unwrap(v);
      return out;
    };
    const value = unwrap(slots);
    if (ended) {
      this.finished = true;
      disposeDropped(value, undefined);
      await this.close();
      return done();
    }
    return { value: value as T, done: false };
  }
  protected override async close(): Promise<void> {
    const all: unknown[] = [];
    mapLeaves(this.streams, (it) => all.push(closeIterator(it)));
    await Promise.all(all);
  }
}
