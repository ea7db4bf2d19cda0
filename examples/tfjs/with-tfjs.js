// Preload that runs an example against the real TF.js instead of cnn-node, as a check that the
// scripts are valid TF.js programs: node -r ./examples/tfjs/with-tfjs.js examples/tfjs/iris.js
// `require('../..')` from examples/tfjs/ resolves to @tensorflow/tfjs (pure-JS cpu backend), and
// a minimal file:// save/load router stands in for the one tfjs-node provides.
'use strict';
const Module = require('module');
const fs = require('fs');
const path = require('path');

const here = __dirname;
const root = path.resolve(here, '..', '..');
const original = Module._resolveFilename;
Module._resolveFilename = function (request, parent, ...rest) {
  if (parent && parent.filename && path.dirname(parent.filename) === here && path.resolve(here, request) === root) {
    return original.call(this, '@tensorflow/tfjs', parent, ...rest);
  }
  return original.call(this, request, parent, ...rest);
};

const tf = require(require.resolve('@tensorflow/tfjs', { paths: [root] }));

function fileHandler(url) {
  let p = url.slice('file://'.length);
  const jsonPath = p.endsWith('.json') ? p : path.join(p, 'model.json');
  return {
    async save(artifacts) {
      fs.mkdirSync(path.dirname(jsonPath), { recursive: true });
      fs.writeFileSync(path.join(path.dirname(jsonPath), 'weights.bin'), Buffer.from(artifacts.weightData));
      fs.writeFileSync(jsonPath, JSON.stringify({
        modelTopology: artifacts.modelTopology, format: artifacts.format, generatedBy: artifacts.generatedBy,
        convertedBy: artifacts.convertedBy, weightsManifest: [{ paths: ['./weights.bin'], weights: artifacts.weightSpecs }],
      }));
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    },
    async load() {
      const json = JSON.parse(fs.readFileSync(jsonPath, 'utf8'));
      const buf = fs.readFileSync(path.join(path.dirname(jsonPath), json.weightsManifest[0].paths[0]));
      return {
        modelTopology: json.modelTopology, format: json.format,
        weightSpecs: json.weightsManifest[0].weights,
        weightData: buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength),
      };
    },
  };
}
tf.io.registerSaveRouter((url) => (typeof url === 'string' && url.startsWith('file://') ? fileHandler(url) : null));
tf.io.registerLoadRouter((url) => (typeof url === 'string' && url.startsWith('file://') ? fileHandler(url) : null));
