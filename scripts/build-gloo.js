#!/usr/bin/env node
// Builds the optional Gloo addon (npm run build:gloo): native/distributed/ with CMake into
// build-gloo/Release/cnn_gloo.node, which lib/distributed/ loads (CNN_GLOO_PATH=<file> overrides).
// Not part of `npm install` or the prebuild: it needs Gloo (Debian: apt-get install libgloo-dev).
// Exit code 0 when built; 1 with a message naming what is missing otherwise.
'use strict';
const fs = require('fs');
const path = require('path');
const { spawnSync } = require('child_process');

const root = path.join(__dirname, '..');
const out = path.join(root, 'build-gloo');

/** Where a Gloo CMake package config is, or null (only the usual Debian/local prefixes are probed). */
function findGlooConfig() {
  const dirs = ['/usr/share/cmake/Gloo', '/usr/lib/cmake/Gloo', '/usr/local/share/cmake/Gloo', '/usr/local/lib/cmake/Gloo'];
  if (process.env.Gloo_DIR) dirs.unshift(process.env.Gloo_DIR);
  return dirs.find((d) => fs.existsSync(path.join(d, 'GlooConfig.cmake'))) || null;
}

/** The directory with node_api.h for this Node: CNN_NODE_INCLUDE, else <prefix>/include/node. */
function nodeHeaders() {
  const inc = process.env.CNN_NODE_INCLUDE || path.resolve(path.dirname(process.execPath), '..', 'include', 'node');
  return fs.existsSync(path.join(inc, 'node_api.h')) ? inc : null;
}

function main() {
  const cfg = findGlooConfig();
  if (!cfg) {
    console.error('build-gloo: Gloo not found (no GlooConfig.cmake). Install it (Debian: apt-get install libgloo-dev) or set Gloo_DIR.');
    return 1;
  }
  const inc = nodeHeaders();
  if (!inc) {
    console.error(`build-gloo: no Node headers (node_api.h) under ${path.resolve(path.dirname(process.execPath), '..', 'include', 'node')}; set CNN_NODE_INCLUDE`);
    return 1;
  }
  // Plain CMake (no header download): an N-API addon on Linux/macOS resolves node's symbols at load.
  const configure = ['-S', path.join(root, 'native', 'distributed'), '-B', out, `-DGloo_DIR=${cfg}`,
    `-DCMAKE_JS_INC=${inc}`, '-DCMAKE_BUILD_TYPE=Release'];
  const steps = [configure, ['--build', out, '--parallel', '2']];
  for (const a of steps) {
    const r = spawnSync('cmake', a, { cwd: root, stdio: 'inherit' });
    if (r.status !== 0) {
      console.error(`build-gloo: cmake ${a[0]} failed (${r.error ? r.error.message : `exit ${r.status}`}); see the output above`);
      return 1;
    }
  }
  const file = path.join(out, 'Release', 'cnn_gloo.node');
  if (!fs.existsSync(file)) {
    console.error(`build-gloo: cmake produced no ${path.relative(root, file)}`);
    return 1;
  }
  console.log(`build-gloo: built ${path.relative(root, file)}`);
  return 0;
}

if (require.main === module) process.exit(main());
module.exports = { findGlooConfig, nodeHeaders };
