// Synthetic stand-ins for the datasets the TF.js examples download. Plain JavaScript only (no
// tf.* calls), so every tensor operation a script makes is one the original example makes.
'use strict';

/** A small seeded PRNG (mulberry32): the same data on every run. */
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A standard normal sample from two uniforms (Box-Muller). */
function gaussian(next) {
  const u = Math.max(next(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * next());
}

/**
 * `n` 28x28 grey images in [0, 1] whose class decides where a horizontal and a vertical stroke
 * sit (so a CNN can learn them), with noise. Returns { images: Float32Array(n*784) row-major
 * [n,28,28], labels: Int32Array(n) in [0, numClasses) }.
 */
function digitImages(n, { numClasses = 10, seed = 1, size = 28 } = {}) {
  const next = rng(seed);
  const images = new Float32Array(n * size * size);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const c = Math.floor(next() * numClasses);
    labels[i] = c;
    const base = i * size * size;
    for (let p = 0; p < size * size; p++) images[base + p] = next() * 0.25;
    const row = 3 + ((c * 2) % (size - 6));
    const col = 3 + ((c * 5) % (size - 6));
    for (let k = 3; k < size - 3; k++) {
      images[base + row * size + k] = 1;
      if (c % 2 === 0) images[base + k * size + col] = 1;
    }
  }
  return { images, labels };
}

/** `n` rows of `numFeatures` features drawn around a per-class centre; labels 0..numClasses-1. */
function clusters(n, { numFeatures = 4, numClasses = 3, seed = 1, spread = 0.4 } = {}) {
  const next = rng(seed);
  const centres = [];
  for (let c = 0; c < numClasses; c++) {
    centres.push(Array.from({ length: numFeatures }, () => 1 + next() * 6));
  }
  const rows = [];
  for (let i = 0; i < n; i++) {
    const c = i % numClasses;
    rows.push({ features: centres[c].map((m) => Number((m + spread * gaussian(next)).toFixed(1))), label: c });
  }
  return rows;
}

/** `n` regression rows: numFeatures features on different scales, a noisy linear target. */
function regression(n, { numFeatures = 12, seed = 1, noise = 1 } = {}) {
  const next = rng(seed);
  const scales = Array.from({ length: numFeatures }, (_, j) => 1 + 10 * ((j * 7) % 5));
  const weights = Array.from({ length: numFeatures }, () => next() * 2 - 1);
  const features = [];
  const target = [];
  for (let i = 0; i < n; i++) {
    const x = scales.map((s) => s * next());
    let y = 20;
    for (let j = 0; j < numFeatures; j++) y += weights[j] * x[j] / scales[j] * 5;
    features.push(x);
    target.push([y + noise * gaussian(next)]);
  }
  return { features, target };
}

module.exports = { rng, gaussian, digitImages, clusters, regression };
