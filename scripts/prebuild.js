#!/usr/bin/env node
// Builds the prebuilt addon for this platform: prebuilds/<platform>-<arch>/cnn.node plus
// build-info.json (the hash of the native sources it was built from, which scripts/install.js
// compares before trusting the prebuild).
//
//   node scripts/prebuild.js [--src DIR] [--out DIR]   build (DIR defaults: the package, <src>/prebuilds)
//   node scripts/prebuild.js --check [--src DIR]        verify every prebuild matches the sources
//   node scripts/prebuild.js --from FILE [--src DIR]    package an addon node-gyp already built from
//                                                       exactly these sources (CI reuses its source-build check)
//
// The build runs node-gyp (the same path as a user's source build) in a temporary copy of
// binding.gyp, scripts/native-sources.js and native/, never in build/. It ignores CFLAGS,
// CXXFLAGS, CPPFLAGS and LDFLAGS from the environment: the prebuild targets the baseline CPU of
// its architecture (binding.gyp has no -march; the AVX2/FMA kernel is chosen at run time).
// N-API (NAPI_VERSION in binding.gyp), so one binary serves every Node >= 20.
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const { spawnSync } = require('child_process');
const inst = require('./install.js');

function parseArgs(argv) {
  const a = { src: path.join(__dirname, '..'), out: null, from: null, check: false };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--check') a.check = true;
    else if (['--src', '--out', '--from'].includes(argv[i]) && i + 1 < argv.length) a[argv[i].slice(2)] = path.resolve(argv[++i]);
    else {
      console.error(`prebuild: unknown argument ${argv[i]}\nusage: node scripts/prebuild.js [--src DIR] [--out DIR] [--from FILE] | --check [--src DIR]`);
      process.exit(2);
    }
  }
  a.out = a.out || path.join(a.src, 'prebuilds');
  return a;
}

/** --check: every prebuilds/<tag>/ has a cnn.node and a build-info.json matching the sources. */
function check(src, out) {
  const hash = inst.sourceHash(src);
  const tags = fs.existsSync(out) ? fs.readdirSync(out).filter((d) => fs.statSync(path.join(out, d)).isDirectory()) : [];
  let bad = 0;
  if (tags.length === 0) {
    console.error(`prebuild --check: no prebuilds in ${out} (run \`npm run build:prebuild\` on each platform)`);
    return 1;
  }
  for (const tag of tags) {
    let info = {};
    try {
      info = JSON.parse(fs.readFileSync(path.join(out, tag, 'build-info.json'), 'utf8'));
    } catch {
      /* reported below */
    }
    const ok = fs.existsSync(path.join(out, tag, 'cnn.node')) && info.sourceHash === hash;
    console.log(`${ok ? 'ok   ' : 'STALE'} prebuilds/${tag}/cnn.node${ok ? '' : ' (missing, or built from other sources: rebuild it)'}`);
    if (!ok) bad++;
  }
  return bad ? 1 : 0;
}

/** The highest symbol versions of `prefix` (GLIBC_, GLIBCXX_) the binary needs, via objdump. */
function neededVersion(file, prefix) {
  const r = spawnSync('objdump', ['-T', file], { encoding: 'utf8' });
  if (r.status !== 0) return undefined;
  const re = new RegExp(`\\(${prefix}_([0-9.]+)\\)`, 'g');
  const vs = [...r.stdout.matchAll(re)].map((m) => m[1].split('.').map(Number));
  vs.sort((a, b) => {
    for (let i = 0; i < Math.max(a.length, b.length); i++) if ((a[i] || 0) !== (b[i] || 0)) return (a[i] || 0) - (b[i] || 0);
    return 0;
  });
  return vs.length ? vs[vs.length - 1].join('.') : undefined;
}

function compilerVersion() {
  const r = spawnSync(process.env.CXX || 'c++', ['--version'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.split('\n')[0].trim() : undefined;
}

/** Compiles the addon with node-gyp in a temporary copy of the native inputs of `src`; calls `use(file)`. */
function compile(src, use) {
  const stage = fs.mkdtempSync(path.join(os.tmpdir(), 'cnn-prebuild-'));
  try {
    for (const f of ['binding.gyp', 'scripts/native-sources.js', 'native']) {
      fs.cpSync(path.join(src, f), path.join(stage, f), { recursive: true });
    }
    // binding.gyp asks node for require('node-addon-api').include_dir from the build directory.
    const addonApi = path.dirname(require.resolve('node-addon-api/package.json', { paths: [src, path.join(__dirname, '..')] }));
    fs.mkdirSync(path.join(stage, 'node_modules'));
    fs.symlinkSync(addonApi, path.join(stage, 'node_modules', 'node-addon-api'), 'junction');

    const env = { ...process.env };
    for (const k of ['CFLAGS', 'CXXFLAGS', 'CPPFLAGS', 'LDFLAGS']) delete env[k];
    const r = inst.nodeGypRebuild(stage, { stdio: 'pipe', env });
    const built = path.join(stage, 'build', 'Release', 'cnn.node');
    if (r.status !== 0 || !fs.existsSync(built)) {
      process.stderr.write(`${r.stdout || ''}${r.stderr || ''}`);
      throw new Error(`node-gyp failed (${r.status === null ? r.error && r.error.message : `exit ${r.status}`})`);
    }
    use(built);
  } finally {
    fs.rmSync(stage, { recursive: true, force: true });
  }
}

/** Copies `built` to <out>/<tag>/cnn.node, strips it, checks it loads, writes build-info.json. */
function place(built, src, out, napi) {
  const dir = path.join(out, inst.prebuildTag());
  fs.mkdirSync(dir, { recursive: true });
  const dest = path.join(dir, 'cnn.node');
  fs.copyFileSync(built, dest);
  if (process.platform === 'linux') spawnSync('strip', ['--strip-unneeded', dest]);
  else if (process.platform === 'darwin') spawnSync('strip', ['-x', dest]);
  const load = inst.tryLoad(dest);
  if (!load.ok) throw new Error(`the new prebuild does not load: ${load.reason}`);

  const info = {
    platform: process.platform,
    arch: process.arch,
    napi,
    sourceHash: inst.sourceHash(src),
    builtWith: { node: process.version, compiler: compilerVersion() },
  };
  if (process.platform === 'linux') {
    info.requires = { glibc: neededVersion(dest, 'GLIBC'), libstdcxx: neededVersion(dest, 'GLIBCXX') };
  }
  fs.writeFileSync(path.join(dir, 'build-info.json'), `${JSON.stringify(info, null, 2)}\n`);
  return { dest, info };
}

function build(src, out, from) {
  const gyp = fs.readFileSync(path.join(src, 'binding.gyp'), 'utf8');
  if (/-march=|-mtune=native|-mavx/.test(gyp)) throw new Error('binding.gyp sets CPU-specific flags; a prebuild must target the baseline CPU');
  const napi = Number((gyp.match(/NAPI_VERSION=(\d+)/) || [])[1]);
  const t0 = Date.now();
  let placed;
  if (from) placed = place(from, src, out, napi);
  else compile(src, (built) => (placed = place(built, src, out, napi)));
  const { dest, info } = placed;
  const rel = path.relative(process.cwd(), dest);
  const needs = info.requires ? `, needs glibc >= ${info.requires.glibc} and GLIBCXX_${info.requires.libstdcxx}` : '';
  console.log(
    `prebuild: ${rel.startsWith('..') ? dest : rel}: ${fs.statSync(dest).size} bytes ` +
      `(${from ? 'from ' + from : 'compiled'} in ${((Date.now() - t0) / 1000).toFixed(1)} s), ` +
      `N-API ${napi}, sources ${info.sourceHash.slice(0, 12)}${needs}`
  );
}

function main() {
  const a = parseArgs(process.argv.slice(2));
  if (a.check) return check(a.src, a.out);
  try {
    build(a.src, a.out, a.from);
    return 0;
  } catch (e) {
    console.error(`prebuild: ${e.message}`);
    return 1;
  }
}

process.exitCode = main();
