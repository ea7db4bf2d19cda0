#!/usr/bin/env bash
# Builds the addon with AddressSanitizer + UndefinedBehaviorSanitizer (CMake option CNN_SANITIZE,
# every report fatal) into build-asan/ and runs the kernel and binding tests against it. Prints one
# PASS / FAIL line per test file and a summary; exits non-zero on any test failure or sanitizer
# report. About 3 minutes on 2 cores from a clean tree (build ~1 min, tests ~2 min; the build is
# incremental afterwards).
#
#   bash .ci/sanitize.sh            # build + self-test + tests
#   SANITIZE_TESTS="ops_native gemm" bash .ci/sanitize.sh   # a subset
#
# node itself is not instrumented, so the sanitizer runtimes are LD_PRELOADed into every node
# process the tests start (children inherit the environment). Leak detection is off (node does
# not free everything at exit); allocator_may_return_null makes a huge allocation throw
# std::bad_alloc, which the addon turns into a JS error, instead of being reported.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BUILD=build-asan
CXX_BIN=${CXX:-g++}
TESTS=${SANITIZE_TESTS:-"ops_native train_ops_native network_native gemm gradcheck fixtures backends_agree model concurrency robustness fuzz"}
LOG_DIR=${SANITIZE_LOG_DIR:-$BUILD/logs}
REPORT_RE='ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:|SUMMARY: (Address|UndefinedBehavior)Sanitizer'
t_start=$(date +%s)
log() { echo "== $*"; }
fail() { echo "SANITIZE: FAIL - $*"; exit 1; }

log "node $(node --version), $($CXX_BIN --version | head -1), $(nproc) cores"

# 1. The TypeScript the tests require (only when missing: .ci/run builds it before).
if [ ! -f dist/backend/index.js ]; then
  log "TypeScript build (dist/ missing)"
  npx tsc -p tsconfig.json > /dev/null || fail "TypeScript build failed"
fi

# 2. The instrumented addon.
log "cmake-js build with -DCNN_SANITIZE=ON into $BUILD/"
t0=$(date +%s)
mkdir -p "$BUILD"
if ! npx cmake-js compile --out "$BUILD" --CDCNN_SANITIZE=ON > "$BUILD/build.log" 2>&1; then
  tail -40 "$BUILD/build.log"
  fail "the sanitizer build failed (log: $BUILD/build.log)"
fi
ADDON=$ROOT/$BUILD/Release/cnn.node
[ -f "$ADDON" ] || fail "no addon at $ADDON"
symbols=$(nm -D "$ADDON")
grep -q '__asan_init' <<<"$symbols" || fail "$ADDON is not built with AddressSanitizer"
grep -q '__ubsan_' <<<"$symbols" || fail "$ADDON is not built with UndefinedBehaviorSanitizer"
log "built in $(( $(date +%s) - t0 )) s"

ASAN_LIB=$($CXX_BIN -print-file-name=libasan.so)
UBSAN_LIB=$($CXX_BIN -print-file-name=libubsan.so)
[ -f "$ASAN_LIB" ] && [ -f "$UBSAN_LIB" ] || fail "sanitizer runtimes not found ($ASAN_LIB, $UBSAN_LIB)"
san_env=(
  "LD_PRELOAD=$ASAN_LIB $UBSAN_LIB"
  "ASAN_OPTIONS=detect_leaks=0:allocator_may_return_null=1:halt_on_error=1:abort_on_error=0:exitcode=86"
  "UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1"
  "CNN_NATIVE_PATH=$ADDON"
  "CNN_BACKEND="
)

# 3. Self-test: the toolchain reports a heap overflow and a signed overflow, and this script sees them.
log "self-test: an instrumented canary must be caught"
canary_dir=$(mktemp -d)
cat > "$canary_dir/canary.cc" <<'EOF'
#include <climits>
#include <cstdio>
#include <cstdlib>
int main(int argc, char**) {
  int* p = (int*)malloc(4 * sizeof(int));
  if (argc > 1) { int x = INT_MAX; x += argc; printf("%d\n", x); }  // signed overflow
  p[4 + (argc > 2)] = 1;                                              // heap overflow
  printf("%d\n", p[0]);
  free(p);
}
EOF
$CXX_BIN -fsanitize=address,undefined -fno-sanitize-recover=all -g -O0 "$canary_dir/canary.cc" -o "$canary_dir/canary" \
  || fail "cannot compile the canary with -fsanitize=address,undefined"
for args in "" "ub"; do
  out=$(ASAN_OPTIONS=detect_leaks=0 "$canary_dir/canary" $args 2>&1)
  rc=$?
  if [ $rc -eq 0 ] || ! grep -Eq "$REPORT_RE" <<<"$out"; then
    rm -rf "$canary_dir"
    fail "the canary ($args) was not caught (exit $rc)"
  fi
done
rm -rf "$canary_dir"
# ...and node loads the instrumented addon (CNN_NATIVE_PATH, not a fallback build).
loaded=$(env "${san_env[@]}" node -e "
  require('./dist/backend').backendKernels('native');
  console.log(Object.keys(require.cache).filter((k) => k.endsWith('.node')).join(','));" 2>&1)
[ "$loaded" = "$ADDON" ] || fail "node did not load the sanitizer build: $loaded"
log "self-test passed"

# 4. The tests, one node process per file (each may fork its own children).
mkdir -p "$LOG_DIR"
passed=0
failed=0
failed_list=""
for name in $TESTS; do
  file=test/$name.test.js
  [ -f "$file" ] || { echo "FAIL $name: no $file"; failed=$((failed + 1)); failed_list+=" $name"; continue; }
  extra=()
  # The fuzz runs shorter under the sanitizers (every call is ~3x slower).
  [ "$name" = fuzz ] && extra=("CNN_FUZZ_ITERATIONS=${SANITIZE_FUZZ_ITERATIONS:-1500}")
  t0=$(date +%s)
  env "${san_env[@]}" "${extra[@]}" node "$file" > "$LOG_DIR/$name.log" 2>&1
  rc=$?
  secs=$(( $(date +%s) - t0 ))
  counts=$(grep -Eo '^# \{ total: [0-9]+.*\}' "$LOG_DIR/$name.log" | tail -1)
  if grep -Eq "$REPORT_RE" "$LOG_DIR/$name.log"; then
    echo "FAIL $name (${secs} s): sanitizer report"
    grep -E -m 5 -A 12 "$REPORT_RE" "$LOG_DIR/$name.log" | head -60
    failed=$((failed + 1)); failed_list+=" $name"
  elif [ $rc -ne 0 ]; then
    echo "FAIL $name (${secs} s): exit code $rc ${counts}"
    grep -E -m 10 -B 2 -A 15 '^\s*not ok' "$LOG_DIR/$name.log" | head -80
    failed=$((failed + 1)); failed_list+=" $name"
  else
    echo "PASS $name (${secs} s) ${counts}"
    passed=$((passed + 1))
  fi
done

total=$(( $(date +%s) - t_start ))
echo "sanitize: ${passed} passed, ${failed} failed in ${total} s (logs: $LOG_DIR/)"
if [ "$failed" -ne 0 ]; then
  echo "SANITIZE: FAIL -${failed_list}"
  exit 1
fi
echo "SANITIZE: PASS - no AddressSanitizer or UndefinedBehaviorSanitizer report"
