// Which of a list of API names ('tf.util.shuffle', 'tensor.argMax', 'model.layers', ...) the
// loaded library lacks. Roots other than `tf` are small instances built here; when a root cannot
// be built (its factory is missing or throws), the names under it are reported once, as 'root.*'.
'use strict';

function attempt(build) {
  try {
    return build();
  } catch {
    return undefined;
  }
}

function roots(tf) {
  return {
    tf: () => tf,
    tensor: () => tf.tensor2d([[1, 2], [3, 4]]),
    model: () => tf.sequential({ layers: [tf.layers.dense({ units: 1, inputShape: [2] })] }),
    layer: () => tf.layers.dense({ units: 1, inputShape: [2] }),
    dataset: () => tf.data.array([1, 2, 3]),
    optimizer: () => tf.train.adam(),
    functional: () => {
      const input = tf.input({ shape: [2] });
      return tf.model({ inputs: input, outputs: tf.layers.dense({ units: 1 }).apply(input) });
    },
  };
}

/** The names in `apis` that `tf` does not provide, in the order given. */
function missingApis(tf, apis) {
  const builders = roots(tf);
  const built = {};
  const missing = [];
  for (const name of apis) {
    const [root, ...rest] = name.split('.');
    if (!(root in builders)) throw new Error(`probe: unknown root '${root}' in '${name}'`);
    if (!(root in built)) built[root] = attempt(builders[root]);
    if (built[root] === undefined) {
      if (!missing.includes(`${root}.*`)) missing.push(`${root}.*`);
      continue;
    }
    let obj = built[root];
    for (const key of rest) {
      obj = obj != null && (typeof obj === 'object' || typeof obj === 'function') && key in obj ? attempt(() => obj[key]) : undefined;
      if (obj === undefined) break;
    }
    if (obj === undefined) missing.push(name);
  }
  return missing;
}

module.exports = { missingApis };
