// The published package: its contents and size (npm pack --dry-run), the install script's
// decisions (prebuild / source build / fallback), and a TypeScript consumer compiled against the
// packed types as ESM (.mts) and CommonJS (.cts). The end-to-end install of the tarball into a
// fresh app is .ci/package-check.sh.
'use strict';
const t = require('tap');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { spawnSync } = require('child_process');
const inst = require('../scripts/install.js');

const root = path.join(__dirname, '..');
const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const tmpdir = (name) => fs.mkdtempSync(path.join(os.tmpdir(), `cnn-package-${name}-`));
const distBuilt = fs.existsSync(path.join(root, 'dist', 'index.mjs'));

/** `npm pack --dry-run --json` of the checkout (no lifecycle scripts: dist/ is built already). */
let dryRunResult;
function dryRun() {
  if (dryRunResult) return dryRunResult;
  const r = spawnSync(npm, ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: root, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`npm pack --dry-run failed: ${r.stderr}`);
  dryRunResult = JSON.parse(r.stdout)[0];
  return dryRunResult;
}

t.test('package contents', { skip: !distBuilt && 'dist/ not built (npm run build:ts)' }, async (t) => {
  const packed = dryRun();
  const files = new Set(packed.files.map((f) => f.path));
  const list = [...files];

  // What a user needs: the compiled library, the native sources and build files, the install
  // script, the prebuilds, README and LICENSE.
  const needed = ['package.json', 'README.md', 'LICENSE', 'binding.gyp', 'CMakeLists.txt', 'scripts/native-sources.js', 'scripts/install.js'];
  const ex = pkg.exports['.'];
  needed.push(pkg.main, pkg.types, ex.import.types, ex.import.default, ex.require.types, ex.require.default, ...Object.values(pkg.bin));
  needed.push(...inst.nativeInputs(root));
  for (const f of needed) t.ok(files.has(f.replace(/^\.\//, '')), `packs ${f}`);

  // Nothing else: no tests, data, benchmarks, TypeScript sources, build output or dev scripts.
  const allowed = [
    /^(package\.json|README\.md|LICENSE|binding\.gyp|CMakeLists\.txt)$/,
    /^scripts\/(native-sources|install)\.js$/,
    /^native\/.+\.(cc|h|txt)$/,
    /^dist\/.+\.(js|mjs|d\.ts|d\.mts|proto|json)$/,
    /^prebuilds\/([a-z0-9]+-[a-z0-9]+\/(cnn\.node|build-info\.json)|README\.md)$/,
  ];
  const extra = list.filter((f) => !allowed.some((re) => re.test(f)));
  t.same(extra, [], 'no file outside the allowed set');
  t.notOk(list.some((f) => /^(test|data|bench|lib|build|\.ci|\.tap|node_modules)\//.test(f)), 'no test/, data/, bench/, lib/, build/');

  // Every compiled file comes from a current TypeScript source (no stale outputs shipped).
  const stale = list
    .filter((f) => /^dist\/.+\.(js|d\.ts)$/.test(f) && !/^dist\/index\.(mjs|d\.mts)$/.test(f))
    .filter((f) => !fs.existsSync(path.join(root, f.replace(/^dist\//, 'lib/').replace(/(\.d)?\.ts$|\.js$/, '.ts'))));
  t.same(stale, [], 'every dist/ file has its lib/ source');

  // Size: the budget excludes prebuilds (each is checked on its own).
  const prebuilds = packed.files.filter((f) => f.path.startsWith('prebuilds/'));
  const pbBytes = prebuilds.reduce((s, f) => s + f.size, 0);
  const unpacked = packed.unpackedSize - pbBytes;
  t.comment(`npm pack: ${packed.entryCount} files, ${packed.size} bytes packed, ${packed.unpackedSize} unpacked (${pbBytes} in prebuilds)`);
  t.ok(unpacked < 2 * 1024 * 1024, `unpacked size without prebuilds ${unpacked} < 2 MiB`);
  if (prebuilds.length === 0) t.ok(packed.size < 512 * 1024, `tarball ${packed.size} < 512 KiB`);
  for (const f of prebuilds) if (f.path.endsWith('.node')) t.ok(f.size < 2 * 1024 * 1024, `${f.path} ${f.size} < 2 MiB`);
});

t.test('package.json install wiring', async (t) => {
  t.equal(pkg.scripts.install, 'node scripts/install.js', 'the install script decides prebuild vs source build');
  t.notOk(pkg.scripts.preinstall || pkg.scripts.postinstall, 'no other install-time script');
  t.notOk(pkg.scripts.prebuild, 'no "prebuild" script (npm would run it before "build")');
  t.notOk(pkg.dependencies['node-gyp'], 'node-gyp is not a dependency: npm brings its own for source builds');
  t.ok(pkg.dependencies['node-addon-api'], 'node-addon-api (headers for source builds) is a dependency');
  t.match(pkg.engines.node, />=\s*20/);
  for (const f of ['binding.gyp', 'CMakeLists.txt']) {
    t.notMatch(fs.readFileSync(path.join(root, f), 'utf8'), /-march=|-mtune=native/, `${f}: no CPU-specific flags (prebuilds target the baseline CPU)`);
  }
  const gyp = fs.readFileSync(path.join(root, 'binding.gyp'), 'utf8');
  t.match(gyp, /NAPI_VERSION=\d+/, 'binding.gyp pins an N-API version');
});

t.test('prebuild tag and loader candidates agree', { skip: !distBuilt && 'dist/ not built' }, async (t) => {
  const { nativeCandidates, packageRoot } = require('../dist/backend/native');
  t.equal(path.resolve(packageRoot), path.resolve(root));
  const env = process.env.CNN_NATIVE_PATH;
  delete process.env.CNN_NATIVE_PATH;
  try {
    t.same(nativeCandidates(), [
      path.join(root, 'build', 'Release', 'cnn.node'),
      path.join(root, 'prebuilds', inst.prebuildTag(), 'cnn.node'),
    ], 'local build first, then the bundled prebuild');
  } finally {
    if (env !== undefined) process.env.CNN_NATIVE_PATH = env;
  }
});

// ---- the install script, in a copy of the package's native inputs with a fake node-gyp ----

const realAddon = [process.env.CNN_NATIVE_PATH, path.join(root, 'build', 'Release', 'cnn.node')].find((f) => f && fs.existsSync(f));

/** A package dir with the native inputs and scripts/install.js; a fake node-gyp logging its calls. */
function fakePackage() {
  const dir = tmpdir('install');
  const p = path.join(dir, 'pkg');
  for (const f of ['binding.gyp', 'scripts/native-sources.js', 'scripts/install.js', 'native']) {
    fs.cpSync(path.join(root, f), path.join(p, f), { recursive: true });
  }
  const gyp = path.join(dir, 'fake-node-gyp.js');
  fs.writeFileSync(
    gyp,
    `const fs = require('fs'), path = require('path');
fs.appendFileSync(${JSON.stringify(path.join(dir, 'gyp.log'))}, process.argv.slice(2).join(' ') + '\\n');
const code = Number(process.env.FAKE_GYP_EXIT || 0);
if (code === 0) { fs.mkdirSync('build/Release', { recursive: true }); fs.writeFileSync('build/Release/cnn.node', ''); }
process.exit(code);
`
  );
  const prebuild = (content, hash = inst.sourceHash(p)) => {
    const d = path.join(p, 'prebuilds', inst.prebuildTag());
    fs.mkdirSync(d, { recursive: true });
    if (typeof content === 'string') fs.copyFileSync(content, path.join(d, 'cnn.node'));
    else fs.writeFileSync(path.join(d, 'cnn.node'), content);
    fs.writeFileSync(path.join(d, 'build-info.json'), JSON.stringify({ sourceHash: hash }));
  };
  const run = (env = {}) => {
    const r = spawnSync(process.execPath, [path.join(p, 'scripts', 'install.js')], {
      cwd: p,
      encoding: 'utf8',
      env: { ...process.env, CNN_BUILD_FROM_SOURCE: '', npm_config_build_from_source: '', INIT_CWD: dir, npm_config_node_gyp: gyp, ...env },
    });
    const log = path.join(dir, 'gyp.log');
    return { status: r.status, out: r.stdout + r.stderr, gyp: fs.existsSync(log) ? fs.readFileSync(log, 'utf8') : '' };
  };
  return { dir, p, prebuild, run, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

t.test('install: a matching prebuild that loads is used, nothing is compiled', { skip: !realAddon && 'no built addon to stand in for a prebuild' }, async (t) => {
  const f = fakePackage();
  t.teardown(f.cleanup);
  f.prebuild(realAddon);
  const r = f.run();
  t.equal(r.status, 0);
  t.equal(r.gyp, '', 'node-gyp not run');
  t.match(r.out, /using the prebuilt addon/);
  t.ok(inst.checkPrebuild(f.p).ok);

  const forced = f.run({ CNN_BUILD_FROM_SOURCE: '1' });
  t.match(forced.gyp, /^rebuild/, 'CNN_BUILD_FROM_SOURCE=1 compiles anyway');
  t.equal(forced.status, 0);
});

t.test('install: no prebuild -> node-gyp rebuild; a failed build does not fail the install', async (t) => {
  const f = fakePackage();
  t.teardown(f.cleanup);
  const ok = f.run();
  t.equal(ok.status, 0);
  t.match(ok.gyp, /^rebuild -j max/m, 'node-gyp rebuild ran');
  t.match(ok.out, /no prebuilt addon for/);
  t.match(ok.out, /built build\/Release\/cnn\.node/);

  const failed = f.run({ FAKE_GYP_EXIT: '1' });
  t.equal(failed.status, 0, 'exit 0 after a failed build');
  t.match(failed.out, /native build failed \(node-gyp exited with code 1\)/);
  t.match(failed.out, /TypeScript backend/);
  t.match(failed.out, /npm rebuild cnn-node/);

  const own = f.run({ FAKE_GYP_EXIT: '1', INIT_CWD: f.p });
  t.equal(own.status, 1, 'in the package checkout a failed build is an error');
});

t.test('install: a stale or unloadable prebuild is not trusted', async (t) => {
  const f = fakePackage();
  t.teardown(f.cleanup);
  f.prebuild(Buffer.from('not an addon'), 'f'.repeat(64));
  let r = f.run();
  t.match(r.out, /built from other native sources/);
  t.match(r.gyp, /^rebuild/m);
  t.equal(r.status, 0);

  f.prebuild(Buffer.from('not an addon'));
  r = f.run();
  t.match(r.out, /prebuild does not load: /);
  t.equal(r.status, 0);
  t.equal(r.gyp.trim().split('\n').length, 2, 'compiled each time');
});

t.test('the source hash covers the native inputs only', async (t) => {
  const f = fakePackage();
  t.teardown(f.cleanup);
  const h0 = inst.sourceHash(f.p);
  t.match(h0, /^[0-9a-f]{64}$/);
  t.equal(inst.sourceHash(f.p), inst.sourceHash(root), 'a copy hashes like the checkout');
  fs.writeFileSync(path.join(f.p, 'native', '.notes.txt.swp'), 'editor leftovers');
  fs.writeFileSync(path.join(f.p, 'README.md'), 'not native');
  t.equal(inst.sourceHash(f.p), h0, 'dotfiles and non-native files do not count');
  fs.appendFileSync(path.join(f.p, 'native', 'sources.txt'), '# changed\n');
  t.not(inst.sourceHash(f.p), h0, 'a changed native file changes the hash');
});

// ---- a TypeScript consumer against the packed types ----

t.test('TypeScript consumers (module nodenext, .mts and .cts) compile against the packed types', { skip: !distBuilt && 'dist/ not built' }, async (t) => {
  const dir = tmpdir('tsc');
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  // The app gets exactly the files npm would pack (as an install of the tarball would).
  const nm = path.join(dir, 'app', 'node_modules');
  for (const f of dryRun().files) {
    fs.mkdirSync(path.dirname(path.join(nm, 'cnn-node', f.path)), { recursive: true });
    fs.copyFileSync(path.join(root, f.path), path.join(nm, 'cnn-node', f.path));
  }
  // The package's runtime dependencies and @types/node come from the checkout's node_modules.
  for (const dep of [...Object.keys(pkg.dependencies), '@types/node']) {
    fs.mkdirSync(path.dirname(path.join(nm, dep)), { recursive: true });
    fs.symlinkSync(path.join(root, 'node_modules', dep), path.join(nm, dep), 'junction');
  }
  const app = path.join(dir, 'app');
  const body = (imp) => `${imp}
const backend: 'native' | 'js' = tf.getBackend();
const x: tf.Tensor = tf.tensor2d([[1, 2], [3, 4]]);
const y = tf.matMul(x, x);
const model: tf.Sequential = tf.sequential({ layers: [tf.layers.dense({ units: 2, inputShape: [2] })] });
model.compile({ optimizer: 'sgd', loss: 'meanSquaredError' });
export function typeErrors(): void {
  // @ts-expect-error setBackend takes 'native' | 'js'
  tf.setBackend('gpu');
  // @ts-expect-error matMul takes tensors
  tf.matMul([[1]], x);
}
console.log(JSON.stringify({ backend, y: Array.from(y.dataSync() as Float32Array) }));
`;
  fs.writeFileSync(path.join(app, 'esm.mts'), body("import * as tf from 'cnn-node';\nimport def from 'cnn-node';\nconst same: boolean = def.getBackend === tf.getBackend;\nvoid same;"));
  fs.writeFileSync(path.join(app, 'cjs.cts'), body("import tf = require('cnn-node');"));
  const tsc = require.resolve('typescript/bin/tsc');
  const r = spawnSync(process.execPath, [tsc, '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2022',
    '--strict', '--skipLibCheck', '--types', 'node', '--listFiles', '--outDir', 'out', 'esm.mts', 'cjs.cts'], { cwd: app, encoding: 'utf8' });
  t.equal(r.status, 0, `tsc compiles both consumers ${r.stdout.split('\n').filter((l) => /error TS/.test(l)).join('\n')}`.trim());
  const listed = r.stdout.split('\n').map((l) => l.trim().split(path.sep).join('/'));
  t.ok(listed.some((l) => l.endsWith('node_modules/cnn-node/dist/index.d.mts')), 'the ESM consumer resolved dist/index.d.mts');
  t.ok(listed.some((l) => l.endsWith('node_modules/cnn-node/dist/index.d.ts')), 'the CJS consumer resolved dist/index.d.ts');
  t.notOk(listed.some((l) => l.includes(`${root.split(path.sep).join('/')}/dist/`)), 'types come from the packed copy, not the checkout');

  // And the compiled consumers run against the packed JavaScript (js backend: no addon needed).
  for (const f of ['esm.mjs', 'cjs.cjs']) {
    const run = spawnSync(process.execPath, [path.join('out', f)], { cwd: app, encoding: 'utf8', env: { ...process.env, CNN_BACKEND: 'js' } });
    t.equal(run.status, 0, `${f} runs: ${run.stderr}`);
    t.same(JSON.parse(run.stdout || '{}'), { backend: 'js', y: [7, 10, 15, 22] }, `${f} output`);
  }
});
