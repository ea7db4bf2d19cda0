#!/usr/bin/env node
// The package's install script ("install": "node scripts/install.js").
//
// A prebuilt N-API addon ships in prebuilds/<platform>-<arch>/cnn.node, with build-info.json
// recording the hash of the native sources it was built from. When that prebuild matches the
// shipped sources and loads in this Node, nothing is compiled. Otherwise the addon is built from
// source with node-gyp; when that fails (no compiler, no python) the install still succeeds and
// cnn-node runs on its pure TypeScript backend, warning once when loaded.
//
// A source build is forced by CNN_BUILD_FROM_SOURCE=1 (or npm's --build-from-source), and always
// happens in the package's own checkout (npm install / npm ci run at the package root), where a
// build failure is an error: developers compile the sources they edit.
//
// The helpers are exported for scripts/prebuild.js and the tests.
'use strict';
const fs = require('fs');
const path = require('path');
const crypto = require('crypto');
const { spawnSync } = require('child_process');

const root = path.join(__dirname, '..');

/** The prebuild directory name for this process: `<platform>-<arch>`, e.g. `linux-x64`. */
function prebuildTag() {
  return `${process.platform}-${process.arch}`;
}

/**
 * The files that determine the addon, relative to `dir`, '/'-separated and sorted: binding.gyp,
 * the source list script and the C/C++ sources, headers and lists under native/ (not dotfiles
 * or editor leftovers, which npm would not pack either).
 */
function nativeInputs(dir) {
  const out = ['binding.gyp', 'scripts/native-sources.js'];
  const walk = (rel) => {
    for (const e of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
      if (e.isDirectory()) walk(`${rel}/${e.name}`);
      else if (e.isFile() && /^[^.].*\.(cc|cpp|c|h|hpp|inc|txt)$/.test(e.name)) out.push(`${rel}/${e.name}`);
    }
  };
  walk('native');
  return out.sort();
}

/** sha256 (hex) of the native inputs of the package at `dir`: names and contents. */
function sourceHash(dir = root) {
  const h = crypto.createHash('sha256');
  for (const f of nativeInputs(dir)) {
    h.update(`${f}\0`);
    h.update(fs.readFileSync(path.join(dir, f)));
    h.update('\0');
  }
  return h.digest('hex');
}

/** The first line of a failed load's stderr that says what went wrong. */
function loadError(stderr) {
  const lines = String(stderr || '').split('\n').map((l) => l.trim()).filter(Boolean);
  return lines.find((l) => /Error/.test(l)) || lines[0] || 'unknown error';
}

/** Whether `file` loads as an addon in a separate Node process: { ok, reason }. */
function tryLoad(file) {
  const r = spawnSync(process.execPath, ['-e', `require(${JSON.stringify(file)})`], {
    encoding: 'utf8',
    timeout: 60000,
  });
  if (r.status === 0) return { ok: true, reason: '' };
  return { ok: false, reason: r.error ? r.error.message : loadError(r.stderr) };
}

/**
 * Whether the package at `dir` has a usable prebuild for this platform:
 * { ok, file, reason } (reason says why not).
 */
function checkPrebuild(dir = root) {
  const pdir = path.join(dir, 'prebuilds', prebuildTag());
  const file = path.join(pdir, 'cnn.node');
  if (!fs.existsSync(file)) return { ok: false, file, reason: `no prebuilt addon for ${prebuildTag()}` };
  let info;
  try {
    info = JSON.parse(fs.readFileSync(path.join(pdir, 'build-info.json'), 'utf8'));
  } catch (e) {
    return { ok: false, file, reason: `unreadable ${prebuildTag()}/build-info.json (${e.message})` };
  }
  if (info.sourceHash !== sourceHash(dir)) {
    return { ok: false, file, reason: `the ${prebuildTag()} prebuild was built from other native sources` };
  }
  const r = tryLoad(file);
  return r.ok ? { ok: true, file, reason: '' } : { ok: false, file, reason: `the ${prebuildTag()} prebuild does not load: ${r.reason}` };
}

/** How to run node-gyp: npm's own copy (npm passes its path), a local one, or the PATH. */
function nodeGypCommand() {
  const js = [process.env.npm_config_node_gyp];
  try {
    js.push(require.resolve('node-gyp/bin/node-gyp.js', { paths: [root] }));
  } catch {
    /* not installed locally */
  }
  const found = js.find((f) => f && f.endsWith('.js') && fs.existsSync(f));
  if (found) return { cmd: process.execPath, args: [found], shell: false };
  return { cmd: 'node-gyp', args: [], shell: process.platform === 'win32' };
}

/**
 * Extra node-gyp arguments: without an npm `nodedir` setting, use the headers installed next to
 * this Node (`<prefix>/include/node`) when they are there, so no header download is needed.
 */
function nodedirArgs() {
  if (process.env.npm_config_nodedir || process.platform === 'win32') return [];
  const prefix = path.resolve(path.dirname(process.execPath), '..');
  const inc = path.join(prefix, 'include', 'node');
  if (fs.existsSync(path.join(inc, 'node_api.h')) && fs.existsSync(path.join(inc, 'common.gypi'))) {
    return [`--nodedir=${prefix}`];
  }
  return [];
}

/** Runs `node-gyp rebuild` in `dir`; returns node-gyp's exit status (null if it did not start). */
function nodeGypRebuild(dir, { stdio = 'inherit', env = process.env } = {}) {
  const { cmd, args, shell } = nodeGypCommand();
  const r = spawnSync(cmd, [...args, 'rebuild', '-j', 'max', ...nodedirArgs()], { cwd: dir, stdio, env, shell, encoding: 'utf8' });
  return { status: r.error ? null : r.status, error: r.error, stdout: r.stdout, stderr: r.stderr };
}

function log(msg) {
  console.log(`cnn-node: ${msg}`);
}

function main() {
  const truthy = (v) => /^(1|true|yes)$/i.test(v || '');
  const forced = truthy(process.env.CNN_BUILD_FROM_SOURCE) || truthy(process.env.npm_config_build_from_source);
  const ownCheckout = !!process.env.INIT_CWD && path.resolve(process.env.INIT_CWD) === path.resolve(root);

  if (!forced && !ownCheckout) {
    const pb = checkPrebuild(root);
    if (pb.ok) {
      log(`using the prebuilt addon prebuilds/${prebuildTag()}/cnn.node (N-API; nothing to compile)`);
      return 0;
    }
    log(`${pb.reason}; building the addon from source with node-gyp`);
  } else {
    log(`building the addon from source with node-gyp (${forced ? 'a source build was requested' : 'package checkout'})`);
  }

  const r = nodeGypRebuild(root);
  const built = path.join(root, 'build', 'Release', 'cnn.node');
  if (r.status === 0 && fs.existsSync(built)) {
    log('built build/Release/cnn.node');
    return 0;
  }
  const why = r.status === null ? `node-gyp could not start (${r.error && r.error.message})` : `node-gyp exited with code ${r.status}`;
  if (ownCheckout) {
    log(`the native build failed (${why})`);
    return 1;
  }
  log(
    `the native build failed (${why}). The install continues: cnn-node will use its pure ` +
      'TypeScript backend (same results, slower) and warn once when loaded. To get the native ' +
      'backend, install python3, make and a C++17 compiler, then run `npm rebuild cnn-node`.'
  );
  return 0;
}

module.exports = { prebuildTag, nativeInputs, sourceHash, checkPrebuild, tryLoad, nodeGypCommand, nodedirArgs, nodeGypRebuild };

if (require.main === module) process.exitCode = main();
