// Run-time detection of AVX512-BF16 (bf16.h): cpuid leaf 7 for AVX512-F/BW/VL and, in sub-leaf 1,
// AVX512_BF16; xgetbv for the OS-enabled xmm, ymm, opmask and zmm state.
#include "bf16.h"
#if (defined(__x86_64__) || defined(__i386__)) && !defined(_MSC_VER)
#include <cpuid.h>
#endif

namespace cnn {

bool cpu_has_avx512_bf16() {
#if (defined(__x86_64__) || defined(__i386__)) && !defined(_MSC_VER)
  static const bool has = [] {
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return false;
    if (!(c & (1u << 27))) return false;  // OSXSAVE: xgetbv is usable
    unsigned xlo, xhi;
    __asm__ volatile("xgetbv" : "=a"(xlo), "=d"(xhi) : "c"(0));
    if ((xlo & 0xe6u) != 0xe6u) return false;  // xmm, ymm, opmask, zmm0-15 upper halves, zmm16-31
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return false;
    const bool f = b & (1u << 16), bw = b & (1u << 30), vl = b & (1u << 31);
    if (!(f && bw && vl)) return false;
    if (a < 1) return false;  // no sub-leaf 1
    __cpuid_count(7, 1, a, b, c, d);
    return (a & (1u << 5)) != 0;  // AVX512_BF16
  }();
  return has;
#else
  return false;
#endif
}

}  // namespace cnn
