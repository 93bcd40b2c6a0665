// See include/unirl_kernels.h. The AVX2 versions carry `target` attributes, so this file builds with
// the default flags and the CPU is asked at run time (__builtin_cpu_supports) before they run.
#include "unirl_kernels.h"
#include <math.h>
#include <stddef.h>

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
#define UNIRL_HAVE_AVX2_PATH 1
#include <immintrin.h>
#define UNIRL_AVX2 __attribute__((target("avx2,fma")))
#endif

int unirl_kernels_vectorized(void) {
#ifdef UNIRL_HAVE_AVX2_PATH
    static int cached = -1;
    int value = __atomic_load_n(&cached, __ATOMIC_RELAXED);
    if (value < 0) {
        __builtin_cpu_init();
        value = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
        __atomic_store_n(&cached, value, __ATOMIC_RELAXED);
    }
    return value;
#else
    return 0;
#endif
}

static inline int use_avx2(unirl_path path) { return path == UNIRL_PATH_AUTO && unirl_kernels_vectorized(); }

// MARK: portable versions

/// eˣ as UniRLTensor's FastMath.exp: Cody–Waite reduction and Cephes' expf polynomial
/// (Moshier, Cephes Mathematical Library, expf.c), 0 below −87.3.
static inline float exp_portable(float x) {
    float v = x < -87.3f ? -87.3f : (x > 88.3f ? 88.3f : x);
    const float magic = 12582912.0f;  // 1.5·2²³
    float t = v * 1.44269504f + magic;
    float n = t - magic;
    float r = v - n * 0.693359375f + n * 2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    float e = p * r * r + r + 1.0f;
    union { float f; int i; } bits = {t}, magicBits = {magic}, scale;
    scale.i = (bits.i - magicBits.i + 127) << 23;
    return x < -87.3f ? 0.0f : e * scale.f;
}

static inline float sigmoid_portable(float x) { return 1.0f / (1.0f + exp_portable(-x)); }

static void silu_portable(const float *x, float *y, long n) {
    for (long i = 0; i < n; i++) y[i] = x[i] * sigmoid_portable(x[i]);
}

static void silu_backward_portable(const float *x, const float *g, float *dx, long n) {
    for (long i = 0; i < n; i++) {
        float s = sigmoid_portable(x[i]);
        dx[i] = g[i] * s * (1.0f + x[i] * (1.0f - s));
    }
}

static void multiply_accumulate_portable(float *d, const float *a, const float *b, long n) {
    for (long i = 0; i < n; i++) d[i] += a[i] * b[i];
}

/// The 16 partial sums (lane l holds the terms at j ≡ l mod 16) added as the AVX2 version adds them.
static float fold16(const float *acc) {
    float s[8];
    for (int l = 0; l < 8; l++) s[l] = acc[l] + acc[l + 8];
    return ((s[0] + s[4]) + (s[2] + s[6])) + ((s[1] + s[5]) + (s[3] + s[7]));
}

static float sum_portable(const float *x, long n) {
    float acc[16] = {0};
    long j = 0;
    for (; j + 16 <= n; j += 16)
        for (int l = 0; l < 16; l++) acc[l] += x[j + l];
    float total = fold16(acc);
    for (; j < n; j++) total += x[j];
    return total;
}

static float sum_squared_deviations_portable(const float *x, long n, float mu) {
    float acc[16] = {0};
    long j = 0;
    for (; j + 16 <= n; j += 16)
        for (int l = 0; l < 16; l++) { float d = x[j + l] - mu; acc[l] += d * d; }
    float total = fold16(acc);
    for (; j < n; j++) { float d = x[j] - mu; total += d * d; }
    return total;
}

static void normalize_portable(const float *x, float *o, long n, float mu, float rstd, const float *w, const float *b) {
    for (long j = 0; j < n; j++) {
        float v = (x[j] - mu) * rstd;
        if (w) v *= w[j];
        if (b) v += b[j];
        o[j] = v;
    }
}

static void normalize_backward_portable(const float *x, const float *g, float *dx, long n, float mu, float rstd,
                                       const float *w, int centered, float *dw, float *db) {
    float sum_dy[16] = {0}, sum_dy_xhat[16] = {0};
    for (long j = 0; j < n; j++) {
        float xhat = (x[j] - mu) * rstd, dy = w ? g[j] * w[j] : g[j];
        sum_dy[j % 16] += dy;
        sum_dy_xhat[j % 16] += dy * xhat;
        dw[j] += g[j] * xhat;
        db[j] += g[j];
    }
    float mean_dy = centered ? fold16(sum_dy) / (float)n : 0.0f, mean_dy_xhat = fold16(sum_dy_xhat) / (float)n;
    for (long j = 0; j < n; j++) {
        float dy = w ? g[j] * w[j] : g[j];
        dx[j] = rstd * (dy - mean_dy - (x[j] - mu) * rstd * mean_dy_xhat);
    }
}

/// One output pixel of a k×k depthwise cross-correlation: `rows[ky]` is the input row y + ky − pad
/// (channels-last, `width` pixels of c) or null outside the image; d gets the c outputs at column xc.
static void depthwise_pixel_portable(const float *const *rows, const float *w, const float *bias, float *d, long width,
                                     long c, long k, long xc) {
    long pad = k / 2;
    for (long j = 0; j < c; j++) d[j] = bias ? bias[j] : 0.0f;
    for (long ky = 0; ky < k; ky++) {
        if (!rows[ky]) continue;
        for (long kx = 0; kx < k; kx++) {
            long ix = xc + kx - pad;
            if (ix < 0 || ix >= width) continue;
            multiply_accumulate_portable(d, w + (ky * k + kx) * c, rows[ky] + ix * c, c);
        }
    }
}

// MARK: AVX2 + FMA versions

#ifdef UNIRL_HAVE_AVX2_PATH
UNIRL_AVX2 static inline __m256 exp_avx2(__m256 x) {
    __m256 v = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(-87.3f)), _mm256_set1_ps(88.3f));
    const __m256 magic = _mm256_set1_ps(12582912.0f);
    __m256 t = _mm256_fmadd_ps(v, _mm256_set1_ps(1.44269504f), magic);
    __m256 n = _mm256_sub_ps(t, magic);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), v);
    r = _mm256_fmadd_ps(n, _mm256_set1_ps(2.12194440e-4f), r);
    __m256 p = _mm256_set1_ps(1.9875691500e-4f);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
    __m256 e = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
    __m256i k = _mm256_sub_epi32(_mm256_castps_si256(t), _mm256_castps_si256(magic));
    __m256 scale = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(k, _mm256_set1_epi32(127)), 23));
    __m256 result = _mm256_mul_ps(e, scale);
    __m256 underflow = _mm256_cmp_ps(x, _mm256_set1_ps(-87.3f), _CMP_LT_OQ);
    return _mm256_andnot_ps(underflow, result);
}

/// 1 / (1 + e⁻ˣ) correctly divided (the derivative needs 1 − s exact where s rounds to 1).
UNIRL_AVX2 static inline __m256 sigmoid_avx2(__m256 x) {
    const __m256 one = _mm256_set1_ps(1.0f);
    return _mm256_div_ps(one, _mm256_add_ps(one, exp_avx2(_mm256_sub_ps(_mm256_setzero_ps(), x))));
}

/// 1 / (1 + e⁻ˣ) with the reciprocal from `rcp` (12 bits) and one Newton step (≈ 23 bits), several
/// times cheaper than a division; within 2 ulp, which x · s (the forward silu) tolerates.
UNIRL_AVX2 static inline __m256 sigmoid_fast_avx2(__m256 x) {
    const __m256 one = _mm256_set1_ps(1.0f), two = _mm256_set1_ps(2.0f);
    __m256 d = _mm256_add_ps(one, exp_avx2(_mm256_sub_ps(_mm256_setzero_ps(), x)));
    __m256 r = _mm256_rcp_ps(d);
    r = _mm256_mul_ps(r, _mm256_fnmadd_ps(d, r, two));
    // d ≥ 1 always; past e^88 `rcp` underflows to 0, which is the right limit.
    return r;
}

UNIRL_AVX2 static void silu_avx2(const float *x, float *y, long n) {
    long i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 v = _mm256_loadu_ps(x + i);
        _mm256_storeu_ps(y + i, _mm256_mul_ps(v, sigmoid_fast_avx2(v)));
    }
    silu_portable(x + i, y + i, n - i);
}

UNIRL_AVX2 static inline __m256 silu_derivative_avx2(__m256 v) {
    const __m256 one = _mm256_set1_ps(1.0f);
    __m256 s = sigmoid_avx2(v);
    return _mm256_mul_ps(s, _mm256_fmadd_ps(v, _mm256_sub_ps(one, s), one));
}

UNIRL_AVX2 static void silu_backward_avx2(const float *x, const float *g, float *dx, long n) {
    long i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(dx + i, _mm256_mul_ps(_mm256_loadu_ps(g + i), silu_derivative_avx2(_mm256_loadu_ps(x + i))));
    silu_backward_portable(x + i, g + i, dx + i, n - i);
}

UNIRL_AVX2 static void multiply_accumulate_avx2(float *d, const float *a, const float *b, long n) {
    long i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(d + i, _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), _mm256_loadu_ps(d + i)));
    multiply_accumulate_portable(d + i, a + i, b + i, n - i);
}

UNIRL_AVX2 static float fold16_avx2(__m256 a0, __m256 a1) {
    float acc[16];
    _mm256_storeu_ps(acc, a0);
    _mm256_storeu_ps(acc + 8, a1);
    return fold16(acc);
}

UNIRL_AVX2 static float sum_avx2(const float *x, long n) {
    __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
    long j = 0;
    for (; j + 16 <= n; j += 16) {
        a0 = _mm256_add_ps(a0, _mm256_loadu_ps(x + j));
        a1 = _mm256_add_ps(a1, _mm256_loadu_ps(x + j + 8));
    }
    float total = fold16_avx2(a0, a1);
    for (; j < n; j++) total += x[j];
    return total;
}

UNIRL_AVX2 static float sum_squared_deviations_avx2(const float *x, long n, float mu) {
    __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps(), m = _mm256_set1_ps(mu);
    long j = 0;
    for (; j + 16 <= n; j += 16) {
        __m256 d0 = _mm256_sub_ps(_mm256_loadu_ps(x + j), m), d1 = _mm256_sub_ps(_mm256_loadu_ps(x + j + 8), m);
        a0 = _mm256_fmadd_ps(d0, d0, a0);
        a1 = _mm256_fmadd_ps(d1, d1, a1);
    }
    float total = fold16_avx2(a0, a1);
    for (; j < n; j++) { float d = x[j] - mu; total += d * d; }
    return total;
}

UNIRL_AVX2 static void normalize_avx2(const float *x, float *o, long n, float mu, float rstd, const float *w, const float *b) {
    __m256 m = _mm256_set1_ps(mu), r = _mm256_set1_ps(rstd);
    long j = 0;
    for (; j + 8 <= n; j += 8) {
        __m256 v = _mm256_mul_ps(_mm256_sub_ps(_mm256_loadu_ps(x + j), m), r);
        if (w) v = _mm256_mul_ps(v, _mm256_loadu_ps(w + j));
        if (b) v = _mm256_add_ps(v, _mm256_loadu_ps(b + j));
        _mm256_storeu_ps(o + j, v);
    }
    normalize_portable(x + j, o + j, n - j, mu, rstd, w ? w + j : NULL, b ? b + j : NULL);
}

UNIRL_AVX2 static void normalize_backward_avx2(const float *x, const float *g, float *dx, long n, float mu, float rstd,
                                               const float *w, int centered, float *dw, float *db) {
    if (n % 16 != 0) { normalize_backward_portable(x, g, dx, n, mu, rstd, w, centered, dw, db); return; }
    __m256 m = _mm256_set1_ps(mu), r = _mm256_set1_ps(rstd);
    __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps(), t0 = _mm256_setzero_ps(), t1 = _mm256_setzero_ps();
    for (long j = 0; j < n; j += 16) {
        __m256 g0 = _mm256_loadu_ps(g + j), g1 = _mm256_loadu_ps(g + j + 8);
        __m256 h0 = _mm256_mul_ps(_mm256_sub_ps(_mm256_loadu_ps(x + j), m), r);
        __m256 h1 = _mm256_mul_ps(_mm256_sub_ps(_mm256_loadu_ps(x + j + 8), m), r);
        __m256 d0 = w ? _mm256_mul_ps(g0, _mm256_loadu_ps(w + j)) : g0, d1 = w ? _mm256_mul_ps(g1, _mm256_loadu_ps(w + j + 8)) : g1;
        s0 = _mm256_add_ps(s0, d0); s1 = _mm256_add_ps(s1, d1);
        t0 = _mm256_fmadd_ps(d0, h0, t0); t1 = _mm256_fmadd_ps(d1, h1, t1);
        _mm256_storeu_ps(dw + j, _mm256_fmadd_ps(g0, h0, _mm256_loadu_ps(dw + j)));
        _mm256_storeu_ps(dw + j + 8, _mm256_fmadd_ps(g1, h1, _mm256_loadu_ps(dw + j + 8)));
        _mm256_storeu_ps(db + j, _mm256_add_ps(g0, _mm256_loadu_ps(db + j)));
        _mm256_storeu_ps(db + j + 8, _mm256_add_ps(g1, _mm256_loadu_ps(db + j + 8)));
    }
    __m256 mean_dy = _mm256_set1_ps(centered ? fold16_avx2(s0, s1) / (float)n : 0.0f);
    __m256 scaled = _mm256_set1_ps(fold16_avx2(t0, t1) / (float)n * rstd);
    for (long j = 0; j < n; j += 8) {
        __m256 gj = _mm256_loadu_ps(g + j);
        __m256 dy = w ? _mm256_mul_ps(gj, _mm256_loadu_ps(w + j)) : gj;
        __m256 v = _mm256_fnmadd_ps(_mm256_sub_ps(_mm256_loadu_ps(x + j), m), scaled, _mm256_sub_ps(dy, mean_dy));
        _mm256_storeu_ps(dx + j, _mm256_mul_ps(r, v));
    }
}

/// `depthwise_pixel_portable` with the channels in blocks of 32 held in registers across all taps.
UNIRL_AVX2 static void depthwise_pixel_avx2(const float *const *rows, const float *w, const float *bias, float *d, long width,
                                            long c, long k, long xc) {
    long pad = k / 2, wide = c - c % 32;
    long kx0 = pad - xc > 0 ? pad - xc : 0, kx1 = width - xc + pad < k ? width - xc + pad : k;
    for (long j = 0; j < wide; j += 32) {
        __m256 a0, a1, a2, a3;
        if (bias) {
            a0 = _mm256_loadu_ps(bias + j); a1 = _mm256_loadu_ps(bias + j + 8);
            a2 = _mm256_loadu_ps(bias + j + 16); a3 = _mm256_loadu_ps(bias + j + 24);
        } else {
            a0 = a1 = a2 = a3 = _mm256_setzero_ps();
        }
        for (long ky = 0; ky < k; ky++) {
            if (!rows[ky]) continue;
            for (long kx = kx0; kx < kx1; kx++) {
                const float *s = rows[ky] + (xc + kx - pad) * c + j, *t = w + (ky * k + kx) * c + j;
                a0 = _mm256_fmadd_ps(_mm256_loadu_ps(t), _mm256_loadu_ps(s), a0);
                a1 = _mm256_fmadd_ps(_mm256_loadu_ps(t + 8), _mm256_loadu_ps(s + 8), a1);
                a2 = _mm256_fmadd_ps(_mm256_loadu_ps(t + 16), _mm256_loadu_ps(s + 16), a2);
                a3 = _mm256_fmadd_ps(_mm256_loadu_ps(t + 24), _mm256_loadu_ps(s + 24), a3);
            }
        }
        _mm256_storeu_ps(d + j, a0); _mm256_storeu_ps(d + j + 8, a1);
        _mm256_storeu_ps(d + j + 16, a2); _mm256_storeu_ps(d + j + 24, a3);
    }
    if (wide < c) {
        for (long j = wide; j < c; j++) d[j] = bias ? bias[j] : 0.0f;
        for (long ky = 0; ky < k; ky++) {
            if (!rows[ky]) continue;
            for (long kx = kx0; kx < kx1; kx++)
                multiply_accumulate_avx2(d + wide, w + (ky * k + kx) * c + wide, rows[ky] + (xc + kx - pad) * c + wide, c - wide);
        }
    }
}
#endif

// MARK: dispatch

#ifdef UNIRL_HAVE_AVX2_PATH
#define DISPATCH(path, avx2_call, portable_call) do { if (use_avx2(path)) { avx2_call; } else { portable_call; } } while (0)
#else
#define DISPATCH(path, avx2_call, portable_call) do { (void)(path); portable_call; } while (0)
#endif

void unirl_silu(const float *x, float *y, long n, unirl_path path) {
    DISPATCH(path, silu_avx2(x, y, n), silu_portable(x, y, n));
}

void unirl_silu_backward(const float *x, const float *g, float *dx, long n, unirl_path path) {
    DISPATCH(path, silu_backward_avx2(x, g, dx, n), silu_backward_portable(x, g, dx, n));
}

void unirl_glu(const float *x, float *y, long rows, long h, unirl_path path) {
    for (long r = 0; r < rows; r++) {
        const float *a = x + r * 2 * h, *gate = a + h;
        float *o = y + r * h;
        // silu(gate) into the output row, then times a.
        unirl_silu(gate, o, h, path);
        for (long j = 0; j < h; j++) o[j] *= a[j];
    }
}

void unirl_glu_backward(const float *x, const float *g, float *dx, long rows, long h, unirl_path path) {
    for (long r = 0; r < rows; r++) {
        const float *a = x + r * 2 * h, *gate = a + h, *gr = g + r * h;
        float *da = dx + r * 2 * h, *dgate = da + h;
        unirl_silu(gate, da, h, path);                    // da = silu(gate) · g
        for (long j = 0; j < h; j++) da[j] *= gr[j];
        unirl_silu_backward(gate, gr, dgate, h, path);    // dgate = g · silu'(gate) · a
        for (long j = 0; j < h; j++) dgate[j] *= a[j];
    }
}

void unirl_multiply_accumulate(float *d, const float *a, const float *b, long n, unirl_path path) {
    DISPATCH(path, multiply_accumulate_avx2(d, a, b, n), multiply_accumulate_portable(d, a, b, n));
}

float unirl_sum(const float *x, long n, unirl_path path) {
    float r;
    DISPATCH(path, r = sum_avx2(x, n), r = sum_portable(x, n));
    return r;
}

float unirl_sum_squared_deviations(const float *x, long n, float mu, unirl_path path) {
    float r;
    DISPATCH(path, r = sum_squared_deviations_avx2(x, n, mu), r = sum_squared_deviations_portable(x, n, mu));
    return r;
}

void unirl_normalize(const float *x, float *o, long n, float mu, float rstd, const float *w, const float *b,
                     unirl_path path) {
    DISPATCH(path, normalize_avx2(x, o, n, mu, rstd, w, b), normalize_portable(x, o, n, mu, rstd, w, b));
}

void unirl_normalize_backward(const float *x, const float *g, float *dx, long n, float mu, float rstd, const float *w,
                              int centered, float *dw, float *db, unirl_path path) {
    DISPATCH(path, normalize_backward_avx2(x, g, dx, n, mu, rstd, w, centered, dw, db),
             normalize_backward_portable(x, g, dx, n, mu, rstd, w, centered, dw, db));
}

static void depthwise_pixel(const float *const *rows, const float *w, const float *bias, float *d, long width, long c,
                            long k, long xc, unirl_path path) {
    DISPATCH(path, depthwise_pixel_avx2(rows, w, bias, d, width, c, k, xc),
             depthwise_pixel_portable(rows, w, bias, d, width, c, k, xc));
}

void unirl_depthwise_conv_rows(const float *x, const float *w, const float *bias, float *out, long height, long width,
                               long c, long k, long row_begin, long row_end, unirl_path path) {
    long pad = k / 2;
    const float *rows[UNIRL_MAX_KERNEL];
    for (long row = row_begin; row < row_end; row++) {
        long y = row % height, image = row - y;
        for (long ky = 0; ky < k; ky++) {
            long iy = y + ky - pad;
            rows[ky] = iy >= 0 && iy < height ? x + (image + iy) * width * c : NULL;
        }
        for (long xc = 0; xc < width; xc++) depthwise_pixel(rows, w, bias, out + (row * width + xc) * c, width, c, k, xc, path);
    }
}

long unirl_silu_depthwise_glu_scratch(long width, long c, long k) { return (k * width + 1) * c; }

void unirl_silu_depthwise_glu_rows(const float *x, const float *w, const float *bias, float *out, float *scratch,
                                   long height, long width, long c, long k, long row_begin, long row_end, unirl_path path) {
    long pad = k / 2, h = c / 2;
    // A ring of k input rows after silu (slot iy % k holds input row `held[slot]`), then one pixel.
    long held[UNIRL_MAX_KERNEL];
    for (long i = 0; i < k; i++) held[i] = -1;
    float *pixel = scratch + k * width * c;
    const float *rows[UNIRL_MAX_KERNEL];
    for (long row = row_begin; row < row_end; row++) {
        long y = row % height, image = row - y;
        for (long ky = 0; ky < k; ky++) {
            long iy = y + ky - pad;
            if (iy < 0 || iy >= height) { rows[ky] = NULL; continue; }
            long slot = iy % k;
            float *ring = scratch + slot * width * c;
            if (held[slot] != image + iy) {
                unirl_silu(x + (image + iy) * width * c, ring, width * c, path);
                held[slot] = image + iy;
            }
            rows[ky] = ring;
        }
        for (long xc = 0; xc < width; xc++) {
            depthwise_pixel(rows, w, bias, pixel, width, c, k, xc, path);
            unirl_glu(pixel, out + (row * width + xc) * h, 1, h, path);
        }
    }
}
