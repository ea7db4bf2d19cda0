#!/usr/bin/env node
/**
 * The command-line program: `cnn-node train | evaluate | predict`.
 * `train` fits the seed model (or a preset / a model.json) on the bundled Fashion-MNIST sample or
 * on --data DIR, then prints test accuracy, a confusion matrix and throughput, and saves the model
 * and an HTML report.
 */
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { parseArgs } from 'util';
import * as tf from '../index';
import { bundledSampleDir, fashionMnist, FASHION_MNIST_CLASSES, loadIdx } from '../data';
import { confusionMatrix, formatConfusionMatrix } from './confusion';
import { renderReport } from './report';
import { PRESETS, Preset, presetModel } from './presets';

const USAGE = `Usage: cnn-node <command> [options]

Commands:
  train      Train a model on Fashion-MNIST and write the model and an HTML report
  evaluate   Evaluate a saved model on the test set of --data DIR (default: the bundled sample)
  predict    Print the predicted class of the first images of an IDX file

train options:
  --model NAME|FILE   seed (default), convnet, or a model.json (TF.js layers format)
  --data DIR          folder with the four Fashion-MNIST IDX files (default: the bundled sample;
                      the full set: apt-get install dataset-fashion-mnist, then
                      --data /usr/share/datasets/fashion-mnist)
  --epochs N          default 5
  --batch-size N      default 32
  --threads N         native thread count (default: all cores)
  --seed N            seeds initialisation, shuffling and dropout (default 1)
  --out DIR           where the model and report go (default ./cnn-node-out)
  --backend NAME      native (default when available) or js
  --validation-split F  default 0.1
  --learning-rate F   Adam's learning rate (default 0.001)
  --early-stopping N  stop when the validation accuracy has not improved for N epochs, and keep
                      the weights of the best epoch (needs a validation split)
  --limit N           use only the first N images of each split (training and test)
  --quiet             no progress bar
  --workers N         data-parallel training in N local processes (one thread each unless
                      --threads; a file store in a temporary folder): batch size is per process,
                      so N processes with --batch-size B train as one with N*B
  --rank R --world-size W --store URL
                      join a multi-machine data-parallel run as rank R of W (store:
                      redis://host:port[/prefix] or file:///shared/dir; also CNN_RANK,
                      CNN_WORLD_SIZE, CNN_STORE); rank 0 writes the model and the report

evaluate / predict options:
  --model-dir DIR     a folder written by train (holds model.json)
  --data DIR          (evaluate) data folder, as for train
  --images FILE       (predict) an IDX images file (e.g. t10k-images-idx3-ubyte.gz)
  --count N           (predict) how many images to print (default 10)
`;

class UsageError extends Error {}

function intOpt(v: string | undefined, name: string, dflt: number, min = 1): number {
  if (v === undefined) return dflt;
  const n = v.trim() === '' ? NaN : Number(v);
  if (!Number.isInteger(n) || n < min) throw new UsageError(`--${name} must be an integer >= ${min}, received ${JSON.stringify(v)}`);
  return n;
}

function parse(argv: string[]) {
  try {
    return parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        model: { type: 'string' }, data: { type: 'string' }, epochs: { type: 'string' },
        'batch-size': { type: 'string' }, threads: { type: 'string' }, seed: { type: 'string' },
        out: { type: 'string' }, backend: { type: 'string' }, 'validation-split': { type: 'string' },
        limit: { type: 'string' }, 'learning-rate': { type: 'string' }, 'early-stopping': { type: 'string' }, quiet: { type: 'boolean' }, 'model-dir': { type: 'string' },
        images: { type: 'string' }, count: { type: 'string' }, help: { type: 'boolean', short: 'h' },
        workers: { type: 'string' }, rank: { type: 'string' }, 'world-size': { type: 'string' }, store: { type: 'string' },
      },
    });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

async function loadModelFile(file: string): Promise<tf.LayersModel> {
  return tf.loadLayersModel(file);
}

/** --workers N: runs this train command as ranks 0..N-1 of a local group; resolves to the worst exit code. */
async function launchWorkers(argv: string[], n: number, threads: string | undefined): Promise<number> {
  const store = fs.mkdtempSync(path.join(os.tmpdir(), 'cnn-node-workers-'));
  const base: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--workers') { i++; continue; }
    if (argv[i].startsWith('--workers=')) continue;
    base.push(argv[i]);
  }
  console.log(`Data-parallel training in ${n} local processes (store ${store}); rank 0 reports`);
  try {
    const codes = await Promise.all(Array.from({ length: n }, (_, r) => new Promise<number>((resolve) => {
      const args = [...base, '--rank', String(r), '--world-size', String(n), '--store', `file://${store}`];
      if (threads === undefined) args.push('--threads', '1');
      if (r > 0) args.push('--quiet');
      const p = spawn(process.execPath, [__filename, ...args], { stdio: ['ignore', r === 0 ? 'inherit' : 'ignore', 'inherit'] });
      p.on('close', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
    })));
    return Math.max(...codes);
  } finally {
    fs.rmSync(store, { recursive: true, force: true });
  }
}

async function train(v: ReturnType<typeof parse>['values']): Promise<void> {
  const rankOpt = v.rank ?? process.env.CNN_RANK;
  const worldOpt = v['world-size'] ?? process.env.CNN_WORLD_SIZE;
  const storeOpt = v.store ?? process.env.CNN_STORE;
  const joined = [rankOpt, worldOpt, storeOpt].filter((x) => x !== undefined).length;
  if (joined > 0 && joined < 3) throw new UsageError('a data-parallel run needs all of --rank, --world-size and --store (or CNN_RANK, CNN_WORLD_SIZE, CNN_STORE)');
  const distributed = joined === 3;
  const rank = distributed ? intOpt(rankOpt, 'rank', 0, 0) : 0;
  if (distributed) {
    const world = intOpt(worldOpt, 'world-size', 1);
    if (rank >= world) throw new UsageError(`--rank must be below --world-size (${world}), received ${rank}`);
    await tf.distributed.init({ rank, worldSize: world, store: storeOpt! });
  }
  // ranks other than 0 train silently and write nothing
  const log = rank === 0 ? console.log : (..._: unknown[]) => undefined;
  const epochs = intOpt(v.epochs, 'epochs', 5);
  const batchSize = intOpt(v['batch-size'], 'batch-size', 32);
  const seed = intOpt(v.seed, 'seed', 1, 0);
  const limit = v.limit === undefined ? undefined : intOpt(v.limit, 'limit', 0);
  const split = v['validation-split'] === undefined ? 0.1 : Number(v['validation-split']);
  if (!(split >= 0 && split < 1)) throw new UsageError(`--validation-split must be in [0, 1), received ${v['validation-split']}`);
  const lr = v['learning-rate'] === undefined ? 0.001 : Number(v['learning-rate']);
  if (!(Number.isFinite(lr) && lr > 0)) throw new UsageError(`--learning-rate must be a positive number, received ${JSON.stringify(v['learning-rate'])}`);
  const patience = v['early-stopping'] === undefined ? undefined : intOpt(v['early-stopping'], 'early-stopping', 0, 0);
  if (patience !== undefined && split === 0) throw new UsageError('--early-stopping watches the validation accuracy: it needs --validation-split > 0');
  if (v.threads !== undefined) tf.setNumThreads(intOpt(v.threads, 'threads', 1));
  if (v.backend !== undefined) {
    if (v.backend !== 'native' && v.backend !== 'js') throw new UsageError(`--backend must be native or js, received ${v.backend}`);
    tf.setBackend(v.backend);
  }
  const modelArg = v.model ?? 'seed';
  if (!(PRESETS as readonly string[]).includes(modelArg) && !fs.existsSync(modelArg)) {
    throw new UsageError(`--model must be one of ${PRESETS.join(', ')} or an existing model.json, received ${modelArg}`);
  }
  const outDir = path.resolve(v.out ?? 'cnn-node-out');
  const dataDir = v.data ?? bundledSampleDir();

  tf.setSeed(seed);
  const data = fashionMnist({ dir: dataDir, limit });
  if (path.resolve(data.dir) !== path.resolve(dataDir)) {
    throw new Error(`--data ${dataDir} does not hold the four Fashion-MNIST IDX files (found them in ${data.dir} instead)`);
  }
  const { train: tr, test } = data;
  log(`Data: ${data.dir} (${tr.xs.shape[0]} training, ${test.xs.shape[0]} test images)`);
  const model = (PRESETS as readonly string[]).includes(modelArg) ? presetModel(modelArg as Preset) : await loadModelFile(modelArg);
  model.compile({ optimizer: tf.train.adam(lr), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
  const summary: string[] = [];
  model.summary(undefined, undefined, (s) => summary.push(s));
  log(summary.join('\n'));
  log(`Backend: ${tf.getBackend()}, threads: ${tf.getNumThreads()}, epochs: ${epochs}, batch size: ${batchSize}, ` +
    `learning rate: ${lr}` + (patience !== undefined ? `, early stopping: patience ${patience} on val_acc` : '') +
    (distributed ? `, data-parallel: ${tf.distributed.worldSize()} ranks (batch ${batchSize} each, ${batchSize * tf.distributed.worldSize()} per step)` : ''));

  const stopper = patience === undefined ? undefined
    : tf.callbacks.earlyStopping({ monitor: 'val_acc', patience, restoreBestWeights: true });
  const t0 = Date.now();
  const history = await model.fit(tr.xs, tr.ys, {
    epochs, batchSize, validationSplit: split > 0 ? split : undefined, verbose: v.quiet ? 0 : 1, seed,
    callbacks: stopper ? [stopper] : undefined,
  });
  const wall = (Date.now() - t0) / 1000;
  const epochsRun = history.epoch.length;
  const kept = stopper && stopper.bestEpoch >= 0 ? stopper.bestEpoch + 1 : undefined;
  if (stopper) {
    const ran = epochsRun < epochs ? `stopped after epoch ${epochsRun}` : `ran all ${epochs} epochs`;
    const valAcc = kept !== undefined ? history.history.val_acc?.[kept - 1] : undefined;
    log(kept === undefined
      ? `Early stopping: ${ran}; no validation accuracy was logged, so the last weights are kept`
      : `Early stopping: ${ran}; kept the weights of epoch ${kept}` + (valAcc !== undefined ? ` (validation accuracy ${valAcc.toFixed(4)})` : ''));
  }
  const trained = Math.round(tr.xs.shape[0] * (1 - split)) * epochsRun;
  const throughput = trained / wall;
  // every rank holds the same weights now: leave the group (evaluateAsync would otherwise be a
  // collective over ranks that stopped), rank 0 reports on the whole test set alone
  tf.distributed.destroy();
  if (rank > 0) {
    model.dispose();
    return;
  }

  const probs = await model.predictAsync(test.xs);
  const yPred = tf.argMax(probs, -1).values as Int32Array;
  const yTrue = tf.argMax(test.ys, -1).values as Int32Array;
  const cm = confusionMatrix(yTrue, yPred, 10);
  let correct = 0;
  for (let i = 0; i < yTrue.length; i++) if (yTrue[i] === yPred[i]) correct++;
  const acc = correct / yTrue.length;
  const [testLoss] = (await model.evaluateAsync(test.xs, test.ys)) as tf.Tensor[];

  log(`\nTest accuracy: ${acc.toFixed(4)} (${correct}/${yTrue.length}), test loss: ${testLoss.values[0].toFixed(4)}`);
  log(`Training throughput: ${throughput.toFixed(0)} images/s (${wall.toFixed(1)} s for ${epochsRun} epochs)\n`);
  log('Confusion matrix (rows: true class, columns: predicted):');
  log(formatConfusionMatrix(cm, FASHION_MNIST_CLASSES));

  fs.mkdirSync(outDir, { recursive: true });
  let savedTo = '';
  try {
    await model.save(`file://${path.join(outDir, 'model')}`);
    savedTo = path.join(outDir, 'model', 'model.json');
  } catch (e) {
    console.error(`warning: could not save the model: ${(e as Error).message}`);
  }
  const conv = model.layers.find((l) => l.className === 'Conv2D');
  const html = renderReport({
    history, confusion: cm, classNames: FASHION_MNIST_CLASSES,
    firstConvKernel: conv ? conv.getWeights()[0] : undefined,
    modelSummary: summary.join('\n'), testAccuracy: acc, testLoss: testLoss.values[0], throughput, epochs: epochsRun,
    wallTimeSec: wall, backend: tf.getBackend(), date: new Date(),
    details: {
      data: data.dir, 'batch size': batchSize, 'learning rate': lr, threads: tf.getNumThreads(), seed, model: modelArg,
      ...(stopper ? { 'early stopping': `patience ${patience} on val_acc; ${kept !== undefined ? `weights of epoch ${kept} kept` : 'last weights kept'}` } : {}),
    },
  });
  const reportPath = path.join(outDir, 'report.html');
  const tmp = `${reportPath}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, html);
  fs.renameSync(tmp, reportPath);
  if (savedTo) log(`Model saved to ${savedTo}`);
  log(`Report: ${reportPath}`);
  model.dispose();
}

async function evaluate(v: ReturnType<typeof parse>['values']): Promise<void> {
  if (!v['model-dir']) throw new UsageError('evaluate needs --model-dir DIR');
  const model = await loadModelFile(path.join(v['model-dir'], 'model.json'));
  const data = fashionMnist({ dir: v.data ?? bundledSampleDir() });
  model.compile({ optimizer: 'adam', loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
  const [loss, acc] = (await model.evaluateAsync(data.test.xs, data.test.ys)) as tf.Tensor[];
  const yPred = tf.argMax(await model.predictAsync(data.test.xs), -1).values as Int32Array;
  const yTrue = tf.argMax(data.test.ys, -1).values as Int32Array;
  console.log(`Test accuracy: ${acc.values[0].toFixed(4)}, test loss: ${loss.values[0].toFixed(4)} (${data.test.xs.shape[0]} images from ${data.dir})`);
  console.log(formatConfusionMatrix(confusionMatrix(yTrue, yPred, 10), FASHION_MNIST_CLASSES));
}

async function predict(v: ReturnType<typeof parse>['values']): Promise<void> {
  if (!v['model-dir']) throw new UsageError('predict needs --model-dir DIR');
  if (!v.images) throw new UsageError('predict needs --images FILE');
  const count = intOpt(v.count, 'count', 10);
  const model = await loadModelFile(path.join(v['model-dir'], 'model.json'));
  const idx = loadIdx(v.images);
  if (idx.shape.length !== 3 || idx.shape[1] !== 28 || idx.shape[2] !== 28) {
    throw new Error(`predict: ${v.images} holds shape [${idx.shape.join(', ')}], expected [n, 28, 28]`);
  }
  const n = Math.min(count, idx.shape[0]);
  const x = new Float32Array(n * 784);
  for (let i = 0; i < x.length; i++) x[i] = idx.data[i] / 255;
  const probs = await model.predictAsync(tf.tensor(x, [n, 28, 28, 1]));
  const p = probs.values as Float32Array;
  const classes = tf.argMax(probs, -1).values as Int32Array;
  for (let i = 0; i < n; i++) {
    console.log(`${i}\t${FASHION_MNIST_CLASSES[classes[i]]}\t${p[i * 10 + classes[i]].toFixed(3)}`);
  }
}

export async function main(argv: string[]): Promise<number> {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
    const [cmd, ...rest] = parsed.positionals;
    if (parsed.values.help) {
      console.log(USAGE);
      return 0;
    }
    if (rest.length) throw new UsageError(`unexpected argument ${JSON.stringify(rest[0])}`);
    if (cmd === 'train' && parsed.values.workers !== undefined && parsed.values.rank === undefined) {
      const n = intOpt(parsed.values.workers, 'workers', 1);
      if (n > 1) return await launchWorkers(argv, n, parsed.values.threads);
    }
    if (cmd === 'train') await train(parsed.values);
    else if (cmd === 'evaluate') await evaluate(parsed.values);
    else if (cmd === 'predict') await predict(parsed.values);
    else throw new UsageError(cmd ? `unknown command ${JSON.stringify(cmd)}` : 'a command is required');
    return 0;
  } catch (e) {
    if (e instanceof UsageError) {
      console.error(`cnn-node: ${e.message}\n\n${USAGE}`);
      return 2;
    }
    console.error(`cnn-node: ${(e as Error).message}`);
    return 1;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
