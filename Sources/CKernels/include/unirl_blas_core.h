// OpenBLAS kernel choice on CPUs that OpenBLAS's run-time detection does not know.
#ifndef UNIRL_BLAS_CORE_H
#define UNIRL_BLAS_CORE_H

/// Re-selects the kernels of a DYNAMIC_ARCH OpenBLAS when its CPU detection fell back to a core
/// older than what the CPU supports. OpenBLAS 0.3.21 (Debian 12) does not know Intel models newer
/// than Sapphire Rapids (Emerald Rapids reports family 6, model 207) and runs its SSE3 "Prescott"
/// sgemm there, 6–8× slower than its AVX-512 one. When `OPENBLAS_CORETYPE` is unset and the
/// chosen core lacks AVX2 (or AVX-512) that the CPU and OS provide, this re-runs OpenBLAS's own
/// selection with `OPENBLAS_CORETYPE` set to "SkylakeX" (AVX-512 F/BW/VL/DQ) or "Haswell" (AVX2 +
/// FMA), then removes the variable again. A user's `OPENBLAS_CORETYPE` is always respected.
///
/// Call it once, before any BLAS routine runs and while none is running (it swaps OpenBLAS's
/// kernel table). Without a DYNAMIC_ARCH OpenBLAS in the process (no `gotoblas_dynamic_init`
/// symbol), it does nothing. Returns 1 when the kernels were changed, 0 otherwise.
int unirl_blas_upgrade_kernels(void);

#endif
