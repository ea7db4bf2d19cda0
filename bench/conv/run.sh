#!/usr/bin/env bash
# Builds bench/conv/conv_bench.cc against the kernel sources (g++ -O3, no -march: the addon's code)
# and runs it; arguments go to the benchmark (see its header).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
out="${CONV_BENCH_OUT:-$root/build-bench}"
mkdir -p "$out"
k="$root/native/kernels"
"${CXX:-g++}" -O3 -std=c++17 -pthread -o "$out/conv_bench" "$root/bench/conv/conv_bench.cc" \
  "$k/threadpool.cc" "$k/cpu_features.cc" "$k/gemm/sgemm.cc" "$k/gemm/sgemm_naive.cc" "$k/gemm/ukernel_portable.cc" \
  "$k/gemm/ukernel_avx2_fma.cc" "$k/gemm/ukernel_avx512.cc" "$k/conv2d.cc" "$k/conv2d_direct.cc" "$k/im2col.cc" "$k/dense.cc" "$k/activations.cc" "$k/pool2d.cc"
exec "$out/conv_bench" "$@"
