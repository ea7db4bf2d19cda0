// Run-time detection of AVX2 + FMA and AVX-512 (cpuid), and of the OS support for their register
// state (xgetbv: a CPU may have the instructions while the kernel does not save the registers).
#include "cpu_features.h"

#include <cstdlib>
#include <cstring>
#if defined(__x86_64__) || defined(_M_X64) || defined(__i386__)
#if defined(_MSC_VER)
#include <intrin.h>
#else
#include <cpuid.h>
#endif
#endif

namespace cnn {
namespace {

// The registers of cpuid leaves 1 and 7 and XCR0 (all zero where there is no cpuid or xgetbv).
struct CpuId {
  unsigned l1_ecx = 0, l7_ebx = 0;
  unsigned long long xcr0 = 0;
};

CpuId read_cpuid() {
  CpuId r;
#if (defined(__x86_64__) || defined(__i386__)) && !defined(_MSC_VER)
  unsigned a, b, c, d;
  if (!__get_cpuid(1, &a, &b, &c, &d)) return r;
  r.l1_ecx = c;
  if (c & (1u << 27)) {  // OSXSAVE: xgetbv is usable
    unsigned xlo, xhi;
    __asm__ volatile("xgetbv" : "=a"(xlo), "=d"(xhi) : "c"(0));
    r.xcr0 = ((unsigned long long)xhi << 32) | xlo;
  }
  if (__get_cpuid_count(7, 0, &a, &b, &c, &d)) r.l7_ebx = b;
#elif defined(_M_X64) && defined(_MSC_VER)
  int q[4];
  __cpuid(q, 1);
  r.l1_ecx = (unsigned)q[2];
  if (r.l1_ecx & (1u << 27)) r.xcr0 = _xgetbv(0);
  __cpuidex(q, 7, 0);
  r.l7_ebx = (unsigned)q[1];
#endif
  return r;
}

const CpuId& cpuid() {
  static const CpuId r = read_cpuid();
  return r;
}

bool bit(unsigned x, int i) { return (x >> i) & 1u; }

}  // namespace

bool cpu_has_avx2_fma() {
  const CpuId& c = cpuid();
  const bool fma = bit(c.l1_ecx, 12), osxsave = bit(c.l1_ecx, 27), avx = bit(c.l1_ecx, 28);
  return fma && osxsave && avx && (c.xcr0 & 6u) == 6u && bit(c.l7_ebx, 5);  // xmm + ymm state, AVX2
}

const char* cpu_avx512_missing() {
  // CNN_NO_AVX512=1 in the environment: behave as on a CPU without AVX-512 (to test and measure
  // the AVX2 paths of an AVX-512 machine, in a fresh process; read once).
  static const bool off = [] {
    const char* e = std::getenv("CNN_NO_AVX512");
    return e && *e && std::strcmp(e, "0") != 0;
  }();
  if (off) return "disabled by CNN_NO_AVX512";
  const CpuId& c = cpuid();
  if (!cpu_has_avx2_fma()) return "CPU lacks avx2/fma";
  if (!bit(c.l7_ebx, 16)) return "CPU lacks avx512f";
  if (!bit(c.l7_ebx, 31)) return "CPU lacks avx512vl";
  if ((c.xcr0 & 0xE6u) != 0xE6u) return "the OS does not enable the zmm and opmask state (XCR0 bits 5-7)";
  return nullptr;
}

bool cpu_has_avx512() {
  static const bool has = cpu_avx512_missing() == nullptr;
  return has;
}

}  // namespace cnn
