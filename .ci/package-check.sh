#!/usr/bin/env bash
# Package check: pack cnn-node and install the tarball into fresh temporary apps.
#   S  no prebuild, npm install --ignore-scripts -> js backend with one CNN_NO_NATIVE warning;
#      then the warning's advice (allowScripts entry + `npm rebuild cnn-node`) -> node-gyp builds
#      the addon from the packed sources -> require and import give the native backend
#   P  that build becomes the linux-x64 prebuild (scripts/prebuild.js --from: stripped, stamped
#      with the source hash) and the package is packed again with it
#   A  prebuild, npm's default settings        -> native for require and import, nothing compiled
#   B  prebuild, install scripts denied         -> native (the prebuild needs no install script)
#   C  no prebuild, install scripts denied      -> js backend with one warning
#   D  no prebuild, scripts allowed, compiler broken -> the install still succeeds; js + warning
# Needs only the npm registry (for the package's dependencies). Prints each check; exits 1 if any
# failed. KEEP=1 keeps the work directory. --full compiles the prebuild separately with
# scripts/prebuild.js instead of reusing S's build (one more compile).
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
FULL=0
[ "${1:-}" = "--full" ] && FULL=1

W=$(mktemp -d "${TMPDIR:-/tmp}/cnn-package-check-XXXXXX")
[ "${KEEP:-0}" = 1 ] || trap 'rm -rf "$W"' EXIT
pass=0
fail=0
T0=$SECONDS
step() { echo "== package-check [$((SECONDS - T0))s]: $*"; }
ok() { echo "ok   $*"; pass=$((pass + 1)); }
bad() { echo "FAIL $*"; fail=$((fail + 1)); }
check() { # check "<description>" <command...>
  local d=$1; shift
  if "$@"; then ok "$d"; else bad "$d"; fi
}
finish() {
  echo "package-check: $pass checks passed, $fail failed ($((SECONDS - T0)) s)"
  [ "$fail" -eq 0 ]
  exit $?
}
die() { bad "$*"; finish; }

# The environment an app's user would have: none of our development switches.
unset CNN_NATIVE_PATH CNN_BACKEND CNN_BUILD_FROM_SOURCE NODE_OPTIONS NODE_NO_WARNINGS NODE_PATH \
  npm_config_build_from_source CFLAGS CXXFLAGS LDFLAGS

step "node $(node --version), npm $(npm --version), work dir $W"

if [ ! -f dist/index.mjs ] || [ -n "$(find lib scripts/make-esm-wrapper.js -newer dist/index.mjs -print -quit)" ]; then
  step "TypeScript build (dist/ missing or older than lib/)"
  npm run build:ts > "$W/build-ts.log" 2>&1 || { tail -30 "$W/build-ts.log"; die "npm run build:ts"; }
fi

step "npm pack (without prebuild)"
npm pack --ignore-scripts --pack-destination "$W" > "$W/pack1.log" 2>&1 || { cat "$W/pack1.log"; die "npm pack"; }
mv "$W"/cnn-node-*.tgz "$W/nopb.tgz"
mkdir "$W/pkg" && tar -xzf "$W/nopb.tgz" -C "$W/pkg"
check "the packed package has no test/, data/, bench/ or build/" \
  test ! -e "$W/pkg/package/test" -a ! -e "$W/pkg/package/data" -a ! -e "$W/pkg/package/bench" -a ! -e "$W/pkg/package/build"

# new_app NAME [ALLOW_SCRIPTS_JSON]: an empty app, optionally with an allowScripts policy.
new_app() {
  mkdir -p "$W/$1"
  node -e '
    const [dir, allow] = process.argv.slice(1);
    const p = { name: "app-" + require("path").basename(dir), version: "1.0.0", private: true };
    if (allow) p.allowScripts = JSON.parse(allow);
    require("fs").writeFileSync(dir + "/package.json", JSON.stringify(p, null, 2));
  ' "$W/$1" "${2:-}"
  cat > "$W/$1/probe.cjs" <<'EOF'
const tf = require('cnn-node');
const y = tf.matMul(tf.tensor2d([[1, 2], [3, 4]]), tf.tensor2d([[5, 6], [7, 8]]));
console.log(JSON.stringify({ via: 'require', backend: tf.getBackend(), y: Array.from(y.dataSync()) }));
EOF
  cat > "$W/$1/probe.mjs" <<'EOF'
import * as tf from 'cnn-node';
import def from 'cnn-node';
const y = tf.matMul(tf.tensor2d([[1, 2], [3, 4]]), tf.tensor2d([[5, 6], [7, 8]]));
console.log(JSON.stringify({ via: 'import', backend: tf.getBackend(), same: def.getBackend === tf.getBackend, y: Array.from(y.dataSync()) }));
EOF
}

# install APP TARBALL [npm flags...]
install() {
  local app=$1 tgz=$2; shift 2
  (cd "$W/$app" && npm install "$tgz" --no-audit --no-fund "$@") > "$W/$app/install.log" 2>&1
  local rc=$?
  [ $rc -eq 0 ] || tail -20 "$W/$app/install.log"
  return $rc
}

# probe APP FILE WANT_BACKEND: runs the probe and checks backend, result and warning.
probe() {
  local app=$1 file=$2 want=$3 out err
  out=$(cd "$W/$app" && node "$file" 2> "$W/$app/$file.err")
  err=$(cat "$W/$app/$file.err")
  local got
  got=$(node -e 'try { const j = JSON.parse(process.argv[1]); console.log(j.backend + (j.y.join() === "19,22,43,50" ? "" : " wrong-result") + (j.same === false ? " two-modules" : "")) } catch { console.log("no-output") }' "$out")
  if [ "$got" != "$want" ]; then
    echo "     $file printed: $out"
    echo "$err" | head -5 | sed 's/^/     stderr: /'
    return 1
  fi
  local warnings
  warnings=$(grep -c 'CNN_NO_NATIVE' <<<"$err")
  if [ "$want" = native ]; then
    [ "$warnings" -eq 0 ] || { echo "     unexpected warning: $err" | head -3; return 1; }
  else
    [ "$warnings" -eq 1 ] && grep -q 'allowScripts' <<<"$err" && grep -q 'npm rebuild cnn-node' <<<"$err" ||
      { echo "     expected one CNN_NO_NATIVE warning naming allowScripts and npm rebuild, got: $err" | head -5; return 1; }
  fi
}

step "S: no prebuild, npm install --ignore-scripts"
new_app s
if install s "$W/nopb.tgz" --ignore-scripts; then
  ok "S: npm install --ignore-scripts succeeds"
  check "S: require falls back to the js backend with one warning" probe s probe.cjs js
  check "S: import falls back to the js backend with one warning" probe s probe.mjs js
else
  die "S: npm install --ignore-scripts"
fi

step "S: the warning's advice: allowScripts entry, then npm rebuild cnn-node (node-gyp source build)"
node -e 'const f = process.argv[1] + "/package.json"; const p = require(f); p.allowScripts = { [process.argv[2]]: true }; require("fs").writeFileSync(f, JSON.stringify(p, null, 2));' "$W/s" "file:$W/nopb.tgz"
BUILT="$W/s/node_modules/cnn-node/build/Release/cnn.node"
if (cd "$W/s" && npm rebuild cnn-node) > "$W/s/rebuild.log" 2>&1 && [ -f "$BUILT" ]; then
  ok "S: npm rebuild cnn-node compiled build/Release/cnn.node"
  check "S: require now gives the native backend, no warning" probe s probe.cjs native
  check "S: import now gives the native backend, one module" probe s probe.mjs native
else
  tail -30 "$W/s/rebuild.log"
  bad "S: npm rebuild cnn-node"
  BUILT=""
fi

step "P: the linux-x64 prebuild"
PBARGS=(--src "$W/pkg/package")
if [ "$FULL" = 0 ] && [ -n "$BUILT" ]; then PBARGS+=(--from "$BUILT"); fi
if node scripts/prebuild.js "${PBARGS[@]}" > "$W/prebuild.log" 2>&1; then
  cat "$W/prebuild.log"
  ok "P: prebuild stamped and loads"
else
  tail -40 "$W/prebuild.log"
  die "P: prebuild"
fi
PB="prebuilds/$(node -p 'process.platform + "-" + process.arch')"
check "P: it matches the packed sources (prebuild.js --check)" node scripts/prebuild.js --check --src "$W/pkg/package"

step "P: npm pack (with prebuild)"
(cd "$W/pkg/package" && npm pack --ignore-scripts --pack-destination "$W") > "$W/pack2.log" 2>&1 || { cat "$W/pack2.log"; die "npm pack with prebuild"; }
mv "$W"/cnn-node-*.tgz "$W/pb.tgz"
check "P: the tarball carries $PB/cnn.node and build-info.json" \
  bash -c "tar -tzf '$W/pb.tgz' | grep -qx 'package/$PB/cnn.node' && tar -tzf '$W/pb.tgz' | grep -qx 'package/$PB/build-info.json'"
echo "     sizes: $(stat -c %s "$W/nopb.tgz") bytes without prebuild, $(stat -c %s "$W/pb.tgz") bytes with it"

step "A: prebuild, npm's default settings"
new_app a
if install a "$W/pb.tgz"; then
  ok "A: npm install succeeds"
  check "A: nothing was compiled (no node_modules/cnn-node/build)" test ! -e "$W/a/node_modules/cnn-node/build"
  check "A: require('cnn-node') runs on the native backend, no warning" probe a probe.cjs native
  check "A: import from 'cnn-node' runs on the native backend, one module" probe a probe.mjs native
else
  bad "A: npm install"
fi

step "B: prebuild, install scripts denied by the app's allowScripts"
new_app b "{\"file:$W/pb.tgz\": false}"
if install b "$W/pb.tgz"; then
  ok "B: npm install succeeds"
  check "B: require gives the native backend without any install script" probe b probe.cjs native
else
  bad "B: npm install"
fi

step "C: no prebuild, install scripts denied by the app's allowScripts"
new_app c "{\"file:$W/nopb.tgz\": false}"
if install c "$W/nopb.tgz"; then
  ok "C: npm install succeeds"
  check "C: the install script did not run (no build/)" test ! -e "$W/c/node_modules/cnn-node/build"
  check "C: require falls back to the js backend with one warning" probe c probe.cjs js
  check "C: import falls back to the js backend with one warning" probe c probe.mjs js
else
  bad "C: npm install"
fi

step "D: no prebuild, install scripts allowed, no working compiler"
new_app d "{\"file:$W/nopb.tgz\": true}"
if CC=false CXX=false install d "$W/nopb.tgz"; then
  ok "D: npm install succeeds although the native build failed"
  check "D: no addon was produced" test ! -e "$W/d/node_modules/cnn-node/build/Release/cnn.node"
  check "D: require falls back to the js backend with one warning" probe d probe.cjs js
else
  bad "D: npm install must not fail when the native build fails"
fi

finish
