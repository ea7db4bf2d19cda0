/**
 * tf.data.imageFolder(dir, options): a dataset of {xs, ys} batches from a folder holding one
 * subfolder of images per class, modelled on Keras' image_dataset_from_directory. Class names are
 * the sorted subfolder names (label i = classNames[i]); files ending .png / .jpg / .jpeg (any case,
 * subfolders walked) are decoded by tf.node.decodeImage and resized to imageSize with
 * resizeBilinear using half-pixel centres (as tf.image.resize in Keras does), values 0..255 as
 * float32. validationSplit + subset take the last fraction of the (seeded-shuffled) file list as
 * validation, as Keras does: call twice with the same seed for both subsets.
 */
import * as fs from 'fs';
import { promises as fsp } from 'fs';
import * as path from 'path';
import { Random, random } from '../random';
import { Tensor } from '../tensor';
import { describe } from '../util';
import { decodeImage } from '../node/codecs';
import { resizeBilinear, resizeNearestNeighbor } from '../image/resize';
import { Dataset, iteratorFrom, LazyIterator } from './dataset';

export interface ImageFolderOptions {
  /** [height, width] every image is resized to (default [256, 256], as Keras). */
  imageSize?: [number, number];
  /** 1 (grayscale), 3 (RGB, default) or 4 (RGBA). */
  channels?: 1 | 3 | 4;
  /**
   * 'int' (default): int32 labels [batch]; 'categorical': one-hot float32 [batch, numClasses];
   * 'binary' (exactly two classes): float32 0 / 1 labels [batch, 1], for binaryCrossentropy.
   */
  labelMode?: LabelMode;
  /** Subfolder names to use, in label order (default: every subfolder, sorted). */
  classNames?: string[];
  /** Images per batch (default 32); null yields single {xs: [h, w, c], ys} elements. */
  batchSize?: number | null;
  /** Shuffle the file order (default true): once with seed for the split, then again every pass. */
  shuffle?: boolean;
  /** Seed for the shuffles (required with validationSplit and shuffle, as in Keras). */
  seed?: number;
  /** Fraction in (0, 1) of the files held out for validation. */
  validationSplit?: number;
  /** Which part of the split this dataset is ('training' or 'validation'; required with validationSplit). */
  subset?: 'training' | 'validation';
  /** Resize method: 'bilinear' (default) or 'nearest'. */
  interpolation?: 'bilinear' | 'nearest';
}

export type LabelMode = 'int' | 'categorical' | 'binary';

export interface ImageBatch { xs: Tensor; ys: Tensor }

export const IMAGE_EXTENSIONS = ['.png', '.jpg', '.jpeg'];

const FN = 'imageFolder';

function listImages(dir: string): string[] {
  const out: string[] = [];
  const entries = fs.readdirSync(dir, { withFileTypes: true });
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const e of entries) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...listImages(p));
    else if (e.isFile() && IMAGE_EXTENSIONS.includes(path.extname(e.name).toLowerCase())) out.push(p);
  }
  return out;
}

export class ImageFolderDataset extends Dataset<ImageBatch> {
  /** Resolved options. */
  readonly imageSize: [number, number];
  readonly channels: 1 | 3 | 4;
  readonly labelMode: LabelMode;
  readonly batchSize: number | null;
  /** Whether each pass reshuffles the files. */
  readonly shuffleFiles: boolean;
  readonly interpolation: 'bilinear' | 'nearest';
  private readonly rng: Random;

  constructor(readonly dir: string, readonly classNames: string[], readonly filePaths: string[], readonly labels: Int32Array, o: Required<Pick<ImageFolderOptions, 'imageSize' | 'channels' | 'labelMode' | 'shuffle' | 'interpolation'>> & { batchSize: number | null; seed?: number }) {
    super();
    this.imageSize = o.imageSize;
    this.channels = o.channels;
    this.labelMode = o.labelMode;
    this.batchSize = o.batchSize;
    this.shuffleFiles = o.shuffle;
    this.interpolation = o.interpolation;
    this.rng = o.seed === undefined ? random() : random(o.seed);
    const n = filePaths.length;
    this.size = this.batchSize === null ? n : Math.ceil(n / this.batchSize);
  }

  /** One image as float32 [h, w, c] values in 0..255. */
  async loadImage(file: string): Promise<Float32Array> {
    let bytes: Buffer;
    try {
      bytes = await fsp.readFile(file);
    } catch (e) {
      throw new Error(`${FN}: cannot read ${file}: ${(e as Error).message}`);
    }
    let img: Tensor;
    try {
      img = decodeImage(bytes, this.channels);
    } catch (e) {
      throw new Error(`${FN}: ${file}: ${(e as Error).message}`);
    }
    const [h, w] = this.imageSize;
    const r = this.interpolation === 'nearest' ? resizeNearestNeighbor(img, [h, w], false, true) : resizeBilinear(img, [h, w], false, true);
    const v = Float32Array.from(r.values);
    img.dispose();
    r.dispose();
    return v;
  }

  override async iterator(): Promise<LazyIterator<ImageBatch>> {
    const n = this.filePaths.length;
    const order = new Int32Array(n);
    for (let i = 0; i < n; i++) order[i] = i;
    if (this.shuffleFiles) this.rng.shuffle(order);
    const bs = this.batchSize ?? 1;
    const k = this.classNames.length;
    const [h, w] = this.imageSize;
    const px = h * w * this.channels;
    const self = this;
    async function* batches(): AsyncGenerator<ImageBatch> {
      for (let b0 = 0; b0 < n; b0 += bs) {
        const m = Math.min(bs, n - b0);
        const xs = new Float32Array(m * px);
        const mode = self.labelMode;
        const ys = mode === 'int' ? new Int32Array(m) : new Float32Array(mode === 'binary' ? m : m * k);
        for (let j = 0; j < m; j++) {
          const i = order[b0 + j];
          xs.set(await self.loadImage(self.filePaths[i]), j * px);
          if (mode === 'categorical') ys[j * k + self.labels[i]] = 1;
          else ys[j] = self.labels[i];
        }
        // Shapes per element (batchSize null) or per batch of m.
        const lead = self.batchSize === null ? [] : [m];
        const yShape = mode === 'int' ? lead : [...lead, mode === 'binary' ? 1 : k];
        yield {
          xs: new Tensor(xs, [...lead, h, w, self.channels], 'float32'),
          ys: mode === 'int' ? new Tensor(ys as Int32Array, yShape, 'int32') : new Tensor(ys as Float32Array, yShape, 'float32'),
        };
      }
    }
    return iteratorFrom(batches(), FN);
  }
}

function oneOf<T>(v: unknown, allowed: readonly T[], name: string, dflt: T): T {
  if (v === undefined) return dflt;
  if (!allowed.includes(v as T)) throw new Error(`${FN}: ${name} must be ${allowed.map((a) => describe(a)).join(' or ')}, received ${describe(v)}`);
  return v as T;
}

/** Lists dir's class subfolders and their images (now), splits them, and returns the dataset (images load lazily per pass). */
export function imageFolder(dir: string, options: ImageFolderOptions = {}): ImageFolderDataset {
  if (typeof dir !== 'string' || !dir) throw new TypeError(`${FN}: dir must be a non-empty string, received ${describe(dir)}`);
  if (options === null || typeof options !== 'object') throw new TypeError(`${FN}: options must be an object like {imageSize: [64, 64]}`);
  const o = options;
  const imageSize = o.imageSize ?? [256, 256];
  if (!Array.isArray(imageSize) || imageSize.length !== 2 || !imageSize.every((d) => Number.isInteger(d) && d > 0)) {
    throw new RangeError(`${FN}: imageSize must be [height, width] of positive integers, received ${Array.isArray(imageSize) ? `[${imageSize.join(', ')}]` : describe(imageSize)}`);
  }
  const channels = oneOf(o.channels, [1, 3, 4] as const, 'channels', 3);
  const labelMode = oneOf(o.labelMode, ['int', 'categorical', 'binary'] as const, 'labelMode', 'int');
  const interpolation = oneOf(o.interpolation, ['bilinear', 'nearest'] as const, 'interpolation', 'bilinear');
  const batchSize = o.batchSize === undefined ? 32 : o.batchSize;
  if (batchSize !== null && !(Number.isInteger(batchSize) && batchSize > 0)) throw new RangeError(`${FN}: batchSize must be a positive integer or null, received ${describe(batchSize)}`);
  const shuffle = o.shuffle ?? true;
  if (typeof shuffle !== 'boolean') throw new TypeError(`${FN}: shuffle must be a boolean, received ${describe(shuffle)}`);
  if (o.seed !== undefined && !(Number.isInteger(o.seed) && o.seed >= 0 && o.seed <= 0xffffffff)) throw new RangeError(`${FN}: seed must be an integer in [0, 2^32), received ${describe(o.seed)}`);
  const split = o.validationSplit;
  if (split !== undefined && !(typeof split === 'number' && split > 0 && split < 1)) throw new RangeError(`${FN}: validationSplit must be in (0, 1), received ${describe(split)}`);
  const subset = oneOf(o.subset, ['training', 'validation'] as const, 'subset', undefined as unknown as 'training');
  if (split !== undefined && subset === undefined) throw new Error(`${FN}: with validationSplit, subset must be 'training' or 'validation' (make one dataset of each with the same seed)`);
  if (subset !== undefined && split === undefined) throw new Error(`${FN}: subset '${subset}' needs validationSplit`);
  if (split !== undefined && shuffle && o.seed === undefined) throw new Error(`${FN}: with validationSplit and shuffle, give a seed so that both subsets split the same shuffled list`);

  let entries;
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch (e) {
    throw new Error(`${FN}: cannot read the folder ${dir}: ${(e as Error).message}`);
  }
  const subdirs = entries.filter((e) => e.isDirectory()).map((e) => e.name).sort();
  let classNames = subdirs;
  if (o.classNames !== undefined) {
    if (!Array.isArray(o.classNames) || o.classNames.length === 0 || o.classNames.some((c) => typeof c !== 'string')) {
      throw new TypeError(`${FN}: classNames must be a non-empty array of subfolder names, received ${describe(o.classNames)}`);
    }
    const missing = o.classNames.filter((c) => !subdirs.includes(c));
    if (missing.length) throw new Error(`${FN}: classNames ${missing.map((m) => JSON.stringify(m)).join(', ')} are not subfolders of ${dir} (found: ${subdirs.join(', ') || 'none'})`);
    if (new Set(o.classNames).size !== o.classNames.length) throw new Error(`${FN}: classNames has duplicates`);
    classNames = o.classNames.slice();
  }
  if (classNames.length === 0) throw new Error(`${FN}: ${dir} has no subfolders; put each class's images in its own subfolder`);
  if (labelMode === 'binary' && classNames.length !== 2) {
    throw new Error(`${FN}: labelMode 'binary' needs exactly 2 classes, ${dir} has ${classNames.length} (${classNames.join(', ')}); use 'int' or 'categorical'`);
  }
  let files: string[] = [];
  let labels: number[] = [];
  for (let c = 0; c < classNames.length; c++) {
    const f = listImages(path.join(dir, classNames[c]));
    files.push(...f);
    labels.push(...f.map(() => c));
  }
  if (files.length === 0) throw new Error(`${FN}: found no images (${IMAGE_EXTENSIONS.join(', ')}) in the class folders of ${dir}`);
  if (shuffle) {
    // The split shuffle is seeded on its own, so both subsets see the same list.
    const order = random(o.seed ?? random().nextU32()).shuffle(Int32Array.from(files.keys()));
    files = Array.from(order, (i) => files[i]);
    labels = Array.from(order, (i) => labels[i]);
  }
  if (split !== undefined) {
    const nVal = Math.floor(split * files.length);
    if (nVal === 0 || nVal === files.length) throw new Error(`${FN}: validationSplit ${split} of ${files.length} images leaves an empty subset`);
    const cut = files.length - nVal;
    [files, labels] = subset === 'training' ? [files.slice(0, cut), labels.slice(0, cut)] : [files.slice(cut), labels.slice(cut)];
  }
  const passSeed = o.seed === undefined ? undefined : (o.seed + 1) >>> 0;
  return new ImageFolderDataset(dir, classNames, files, Int32Array.from(labels), {
    imageSize: [imageSize[0], imageSize[1]], channels, labelMode, batchSize, shuffle, interpolation, seed: passSeed,
  });
}
