/**
 * Batches streamed from IDX files, for `model.fitDataset`: the data never has to fit in memory.
 *
 * - Two uncompressed files are read record by record at their offsets (one read per run of
 *   consecutive records), so a shuffle is a true permutation of the whole data set, new each
 *   epoch. Only the permutation (4 bytes per example) and two batches are held in memory.
 * - Gzipped files can only be read front to back, so they stream through zlib (if only one of
 *   the two is gzipped, the other is read front to back alongside) and a shuffle
 *   mixes records only within a window of `shuffleBuffer` records (as TF.js's
 *   `dataset.shuffle(bufferSize)`): a record comes out at most that many places earlier than
 *   its place in the file. With `shuffleBuffer` >= the number of records it is a full shuffle. For a
 *   better mix of a large gzipped set, gunzip the files once (`gunzip -k *.gz`).
 *
 * Every iteration (`for await`, or `iterator()` as TF.js's fitDataset calls it) is one epoch.
 * The next batch is requested before the current one is handed over, so gunzipping (on the
 * thread pool) overlaps the caller's work.
 */
import * as fs from 'fs';
import * as zlib from 'zlib';
import { Random, random } from '../random';
import { Tensor, oneHot } from '../tensor';
import { IdxFileHeader, decodeIdxValues, idxBytesPer, parseIdxHeader, readIdxHeader } from './idx';
import type { LabelMode, Split } from './mnist';

export interface IdxBatchesOptions {
  /** Examples per batch (default 32). The last batch of an epoch may be smaller. */
  batchSize?: number;
  /** Shuffle each epoch (default false). */
  shuffle?: boolean;
  /** Seed of the shuffle (default: the library generator, see setSeed). */
  seed?: number;
  /** 'onehot' (default): ys [b, numClasses] float32; 'int': ys [b] int32. */
  labels?: LabelMode;
  /** Number of classes (default 10); every label must be in [0, numClasses). */
  numClasses?: number;
  /** Gzipped files only: records held for shuffling (default 10,000). */
  shuffleBuffer?: number;
  /** Drop the last batch of an epoch when it is smaller than batchSize (default false). */
  dropRemainder?: boolean;
}

/** An async iterable of {xs, ys} batches; each iteration is one epoch. */
export interface IdxBatchDataset extends AsyncIterable<Split> {
  /** Examples in the files. */
  readonly size: number;
  readonly batchSize: number;
  /** Batches one epoch yields. */
  readonly batchesPerEpoch: number;
  /** Shape of one example of xs, e.g. [28, 28, 1]. */
  readonly imageShape: number[];
  /** Starts an epoch (the TF.js Dataset spelling). */
  iterator(): Promise<AsyncIterator<Split>>;
}

/** Reads exact byte counts from a stream of chunks; errors name the file. */
class ChunkReader {
  private chunk: Buffer = Buffer.alloc(0);
  private pos = 0;
  private done = false;
  private consumed = 0;

  constructor(
    private readonly it: AsyncIterator<Buffer>,
    private readonly name: string,
    private readonly total: number,
  ) {}

  /** Fills dest[offset, offset + len) from the stream. */
  async readInto(dest: Uint8Array, offset: number, len: number): Promise<void> {
    while (len > 0) {
      if (this.pos === this.chunk.length) {
        const r: IteratorResult<Buffer> = this.done ? { done: true, value: undefined } : await this.it.next();
        if (r.done) {
          this.done = true;
          throw new Error(
            `${this.name}: truncated IDX file: the header announces ${this.total} bytes, ` +
              `the gzip data ends after ${this.consumed}`,
          );
        }
        this.chunk = r.value;
        this.pos = 0;
        continue;
      }
      const n = Math.min(len, this.chunk.length - this.pos);
      dest.set(this.chunk.subarray(this.pos, this.pos + n), offset);
      this.pos += n;
      offset += n;
      len -= n;
      this.consumed += n;
    }
  }

  /** Throws if the stream holds more bytes. */
  async expectEnd(): Promise<void> {
    let extra = this.chunk.length - this.pos;
    while (!this.done) {
      const r = await this.it.next();
      if (r.done) this.done = true;
      else extra += r.value.length;
      if (extra > 0) break;
    }
    if (extra > 0) {
      throw new Error(`${this.name}: trailing data after the ${this.total} bytes its IDX header announces`);
    }
  }
}

/** The records of one IDX file, as raw big-endian bytes. */
interface RecordFile {
  header: IdxFileHeader;
  /** Bytes of one record (one image, one label). */
  recordBytes: number;
}

function openRecordFile(path: string, what: 'images' | 'labels'): RecordFile {
  const header = readIdxHeader(path);
  const rank = header.shape.length;
  if (what === 'labels' && rank !== 1) {
    throw new Error(`${path}: expected labels of shape [n], found [${header.shape.join(', ')}]`);
  }
  if (what === 'labels' && (header.dtype === 'float32' || header.dtype === 'float64')) {
    throw new Error(`${path}: labels must be integers, found IDX type ${header.dtype}`);
  }
  if (what === 'images' && rank !== 3 && rank !== 4) {
    throw new Error(`${path}: expected images of shape [n, height, width], found [${header.shape.join(', ')}]`);
  }
  const per = header.shape.slice(1).reduce((a, b) => a * b, 1);
  return { header, recordBytes: per * idxBytesPer(header.dtype) };
}

/** Source of records for one epoch. */
interface EpochReader {
  /** Fills img and lab with the next `count` records of the epoch. */
  next(img: Buffer, lab: Buffer, count: number): Promise<void>;
  close(): Promise<void>;
}

/** Reads records of one file front to back. */
interface Sequential {
  /** Fills dest[at * recordBytes, ...) with the next `count` records. */
  read(dest: Buffer, at: number, count: number): Promise<void>;
  /** Throws if the file holds more than the header announces (raw files were checked up front). */
  expectEnd(): Promise<void>;
  close(): Promise<void>;
}

function openFiles(paths: string[]): number[] {
  const out: number[] = [];
  try {
    for (const p of paths) out.push(fs.openSync(p, 'r'));
  } catch (e) {
    closeFiles(out);
    throw new Error(`cannot open IDX file (${(e as Error).message})`);
  }
  return out;
}

function closeFiles(fds: number[]): void {
  for (const fd of fds) {
    try {
      fs.closeSync(fd);
    } catch {
      // already closed
    }
  }
}

/**
 * Reads `count` records starting at record `first` of an uncompressed file into dest at record
 * `at`. Synchronous on purpose: a record is a page-cache copy of a few hundred bytes, which a
 * blocking read does in about a microsecond, while an asynchronous one costs a thread-pool round
 * trip per record.
 */
function readAt(f: RecordFile, fd: number, dest: Buffer, at: number, first: number, count: number): void {
  const len = count * f.recordBytes;
  const pos = f.header.headerBytes + first * f.recordBytes;
  let done = 0;
  while (done < len) {
    const got = fs.readSync(fd, dest, at * f.recordBytes + done, len - done, pos + done);
    if (got === 0) throw new Error(`${f.header.path}: truncated IDX file (end of file at byte ${pos + done}; did it change?)`);
    done += got;
  }
}

/** An uncompressed file read front to back with a cursor. */
async function rawSequential(f: RecordFile): Promise<Sequential> {
  const fds = openFiles([f.header.path]);
  let cursor = 0;
  return {
    async read(dest, at, count) {
      const first = cursor;
      cursor += count;
      readAt(f, fds[0], dest, at, first, count);
    },
    async expectEnd() {},
    async close() {
      closeFiles(fds);
    },
  };
}

/** A gzipped file streamed through zlib, positioned after its IDX header (checked against `f`). */
async function gzipSequential(f: RecordFile): Promise<Sequential> {
  const name = f.header.path;
  const file = fs.createReadStream(name, { highWaterMark: 1 << 16 });
  const gunzip = zlib.createGunzip({ chunkSize: 1 << 16 });
  file.on('error', (e) => gunzip.destroy(e));
  file.pipe(gunzip);
  const it = (gunzip as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
  const chunks: AsyncIterator<Buffer> = {
    next: async () => {
      try {
        return await it.next();
      } catch (e) {
        throw new Error(`${name}: corrupt or truncated gzip data (${(e as Error).message})`);
      }
    },
  };
  const close = async () => {
    file.destroy();
    gunzip.destroy();
  };
  const reader = new ChunkReader(chunks, name, f.header.headerBytes + f.header.dataBytes);
  try {
    const head = Buffer.alloc(f.header.headerBytes);
    await reader.readInto(head, 0, head.length);
    const h = parseIdxHeader(head, name);
    if (h.dtype !== f.header.dtype || h.shape.join() !== f.header.shape.join()) {
      throw new Error(`${name}: the IDX header changed while reading`);
    }
  } catch (e) {
    await close();
    throw e;
  }
  const rb = f.recordBytes;
  return {
    read: (dest, at, count) => reader.readInto(dest, at * rb, count * rb),
    expectEnd: () => reader.expectEnd(),
    close,
  };
}

/** Both files uncompressed: records read at their offsets, one read per run of consecutive indices. */
async function randomAccessReader(images: RecordFile, labels: RecordFile, order: Int32Array | null): Promise<EpochReader> {
  const fds = openFiles([images.header.path, labels.header.path]);
  const [fi, fl] = fds;
  let cursor = 0;
  return {
    async next(img, lab, count) {
      const start = cursor;
      cursor += count;
      for (let i = 0; i < count; ) {
        let j = i + 1;
        const first = order ? order[start + i] : start + i;
        if (order) while (j < count && order[start + j] === order[start + j - 1] + 1) j++;
        else j = count;
        readAt(images, fi, img, i, first, j - i);
        readAt(labels, fl, lab, i, first, j - i);
        i = j;
      }
    },
    async close() {
      closeFiles(fds);
    },
  };
}

/**
 * At least one file gzipped: both read front to back in step. With a shuffle, records pass
 * through a window of `window` records; each batch draws its records at random from the window,
 * which is then refilled.
 */
async function streamReader(images: RecordFile, labels: RecordFile, n: number, window: number, rng: Random | null): Promise<EpochReader> {
  const open = (f: RecordFile) => (f.header.gzip ? gzipSequential(f) : rawSequential(f));
  const si = await open(images);
  let sl: Sequential;
  try {
    sl = await open(labels);
  } catch (e) {
    await si.close();
    throw e;
  }
  const ib = images.recordBytes;
  const lb = labels.recordBytes;
  let read = 0; // records taken from the files
  const take = async (img: Buffer, lab: Buffer, at: number, count: number) => {
    await Promise.all([si.read(img, at, count), sl.read(lab, at, count)]);
    read += count;
    if (read === n) await Promise.all([si.expectEnd(), sl.expectEnd()]);
  };
  const w = rng ? Math.min(window, n) : 0;
  const poolImg = Buffer.alloc(w * ib);
  const poolLab = Buffer.alloc(w * lb);
  let fill = 0; // records in the window
  return {
    async next(img, lab, count) {
      if (!rng) return take(img, lab, 0, count);
      const more = Math.min(w - fill, n - read);
      if (more > 0) {
        await take(poolImg, poolLab, fill, more);
        fill += more;
      }
      for (let i = 0; i < count; i++) {
        // a random record leaves the window; the last one moves into its slot
        const j = rng.int(fill);
        const last = fill - 1;
        poolImg.copy(img, i * ib, j * ib, (j + 1) * ib);
        poolLab.copy(lab, i * lb, j * lb, (j + 1) * lb);
        if (j !== last) {
          poolImg.copy(poolImg, j * ib, last * ib, fill * ib);
          poolLab.copy(poolLab, j * lb, last * lb, fill * lb);
        }
        fill--;
      }
    },
    async close() {
      await Promise.allSettled([si.close(), sl.close()]);
    },
  };
}

function checkOptions(opts: IdxBatchesOptions): Required<Omit<IdxBatchesOptions, 'seed'>> & { seed?: number } {
  const fn = 'idxBatches';
  if (opts === null || typeof opts !== 'object') throw new TypeError(`${fn}: options must be an object`);
  const posInt = (v: unknown, name: string, def: number): number => {
    if (v === undefined) return def;
    if (!Number.isInteger(v) || (v as number) < 1) throw new RangeError(`${fn}: ${name} must be a positive integer, received ${v}`);
    return v as number;
  };
  const labels = opts.labels ?? 'onehot';
  if (labels !== 'onehot' && labels !== 'int') {
    throw new Error(`${fn}: labels must be 'onehot' or 'int', received ${JSON.stringify(opts.labels)}`);
  }
  if (opts.seed !== undefined && (!Number.isInteger(opts.seed) || opts.seed < 0 || opts.seed > 0xffffffff)) {
    throw new RangeError(`${fn}: seed must be an integer in [0, 2^32), received ${opts.seed}`);
  }
  return {
    batchSize: posInt(opts.batchSize, 'batchSize', 32),
    shuffle: Boolean(opts.shuffle),
    seed: opts.seed,
    labels,
    numClasses: posInt(opts.numClasses, 'numClasses', 10),
    shuffleBuffer: posInt(opts.shuffleBuffer, 'shuffleBuffer', 10000),
    dropRemainder: Boolean(opts.dropRemainder),
  };
}

/**
 * Batches of {xs, ys} read from an IDX images file and an IDX labels file (gzipped or not),
 * for `model.fitDataset`. xs is [b, h, w, 1] float32 (uint8 pixels scaled to [0, 1]); ys is
 * one-hot [b, numClasses] float32 or int32 [b]. Headers are checked at once (counts must
 * agree); truncation inside gzipped data is reported when the stream reaches it.
 */
export function idxBatches(imagesPath: string, labelsPath: string, options: IdxBatchesOptions = {}): IdxBatchDataset {
  const opts = checkOptions(options);
  const images = openRecordFile(imagesPath, 'images');
  const labels = openRecordFile(labelsPath, 'labels');
  const n = images.header.shape[0];
  if (labels.header.shape[0] !== n) {
    throw new Error(
      `image and label counts differ: ${imagesPath} holds ${n} images but ${labelsPath} holds ` +
        `${labels.header.shape[0]} labels`,
    );
  }
  const dims = images.header.shape.slice(1);
  const imageShape = dims.length === 2 ? [...dims, 1] : dims;
  const perImage = dims.reduce((a, b) => a * b, 1);
  const bs = opts.batchSize;
  const batches = opts.dropRemainder ? Math.floor(n / bs) : Math.ceil(n / bs);
  const rng = opts.shuffle ? (opts.seed === undefined ? random() : new Random(opts.seed)) : null;
  const div = images.header.dtype === 'uint8' ? 255 : 1;

  const toBatch = (img: Buffer, lab: Buffer, count: number): Split => {
    const px = decodeIdxValues(img, images.header.dtype, count * perImage);
    const xs = new Float32Array(count * perImage);
    for (let i = 0; i < xs.length; i++) xs[i] = px[i] / div;
    const raw = decodeIdxValues(lab, labels.header.dtype, count);
    const ints = new Int32Array(count);
    for (let i = 0; i < count; i++) {
      const c = raw[i];
      if (c < 0 || c >= opts.numClasses) {
        throw new Error(`${labelsPath}: label ${c} is outside [0, ${opts.numClasses})`);
      }
      ints[i] = c;
    }
    const ysInt = new Tensor(ints, [count], 'int32');
    return {
      xs: new Tensor(xs, [count, ...imageShape], 'float32'),
      ys: opts.labels === 'int' ? ysInt : oneHot(ysInt, opts.numClasses),
    };
  };

  async function* epoch(): AsyncGenerator<Split, void, undefined> {
    let reader: EpochReader;
    if (images.header.gzip || labels.header.gzip) {
      reader = await streamReader(images, labels, n, opts.shuffleBuffer, rng);
    } else {
      let order: Int32Array | null = null;
      if (rng) {
        order = new Int32Array(n);
        for (let i = 0; i < n; i++) order[i] = i;
        rng.shuffle(order);
      }
      reader = await randomAccessReader(images, labels, order);
    }
    let pending: Promise<Split> | null = null;
    try {
      let b = 0;
      const load = (k: number): Promise<Split> => {
        const count = Math.min(bs, n - k * bs);
        const img = Buffer.alloc(count * images.recordBytes);
        const lab = Buffer.alloc(count * labels.recordBytes);
        const p = reader.next(img, lab, count).then(() => toBatch(img, lab, count));
        p.catch(() => undefined); // awaited below; this only silences the unhandled-rejection warning
        return p;
      };
      if (batches > 0) pending = load(0);
      while (pending) {
        const batch: Split = await pending;
        pending = null;
        b++;
        if (b < batches) pending = load(b);
        yield batch;
      }
    } finally {
      if (pending) await (pending as Promise<Split>).catch(() => undefined);
      await reader.close();
    }
  }

  return {
    size: n,
    batchSize: bs,
    batchesPerEpoch: batches,
    imageShape,
    [Symbol.asyncIterator]: epoch,
    iterator: async () => epoch(),
  };
}
