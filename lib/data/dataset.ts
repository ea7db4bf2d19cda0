/**
 * `tf.data`-style datasets: lazy, re-iterable streams of elements with chainable transforms.
 *
 * A Dataset is a recipe; every `iterator()` call starts a new pass from the beginning and pulls
 * elements only as they are consumed, so memory is bounded by the buffers of the pipeline
 * (batch, shuffle, prefetch), never by the length of the data. `size` is the element count
 * when it is known (Infinity for endless streams), else null.
 *
 * Making a new source (e.g. image folders):
 *   - `Dataset.fromIterator(() => asyncIteratorOrIterable, size)` wraps any function that
 *     returns a fresh JS iterator, generator object or (async) iterable per pass; or
 *   - subclass: `class Images extends Dataset<T> { size = n; async iterator() { return
 *     iteratorFrom(makeAsyncGenerator()); } }` (`iteratorFrom` turns any JS iterator or
 *     iterable into a LazyIterator; a LazyIterator subclass with `serialNext()` works as well,
 *     and from JS a plain iterator or generator object is accepted too).
 * Every transform (map, batch, shuffle...) then works on the new source unchanged.
 */
import { Random, random } from '../random';
import { tidy } from '../tensor';
import { describe } from '../util';
import { batchRows } from './batch';
import {
  ArrayIterator,
  ChainedIterator,
  FilterIterator,
  IteratorContainer,
  IteratorLike,
  LazyIterator,
  MapIterator,
  PrefetchIterator,
  RowBatchIterator,
  ShuffleIterator,
  SkipIterator,
  TakeIterator,
  ZipIterator,
  disposeDropped,
  isPlainObject,
  iteratorFrom,
} from './lazy_iterator';

/** A source a Dataset can be built from: a fresh iterator or (async) iterable per pass. */
export type IteratorSource<T> = IteratorLike<T> | AsyncIterable<T> | Iterable<T>;

function checkFunction(f: unknown, fn: string, name: string): void {
  if (typeof f !== 'function') throw new TypeError(`${fn}: ${name} must be a function, received ${describe(f)}`);
}

/** Integer count check; undefined is allowed where TF.js means "all" / "forever". */
function checkCount(v: unknown, fn: string): number | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || Number.isNaN(v) || (!Number.isInteger(v) && v !== Infinity && v !== -Infinity)) {
    throw new TypeError(`${fn}: count must be an integer, received ${describe(v)}`);
  }
  return v;
}

/** A string seed (TF.js takes strings) or a number, as an unsigned 32-bit integer. */
function seedToU32(seed: number | string): number {
  if (typeof seed === 'number') {
    if (!Number.isFinite(seed)) throw new TypeError(`Dataset.shuffle(): seed must be a finite number or a string, received ${seed}`);
    return Number.isInteger(seed) && seed >= 0 && seed <= 0xffffffff ? seed : hashString(String(seed));
  }
  return hashString(seed);
}

/** FNV-1a over the UTF-16 code units. */
function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

export abstract class Dataset<T = unknown> implements AsyncIterable<T> {
  /** Largest shuffle buffer TF.js recommends (the constant is kept for compatibility). */
  static readonly MAX_BUFFER_SIZE = 10000;

  /** Number of elements when known (Infinity for endless streams), else null. */
  size: number | null = null;

  /** A new pass over the elements, from the start. */
  abstract iterator(): Promise<LazyIterator<T>>;

  /** A dataset whose passes come from `source()`: a fresh iterator, generator object or (async) iterable each call. */
  static fromIterator<T>(source: () => IteratorSource<T> | Promise<IteratorSource<T>>, size: number | null = null): Dataset<T> {
    checkFunction(source, 'Dataset.fromIterator()', 'source');
    return datasetFromIteratorFn(async () => iteratorFrom(await source()), size);
  }

  /** `for await (const x of ds)`: one pass. */
  async *[Symbol.asyncIterator](): AsyncGenerator<T, void, undefined> {
    const it = await openPass(this);
    try {
      for (let r = await it.next(); !r.done; r = await it.next()) yield r.value;
    } finally {
      await it.return();
    }
  }

  /**
   * Groups consecutive elements into batches of `batchSize`: tensors are stacked along a new
   * first axis, numbers become a 1-D tensor, objects and arrays are batched per key / index.
   * The last batch may be smaller unless `smallLastBatch` is false.
   */
  batch(batchSize: number, smallLastBatch = true): Dataset<BatchOf<T>> {
    const fn = 'Dataset.batch()';
    if (typeof batchSize !== 'number' || !(batchSize > 0)) {
      throw new RangeError(`${fn}: batchSize needs to be positive, but it is ${describe(batchSize)}`);
    }
    if (!Number.isInteger(batchSize)) throw new RangeError(`${fn}: batchSize must be an integer, received ${batchSize}`);
    const size =
      this.size === null || this.size === Infinity ? this.size : smallLastBatch ? Math.ceil(this.size / batchSize) : Math.floor(this.size / batchSize);
    return datasetFromIteratorFn(
      async () => new MapIterator(new RowBatchIterator(await openPass(this), batchSize, Boolean(smallLastBatch)), (rows) => batchRows(rows) as BatchOf<T>),
      size,
    );
  }

  /** This dataset's elements followed by `dataset`'s. */
  concatenate(dataset: Dataset<T>): Dataset<T> {
    if (!(dataset instanceof Dataset)) throw new TypeError(`Dataset.concatenate(): expected a Dataset, received ${describe(dataset)}`);
    const size =
      this.size === Infinity || dataset.size === Infinity ? Infinity : this.size !== null && dataset.size !== null ? this.size + dataset.size : null;
    return datasetFromIteratorFn(async () => {
      const parts: Dataset<T>[] = [this, dataset];
      let i = 0;
      return new ChainedIterator<T>(async () => (i < parts.length ? openPass(parts[i++]) : null));
    }, size);
  }

  /** The elements for which `predicate` returns a truthy value (the others' tensors are disposed). */
  filter(predicate: (value: T) => unknown): Dataset<T> {
    checkFunction(predicate, 'Dataset.filter()', 'predicate');
    return datasetFromIteratorFn(
      async () => new FilterIterator(await openPass(this), (x: T) => tidy(() => predicate(x))),
      this.size === Infinity ? Infinity : null,
    );
  }

  /** Calls f on every element of one pass (awaited when it returns a promise); the elements' tensors are disposed after it, as in TF.js. */
  async forEachAsync(f: (value: T) => unknown): Promise<void> {
    checkFunction(f, 'Dataset.forEachAsync()', 'f');
    return (await openPass(this)).forEachAsync(f);
  }

  /**
   * Applies a synchronous transform to every element, inside tidy() as TF.js does (tensors it makes
   * and does not return are disposed); input tensors the result does not hold are disposed too.
   */
  map<O>(transform: (value: T) => O): Dataset<O> {
    const fn = 'Dataset.map()';
    checkFunction(transform, fn, 'transform');
    return datasetFromIteratorFn(
      async () =>
        new MapIterator(await openPass(this), (x: T) =>
          tidy(() => {
            const out = transform(x);
            if (out instanceof Promise) throw new TypeError(`${fn}: the transform returned a Promise; use mapAsync() for async transforms`);
            return out;
          }),
        ),
      this.size,
    );
  }

  /** Applies an async transform to every element (one at a time, in order). */
  mapAsync<O>(transform: (value: T) => Promise<O>): Dataset<O> {
    checkFunction(transform, 'Dataset.mapAsync()', 'transform');
    return datasetFromIteratorFn(async () => new MapIterator(await openPass(this), transform), this.size);
  }

  /** Reads up to `bufferSize` elements ahead of the consumer. */
  prefetch(bufferSize: number): Dataset<T> {
    const fn = 'Dataset.prefetch()';
    if (bufferSize === undefined || bufferSize === null) throw new RangeError('`Dataset.prefetch()` requires bufferSize to be specified.');
    if (typeof bufferSize !== 'number' || !Number.isInteger(bufferSize) || bufferSize < 1) {
      throw new RangeError(`${fn}: bufferSize must be a positive integer, received ${describe(bufferSize)}`);
    }
    return datasetFromIteratorFn(async () => new PrefetchIterator(await openPass(this), bufferSize), this.size);
  }

  /**
   * Repeats the dataset `count` times (forever when count is undefined or negative); every
   * repetition is a new pass. Repeating an empty dataset ends instead of spinning.
   */
  repeat(count?: number): Dataset<T> {
    const c = checkCount(count, 'Dataset.repeat()');
    const times = c === undefined || c < 0 ? Infinity : c;
    const size =
      times === 0 ? 0 : this.size === null ? null : this.size === 0 ? 0 : times === Infinity ? Infinity : this.size * times;
    return datasetFromIteratorFn(async () => {
      let passes = 0;
      return new ChainedIterator<T>(async () => (passes++ < times ? openPass(this) : null), true);
    }, size);
  }

  /** Drops the first `count` elements (all of them when count is undefined or negative, as TF.js documents). */
  skip(count?: number): Dataset<T> {
    const c = checkCount(count, 'Dataset.skip()');
    const n = c === undefined || c < 0 ? Infinity : c;
    const size = this.size === null ? null : this.size === Infinity ? (n === Infinity ? 0 : Infinity) : Math.max(0, this.size - n);
    return datasetFromIteratorFn(async () => new SkipIterator(await openPass(this), n), size);
  }

  /**
   * Shuffles within a window of `bufferSize` elements (a full shuffle when bufferSize >= the
   * dataset size). With a seed (a number or, as in TF.js, a string) the order is reproducible:
   * pass k of the dataset always gives the same order; without one the seed comes from the library
   * generator (see setSeed). With `reshuffleEachIteration` false every pass gives the same order.
   * The orders are not TF.js's (another generator); the windowing is.
   */
  shuffle(bufferSize: number, seed?: number | string, reshuffleEachIteration = true): Dataset<T> {
    const fn = 'Dataset.shuffle()';
    if (bufferSize === undefined || bufferSize === null || (typeof bufferSize === 'number' && bufferSize < 0)) {
      throw new RangeError(
        this.size === null
          ? '`Dataset.shuffle()` requires bufferSize to be specified.'
          : '`Dataset.shuffle()` requires bufferSize to be specified.  If your data fits in main memory, ' +
            `consider setting bufferSize to the dataset size (${this.size} elements)`,
      );
    }
    if (typeof bufferSize !== 'number' || !Number.isInteger(bufferSize) || bufferSize < 1) {
      throw new RangeError(`${fn}: bufferSize must be a positive integer, received ${describe(bufferSize)}`);
    }
    if (seed !== undefined && seed !== null && typeof seed !== 'number' && typeof seed !== 'string') {
      throw new TypeError(`${fn}: seed must be a number or a string, received ${describe(seed)}`);
    }
    const master = seed === undefined || seed === null ? new Random(random().nextU32()) : new Random(seedToU32(seed));
    const fixed = master.nextU32();
    return datasetFromIteratorFn(async () => {
      const rng = new Random(reshuffleEachIteration ? master.nextU32() : fixed);
      return new ShuffleIterator(await openPass(this), bufferSize, (n) => rng.int(n));
    }, this.size);
  }

  /** The first `count` elements (all of them when count is undefined or negative, as TF.js documents). */
  take(count?: number): Dataset<T> {
    const c = checkCount(count, 'Dataset.take()');
    const n = c === undefined || c < 0 ? Infinity : c;
    const size = this.size === null ? (n === 0 ? 0 : null) : Math.min(this.size, n);
    return datasetFromIteratorFn(async () => new TakeIterator(await openPass(this), n), size);
  }

  /** Every element of one pass (only for datasets that fit in memory). */
  async toArray(): Promise<T[]> {
    if (this.size === Infinity) throw new Error('Can not convert infinite data stream to array.');
    return (await openPass(this)).toArray();
  }
}

/**
 * A new pass over `ds` as a LazyIterator, whatever its iterator() returned (a subclass may return
 * a generator object or any JS iterator).
 */
async function openPass<T>(ds: Dataset<T>): Promise<LazyIterator<T>> {
  const it = await ds.iterator();
  if (it instanceof LazyIterator) return it;
  if (it === null || typeof it !== 'object') {
    throw new TypeError(`${ds.constructor.name}.iterator() must resolve to an iterator, received ${describe(it)}`);
  }
  return iteratorFrom(it as IteratorSource<T>);
}

/** What batch() makes of an element type: tensors, numbers and arrays become tensors, objects stay objects. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type BatchOf<T> = T extends Record<string, unknown> ? { [K in keyof T]: BatchOf<T[K]> } : any;

/** A Dataset whose passes come from `iteratorFn` (TF.js's datasetFromIteratorFn). */
export function datasetFromIteratorFn<T>(iteratorFn: () => Promise<LazyIterator<T>>, size: number | null = null): Dataset<T> {
  return new FnDataset(iteratorFn, size);
}

class FnDataset<T> extends Dataset<T> {
  constructor(
    private readonly iteratorFn: () => Promise<LazyIterator<T>>,
    size: number | null,
  ) {
    super();
    this.size = size;
  }
  override async iterator(): Promise<LazyIterator<T>> {
    return this.iteratorFn();
  }
}

/** A dataset of the items of an array (tensors are handed out as clones, so the array stays intact). */
export function array<T>(items: T[]): Dataset<T> {
  if (!Array.isArray(items)) throw new TypeError(`tf.data.array(): items must be an array, received ${describe(items)}`);
  return datasetFromIteratorFn(async () => new ArrayIterator(items), items.length);
}

/**
 * A dataset drawn from a generator function (sync `function*` or `async function*`, or any
 * function returning an iterator). It is called again for every pass, so each pass starts over.
 */
export function generator<T>(generatorFn: () => IteratorSource<T> | Promise<IteratorSource<T>>): Dataset<T> {
  const fn = 'tf.data.generator()';
  checkFunction(generatorFn, fn, 'the argument');
  return datasetFromIteratorFn(async () => {
    const it = await generatorFn();
    if (it === null || typeof it !== 'object') {
      throw new TypeError(`${fn}: the function must return an iterator (e.g. be a function* generator), it returned ${describe(it)}`);
    }
    return iteratorFrom(it, 'dataset');
  });
}

/** A dataset whose elements come from calling `f()`: it returns {value, done} (or a promise of it). */
export function func<T>(f: () => IteratorResult<T> | Promise<IteratorResult<T>>): Dataset<T> {
  checkFunction(f, 'tf.data.func()', 'the argument');
  return datasetFromIteratorFn(async () => iteratorFrom({ next: f }));
}

/** An array, object or nested structure of datasets. */
export type DatasetContainer = Dataset<unknown> | DatasetContainer[] | { [key: string]: DatasetContainer };

/**
 * Zips datasets: element i is the structure of the datasets' i-th elements
 * (zip([a, b]) -> [a_i, b_i], zip({x: a, y: b}) -> {x: a_i, y: b_i}); ends with the shortest.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function zip<O = any>(datasets: DatasetContainer): Dataset<O> {
  if (!Array.isArray(datasets) && !isPlainObject(datasets)) {
    throw new Error('The argument to zip() must be an object or array.');
  }
  const sizes: (number | null)[] = [];
  const check = (c: unknown, depth: number): void => {
    if (c instanceof Dataset) sizes.push(c.size);
    else if (depth < 64 && (Array.isArray(c) || isPlainObject(c))) Object.values(c as object).forEach((e) => check(e, depth + 1));
    else throw new Error(`Leaves of the structure passed to zip() must be Datasets, not primitives (received ${describe(c)}).`);
  };
  check(datasets, 0);
  const size = sizes.length === 0 ? 0 : sizes.includes(null) ? null : Math.min(...(sizes as number[]));
  const open = async (c: DatasetContainer): Promise<IteratorContainer> => {
    if (c instanceof Dataset) return openPass(c);
    if (Array.isArray(c)) return Promise.all(c.map(open));
    const out: Record<string, IteratorContainer> = {};
    for (const [k, v] of Object.entries(c)) out[k] = await open(v);
    return out;
  };
  return datasetFromIteratorFn(async () => {
    if (size === 0) return new ArrayIterator<O>([]);
    return new ZipIterator<O>(await open(datasets));
  }, size);
}

export { LazyIterator, iteratorFrom, disposeDropped };
