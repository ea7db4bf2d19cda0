// Run-time CPU feature detection (cpuid + xgetbv on x86; false elsewhere).
#pragma once
namespace cnn {
bool cpu_has_avx2_fma();
}
