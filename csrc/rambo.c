/*
 * RAMBO phase-space generator, structure-of-arrays implementation.
 * See rambo.h for conventions.  Written for mcdh from the algorithm of
 * Kleiss, Stirling and Ellis, Comput. Phys. Commun. 40 (1986) 359.
 *
 * Events are processed in blocks of RAMBO_BLOCK; every inner loop runs over
 * the events of a block with unit stride so that the compiler vectorises it.
 * The elementary functions (log, sin and cos of 2 pi u) are evaluated with
 * branch-free polynomial code for the same reason: library calls would stop
 * vectorisation.  Their accuracy (about 1 ulp) is tested from Python.
 */
#include "rambo.h"

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Compile the hot kernel twice on x86-64 Linux (AVX2+FMA and baseline) and
 * pick at load time; elsewhere use the baseline build only. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && \
    defined(__linux__)
#define RAMBO_CLONES __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define RAMBO_CLONES
#endif

#define RAMBO_MAX_NEWTON 100
/* largest conformal boost gamma accepted by rambo_generate (see there) */
#define RAMBO_GAMMA_MAX 20.0

static const double PI = 3.14159265358979323846;
static const double LN2_HI = 6.93147180369123816490e-01; /* exact in 32 bits */
static const double LN2_LO = 1.90821492927058770002e-10;

/* ------------------------------------------------------------------------ */
/* elementary functions                                                      */

/* log(x) for positive normal x: x = 2^e m with m in [sqrt(1/2), sqrt(2)),
 * log m = 2 atanh(z), z = (m - 1)/(m + 1), |z| < 0.1716, series to z^23. */
static inline double poly_log(double x) {
    uint64_t bits;
    memcpy(&bits, &x, sizeof bits);
    uint64_t mbits = (bits & UINT64_C(0x000fffffffffffff)) |
                     UINT64_C(0x3ff0000000000000);
    /* m in [1, 2); halve it (exponent bits - 1) when above sqrt(2).  Integer
     * compare and arithmetic only, so that the loop stays branch-free. */
    const uint64_t big = (uint64_t)(mbits > UINT64_C(0x3ff6a09e667f3bcd));
    mbits -= big << 52;
    /* exponent as a double without an int64 -> double conversion (no vector
     * instruction before AVX-512): put the biased exponent into the mantissa
     * of 2^52 and subtract 2^52 + bias. */
    uint64_t ebits = ((bits >> 52) + big) | UINT64_C(0x4330000000000000);
    double e, m;
    memcpy(&e, &ebits, sizeof e);
    memcpy(&m, &mbits, sizeof m);
    e -= 4503599627370496.0 + 1023.0;
    const double z = (m - 1.0) / (m + 1.0);
    const double z2 = z * z;
    double s = 1.0 / 23.0;
    s = s * z2 + 1.0 / 21.0;
    s = s * z2 + 1.0 / 19.0;
    s = s * z2 + 1.0 / 17.0;
    s = s * z2 + 1.0 / 15.0;
    s = s * z2 + 1.0 / 13.0;
    s = s * z2 + 1.0 / 11.0;
    s = s * z2 + 1.0 / 9.0;
    s = s * z2 + 1.0 / 7.0;
    s = s * z2 + 1.0 / 5.0;
    s = s * z2 + 1.0 / 3.0;
    const double t = 2.0 * z;
    /* log m = t + t z2 s; keep the leading term separate for accuracy */
    return e * LN2_HI + (t + (t * z2 * s + e * LN2_LO));
}

/* cos and sin of 2 pi u for u in [0, 1): reduce to x in [-pi/4, pi/4]
 * around the nearest multiple k of pi/2, Taylor series to x^17 / x^18. */
static inline void poly_sincos_2pi(double u, double *cp, double *sp) {
    double w = 4.0 * u;
    /* nearest integer by truncation (w + 0.5 > 0): vectorises without SSE4.1 */
    const double k = (double)(int32_t)(w + 0.5);
    double x = (w - k) * (0.5 * PI);
    double x2 = x * x;
    double s = -1.0 / 355687428096000.0;        /* -1/17! */
    s = s * x2 + 1.0 / 1307674368000.0;          /*  1/15! */
    s = s * x2 - 1.0 / 6227020800.0;             /* -1/13! */
    s = s * x2 + 1.0 / 39916800.0;               /*  1/11! */
    s = s * x2 - 1.0 / 362880.0;                 /* -1/9!  */
    s = s * x2 + 1.0 / 5040.0;                   /*  1/7!  */
    s = s * x2 - 1.0 / 120.0;                    /* -1/5!  */
    s = s * x2 + 1.0 / 6.0;                      /*  1/3!  */
    double sn = x - x * x2 * s;
    double c = 1.0 / 6402373705728000.0;         /*  1/18! */
    c = c * x2 - 1.0 / 20922789888000.0;         /* -1/16! */
    c = c * x2 + 1.0 / 87178291200.0;            /*  1/14! */
    c = c * x2 - 1.0 / 479001600.0;              /* -1/12! */
    c = c * x2 + 1.0 / 3628800.0;                /*  1/10! */
    c = c * x2 - 1.0 / 40320.0;                  /* -1/8!  */
    c = c * x2 + 1.0 / 720.0;                    /*  1/6!  */
    c = c * x2 - 1.0 / 24.0;                     /* -1/4!  */
    c = c * x2 + 0.5;                            /*  1/2!  */
    double cs = 1.0 - x2 * c;
    /* rotate by k quarter turns: with j = k mod 4 taken in {-1, 0, 1, 2},
     * cos(j pi/2) = 1 - |j| and sin(j pi/2) = j (2 - |j|), both exact */
    const double j = k - 4.0 * (double)(int32_t)(0.25 * (k + 1.0));
    const double aj = fabs(j);
    const double ck = 1.0 - aj, sk = j * (2.0 - aj);
    *cp = ck * cs - sk * sn;
    *sp = sk * cs + ck * sn;
}

double rambo_log(double x) { return poly_log(x); }

void rambo_sincos_2pi(double u, double *c, double *s) {
    poly_sincos_2pi(u, c, s);
}

/* ------------------------------------------------------------------------ */

size_t rambo_uniforms_per_event(int n) { return (size_t)4 * (size_t)n; }

double rambo_massless_volume(int n, double sqrt_s) {
    if (n < 2) return 0.0;
    double s = sqrt_s * sqrt_s;
    double v = 1.0;
    for (int i = 0; i < n - 1; ++i) v *= 0.5 * PI;
    for (int i = 0; i < n - 2; ++i) v *= s;
    for (int i = 2; i <= n - 1; ++i) v /= (double)i;
    for (int i = 2; i <= n - 2; ++i) v /= (double)i;
    if (!isfinite(v) || v == 0.0) {
        /* many particles: the products above overflow (or underflow) although the volume itself may be a
           double; the same formula in log space (normal cases keep the exact products above) */
        v = exp((n - 1) * log(0.5 * PI) + (n - 2) * log(s) - lgamma((double)n) - lgamma((double)(n - 1)));
    }
    return v;
}

static int check_input(int n, const double *masses, double sqrt_s) {
    if (n < 2) return RAMBO_E_N;
    if (!(sqrt_s > 0.0) || !isfinite(sqrt_s)) return RAMBO_E_ENERGY;
    double msum = 0.0;
    for (int i = 0; i < n; ++i) {
        if (!(masses[i] >= 0.0) || !isfinite(masses[i])) return RAMBO_E_MASS;
        msum += masses[i];
    }
    if (!(msum < sqrt_s)) return RAMBO_E_THRESHOLD;
    return RAMBO_OK;
}

/* Work space of one block: 4 n rows of momenta plus per-event scratch. */
#define WS_EVENT_ROWS 10
static size_t workspace_size(int n) {
    return ((size_t)4 * (size_t)n + WS_EVENT_ROWS) * RAMBO_BLOCK;
}

/* Structure-of-arrays block -> the caller's (event, particle, mu) layout. */
static inline void store_momenta(int n, size_t nb, const double *restrict q0,
                                 const double *restrict qx,
                                 const double *restrict qy,
                                 const double *restrict qz, double *restrict p) {
    const size_t B = RAMBO_BLOCK;
    /* sequential writes: the output is the larger stream */
    for (size_t b = 0; b < nb; ++b) {
        double *restrict pe = p + b * (size_t)n * 4;
        for (int i = 0; i < n; ++i) {
            const size_t o = (size_t)i * B + b;
            pe[4 * i + 0] = q0[o];
            pe[4 * i + 1] = qx[o];
            pe[4 * i + 2] = qy[o];
            pe[4 * i + 3] = qz[o];
        }
    }
}

/* One block of nb <= RAMBO_BLOCK events.  us: the block's uniforms in
 * structure-of-arrays order us[(4 i + j) * RAMBO_BLOCK + b]; p and w: the
 * block's slice of the output arrays. */
RAMBO_CLONES
static int rambo_block(int n, const double *restrict m, double sqrt_s,
                       double w0, double xi0, int massive, size_t nb,
                       const double *restrict us, double *restrict ws,
                       double *restrict p, double *restrict w,
                       double *restrict gam) {
    const size_t B = RAMBO_BLOCK;
    double *restrict q0 = ws;
    double *restrict qx = q0 + (size_t)n * B;
    double *restrict qy = qx + (size_t)n * B;
    double *restrict qz = qy + (size_t)n * B;
    double *restrict r0 = qz + (size_t)n * B;
    double *restrict rx = r0 + B;
    double *restrict ry = rx + B;
    double *restrict rz = ry + B;
    double *restrict xi = rz + B;
    double *restrict fv = xi + B;
    double *restrict fp = fv + B;
    double *restrict sk = fp + B;
    double *restrict pr = sk + B;
    double *restrict s2 = pr + B;

    /* 1. isotropic massless momenta with energy density q0 exp(-q0) */
    for (int i = 0; i < n; ++i) {
        double *restrict a0 = q0 + (size_t)i * B, *restrict ax = qx + (size_t)i * B;
        double *restrict ay = qy + (size_t)i * B, *restrict az = qz + (size_t)i * B;
        const double *restrict uc = us + (size_t)(4 * i) * B;
        const double *restrict uf = uc + B;
        const double *restrict ue1 = uf + B;
        const double *restrict ue2 = ue1 + B;
        for (size_t b = 0; b < nb; ++b) {
            const double c = 2.0 * uc[b] - 1.0;
            const double st = 2.0 * sqrt(uc[b] * (1.0 - uc[b]));
            double cf, sf;
            poly_sincos_2pi(uf[b], &cf, &sf);
            const double e = -poly_log((1.0 - ue1[b]) * (1.0 - ue2[b]));
            a0[b] = e;
            az[b] = e * c;
            ax[b] = e * st * cf;
            ay[b] = e * st * sf;
        }
    }

    /* 2. conformal transformation onto total momentum (sqrt_s, 0, 0, 0) */
    for (size_t b = 0; b < nb; ++b) {
        r0[b] = 0.0; rx[b] = 0.0; ry[b] = 0.0; rz[b] = 0.0;
    }
    for (int i = 0; i < n; ++i) {
        const double *restrict a0 = q0 + (size_t)i * B, *restrict ax = qx + (size_t)i * B;
        const double *restrict ay = qy + (size_t)i * B, *restrict az = qz + (size_t)i * B;
        for (size_t b = 0; b < nb; ++b) {
            r0[b] += a0[b]; rx[b] += ax[b]; ry[b] += ay[b]; rz[b] += az[b];
        }
    }
    for (size_t b = 0; b < nb; ++b) {
        const double rm = sqrt(r0[b] * r0[b] - rx[b] * rx[b] - ry[b] * ry[b] -
                               rz[b] * rz[b]);
        const double inv = 1.0 / rm;
        /* reuse r*: boost vector b = -R/M, gamma = R0/M, a = 1/(1+gamma),
         * scale x = sqrt_s/M */
        const double g = r0[b] * inv;
        rx[b] = -rx[b] * inv;
        ry[b] = -ry[b] * inv;
        rz[b] = -rz[b] * inv;
        r0[b] = g;
        gam[b] = g;
        fv[b] = 1.0 / (1.0 + g);
        fp[b] = sqrt_s * inv;
    }
    for (int i = 0; i < n; ++i) {
        double *restrict a0 = q0 + (size_t)i * B, *restrict ax = qx + (size_t)i * B;
        double *restrict ay = qy + (size_t)i * B, *restrict az = qz + (size_t)i * B;
        for (size_t b = 0; b < nb; ++b) {
            const double bq = rx[b] * ax[b] + ry[b] * ay[b] + rz[b] * az[b];
            const double x = fp[b];
            const double t = a0[b] + fv[b] * bq;
            const double e = x * (r0[b] * a0[b] + bq);
            ax[b] = x * (ax[b] + rx[b] * t);
            ay[b] = x * (ay[b] + ry[b] * t);
            az[b] = x * (az[b] + rz[b] * t);
            a0[b] = e;
        }
    }

    if (!massive) {
        for (size_t b = 0; b < nb; ++b) w[b] = w0;
        store_momenta(n, nb, q0, qx, qy, qz, p);
        return RAMBO_OK;
    }

    /* 3. massive: solve f(xi) = sum_i sqrt(m_i^2 + xi^2 E_i^2) - sqrt_s = 0.
     * f is increasing and convex and xi0 = sqrt(1 - (sum m / sqrt_s)^2) lies
     * at or above the root (Minkowski inequality), so Newton's method
     * decreases monotonically onto it.  Since xi f''/f' <= max m^2/e^2 <= 1,
     * the relative error after a step of relative size d is below d^2 / 2:
     * a step below 1e-8 leaves an error below one ulp, and we stop there. */
    const double noise = 8.0 * (double)n * DBL_EPSILON * sqrt_s;
    for (size_t b = 0; b < nb; ++b) xi[b] = xi0;
    for (int it = 0;; ++it) {
        if (it >= RAMBO_MAX_NEWTON) return RAMBO_E_NOCONV;
        for (size_t b = 0; b < nb; ++b) { fv[b] = -sqrt_s; fp[b] = 0.0; }
        for (int i = 0; i < n; ++i) {
            const double *restrict a0 = q0 + (size_t)i * B;
            if (m[i] == 0.0) {
                /* e = xi E exactly; d e / d xi = E */
                for (size_t b = 0; b < nb; ++b) {
                    fv[b] += xi[b] * a0[b];
                    fp[b] += a0[b];
                }
                continue;
            }
            const double m2 = m[i] * m[i];
            for (size_t b = 0; b < nb; ++b) {
                const double k = xi[b] * a0[b];
                const double e = sqrt(m2 + k * k);
                fv[b] += e;
                fp[b] += k * a0[b] / e;
            }
        }
        int moving = 0;
        for (size_t b = 0; b < nb; ++b) {
            const double step = fv[b] / fp[b];
            /* also stop once f is at its rounding floor: near threshold the
             * root is tiny and known only to absolute precision ~ eps sqrt_s */
            moving += (step > 1e-8 * xi[b]) & (fv[b] > noise);
            /* exact Newton steps never more than halve xi from above the
             * root; the bound only catches rounding noise and keeps xi > 0 */
            const double xn = xi[b] - step;
            xi[b] = xn > 0.5 * xi[b] ? xn : 0.5 * xi[b];
        }
        if (!moving) break;
    }

    /* 4. massive momenta and weight
     * w = w0 (sum|k|/sqrt_s)^(2n-3) prod(|k_i|/k0_i) sqrt_s / sum(|k_i|^2/k0_i) */
    for (size_t b = 0; b < nb; ++b) { sk[b] = 0.0; pr[b] = 1.0; s2[b] = 0.0; }
    for (int i = 0; i < n; ++i) {
        const double m2 = m[i] * m[i];
        double *restrict a0 = q0 + (size_t)i * B;
        double *restrict ax = qx + (size_t)i * B;
        double *restrict ay = qy + (size_t)i * B;
        double *restrict az = qz + (size_t)i * B;
        for (size_t b = 0; b < nb; ++b) {
            const double k = xi[b] * a0[b];
            const double e = sqrt(m2 + k * k);
            const double ke = k / e;
            sk[b] += k;
            pr[b] *= ke;
            s2[b] += k * ke;
            a0[b] = e;
            ax[b] *= xi[b];
            ay[b] *= xi[b];
            az[b] *= xi[b];
        }
    }
    for (size_t b = 0; b < nb; ++b) {
        const double r = sk[b] / sqrt_s;
        double pw = 1.0;
        for (int j = 0; j < 2 * n - 3; ++j) pw *= r;
        w[b] = w0 * pw * pr[b] * sqrt_s / s2[b];
    }
    store_momenta(n, nb, q0, qx, qy, qz, p);
    return RAMBO_OK;
}

typedef struct {
    double w0, xi0;
    int massive;
} rambo_setup;

static rambo_setup setup(int n, const double *masses, double sqrt_s) {
    rambo_setup st;
    double msum = 0.0;
    st.massive = 0;
    for (int i = 0; i < n; ++i) {
        msum += masses[i];
        if (masses[i] > 0.0) st.massive = 1;
    }
    const double r = msum / sqrt_s;
    st.xi0 = sqrt((1.0 - r) * (1.0 + r));
    st.w0 = rambo_massless_volume(n, sqrt_s);
    return st;
}

/* Work space plus the block's uniforms. */
static double *alloc_ws(int n) {
    return (double *)malloc((workspace_size(n) +
                             rambo_uniforms_per_event(n) * RAMBO_BLOCK) *
                            sizeof(double));
}

int rambo_from_uniforms(int n, const double *masses, double sqrt_s,
                        size_t n_events, const double *u, double *p, double *w) {
    int rc = check_input(n, masses, sqrt_s);
    if (rc != RAMBO_OK) return rc;
    rambo_setup st = setup(n, masses, sqrt_s);
    double *ws = alloc_ws(n);
    if (!ws) return RAMBO_E_NOMEM;
    double *us = ws + workspace_size(n);
    double gam[RAMBO_BLOCK];
    const size_t un = rambo_uniforms_per_event(n);
    for (size_t start = 0; start < n_events && rc == RAMBO_OK;
         start += RAMBO_BLOCK) {
        size_t nb = n_events - start < RAMBO_BLOCK ? n_events - start : RAMBO_BLOCK;
        const double *ub = u + start * un;
        for (size_t b = 0; b < nb; ++b)
            for (size_t k = 0; k < un; ++k) us[k * RAMBO_BLOCK + b] = ub[b * un + k];
        rc = rambo_block(n, masses, sqrt_s, st.w0, st.xi0, st.massive, nb, us,
                         ws, p + start * (size_t)n * 4, w + start, gam);
    }
    free(ws);
    return rc;
}

/* 2^52 + k as a double holds k exactly for k < 2^52: integer -> double
 * conversion with integer and floating-point arithmetic only (vectorises). */
static inline double u32_to_double(uint64_t k) {
    uint64_t bits = k | UINT64_C(0x4330000000000000);
    double d;
    memcpy(&d, &bits, sizeof d);
    return d - 4503599627370496.0;
}

/* Random words -> structure-of-arrays uniforms: word 2 (event n + i) gives
 * j = 0 (high 32 bits) and 1 (low), word 2 (event n + i) + 1 gives j = 2, 3;
 * each uniform is (bits + 1/2) / 2^32, never 0 nor 1. */
RAMBO_CLONES
static void words_to_uniforms(int n, size_t nb, const uint64_t *restrict raw,
                              double *restrict us) {
    const size_t B = RAMBO_BLOCK;
    const double scale = 1.0 / 4294967296.0;
    const size_t stride = (size_t)2 * (size_t)n;
    for (int i = 0; i < n; ++i) {
        const uint64_t *restrict r = raw + (size_t)2 * (size_t)i;
        double *restrict u0 = us + (size_t)(4 * i) * B;
        for (size_t b = 0; b < nb; ++b) {
            const uint64_t x = r[b * stride], y = r[b * stride + 1];
            u0[b] = (u32_to_double(x >> 32) + 0.5) * scale;
            u0[b + B] = (u32_to_double(x & UINT64_C(0xffffffff)) + 0.5) * scale;
            u0[b + 2 * B] = (u32_to_double(y >> 32) + 0.5) * scale;
            u0[b + 3 * B] = (u32_to_double(y & UINT64_C(0xffffffff)) + 0.5) * scale;
        }
    }
}

int rambo_generate(int n, const double *masses, double sqrt_s, size_t n_events,
                   rambo_uniform_source *src, double *p, double *w) {
    int rc = check_input(n, masses, sqrt_s);
    if (rc != RAMBO_OK) return rc;
    rambo_setup st = setup(n, masses, sqrt_s);
    double *ws = alloc_ws(n);
    uint64_t *raw = (uint64_t *)malloc((size_t)2 * (size_t)n * RAMBO_BLOCK *
                                       sizeof(uint64_t));
    if (!ws || !raw) {
        free(ws);
        free(raw);
        return RAMBO_E_NOMEM;
    }
    double *us = ws + workspace_size(n);
    double gam[RAMBO_BLOCK], gam1;
    const size_t B = RAMBO_BLOCK;
    const size_t wpe = (size_t)2 * (size_t)n; /* words per event */
    for (size_t start = 0; start < n_events && rc == RAMBO_OK; start += B) {
        const size_t nb = n_events - start < B ? n_events - start : B;
        for (size_t k = 0; k < wpe * nb; ++k) raw[k] = src->next_uint64(src->state);
        words_to_uniforms(n, nb, raw, us);
        rc = rambo_block(n, masses, sqrt_s, st.w0, st.xi0, st.massive, nb, us,
                         ws, p + start * (size_t)n * 4, w + start, gam);
        /* Redraw the rare events whose conformal boost is large (all massless
         * momenta nearly collinear), where rounding grows like gamma^2.  The
         * RAMBO momenta are distributed independently of the boost and scale
         * parameters (Kleiss, Stirling, Ellis), so this rejection leaves the
         * distribution and the weights unchanged. */
        for (size_t b = 0; b < nb && rc == RAMBO_OK; ++b) {
            gam1 = gam[b];
            while (gam1 > RAMBO_GAMMA_MAX && rc == RAMBO_OK) {
                for (size_t k = 0; k < wpe; ++k) raw[k] = src->next_uint64(src->state);
                words_to_uniforms(n, 1, raw, us);
                rc = rambo_block(n, masses, sqrt_s, st.w0, st.xi0, st.massive, 1,
                                 us, ws, p + (start + b) * (size_t)n * 4,
                                 w + start + b, &gam1);
            }
        }
    }
    free(raw);
    free(ws);
    return rc;
}
