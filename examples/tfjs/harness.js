// Runs one example's main(): prints a one-line summary and exits non-zero on failure.
'use strict';
const os = require('os');
const path = require('path');
const fs = require('fs');

const made = [];
process.on('exit', () => {
  if (process.env.TFJS_EXAMPLES_KEEP) return;
  for (const d of made) fs.rmSync(d, { recursive: true, force: true });
});

/**
 * A fresh temporary directory for an example's saved models or files, removed when the process
 * exits (set TFJS_EXAMPLES_KEEP=1 to keep them).
 */
function tmpDir(name) {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), `tfjs-example-${name}-`));
  made.push(d);
  return d;
}

/** `main` resolves to a short summary string; the line starts with the example's name. */
function runExample(name, main) {
  const t0 = Date.now();
  Promise.resolve()
    .then(main)
    .then((summary) => {
      console.log(`${name}: ok (${summary}; ${((Date.now() - t0) / 1000).toFixed(1)} s)`);
    }, (err) => {
      console.error(err && err.stack ? err.stack : err);
      console.log(`${name}: FAILED ${err && err.message ? err.message.split('\n')[0] : String(err)}`);
      process.exitCode = 1;
    });
}

module.exports = { runExample, tmpDir };
