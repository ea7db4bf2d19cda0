#!/usr/bin/env node
// Makes data/fashion-mnist-sample/: a stratified sample of Fashion-MNIST (600 training and 100
// test images per class) chosen by a fixed seed, written as gzipped IDX files with the standard
// names. Deterministic: a rerun on the same source files writes identical bytes (zlib's gzip
// header carries no timestamp).
//
//   node scripts/make-sample.js [--src DIR] [--out DIR]
//
// DIR defaults to /usr/share/datasets/fashion-mnist (apt-get install dataset-fashion-mnist).
// Needs the compiled library: npx tsc -p tsconfig.json
'use strict';
const fs = require('fs');
const path = require('path');
const crypto = require('crypto');

const root = path.join(__dirname, '..');
let lib;
try {
  lib = { data: require(path.join(root, 'dist', 'data')), random: require(path.join(root, 'dist', 'random')) };
} catch (e) {
  console.error(`make-sample: cannot load the compiled library (${e.message}); run \`npx tsc -p tsconfig.json\` first`);
  process.exit(1);
}
const { loadIdx, saveIdx, FASHION_MNIST_CLASSES } = lib.data;
const { Random } = lib.random;

const SEED = 20240611;
const PER_CLASS = { train: 600, t10k: 100 };
const NUM_CLASSES = 10;

function parseArgs(argv) {
  const out = { src: '/usr/share/datasets/fashion-mnist', out: path.join(root, 'data', 'fashion-mnist-sample') };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if ((a === '--src' || a === '--out') && i + 1 < argv.length) out[a.slice(2)] = argv[++i];
    else {
      console.error(`make-sample: unknown argument ${a}\nusage: node scripts/make-sample.js [--src DIR] [--out DIR]`);
      process.exit(2);
    }
  }
  return out;
}

/** The first existing file among the accepted names of `base` in `dir`. */
function find(dir, base) {
  const names = [base + '.gz', base, base.replace(/-(idx\d-ubyte)$/, '.$1') + '.gz', base.replace(/-(idx\d-ubyte)$/, '.$1')];
  for (const n of names) if (fs.existsSync(path.join(dir, n))) return path.join(dir, n);
  throw new Error(`make-sample: ${base}[.gz] not found in ${dir}`);
}

const sha256 = (file) => crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');

/** Sorted indices of `perClass` examples of each class, drawn by `rng`. */
function stratify(labels, perClass, rng) {
  const byClass = Array.from({ length: NUM_CLASSES }, () => []);
  labels.forEach((c, i) => byClass[c].push(i));
  const chosen = [];
  byClass.forEach((idx, c) => {
    if (idx.length < perClass) throw new Error(`make-sample: class ${c} has only ${idx.length} examples`);
    const a = Int32Array.from(idx);
    rng.shuffle(a);
    chosen.push(...a.subarray(0, perClass));
  });
  return Int32Array.from(chosen).sort(); // original order, classes interleaved as in the source
}

function main() {
  const args = parseArgs(process.argv.slice(2));
  fs.mkdirSync(args.out, { recursive: true });
  const rng = new Random(SEED);
  const lines = [];
  for (const split of ['train', 't10k']) {
    const imgFile = find(args.src, `${split}-images-idx3-ubyte`);
    const labFile = find(args.src, `${split}-labels-idx1-ubyte`);
    const images = loadIdx(imgFile);
    const labels = loadIdx(labFile);
    const pick = stratify(labels.data, PER_CLASS[split], rng);
    const px = images.shape[1] * images.shape[2];
    const outImg = new Uint8Array(pick.length * px);
    const outLab = new Uint8Array(pick.length);
    pick.forEach((src, i) => {
      outImg.set(images.data.subarray(src * px, (src + 1) * px), i * px);
      outLab[i] = labels.data[src];
    });
    const names = [`${split}-images-idx3-ubyte.gz`, `${split}-labels-idx1-ubyte.gz`];
    saveIdx(path.join(args.out, names[0]), { dtype: 'uint8', shape: [pick.length, images.shape[1], images.shape[2]], data: outImg });
    saveIdx(path.join(args.out, names[1]), { dtype: 'uint8', shape: [pick.length], data: outLab });
    lines.push(
      `- \`${names[0]}\`, \`${names[1]}\`: ${pick.length} of the ${labels.shape[0]} examples of ` +
        `\`${path.basename(imgFile)}\` (sha256 ${sha256(imgFile).slice(0, 16)}...) and ` +
        `\`${path.basename(labFile)}\` (sha256 ${sha256(labFile).slice(0, 16)}...), ${PER_CLASS[split]} per class`,
    );
    for (const n of names) console.log(`${path.join(args.out, n)}  ${fs.statSync(path.join(args.out, n)).size} bytes`);
  }
  const readme = [
    '# Fashion-MNIST sample',
    '',
    'A stratified sample of [Fashion-MNIST](https://github.com/zalandoresearch/fashion-mnist)',
    '(Xiao, Rasul and Vollgraf, 2017; MIT licence, Copyright (c) 2017 Zalando SE), so that',
    '`cnn-node train` runs on a fresh machine with no download. Classes, in label order:',
    FASHION_MNIST_CLASSES.map((c, i) => `${i} ${c}`).join(', ') + '.',
    '',
    ...lines,
    '',
    `Made by \`node scripts/make-sample.js\` (seed ${SEED}) from the files of the Debian package`,
    '`dataset-fashion-mnist`: within each class the examples are shuffled with the library\'s seeded',
    'generator and the first ones kept; they appear in their original order. Rerunning the script',
    'on the same files writes the same bytes. Gzipped IDX, as the originals.',
    '',
  ].join('\n');
  fs.writeFileSync(path.join(args.out, 'README.md'), readme);
}

main();
