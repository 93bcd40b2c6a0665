// See include/unirl_blas_core.h. OpenBLAS's DYNAMIC_ARCH build picks its kernel table once, at
// load time (driver/others/dynamic.c, gotoblas_dynamic_init: OPENBLAS_CORETYPE if set, else its
// CPUID tables, else Prescott); gotoblas_dynamic_quit clears the choice so that the next
// gotoblas_dynamic_init picks again. Both are looked up at run time, so nothing here requires
// that build.
#define _GNU_SOURCE
#include "unirl_blas_core.h"
#include <stdlib.h>
#include <strings.h>

#if defined(__x86_64__) && defined(__linux__) && (defined(__clang__) || defined(__GNUC__))
#include <dlfcn.h>

/// 0: no AVX2 kernels, 1: AVX2 + FMA kernels, 2: AVX-512 kernels; -1: a core name we do not know.
static int core_level(const char *name) {
    static const char *const level0[] = {
        "Unknown", "Katmai", "Coppermine", "Northwood", "Prescott", "Banias", "Atom", "Core2", "Penryn",
        "Dunnington", "Nehalem", "Athlon", "Opteron", "Opteron_SSE3", "Barcelona", "Nano", "Sandybridge",
        "Bobcat", "Bulldozer", "Piledriver", "Steamroller"};
    static const char *const level1[] = {"Haswell", "Excavator", "Zen"};
    static const char *const level2[] = {"SkylakeX", "Cooperlake", "SapphireRapids"};
    for (size_t i = 0; i < sizeof level0 / sizeof *level0; i++)
        if (strcasecmp(name, level0[i]) == 0) return 0;
    for (size_t i = 0; i < sizeof level1 / sizeof *level1; i++)
        if (strcasecmp(name, level1[i]) == 0) return 1;
    for (size_t i = 0; i < sizeof level2 / sizeof *level2; i++)
        if (strcasecmp(name, level2[i]) == 0) return 2;
    return -1;
}

int unirl_blas_upgrade_kernels(void) {
    if (getenv("OPENBLAS_CORETYPE") != NULL) return 0;
    char *(*corename)(void) = (char *(*)(void))dlsym(RTLD_DEFAULT, "openblas_get_corename");
    void (*dynamic_init)(void) = (void (*)(void))dlsym(RTLD_DEFAULT, "gotoblas_dynamic_init");
    void (*dynamic_quit)(void) = (void (*)(void))dlsym(RTLD_DEFAULT, "gotoblas_dynamic_quit");
    if (corename == NULL || dynamic_init == NULL || dynamic_quit == NULL) return 0;
    const char *current = corename();
    if (current == NULL) return 0;
    int have = core_level(current);
    if (have < 0) return 0;

    // __builtin_cpu_supports also checks that the OS saves the AVX / AVX-512 registers (XCR0).
    __builtin_cpu_init();
    int avx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                 __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq");
    int avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    const char *target = avx512 ? "SkylakeX" : (avx2 ? "Haswell" : NULL);
    if (target == NULL || core_level(target) <= have) return 0;

    if (setenv("OPENBLAS_CORETYPE", target, 1) != 0) return 0;
    dynamic_quit();
    dynamic_init();
    unsetenv("OPENBLAS_CORETYPE");
    const char *now = corename();
    return now != NULL && strcasecmp(now, current) != 0;
}

#else

int unirl_blas_upgrade_kernels(void) { return 0; }

#endif
