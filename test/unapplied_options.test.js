'use strict';
// Regularizers and constraints in a model file (not applied by the engine yet) are never dropped
// silently: loading warns naming the layer and option, inference works, training refuses with a
// message saying how to proceed, and saving writes them back (TF.js reads them again).
const t = require('tap');
const fs = require('fs');
const os = require('os');
const path = require('path');
const tfjs = require('@tensorflow/tfjs');
const tf = require('..');

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cnn-unapplied-'));
t.teardown(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** A TF.js model with an L2 kernel regularizer and a max-norm constraint, as TF.js saves it. */
async function tfjsFile() {
  const m = tfjs.sequential({ layers: [
    tfjs.layers.dense({ units: 3, inputShape: [4], kernelRegularizer: tfjs.regularizers.l2({ l2: 0.05 }), name: 'reg_dense' }),
    tfjs.layers.dense({ units: 2, kernelConstraint: tfjs.constraints.maxNorm({ maxValue: 2 }), name: 'con_dense' }),
  ] });
  let artifacts;
  await m.save(tfjs.io.withSaveHandler(async (a) => { artifacts = a; return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } }; }));
  const dir = path.join(tmp, 'tfjs-model');
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'weights.bin'), Buffer.from(artifacts.weightData));
  fs.writeFileSync(path.join(dir, 'model.json'), JSON.stringify({ modelTopology: artifacts.modelTopology, format: 'layers-model',
    weightsManifest: [{ paths: ['weights.bin'], weights: artifacts.weightSpecs }] }));
  return { dir, model: m };
}

t.test('a file with a regularizer and a constraint: warned, kept, refused by training, written back', async (t) => {
  const { dir, model: ref } = await tfjsFile();
  const warnings = [];
  const onWarn = (w) => warnings.push(w.message);
  process.on('warning', onWarn);
  const m = await tf.loadLayersModel(`file://${dir}/model.json`);
  await new Promise((r) => setImmediate(r));
  process.off('warning', onWarn);
  t.ok(warnings.some((w) => /reg_dense.*kernel_regularizer L1L2 \{"l1":0,"l2":0\.05\} is kept in the model but not applied/.test(w)), 'the regularizer is named');
  t.ok(warnings.some((w) => /con_dense.*kernel_constraint MaxNorm/.test(w)), 'and the constraint');
  const x = tf.randomNormal([5, 4], 0, 1, 'float32', 1);
  const want = ref.predict(tfjs.tensor(x.dataSync(), [5, 4])).dataSync();
  const got = m.predict(x).dataSync();
  t.ok(got.every((v, i) => Math.abs(v - want[i]) < 1e-5), 'inference equals TF.js');
  m.compile({ optimizer: 'sgd', loss: 'meanSquaredError' });
  const y = tf.zeros([5, 2]);
  await t.rejects(m.fit(x, y, { epochs: 1, verbose: 0 }),
    /fit: layer reg_dense has kernelRegularizer from its model file, which cnn-node does not apply in training yet: training would silently leave it out/);
  await t.rejects(m.trainOnBatch(x, y), /trainOnBatch: layer reg_dense has kernelRegularizer/);
  await m.save(`file://${tmp}/ours`);
  const cfg = JSON.parse(fs.readFileSync(path.join(tmp, 'ours', 'model.json'), 'utf8')).modelTopology.config.layers;
  t.same(cfg[0].config.kernel_regularizer, { class_name: 'L1L2', config: { l1: 0, l2: 0.05 } }, 'written back as TF.js wrote it');
  t.equal(cfg[1].config.kernel_constraint.class_name, 'MaxNorm');
  const back = await tfjs.loadLayersModel(tfjs.io.fromMemory({ modelTopology: JSON.parse(fs.readFileSync(path.join(tmp, 'ours', 'model.json'), 'utf8')).modelTopology,
    weightSpecs: JSON.parse(fs.readFileSync(path.join(tmp, 'ours', 'model.json'), 'utf8')).weightsManifest[0].weights,
    weightData: new Uint8Array(fs.readFileSync(path.join(tmp, 'ours', 'weights.bin'))).buffer }));
  t.equal(back.layers[0].getConfig().kernelRegularizer.className, 'L1L2', 'TF.js reads the regularizer again');
  for (const l of m.layers) l.unapplied = {};
  await m.fit(x, y, { epochs: 1, verbose: 0 });
  t.pass('with layer.unapplied emptied, fit trains (without them, as asked)');
});
