'use strict';
// Worker: this library on one (model, mode, batch).
//   node bench/workers/cnn_node.js --backend native|js --threads N --model seed|convnet
//        --mode train|infer|fit --batch B [--warmup-ms .. --measure-ms .. --min-steps .. --fit-steps ..]
//        [--dtype float32|mixed_bfloat16]   (the global dtype policy the layers are built under)
//        [--bf16-kernel avx512_bf16|rounded_sgemm]   (force an sbgemm path; default: the CPU's best)
// train: images/s of trainOnBatch with Adam; infer: images/s of predict on B images;
// fit:   images/s of fit over fit-steps batches, and the event-loop delay (p99, max) while it runs;
// sgemm: GFLOPS of the addon's sgemm on a --size cube (the reference for the models' GFLOPS).
const path = require('path');
const { monitorEventLoopDelay } = require('perf_hooks');
const { parseArgs, timeSteps, summarise, rssMB, runWorker, now } = require('../lib/harness');
const { MODELS, INPUT, CLASSES, randomData, randomLabels } = require('../lib/models');

const opts = parseArgs(process.argv.slice(2));

function build(tf, name) {
  const layers = MODELS[name].map((l, i) => {
    const first = i === 0 ? { inputShape: INPUT } : {};
    switch (l.type) {
      case 'conv':
        return tf.layers.conv2d({ filters: l.filters, kernelSize: l.kernel, padding: l.padding, activation: l.act, ...first });
      case 'pool':
        return tf.layers.maxPooling2d({ poolSize: l.size });
      case 'flatten':
        return tf.layers.flatten();
      case 'dense':
        return tf.layers.dense({ units: l.units, activation: l.act, ...first });
      default:
        throw new Error(`unknown layer ${l.type}`);
    }
  });
  return tf.sequential({ layers });
}

async function main() {
  const rss0 = rssMB();
  const tf = require(path.join(__dirname, '..', '..'));
  const backend = opts.backend || 'native';
  tf.setBackend(backend);
  if (backend === 'native') tf.setNumThreads(opts.threads || 1);
  const B = opts.batch;
  const dtype = opts.dtype || 'float32';
  if (opts['bf16-kernel']) {
    const k = require(path.join(__dirname, '..', '..', 'dist', 'backend')).kernels();
    const path_ = k.bf16Kernels().kernels.find((e) => e.name === opts['bf16-kernel']);
    if (!path_ || !k.setBf16Kernel(path_.id)) throw new Error(`--bf16-kernel ${opts['bf16-kernel']} is not available on this CPU`);
  }
  tf.mixedPrecision.setGlobalPolicy(dtype);
  const model = build(tf, opts.model || 'seed');
  model.compile({ optimizer: tf.train.adam(0.001), loss: 'categoricalCrossentropy' });
  const rssBase = rssMB();
  const timing = { warmupMs: opts['warmup-ms'], measureMs: opts['measure-ms'], minSteps: opts['min-steps'], warmupSteps: opts['warmup-steps'] };
  for (const k of Object.keys(timing)) if (timing[k] === undefined) delete timing[k];
  const info = { backend: tf.getBackend(), threads: backend === 'native' ? tf.getNumThreads() : 1, dtype,
    bf16Kernel: backend === 'native' ? require(path.join(__dirname, '..', '..', 'dist', 'backend')).kernels().bf16Kernels().activeName : null, rssStartMB: rss0, rssModelMB: rssBase };

  if (opts.mode === 'train') {
    const x = tf.tensor4d(randomData(B * 784), [B, ...INPUT]);
    const y = tf.tensor2d(randomLabels(B).onehot, [B, CLASSES]);
    const times = await timeSteps(() => model.trainOnBatch(x, y), timing);
    return { ...info, ...summarise(times, B) };
  }
  if (opts.mode === 'infer') {
    const x = tf.tensor4d(randomData(B * 784), [B, ...INPUT]);
    const times = await timeSteps(() => model.predict(x, { batchSize: B }), timing);
    return { ...info, ...summarise(times, B) };
  }
  if (opts.mode === 'fit') {
    const steps = opts['fit-steps'] || 40;
    const n = B * steps;
    const x = tf.tensor4d(randomData(n * 784), [n, ...INPUT]);
    const y = tf.tensor2d(randomLabels(n).onehot, [n, CLASSES]);
    await model.fit(x, y, { epochs: 1, batchSize: B, verbose: 0 }); // warm-up epoch (arena, pool, JIT)
    const h = monitorEventLoopDelay({ resolution: 1 });
    h.enable();
    const t0 = now();
    await model.fit(x, y, { epochs: 1, batchSize: B, verbose: 0 });
    const ms = now() - t0;
    h.disable();
    return {
      ...info, steps, imagesPerSec: (n * 1000) / ms, fitMs: ms,
      loopDelayP99Ms: h.percentile(99) / 1e6, loopDelayMaxMs: h.max / 1e6, loopDelayMeanMs: h.mean / 1e6,
    };
  }
  if (opts.mode === 'sgemm') {
    // The reference for "training GFLOPS vs SGEMM GFLOPS": the addon's sgemm on a square product
    // (the 1024^3 row of bench/gemm), best of a few calls, same threads, same noise as the models.
    const k = require(path.join(__dirname, '..', '..', 'dist', 'backend')).kernels();
    const S = opts.size || 1024;
    const A = randomData(S * S, 3), Bm = randomData(S * S, 4), C = new Float32Array(S * S);
    const call = () => k.sgemm(false, false, S, S, S, 1, A, S, Bm, S, 0, C, S);
    const times = await timeSteps(call, { warmupSteps: 2, warmupMs: 100, minSteps: opts['min-steps'] || 8, measureMs: 0 });
    const best = Math.min(...times);
    return { ...info, size: S, steps: times.length, msBest: best, gflops: (2 * S ** 3) / best / 1e6, gflopsMedian: (2 * S ** 3) / summarise(times, 1).stepMsMedian / 1e6 };
  }
  throw new Error(`unknown mode ${opts.mode}`);
}

runWorker(main);
