/* Tests of simdnorm's C ABI: every function on real data against a double-precision
 * reference recomputed here (with the crate's numerics bound), strides with untouched
 * padding, in place, statistics, threads, ISA selection, and every error code.
 * Run by scripts/test-capi.sh, under valgrind memcheck. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "simdnorm.h"

static int failures = 0, checks = 0;
#define CHECK(cond, ...) do { checks++; if (!(cond)) { failures++; fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__); fprintf(stderr, __VA_ARGS__); fprintf(stderr, "\n"); } } while (0)

static uint64_t rng_state = 12345;
static uint64_t rnd(void) {
    rng_state += 0x9E3779B97F4A7C15ull;
    uint64_t z = rng_state;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* 16-bit formats. */
static double f16_to_double(uint16_t h) {
    int e = (h >> 10) & 0x1f, m = h & 0x3ff;
    double s = (h & 0x8000) ? -1.0 : 1.0;
    if (e == 0) return s * ldexp(m, -24);
    if (e == 31) return m ? NAN : s * INFINITY;
    return s * ldexp(1024 + m, e - 25);
}
static double bf16_to_double(uint16_t b) {
    uint32_t u = (uint32_t)b << 16; float f; memcpy(&f, &u, 4); return f;
}
static uint16_t bf16_from_float(float f) { /* exact for values we build from bf16 */
    uint32_t u; memcpy(&u, &f, 4); return (uint16_t)(u >> 16);
}

static size_t esize(uint32_t dt) { return dt == SIMDNORM_F32 ? 4 : 2; }
static double get(uint32_t dt, const void *p, size_t i) {
    if (dt == SIMDNORM_F32) return ((const float *)p)[i];
    uint16_t h = ((const uint16_t *)p)[i];
    return dt == SIMDNORM_F16 ? f16_to_double(h) : bf16_to_double(h);
}
/* A random value representable in every format: a few significant bits, moderate exponent. */
static double rand_val(double scale) {
    double v = ((double)(rnd() % 255) - 127.0) / 32.0;
    return v * scale;
}
static void put(uint32_t dt, void *p, size_t i, double v) {
    float f = (float)v;
    if (dt == SIMDNORM_F32) { ((float *)p)[i] = f; return; }
    if (dt == SIMDNORM_BF16) { ((uint16_t *)p)[i] = bf16_from_float(f); return; }
    /* f16: v = k/32 * 2^j with |k| < 128, 2^j in [1/4, 4]: a normal f16, encode exactly. */
    uint16_t sign = f < 0 ? 0x8000 : 0; double a = fabs(v);
    if (a == 0) { ((uint16_t *)p)[i] = sign; return; }
    int e; double fr = frexp(a, &e); /* a = fr * 2^e, fr in [0.5,1) */
    uint16_t mant = (uint16_t)((fr * 2 - 1) * 1024 + 0.5);
    ((uint16_t *)p)[i] = sign | (uint16_t)((e - 1 + 15) << 10) | mant;
}
static double ulp_of(uint32_t dt, double v) {
    int mant = dt == SIMDNORM_F16 ? 10 : 7, emin = dt == SIMDNORM_F16 ? -14 : -126;
    int e = v == 0 ? emin : (int)floor(log2(fabs(v)));
    if (e < emin) e = emin;
    return ldexp(1.0, e - mant);
}

/* Reference for one row; returns max error / bound ratio (> 1 is a failure). */
static double check_row(int layer, uint32_t dt, const void *x, size_t xo, const void *y, size_t yo,
                        size_t width, uint32_t wdt, const void *g, const void *b, float eps,
                        double *mean_out, double *rstd_out) {
    double k = get(dt, x, xo), s = 0, q = 0, mean = 0;
    for (size_t i = 0; i < width; i++) s += get(dt, x, xo + i) - k;
    if (layer) mean = k + s / width;
    for (size_t i = 0; i < width; i++) { double d = get(dt, x, xo + i) - mean; q += d * d; }
    double rstd = 1.0 / sqrt(q / width + eps), M = 0, worst = 0;
    for (size_t i = 0; i < width; i++) { double h = fabs((get(dt, x, xo + i) - mean) * rstd); if (h > M) M = h; }
    for (size_t i = 0; i < width; i++) {
        double h = (get(dt, x, xo + i) - mean) * rstd;
        double gi = g ? get(wdt, g, i) : 1.0, bi = b ? get(wdt, b, i) : 0.0;
        double want = h * gi + bi, got = get(dt, y, yo + i);
        double bound = 8.0 / 16777216.0 * (fabs(gi) * (fabs(h) + M) + fabs(bi)) + ldexp(1, -147);
        if (dt != SIMDNORM_F32) bound += ulp_of(dt, want);
        double r = fabs(got - want) / bound;
        if (!(r <= worst)) worst = r; /* NaN propagates */
    }
    *mean_out = mean; *rstd_out = rstd;
    return worst;
}

static void test_kernels(void) {
    const uint32_t dts[3] = {SIMDNORM_F32, SIMDNORM_F16, SIMDNORM_BF16};
    const size_t rows = 5, width = 77, xs = 80, ys = 90;
    for (int layer = 0; layer < 2; layer++)
    for (int d = 0; d < 3; d++)
    for (int wsame = 0; wsame < 2; wsame++) {
        uint32_t dt = dts[d], wdt = wsame ? dt : SIMDNORM_F32;
        size_t es = esize(dt), ws = esize(wdt);
        unsigned char *x = malloc(((rows - 1) * xs + width) * es);
        unsigned char *y = malloc(((rows - 1) * ys + width) * es);
        unsigned char *z = malloc(((rows - 1) * xs + width) * es);
        void *g = malloc(width * ws), *b = malloc(width * ws);
        float mean[5], rstd[5];
        memset(x, 0x5a, ((rows - 1) * xs + width) * es);
        memset(y, 0xa5, ((rows - 1) * ys + width) * es);
        for (size_t r = 0; r < rows; r++)
            for (size_t i = 0; i < width; i++) put(dt, x, r * xs + i, rand_val(r == 2 ? 1.0 : 0.25) + (r == 3 ? 3.0 : 0.0));
        for (size_t i = 0; i < width; i++) { put(wdt, g, i, rand_val(0.5)); put(wdt, b, i, rand_val(0.25)); }
        SimdnormStatus st = layer
            ? simdnorm_layer_norm(dt, x, xs, y, ys, rows, width, wdt, g, b, 1e-5f, mean, rstd)
            : simdnorm_rms_norm(dt, x, xs, y, ys, rows, width, wdt, g, 1e-6f, rstd);
        CHECK(st == SIMDNORM_STATUS_OK, "status %d (%s)", st, simdnorm_status_message(st));
        for (size_t r = 0; r < rows; r++) {
            double m, rs;
            double worst = check_row(layer, dt, x, r * xs, y, r * ys, width, wdt, g, layer ? b : NULL,
                                     layer ? 1e-5f : 1e-6f, &m, &rs);
            CHECK(worst <= 1.0, "layer=%d dtype=%u weight=%u row %zu: error %.3g x bound", layer, dt, wdt, r, worst);
            CHECK(fabs(rstd[r] - rs) <= 8.0 / 16777216.0 * rs, "rstd row %zu: %g vs %g", r, rstd[r], rs);
            if (layer) CHECK(fabs(mean[r] - m) <= 1e-5 * (fabs(m) + 1.0 / rs), "mean row %zu: %g vs %g", r, mean[r], m);
            if (r + 1 < rows)
                for (size_t i = width * es; i < ys * es; i++) CHECK(y[r * ys * es + i] == 0xa5, "padding after row %zu written", r);
        }
        /* In place (y == x, same stride) gives the same bits as out of place. */
        memcpy(z, x, ((rows - 1) * xs + width) * es);
        st = layer ? simdnorm_layer_norm(dt, z, xs, z, xs, rows, width, wdt, g, b, 1e-5f, NULL, NULL)
                   : simdnorm_rms_norm(dt, z, xs, z, xs, rows, width, wdt, g, 1e-6f, NULL);
        CHECK(st == SIMDNORM_STATUS_OK, "in place status %d", st);
        for (size_t r = 0; r < rows; r++)
            CHECK(memcmp(z + r * xs * es, y + r * ys * es, width * es) == 0, "in place row %zu differs", r);
        CHECK(memcmp(z + width * es, x + width * es, (xs - width) * es) == 0, "in place wrote padding");
        free(x); free(y); free(z); free(g); free(b);
    }
}

static void test_threads_and_isa(void) {
    const size_t rows = 300, width = 96;
    float *x = malloc(rows * width * 4), *y1 = malloc(rows * width * 4), *y2 = malloc(rows * width * 4);
    for (size_t i = 0; i < rows * width; i++) x[i] = (float)rand_val(1.0);
    CHECK(simdnorm_threads() == 0, "default threads");
    simdnorm_set_threads(1);
    CHECK(simdnorm_threads() == 1, "threads 1");
    CHECK(simdnorm_layer_norm(SIMDNORM_F32, x, width, y1, width, rows, width, SIMDNORM_F32, NULL, NULL, 1e-5f, NULL, NULL) == 0, "1 thread");
    simdnorm_set_threads(3);
    CHECK(simdnorm_layer_norm(SIMDNORM_F32, x, width, y2, width, rows, width, SIMDNORM_F32, NULL, NULL, 1e-5f, NULL, NULL) == 0, "3 threads");
    CHECK(memcmp(y1, y2, rows * width * 4) == 0, "threaded result differs from single-threaded");
    simdnorm_set_threads(0);
    const char *name = simdnorm_isa_name();
    CHECK(!strcmp(name, "scalar") || !strcmp(name, "avx2") || !strcmp(name, "avx512") || !strcmp(name, "neon"), "isa name %s", name);
    uint32_t isa = simdnorm_isa();
    CHECK(simdnorm_force_isa(SIMDNORM_ISA_SCALAR) == SIMDNORM_STATUS_OK, "force scalar");
    CHECK(simdnorm_isa() == SIMDNORM_ISA_SCALAR && !strcmp(simdnorm_isa_name(), "scalar"), "scalar in use");
    CHECK(simdnorm_layer_norm(SIMDNORM_F32, x, width, y2, width, rows, width, SIMDNORM_F32, NULL, NULL, 1e-5f, NULL, NULL) == 0, "scalar run");
    for (size_t r = 0; r < rows; r++) {
        double m, rs;
        CHECK(check_row(1, SIMDNORM_F32, x, r * width, y2, r * width, width, SIMDNORM_F32, NULL, NULL, 1e-5f, &m, &rs) <= 1.0, "scalar row %zu", r);
    }
#if defined(__x86_64__)
    CHECK(simdnorm_force_isa(SIMDNORM_ISA_NEON) == SIMDNORM_STATUS_ISA_UNAVAILABLE, "neon on x86");
#else
    CHECK(simdnorm_force_isa(SIMDNORM_ISA_AVX2) == SIMDNORM_STATUS_ISA_UNAVAILABLE, "avx2 on arm");
#endif
    CHECK(simdnorm_force_isa(99) == SIMDNORM_STATUS_BAD_ISA, "bad isa");
    CHECK(simdnorm_force_isa(isa) == SIMDNORM_STATUS_OK, "restore isa");
    free(x); free(y1); free(y2);
}

static void test_errors(void) {
    float buf[64], out[64], g[8], stats[8];
    for (int i = 0; i < 64; i++) { buf[i] = (float)i; out[i] = -9.0f; }
    for (int i = 0; i < 8; i++) g[i] = 1.0f;
    SimdnormStatus st;
#define EXPECT(call, code) do { st = (call); CHECK(st == (code), "%s: got %d want %d", #call, st, code); } while (0)
    EXPECT(simdnorm_rms_norm(SIMDNORM_F32, NULL, 8, out, 8, 2, 8, SIMDNORM_F32, g, 1e-6f, NULL), SIMDNORM_STATUS_NULL_POINTER);
    EXPECT(simdnorm_layer_norm(SIMDNORM_F32, buf, 8, NULL, 8, 2, 8, SIMDNORM_F32, g, g, 1e-6f, NULL, NULL), SIMDNORM_STATUS_NULL_POINTER);
    EXPECT(simdnorm_rms_norm(SIMDNORM_F32, buf, 8, out, 8, 2, 0, SIMDNORM_F32, g, 1e-6f, NULL), SIMDNORM_STATUS_ZERO_WIDTH);
    EXPECT(simdnorm_rms_norm(SIMDNORM_F32, buf, 4, out, 8, 2, 8, SIMDNORM_F32, g, 1e-6f, NULL), SIMDNORM_STATUS_STRIDE_TOO_SMALL);
    EXPECT(simdnorm_rms_norm(SIMDNORM_F32, buf, 8, out, 7, 2, 8, SIMDNORM_F32, g, 1e-6f, NULL), SIMDNORM_STATUS_STRIDE_TOO_SMALL);
    EXPECT(simdnorm_rms_norm(SIMDNORM_F32, buf, SIZE_MAX / 2, out, 8, 4, 8, SIMDNORM_F32, g, 1e-6f, NULL), SIMDNORM_STATUS_SIZE_OVERFLOW);
    EXPECT(simdnorm_rms_norm(SIMDNORM_F32, buf, SIZE_MAX / 8, out, 8, 2, 8, SIMDNORM_F32, g, 1e-6f, NULL), SIMDNORM_STATUS_SIZE_OVERFLOW);
    EXPECT(simdnorm_rms_norm(SIMDNORM_F32, buf, 8, out, 8, 2, 8, SIMDNORM_F32, g, -1.0f, NULL), SIMDNORM_STATUS_BAD_EPSILON);
    EXPECT(simdnorm_layer_norm(SIMDNORM_F32, buf, 8, out, 8, 2, 8, SIMDNORM_F32, g, g, NAN, NULL, NULL), SIMDNORM_STATUS_BAD_EPSILON);
    EXPECT(simdnorm_rms_norm(SIMDNORM_F32, buf, 8, out, 8, 2, 8, SIMDNORM_F32, g, INFINITY, NULL), SIMDNORM_STATUS_BAD_EPSILON);
    EXPECT(simdnorm_rms_norm(SIMDNORM_F32, buf, 8, buf + 1, 8, 2, 8, SIMDNORM_F32, g, 1e-6f, NULL), SIMDNORM_STATUS_OVERLAP);
    EXPECT(simdnorm_rms_norm(SIMDNORM_F32, buf, 8, buf, 9, 2, 8, SIMDNORM_F32, g, 1e-6f, NULL), SIMDNORM_STATUS_OVERLAP);
    EXPECT(simdnorm_rms_norm(SIMDNORM_F32, buf, 8, out, 8, 2, 8, SIMDNORM_F32, out + 4, 1e-6f, NULL), SIMDNORM_STATUS_OVERLAP);
    EXPECT(simdnorm_rms_norm(SIMDNORM_F32, buf, 8, out, 8, 2, 8, SIMDNORM_F32, g, 1e-6f, out + 8), SIMDNORM_STATUS_OVERLAP);
    EXPECT(simdnorm_layer_norm(SIMDNORM_F32, buf, 8, out, 8, 2, 8, SIMDNORM_F32, g, g, 1e-6f, stats, stats + 1), SIMDNORM_STATUS_OVERLAP);
    EXPECT(simdnorm_rms_norm(SIMDNORM_F32, (char *)buf + 1, 8, out, 8, 2, 8, SIMDNORM_F32, g, 1e-6f, NULL), SIMDNORM_STATUS_MISALIGNED);
    EXPECT(simdnorm_rms_norm(SIMDNORM_F16, (char *)buf + 1, 8, out, 8, 2, 8, SIMDNORM_F32, g, 1e-6f, NULL), SIMDNORM_STATUS_MISALIGNED);
    EXPECT(simdnorm_rms_norm(SIMDNORM_F32, buf, 8, out, 8, 2, 8, SIMDNORM_F32, g, 1e-6f, (float *)((char *)stats + 2)), SIMDNORM_STATUS_MISALIGNED);
    EXPECT(simdnorm_rms_norm(7, buf, 8, out, 8, 2, 8, SIMDNORM_F32, g, 1e-6f, NULL), SIMDNORM_STATUS_BAD_DTYPE);
    EXPECT(simdnorm_layer_norm(SIMDNORM_F32, buf, 8, out, 8, 2, 8, 3, g, NULL, 1e-6f, NULL, NULL), SIMDNORM_STATUS_BAD_DTYPE);
    for (int i = 0; i < 64; i++) CHECK(out[i] == -9.0f, "a refused call wrote out[%d]", i);
    /* Zero rows is fine and touches nothing; a bad weight type is ignored without weights. */
    EXPECT(simdnorm_rms_norm(SIMDNORM_F32, buf, 8, out, 8, 0, 8, SIMDNORM_F32, g, 1e-6f, NULL), SIMDNORM_STATUS_OK);
    EXPECT(simdnorm_rms_norm(SIMDNORM_BF16, buf, 8, out, 8, 2, 8, 12345, NULL, 1e-6f, NULL), SIMDNORM_STATUS_OK);
    /* Every code has its own message; an unknown one says so. */
    for (int c = 0; c <= SIMDNORM_STATUS_BAD_KIND; c++) {
        const char *m = simdnorm_status_message(c);
        CHECK(m && strlen(m) > 0, "message %d", c);
        for (int d = 0; d < c; d++) CHECK(strcmp(m, simdnorm_status_message(d)) != 0, "messages %d and %d equal", c, d);
    }
    CHECK(!strcmp(simdnorm_status_message(-1), "unknown status code"), "unknown code");
    CHECK(!strcmp(simdnorm_status_message(1000), "unknown status code"), "unknown code");
}

/* NaN in a row makes that row NaN and leaves the others alone. */
static void test_nan_rule(void) {
    float x[24], y[24];
    for (int i = 0; i < 24; i++) x[i] = (float)(i % 5);
    x[9] = NAN;
    CHECK(simdnorm_rms_norm(SIMDNORM_F32, x, 8, y, 8, 3, 8, SIMDNORM_F32, NULL, 1e-6f, NULL) == 0, "nan call");
    for (int i = 8; i < 16; i++) CHECK(isnan(y[i]), "row 1 elem %d not NaN", i);
    for (int i = 0; i < 8; i++) CHECK(!isnan(y[i]) && !isnan(y[16 + i]), "other rows NaN at %d", i);
}

/* The fused residual forms, against the same double-precision check on the documented sums. */
static void test_fused(void) {
    enum { rows = 3, width = 45 };
    float h[rows * width], h0[rows * width], d[rows * width], x[rows * width], y[rows * width], z[rows * width];
    float g[width], b[width], mean[rows], rstd[rows];
    uint16_t yb[rows * width];
    for (int i = 0; i < rows * width; i++) { h0[i] = h[i] = (float)rand_val(1.0); d[i] = (float)rand_val(0.5); x[i] = (float)rand_val(2.0); }
    for (int i = 0; i < width; i++) { g[i] = (float)rand_val(0.5); b[i] = (float)rand_val(0.25); }
    /* Pre-LN: f32 stream, bf16 output, LayerNorm. */
    SimdnormStatus st = simdnorm_residual_norm(SIMDNORM_LAYER, SIMDNORM_F32, h, d, SIMDNORM_BF16, yb, rows, width,
                                               SIMDNORM_F32, g, b, 1e-5f, mean, rstd);
    CHECK(st == SIMDNORM_STATUS_OK, "residual_norm status %d", st);
    for (int i = 0; i < rows * width; i++) CHECK(h[i] == h0[i] + d[i], "h += d at %d", i);
    for (int r = 0; r < rows; r++) {
        /* y (bf16) against the reference of the stored h, with the bf16 bound. */
        float yf[width];
        for (int i = 0; i < width; i++) yf[i] = (float)bf16_to_double(yb[r * width + i]);
        double worst = 0, k = 0, mu = 0, q = 0;
        for (int i = 0; i < width; i++) k += h[r * width + i];
        mu = k / width;
        for (int i = 0; i < width; i++) { double dd = h[r * width + i] - mu; q += dd * dd; }
        double rsd = 1.0 / sqrt(q / width + 1e-5), M = 0;
        for (int i = 0; i < width; i++) { double hh = fabs((h[r * width + i] - mu) * rsd); if (hh > M) M = hh; }
        for (int i = 0; i < width; i++) {
            double hh = (h[r * width + i] - mu) * rsd, want = hh * g[i] + b[i];
            double bound = 8.0 / 16777216.0 * (fabs(g[i]) * (fabs(hh) + M) + fabs(b[i])) + ulp_of(SIMDNORM_BF16, want);
            double e = fabs(yf[i] - want) / bound;
            if (!(e <= worst)) worst = e;
        }
        CHECK(worst <= 1.0, "pre-LN row %d: %.3g x bound", r, worst);
        CHECK(fabs(mean[r] - mu) <= 1e-5 * (fabs(mu) + 1 / rsd), "pre-LN mean row %d", r);
    }
    /* Post-LN / DeepNorm: y = norm(alpha x + d), RMSNorm, and in place. */
    float alpha = 2.5f, s[rows * width];
    for (int i = 0; i < rows * width; i++) s[i] = alpha * x[i] + d[i];
    st = simdnorm_add_norm(SIMDNORM_RMS, SIMDNORM_F32, x, d, alpha, SIMDNORM_F32, y, rows, width, SIMDNORM_F32, g, NULL, 1e-6f, NULL, rstd);
    CHECK(st == SIMDNORM_STATUS_OK, "add_norm status %d", st);
    for (int r = 0; r < rows; r++) {
        double m, rs;
        CHECK(check_row(0, SIMDNORM_F32, s, r * width, y, r * width, width, SIMDNORM_F32, g, NULL, 1e-6f, &m, &rs) <= 1.0, "add_norm row %d", r);
    }
    memcpy(z, x, sizeof z);
    st = simdnorm_add_norm(SIMDNORM_RMS, SIMDNORM_F32, z, d, alpha, SIMDNORM_F32, z, rows, width, SIMDNORM_F32, g, NULL, 1e-6f, NULL, NULL);
    CHECK(st == SIMDNORM_STATUS_OK && memcmp(z, y, sizeof z) == 0, "add_norm in place differs");
    /* Errors. */
    float keep[rows * width];
    memcpy(keep, y, sizeof y);
#define EXPECTF(call, code) do { SimdnormStatus s_ = (call); CHECK(s_ == (code), "%s: got %d want %d", #call, s_, code); } while (0)
    EXPECTF(simdnorm_add_norm(7, SIMDNORM_F32, x, d, 1.0f, SIMDNORM_F32, y, rows, width, SIMDNORM_F32, g, NULL, 1e-6f, NULL, NULL), SIMDNORM_STATUS_BAD_KIND);
    EXPECTF(simdnorm_add_norm(SIMDNORM_RMS, SIMDNORM_F32, x, d, 1.0f, SIMDNORM_F32, y, rows, width, SIMDNORM_F32, g, b, 1e-6f, NULL, NULL), SIMDNORM_STATUS_UNSUPPORTED);
    EXPECTF(simdnorm_add_norm(SIMDNORM_LAYER, SIMDNORM_F32, x, d, NAN, SIMDNORM_F32, y, rows, width, SIMDNORM_F32, g, b, 1e-6f, NULL, NULL), SIMDNORM_STATUS_BAD_ALPHA);
    EXPECTF(simdnorm_add_norm(SIMDNORM_LAYER, SIMDNORM_F32, x, NULL, 1.0f, SIMDNORM_F32, y, rows, width, SIMDNORM_F32, g, b, 1e-6f, NULL, NULL), SIMDNORM_STATUS_NULL_POINTER);
    EXPECTF(simdnorm_residual_norm(SIMDNORM_LAYER, SIMDNORM_F32, h, d, SIMDNORM_F32, h + 1, rows, width, SIMDNORM_F32, g, b, 1e-6f, NULL, NULL), SIMDNORM_STATUS_OVERLAP);
    EXPECTF(simdnorm_residual_norm(SIMDNORM_LAYER, SIMDNORM_F32, h, d, SIMDNORM_F32, h, rows, width, SIMDNORM_F32, g, b, 1e-6f, NULL, NULL), SIMDNORM_STATUS_OVERLAP);
    EXPECTF(simdnorm_residual_norm(SIMDNORM_LAYER, SIMDNORM_F32, h, d, SIMDNORM_F32, y, rows, width, SIMDNORM_BF16, g, b, 1e-6f, NULL, NULL), SIMDNORM_STATUS_BAD_DTYPE);
    EXPECTF(simdnorm_residual_norm(SIMDNORM_LAYER, SIMDNORM_F32, h, d, SIMDNORM_F32, y, rows, 0, SIMDNORM_F32, g, b, 1e-6f, NULL, NULL), SIMDNORM_STATUS_ZERO_WIDTH);
    EXPECTF(simdnorm_residual_norm(SIMDNORM_LAYER, SIMDNORM_F32, h, d, SIMDNORM_F32, y, rows, width, SIMDNORM_F32, g, b, -1.0f, NULL, NULL), SIMDNORM_STATUS_BAD_EPSILON);
    CHECK(memcmp(keep, y, sizeof y) == 0, "a refused fused call wrote y");
}

int main(void) {
    printf("simdnorm C ABI test on %s\n", simdnorm_isa_name());
    test_kernels();
    test_threads_and_isa();
    test_errors();
    test_nan_rule();
    test_fused();
    printf("%d passed, %d failed\n", checks - failures, failures);
    return failures ? 1 : 0;
}
