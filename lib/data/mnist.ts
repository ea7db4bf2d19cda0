/**
 * MNIST and Fashion-MNIST from IDX files on disk: found in a folder the caller names, then in a
 * folder an environment variable names, then in the Debian package's folder.
 */
import * as fs from 'fs';
import * as path from 'path';
import { Tensor, oneHot } from '../tensor';
import { Idx, loadIdx } from './idx';

/** Fashion-MNIST's ten classes, in label order. */
export const FASHION_MNIST_CLASSES: readonly string[] = Object.freeze([
  'T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot',
]);

/** MNIST's ten classes (the digits), in label order. */
export const MNIST_CLASSES: readonly string[] = Object.freeze(['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);

export type LabelMode = 'onehot' | 'int';

export interface MnistOptions {
  /** Folder holding the four IDX files (looked at first). */
  dir?: string;
  /** 'onehot' (default): ys is [n, 10] float32; 'int': ys is [n] int32. */
  labels?: LabelMode;
  /** Keep only the first `limit` examples of each split. */
  limit?: number;
}

export interface Split {
  /** [n, 28, 28, 1] float32 in [0, 1]. */
  xs: Tensor;
  /** [n, 10] float32 one-hot, or [n] int32. */
  ys: Tensor;
}

export interface MnistData {
  train: Split;
  test: Split;
  /** The folder the files came from. */
  dir: string;
  /** The four files read. */
  files: { trainImages: string; trainLabels: string; testImages: string; testLabels: string };
}

/** The folder of the Fashion-MNIST sample shipped in the repository (6,000 train / 1,000 test images). */
export function bundledSampleDir(): string {
  // dist/data/mnist.js -> package root
  return path.resolve(__dirname, '..', '..', 'data', 'fashion-mnist-sample');
}

type FileKey = keyof MnistData['files'];

/** The base names of each file; each is also accepted with `.` for the last `-` and with `.gz`. */
const BASES: Record<FileKey, string> = {
  trainImages: 'train-images-idx3-ubyte',
  trainLabels: 'train-labels-idx1-ubyte',
  testImages: 't10k-images-idx3-ubyte',
  testLabels: 't10k-labels-idx1-ubyte',
};

/** Every accepted name for a file, in order of preference. */
export function idxFileNames(base: string): string[] {
  const dotted = base.replace(/-(idx\d-ubyte)$/, '.$1'); // train-images.idx3-ubyte
  const names = [base + '.gz', base, dotted + '.gz', dotted];
  return [...new Set(names)];
}

function isFile(p: string): boolean {
  try {
    return fs.statSync(p).isFile();
  } catch {
    return false;
  }
}

interface Found {
  files: Partial<Record<FileKey, string>>;
  missing: string[];
}

function lookIn(dir: string): Found {
  const files: Partial<Record<FileKey, string>> = {};
  const missing: string[] = [];
  for (const key of Object.keys(BASES) as FileKey[]) {
    const hit = idxFileNames(BASES[key]).map((n) => path.join(dir, n)).find(isFile);
    if (hit) files[key] = hit;
    else missing.push(BASES[key] + '[.gz]');
  }
  return { files, missing };
}

interface DatasetSpec {
  fn: string;
  envVar: string;
  systemDir: string;
  /** The Debian package that installs `systemDir`, if there is one. */
  debPackage?: string;
  classes: readonly string[];
}

/**
 * The folder to read: the first of `dir`, $envVar and the system folder holding all four files.
 * Throws an Error listing every folder looked at and what each lacked.
 */
export function findDataDir(spec: DatasetSpec, dir?: string): { dir: string; files: MnistData['files'] } {
  const candidates: [string, string][] = [];
  if (dir !== undefined && dir !== '') candidates.push([dir, 'dir option']);
  const env = process.env[spec.envVar];
  if (env) candidates.push([env, `$${spec.envVar}`]);
  candidates.push([spec.systemDir, spec.debPackage ? `package ${spec.debPackage}` : 'system folder']);
  const report: string[] = [];
  for (const [d, why] of candidates) {
    const abs = path.resolve(d);
    let exists = false;
    try {
      exists = fs.statSync(abs).isDirectory();
    } catch {
      exists = false;
    }
    if (!exists) {
      report.push(`  ${abs} (${why}): no such folder`);
      continue;
    }
    const found = lookIn(abs);
    if (found.missing.length === 0) return { dir: abs, files: found.files as MnistData['files'] };
    report.push(`  ${abs} (${why}): missing ${found.missing.join(', ')}`);
  }
  const install = spec.debPackage ? `Install it with \`apt-get install ${spec.debPackage}\`, set` : 'Set';
  throw new Error(
    `${spec.fn}: cannot find the data set. Looked in:\n${report.join('\n')}\n` +
      `${install} ${spec.envVar} to the folder holding the four IDX files, or pass that folder ` +
      '(the dir option, or --data DIR on the command line).',
  );
}

/**
 * IDX images [n, h, w] (or [n, h, w, c]) into a float32 tensor [n, h, w, 1] (resp. [n, h, w, c]);
 * uint8 pixels are scaled to [0, 1], other types are kept as they are.
 */
export function imagesToTensor(idx: Idx, name: string, limit?: number): Tensor<'float32'> {
  if (idx.shape.length !== 3 && idx.shape.length !== 4) {
    throw new Error(`${name}: expected images of shape [n, height, width], found [${idx.shape.join(', ')}]`);
  }
  const n = limit === undefined ? idx.shape[0] : Math.min(limit, idx.shape[0]);
  const dims = idx.shape.slice(1);
  const per = dims.reduce((a, b) => a * b, 1);
  const src = idx.data;
  const out = new Float32Array(n * per);
  const div = idx.dtype === 'uint8' ? 255 : 1;
  for (let i = 0; i < out.length; i++) out[i] = src[i] / div;
  const shape = dims.length === 2 ? [n, dims[0], dims[1], 1] : [n, ...dims];
  return new Tensor(out, shape, 'float32');
}

/** IDX labels [n] into int32 [n] or one-hot float32 [n, numClasses], checking each is in range. */
export function labelsToTensor(idx: Idx, name: string, numClasses: number, mode: LabelMode = 'onehot', limit?: number): Tensor {
  if (idx.shape.length !== 1) {
    throw new Error(`${name}: expected labels of shape [n], found [${idx.shape.join(', ')}]`);
  }
  if (idx.dtype === 'float32' || idx.dtype === 'float64') {
    throw new Error(`${name}: labels must be integers, found IDX type ${idx.dtype}`);
  }
  const n = limit === undefined ? idx.shape[0] : Math.min(limit, idx.shape[0]);
  const ints = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const c = idx.data[i];
    if (c < 0 || c >= numClasses) {
      throw new Error(`${name}: label ${c} at index ${i} is outside [0, ${numClasses})`);
    }
    ints[i] = c;
  }
  const t = new Tensor(ints, [n], 'int32');
  if (mode === 'int') return t;
  if (mode !== 'onehot') throw new Error(`labels must be 'onehot' or 'int', received ${JSON.stringify(mode)}`);
  return oneHot(t, numClasses);
}

/**
 * Reads an images file and a labels file into {xs, ys}, checking the counts agree.
 * `height`/`width` (when given) are required image sizes.
 */
export function loadIdxPair(
  imagesPath: string,
  labelsPath: string,
  opts: { labels?: LabelMode; numClasses?: number; limit?: number; height?: number; width?: number } = {},
): Split {
  const images = loadIdx(imagesPath);
  const labels = loadIdx(labelsPath);
  const ni = images.shape[0] ?? 0;
  const nl = labels.shape[0] ?? 0;
  if (images.shape.length >= 1 && labels.shape.length >= 1 && ni !== nl) {
    throw new Error(
      `image and label counts differ: ${imagesPath} holds ${ni} images but ${labelsPath} holds ${nl} labels`,
    );
  }
  if (opts.height !== undefined || opts.width !== undefined) {
    const [h, w] = images.shape.slice(1);
    if (images.shape.length !== 3 || (opts.height !== undefined && h !== opts.height) || (opts.width !== undefined && w !== opts.width)) {
      throw new Error(
        `${imagesPath}: expected images of shape [n, ${opts.height ?? 'h'}, ${opts.width ?? 'w'}], ` +
          `found [${images.shape.join(', ')}]`,
      );
    }
  }
  const xs = imagesToTensor(images, imagesPath, opts.limit);
  const ys = labelsToTensor(labels, labelsPath, opts.numClasses ?? 10, opts.labels ?? 'onehot', opts.limit);
  return { xs, ys };
}

function checkOptions(fn: string, opts: MnistOptions): void {
  if (opts === null || typeof opts !== 'object') throw new TypeError(`${fn}: options must be an object`);
  if (opts.labels !== undefined && opts.labels !== 'onehot' && opts.labels !== 'int') {
    throw new Error(`${fn}: labels must be 'onehot' or 'int', received ${JSON.stringify(opts.labels)}`);
  }
  if (opts.limit !== undefined && (!Number.isInteger(opts.limit) || opts.limit < 0)) {
    throw new RangeError(`${fn}: limit must be a non-negative integer, received ${opts.limit}`);
  }
  if (opts.dir !== undefined && typeof opts.dir !== 'string') {
    throw new TypeError(`${fn}: dir must be a string, received ${typeof opts.dir}`);
  }
}

function loadDataset(spec: DatasetSpec, opts: MnistOptions): MnistData {
  checkOptions(spec.fn, opts);
  const { dir, files } = findDataDir(spec, opts.dir);
  const pair = (images: string, labels: string): Split =>
    loadIdxPair(images, labels, { labels: opts.labels, limit: opts.limit, numClasses: spec.classes.length, height: 28, width: 28 });
  return {
    train: pair(files.trainImages, files.trainLabels),
    test: pair(files.testImages, files.testLabels),
    dir,
    files,
  };
}

const FASHION: DatasetSpec = {
  fn: 'fashionMnist',
  envVar: 'CNN_FASHION_MNIST_DIR',
  systemDir: '/usr/share/datasets/fashion-mnist',
  debPackage: 'dataset-fashion-mnist',
  classes: FASHION_MNIST_CLASSES,
};

const DIGITS: DatasetSpec = {
  fn: 'mnist',
  envVar: 'CNN_MNIST_DIR',
  systemDir: '/usr/share/datasets/mnist', // no Debian package installs it (yet): kept for symmetry
  classes: MNIST_CLASSES,
};

/**
 * Fashion-MNIST: `{ train: {xs, ys}, test: {xs, ys} }` with xs [n, 28, 28, 1] in [0, 1].
 * Looks in `dir`, then $CNN_FASHION_MNIST_DIR, then /usr/share/datasets/fashion-mnist.
 */
export function fashionMnist(opts: MnistOptions = {}): MnistData {
  return loadDataset(FASHION, opts);
}

/**
 * MNIST digits: `{ train: {xs, ys}, test: {xs, ys} }` with xs [n, 28, 28, 1] in [0, 1].
 * Looks in `dir`, then $CNN_MNIST_DIR, then /usr/share/datasets/mnist.
 */
export function mnist(opts: MnistOptions = {}): MnistData {
  return loadDataset(DIGITS, opts);
}
