#!/usr/bin/env bash
# Builds bench/gemm/gemm_bench.cc against the kernel sources (g++ -O3, no -march flags: the same
# code the addon runs) and OpenBLAS, then runs it. Arguments are passed to the benchmark, e.g.
#   npm run bench:gemm -- --json bench/gemm/results.json
#   bash bench/gemm/run.sh --shape 1024x1024x1024 --threads 1 --reps 20
#   bash bench/gemm/run.sh --tune --shape 1024x1024x1024 --threads 1
# Without libopenblas (and no way to install it) only ours and the naive loop are timed.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
out="${GEMM_BENCH_OUT:-$root/build-bench}"
mkdir -p "$out"
cxx="${CXX:-g++}"

have_openblas() {
  echo 'extern "C" void openblas_set_num_threads(int); int main() { openblas_set_num_threads(1); }' |
    "$cxx" -x c++ - -o "$out/openblas_probe" -lopenblas >/dev/null 2>&1
}

blas_flags=()
if ! have_openblas && command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
  echo "OpenBLAS not found: installing libopenblas-dev with apt-get" >&2
  apt-get install -y -q libopenblas-dev >&2 || echo "apt-get install libopenblas-dev failed" >&2
fi
if have_openblas; then
  blas_flags=(-DHAVE_OPENBLAS -lopenblas)
else
  echo "NOTE: libopenblas not available: benchmarking without OpenBLAS (install libopenblas-dev to compare)" >&2
fi

# GEMM_BENCH_FLAGS adds compiler flags, e.g. another AVX-512 tile to compare:
#   GEMM_BENCH_FLAGS="-DCNN_AVX512_MR=14 -DCNN_AVX512_NAME=\"avx512_14x32\"" bash bench/gemm/run.sh
k="$root/native/kernels"
read -r -a extra <<<"${GEMM_BENCH_FLAGS:-}"
"$cxx" -O3 -std=c++17 -pthread "${extra[@]}" -o "$out/gemm_bench" "$root/bench/gemm/gemm_bench.cc" \
  "$k/threadpool.cc" "$k/cpu_features.cc" "$k/gemm/sgemm.cc" "$k/gemm/sgemm_naive.cc" \
  "$k/gemm/ukernel_portable.cc" "$k/gemm/ukernel_avx2_fma.cc" "$k/gemm/ukernel_avx512.cc" "${blas_flags[@]}"
exec "$out/gemm_bench" "$@"
