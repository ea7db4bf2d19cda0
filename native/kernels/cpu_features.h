// Run-time CPU feature detection (cpuid + xgetbv on x86; false elsewhere).
#pragma once
namespace cnn {
// AVX2 and FMA, with the OS saving the ymm state (XCR0 bits 1, 2).
bool cpu_has_avx2_fma();
// AVX-512 F and VL on top of AVX2 + FMA, with the OS saving the full zmm state (XCR0 bits 1, 2
// for xmm / ymm and 5, 6, 7 for the opmask registers, the upper halves of zmm0-15 and zmm16-31).
bool cpu_has_avx512();
// The environment variable CNN_NO_AVX512=1 turns it off (as on an AVX2-only CPU).
// Why cpu_has_avx512() is false, e.g. "CPU lacks avx512f", "the OS does not enable the zmm and
// opmask state (XCR0 bits 5-7)" or "disabled by CNN_NO_AVX512"; nullptr when it is true.
const char* cpu_avx512_missing();
}  // namespace cnn
