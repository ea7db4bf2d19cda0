'use strict';
// Reader for the PyTorch-made kernel fixtures (test/fixtures/*.bin, written by
// test/fixtures/make_fixtures.py, which documents every kind of case).
//
// File format, little-endian:
//   bytes 0..7   magic "CNNFIX01"
//   uint32       version (1)
//   uint32       number of cases
//   per case:    uint32 header length L (a multiple of 4), L bytes of UTF-8 JSON padded with spaces
//                  {kind, name, config, tensors: [{name, shape, dtype: 'f32' | 'i32'}]},
//                then the tensors in header order, prod(shape) * 4 bytes each.
// Layouts are ours: NHWC activations, HWIO conv kernels, (IN, UNITS) dense weights.

const fs = require('fs');
const path = require('path');

const MAGIC = 'CNNFIX01';
const VERSION = 1;

/** Reads a fixture file: [{kind, name, config, t: {name: Float32Array | Int32Array}, shapes}]. */
function readFixtures(file) {
  const buf = fs.readFileSync(file);
  if (buf.toString('latin1', 0, 8) !== MAGIC) throw new Error(`${file}: bad magic, expected ${MAGIC}`);
  const version = buf.readUInt32LE(8);
  if (version !== VERSION) throw new Error(`${file}: version ${version}, this reader knows ${VERSION}`);
  const count = buf.readUInt32LE(12);
  let pos = 16;
  const cases = [];
  for (let i = 0; i < count; i++) {
    const len = buf.readUInt32LE(pos);
    pos += 4;
    const header = JSON.parse(buf.toString('utf8', pos, pos + len));
    pos += len;
    const t = {};
    const shapes = {};
    for (const { name, shape, dtype } of header.tensors) {
      const n = shape.reduce((a, b) => a * b, 1);
      const bytes = buf.subarray(pos, pos + 4 * n);
      if (bytes.length !== 4 * n) throw new Error(`${file}: truncated in case ${header.name}, tensor ${name}`);
      // Copy into a fresh, aligned array (the Buffer's offset need not be 4-aligned).
      const Ctor = dtype === 'i32' ? Int32Array : Float32Array;
      const arr = new Ctor(n);
      new Uint8Array(arr.buffer).set(bytes);
      t[name] = arr;
      shapes[name] = shape;
      pos += 4 * n;
    }
    cases.push({ kind: header.kind, name: header.name, config: header.config, t, shapes });
  }
  if (pos !== buf.length) throw new Error(`${file}: ${buf.length - pos} trailing bytes`);
  return cases;
}

const DEFAULT_FILE = path.join(__dirname, '..', 'fixtures', 'kernels.bin');

module.exports = { readFixtures, DEFAULT_FILE, MAGIC, VERSION };
