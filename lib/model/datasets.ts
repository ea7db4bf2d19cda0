/**
 * Datasets as fitDataset / evaluateDataset read them: opening and closing a pass, the batch count a
 * dataset announces, and the {xs, ys} of one element (a Tensor, an array or a {name: Tensor} map).
 */
import { Tensor, dispose as disposeTensors } from '../tensor';
import { describe } from '../util';

/**
 * Elements {xs, ys} of a training dataset; xs (ys) is a Tensor, or an array or object of Tensors
 * (one per model input / output; a map is keyed by input / output name).
 */
export type DatasetElement = { xs: Tensor | Tensor[] | Record<string, Tensor>; ys: Tensor | Tensor[] | Record<string, Tensor> };

/** A tf.data Dataset, an async iterable of {xs, ys} batches, or any object with iterator(). */
export type DatasetLike =
  | AsyncIterable<DatasetElement>
  | Iterable<DatasetElement>
  | { iterator(): Promise<{ next(): Promise<IteratorResult<DatasetElement>> }> };

export type DatasetIterator = { next(): Promise<IteratorResult<unknown>>; return?: () => unknown };

/** A new pass over a dataset: its iterator() (TF.js Datasets, tf.data), else its (async) iterator. */
export async function openIterator(ds: DatasetLike, fn = 'fitDataset'): Promise<DatasetIterator> {
  if (ds && typeof (ds as { iterator?: unknown }).iterator === 'function') {
    const it = await (ds as { iterator(): Promise<DatasetIterator> }).iterator();
    if (!it || typeof it.next !== 'function') throw new TypeError(`${fn}: dataset.iterator() must resolve to an iterator with next(), received ${describe(it)}`);
    return it;
  }
  if (ds && typeof (ds as AsyncIterable<unknown>)[Symbol.asyncIterator] === 'function') {
    return (ds as AsyncIterable<unknown>)[Symbol.asyncIterator]();
  }
  if (ds && typeof (ds as Iterable<unknown>)[Symbol.iterator] === 'function') {
    const it = (ds as Iterable<unknown>)[Symbol.iterator]();
    return { next: async () => it.next(), return: () => it.return?.() };
  }
  throw new TypeError(`${fn}: dataset must be an async iterable of {xs, ys} or a TF.js Dataset, received ${describe(ds)}`);
}

/** Lets an iterator release what it holds (a file being read) when a pass stops early. */
export async function closeIterator(it: DatasetIterator | null): Promise<void> {
  if (it && typeof it.return === 'function') await it.return();
}

/** Batches per epoch a dataset announces: idxBatches' batchesPerEpoch, a tf.data Dataset's finite size, else 0 (unknown). */
export function datasetBatches(ds: DatasetLike): number {
  const d = ds as { batchesPerEpoch?: unknown; size?: unknown; iterator?: unknown };
  if (!d || typeof d !== 'object') return 0;
  if (typeof d.batchesPerEpoch === 'number') return d.batchesPerEpoch;
  if (typeof d.iterator === 'function' && typeof d.size === 'number' && Number.isFinite(d.size) && d.size > 0) return d.size;
  return 0;
}

/** The one tensor of xs or ys: a Tensor, or an array / object holding exactly one (single-input, single-output model). */
export function singleTensor(v: unknown, where: string, what: 'xs' | 'ys'): unknown {
  if (v instanceof Tensor || v === null || typeof v !== 'object') return v;
  const parts = Array.isArray(v) ? v : Object.values(v as object);
  const desc = Array.isArray(v) ? `an array of ${v.length}` : `an object with keys [${Object.keys(v as object).join(', ')}]`;
  if (parts.length !== 1) {
    const role = what === 'xs' ? 'input' : 'output';
    throw new Error(`${where}: the model has 1 ${role}, but the dataset provides ${parts.length} ${role}s in ${what} (${desc}); map the elements to {xs: Tensor, ys: Tensor}`);
  }
  return parts[0];
}

/**
 * {xs, ys} of a dataset element (TF.js: xs / ys a Tensor, an array of Tensors or a map of name to
 * Tensor). With one input (output) the one tensor is unwrapped; int32 / bool features become
 * float32 copies (listed in `copies`, disposed with the element).
 */
export function datasetElement(value: unknown, where: string, nIn: number, nOut: number): { xs: unknown; ys: unknown; copies: Tensor[] } {
  if (value === null || typeof value !== 'object') return { xs: undefined, ys: undefined, copies: [] };
  const v = value as { xs?: unknown; ys?: unknown };
  if (v.xs !== undefined && v.ys === undefined && v.xs instanceof Tensor) {
    throw new Error(`${where}: a dataset for fitDataset() is expected to generate objects of the form {xs: xVal, ys: yVal}; this one has no ys`);
  }
  const copies: Tensor[] = [];
  const cast = (x: unknown) => {
    const c = asFloat32(x);
    if (c !== x) copies.push(c as Tensor);
    return c;
  };
  let xs: unknown;
  if (nIn === 1) xs = cast(singleTensor(v.xs, where, 'xs'));
  else if (Array.isArray(v.xs)) xs = v.xs.map(cast);
  else if (v.xs && typeof v.xs === 'object' && !(v.xs instanceof Tensor)) xs = Object.fromEntries(Object.entries(v.xs).map(([k, t]) => [k, cast(t)]));
  else xs = v.xs;
  const ys = nOut === 1 ? singleTensor(v.ys, where, 'ys') : v.ys;
  return { xs, ys, copies };
}

/**
 * Whether batches are disposed once used: TF.js does so for Datasets (anything with iterator());
 * plain arrays and iterables of {xs, ys} are the caller's and stay intact.
 */
export function ownsElements(ds: DatasetLike): boolean {
  return !!ds && typeof (ds as { iterator?: unknown }).iterator === 'function';
}

/** Drops a batch read ahead that a pass stopped before using (disposed when it is the dataset's). */
export async function discardAhead(ahead: Promise<IteratorResult<unknown>>, owned: boolean): Promise<void> {
  const r = await ahead.catch(() => null);
  if (r && !r.done && owned) disposeTensors(r.value);
}

/** Disposes a used batch: the element's tensors and the float32 copies of int32 features. */
export function disposeElement(value: unknown, copies: Tensor[]): void {
  disposeTensors(value);
  for (const c of copies) c.dispose();
}

/** int32 / bool features (e.g. tf.oneHot in a map) as float32, as TF.js upcasts them in the first layer. */
function asFloat32(x: unknown): unknown {
  if (!(x instanceof Tensor) || x.isDisposed || x.dtype === 'float32') return x;
  return new Tensor(Float32Array.from(x.values), x.shape, 'float32');
}
