// Vector kernels for the engine's hot elementwise loops. Each has a portable C version and, on
// x86-64 CPUs that report AVX2 and FMA at run time, an AVX2 version selected per call: no
// compiler flag is involved, so a package that depends on UniRL gets the same code.
#ifndef UNIRL_KERNELS_H
#define UNIRL_KERNELS_H

/// Which implementation a kernel runs.
typedef enum {
    /// The fastest one this CPU supports.
    UNIRL_PATH_AUTO = 0,
    /// The portable C loop (for comparing the two in tests).
    UNIRL_PATH_PORTABLE = 1
} unirl_path;

/// 1 when the AVX2 + FMA kernels run on this CPU under UNIRL_PATH_AUTO.
int unirl_kernels_vectorized(void);

/// y = x · sigmoid(x), with sigmoid(x) = 1 / (1 + e⁻ˣ) and eˣ from Cephes' expf polynomial.
void unirl_silu(const float *x, float *y, long n, unirl_path path);

/// dx = g · s · (1 + x · (1 − s)), s = sigmoid(x): the derivative of silu times g.
void unirl_silu_backward(const float *x, const float *g, float *dx, long n, unirl_path path);

/// Gated linear unit of `rows` rows [a | gate] of 2h values: y = a · silu(gate), rows of h.
void unirl_glu(const float *x, float *y, long rows, long h, unirl_path path);

/// Its derivative: da = g · silu(gate), dgate = g · a · s · (1 + gate · (1 − s)).
void unirl_glu_backward(const float *x, const float *g, float *dx, long rows, long h, unirl_path path);

/// d[j] += a[j] · b[j] for j < n.
void unirl_multiply_accumulate(float *d, const float *a, const float *b, long n, unirl_path path);

/// Σ x[j], in 16 interleaved partial sums added in a fixed order.
float unirl_sum(const float *x, long n, unirl_path path);

/// Σ (x[j] − mu)², in 16 interleaved partial sums added in a fixed order.
float unirl_sum_squared_deviations(const float *x, long n, float mu, unirl_path path);

/// o[j] = (x[j] − mu) · rstd · w[j] + b[j]; a null `w` means 1, a null `b` means 0.
void unirl_normalize(const float *x, float *o, long n, float mu, float rstd, const float *w, const float *b,
                     unirl_path path);

/// The backward pass of `unirl_normalize` on one row, x̂ = (x − mu) · rstd, dy = g · w:
/// dx = rstd · (dy − mean(dy) − x̂ · mean(dy · x̂)) (mean(dy) taken as 0 unless `centered`), and
/// dw[j] += g[j] · x̂[j], db[j] += g[j]. Null `w` means 1.
void unirl_normalize_backward(const float *x, const float *g, float *dx, long n, float mu, float rstd, const float *w,
                              int centered, float *dw, float *db, unirl_path path);

/// The largest depthwise kernel size the convolution kernels take.
#define UNIRL_MAX_KERNEL 15

/// Rows [row_begin, row_end) of a k×k depthwise cross-correlation (stride 1, zero padding k/2) of
/// channels-last x [rows = batch·height, width, c] with taps-first weights w [k·k, c] and an optional
/// bias [c] (null: none), written to out with the same layout as x.
void unirl_depthwise_conv_rows(const float *x, const float *w, const float *bias, float *out,
                               long height, long width, long c, long k, long row_begin, long row_end,
                               unirl_path path);

/// Floats of scratch `unirl_silu_depthwise_glu_rows` needs per call.
long unirl_silu_depthwise_glu_scratch(long width, long c, long k);

/// The Mix-FFN middle without intermediates, for inference: glu(depthwise(silu(x))) on rows
/// [row_begin, row_end) of channels-last x [rows, width, c] (c even), written to out [rows, width, c/2].
/// Silu'd input rows live in a ring of k rows in `scratch` (`unirl_silu_depthwise_glu_scratch` floats,
/// one per concurrent caller), so x is read once and no c-wide intermediate reaches memory.
void unirl_silu_depthwise_glu_rows(const float *x, const float *w, const float *bias, float *out, float *scratch,
                                   long height, long width, long c, long k, long row_begin, long row_end,
                                   unirl_path path);

#endif
