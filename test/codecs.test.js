// tf.node image codecs: PNG round trips (gray, gray+alpha, RGB, RGBA), JPEG within a quality
// tolerance, channel conversion, format detection by magic bytes, corrupt data -> clear errors.
'use strict';
const t = require('tap');
const tf = require('..');

let seed = 3;
const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
const image = (h, w, c, f = () => Math.floor(rand() * 256)) => new tf.Tensor(Int32Array.from({ length: h * w * c }, f), [h, w, c], 'int32');
/** A smooth image (JPEG-friendly): gradients per channel. */
const smooth = (h, w, c) => new tf.Tensor(Int32Array.from({ length: h * w * c }, (_, i) => {
  const k = i % c, p = Math.floor(i / c), x = p % w, y = Math.floor(p / w);
  return Math.round(128 + 60 * Math.sin(x / 6 + k) * Math.cos(y / 8 - k));
}), [h, w, c], 'int32');

t.test('PNG round trips keep every value and the channel count', async (t) => {
  for (const [h, w] of [[1, 1], [5, 7], [33, 17]]) {
    for (const c of [1, 2, 3, 4]) {
      const x = image(h, w, c);
      const bytes = await tf.node.encodePng(x);
      t.ok(bytes instanceof Uint8Array, 'encodePng resolves to a Uint8Array');
      for (const dec of [tf.node.decodePng(bytes), ...(c === 2 ? [] : [tf.node.decodeImage(bytes)])]) {
        t.equal(dec.dtype, 'int32');
        t.same(dec.shape, [h, w, c], `[${h},${w},${c}] shape`);
        t.same(Array.from(dec.dataSync()), Array.from(x.dataSync()), `[${h},${w},${c}] values`);
      }
    }
  }
  const x = image(8, 8, 3);
  const fast = await tf.node.encodePng(x, 0);
  const small = await tf.node.encodePng(x, 9);
  t.same(Array.from(tf.node.decodePng(fast).dataSync()), Array.from(x.dataSync()), 'compression 0 round trips');
  t.ok(small.length <= fast.length, 'compression 9 is no bigger than 0');
});

t.test('channel conversion on decode', async (t) => {
  const rgba = new tf.Tensor(Int32Array.from([10, 20, 30, 40, 200, 100, 50, 255]), [1, 2, 4], 'int32');
  const bytes = await tf.node.encodePng(rgba);
  t.same(Array.from(tf.node.decodeImage(bytes, 3).dataSync()), [10, 20, 30, 200, 100, 50], 'RGBA -> RGB drops alpha');
  const gray = tf.node.decodeImage(bytes, 1);
  t.same(gray.shape, [1, 2, 1]);
  t.same(Array.from(gray.dataSync()), [Math.round(0.299 * 10 + 0.587 * 20 + 0.114 * 30), Math.round(0.299 * 200 + 0.587 * 100 + 0.114 * 50)], 'RGB -> luma');
  const g = await tf.node.encodePng(new tf.Tensor(Int32Array.from([7, 9]), [1, 2, 1], 'int32'));
  t.same(Array.from(tf.node.decodeImage(g, 4).dataSync()), [7, 7, 7, 255, 9, 9, 9, 255], 'gray -> RGBA');
  t.same(Array.from(tf.node.decodePng(g, 2).dataSync()), [7, 255, 9, 255], 'gray -> gray+alpha');
});

t.test('JPEG round trips within the quality tolerance', async (t) => {
  const x = smooth(24, 40, 3);
  let prevErr = Infinity;
  for (const q of [50, 90, 100]) {
    const bytes = await tf.node.encodeJpeg(x, '', q);
    t.equal(bytes[0], 0xff); t.equal(bytes[1], 0xd8);
    for (const dec of [tf.node.decodeJpeg(bytes), tf.node.decodeImage(bytes)]) {
      t.same(dec.shape, [24, 40, 3]);
      t.equal(dec.dtype, 'int32');
    }
    const a = x.dataSync(), b = tf.node.decodeImage(bytes).dataSync();
    let err = 0;
    for (let i = 0; i < a.length; i++) err += Math.abs(a[i] - b[i]);
    err /= a.length;
    t.ok(err < { 50: 4, 90: 2, 100: 1 }[q], `quality ${q}: mean abs error ${err.toFixed(3)}`);
    t.ok(err <= prevErr + 1e-9, `quality ${q} is no worse than lower quality`);
    prevErr = err;
  }
  const gray = smooth(9, 11, 1);
  const gb = await tf.node.encodeJpeg(gray, '', 95);
  t.same(tf.node.decodeImage(gb).shape, [9, 11, 3], 'a gray image comes back as a 3-component JPEG');
  const g1 = tf.node.decodeJpeg(gb, 1);
  t.same(g1.shape, [9, 11, 1]);
  const a = gray.dataSync(), b = g1.dataSync();
  t.ok(a.every((v, i) => Math.abs(v - b[i]) <= 4), 'gray channels=1 within 4 levels');
  t.same(tf.node.decodeImage(gb, 4).shape, [9, 11, 4], 'JPEG -> RGBA adds opaque alpha');
  t.ok(tf.node.decodeImage(gb, 4).dataSync().every((v, i) => i % 4 !== 3 || v === 255));
});

t.test('bad input gets clear errors', async (t) => {
  const png = await tf.node.encodePng(image(4, 4, 3));
  const jpg = await tf.node.encodeJpeg(image(4, 4, 3));
  t.throws(() => tf.node.decodeImage(Uint8Array.from([1, 2, 3, 4, 5])), /decodeImage: expected a PNG or JPEG image, but got an unsupported image type \(first bytes: 01 02 03 04\)/);
  t.throws(() => tf.node.decodeImage(new Uint8Array(0)), /unsupported image type \(first bytes: none\)/);
  t.throws(() => tf.node.decodeImage(Buffer.from('GIF89a....')), /GIF images are not supported/);
  t.throws(() => tf.node.decodeImage(Buffer.from('BM......')), /BMP images are not supported/);
  t.throws(() => tf.node.decodeImage('x.png'), /contents must be a Uint8Array/);
  t.throws(() => tf.node.decodeImage(png, 2), /channels must be one of 0, 1, 3, 4/);
  t.throws(() => tf.node.decodeImage(png, 0, 'float32'), /dtype must be 'int32'/);
  t.throws(() => tf.node.decodePng(jpg), /not a PNG file/);
  t.throws(() => tf.node.decodeJpeg(png), /not a JPEG file/);
  const truncPng = png.slice(0, png.length - 20);
  t.throws(() => tf.node.decodePng(truncPng), /decodePng: invalid or corrupt PNG data/);
  const badPng = png.slice(); badPng[40] ^= 0xff;
  t.throws(() => tf.node.decodeImage(badPng), /invalid or corrupt PNG data/);
  t.throws(() => tf.node.decodeJpeg(jpg.slice(0, 20)), /decodeJpeg: invalid or corrupt JPEG data/);
  t.throws(() => tf.node.decodeJpeg(jpg, 0, 2), /ratio must be 1/);
  const huge = png.slice(); new DataView(huge.buffer).setUint32(16, 100000); new DataView(huge.buffer).setUint32(20, 100000);
  t.throws(() => tf.node.decodePng(huge), /more than the 100000000 pixels accepted/);
  await t.rejects(tf.node.encodePng(image(2, 2, 3, () => 256)), /encodePng: pixel values must be integers in \[0, 255\], found 256/);
  await t.rejects(tf.node.encodePng(new tf.Tensor(new Float32Array(5), [1, 1, 5], 'float32')), /must have 1, 2, 3, 4 channels, but has 5/);
  await t.rejects(tf.node.encodePng(new tf.Tensor(new Float32Array(4), [2, 2], 'float32')), /image must be rank 3/);
  await t.rejects(tf.node.encodePng(image(2, 2, 3), 10), /compression must be an integer in \[-1, 9\]/);
  await t.rejects(tf.node.encodeJpeg(image(2, 2, 3), '', 101), /quality must be an integer in \[0, 100\]/);
  await t.rejects(tf.node.encodeJpeg(image(2, 2, 3), 'grayscale'), /format 'grayscale'.*not supported/);
  await t.rejects(tf.node.encodeJpeg(image(2, 2, 3), '', 90, true), /progressive is not supported/);
  await t.rejects(tf.node.encodeJpeg(image(2, 2, 4)), /must have 1, 3 channels, but has 4/);
});
