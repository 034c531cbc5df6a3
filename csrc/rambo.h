/*
 * RAMBO (Kleiss, Stirling, Ellis, Comput. Phys. Commun. 40 (1986) 359):
 * flat n-body phase space for massless and massive final states.
 *
 * Conventions
 *   momenta  p[(event * n + i) * 4 + mu], mu = (E, px, py, pz), GeV, CMS frame
 *   weight   the phase-space element of
 *              Phi_n = \int prod_i d^3p_i / (2 E_i)  delta^4(P - sum_i p_i)
 *            (no factors of 2 pi), so that the mean weight is Phi_n.
 *            Massless: Phi_n = (pi/2)^(n-1) s^(n-2) / ((n-1)! (n-2)!).
 *   uniforms u[(event * n + i) * 4 + j], j = (cos theta, phi, energy, energy),
 *            each in (0, 1).  rambo_generate makes them from two 64-bit draws
 *            per particle, in exactly this order: the high and low 32 bits of
 *            the first give j = 0, 1, those of the second j = 2, 3, each as
 *            (bits + 1/2) / 2^32.  32 bits resolve angles to 1e-9 and make
 *            neither 0 nor 1, so logs and square roots stay finite.
 *
 * C99, no Python headers, no global state: the random numbers come from the
 * caller, either as an array or through a function pointer.
 */
#ifndef MCDH_RAMBO_H
#define MCDH_RAMBO_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Status codes (0 = success). */
enum {
    RAMBO_OK = 0,
    RAMBO_E_N = -1,          /* fewer than 2 particles                      */
    RAMBO_E_MASS = -2,       /* a mass negative or not finite               */
    RAMBO_E_ENERGY = -3,     /* sqrt_s not finite or not positive           */
    RAMBO_E_THRESHOLD = -4,  /* sum of masses >= sqrt_s                     */
    RAMBO_E_NOCONV = -5,     /* mass rescaling did not converge (guard)     */
    RAMBO_E_NOMEM = -6       /* workspace allocation failed                 */
};

/* Random 64-bit words from the caller's generator (for numpy: the state and
 * next_uint64 fields of a bitgen_t). */
typedef struct {
    void *state;
    uint64_t (*next_uint64)(void *state);
} rambo_uniform_source;

/* Events handled per inner block (structure-of-arrays work space). */
#define RAMBO_BLOCK 128

/* Number of uniforms consumed per event. */
size_t rambo_uniforms_per_event(int n);

/* Generate n_events, drawing uniforms from src. */
int rambo_generate(int n, const double *masses, double sqrt_s, size_t n_events,
                   rambo_uniform_source *src, double *p, double *w);

/* The same map applied to caller-supplied uniforms (n_events * 4 n values).
 * rambo_generate redraws the rare events whose conformal boost exceeds
 * gamma = 20 (which leaves the distribution unchanged, see rambo.c); this
 * bare map does not, so for such events it is less accurate. */
int rambo_from_uniforms(int n, const double *masses, double sqrt_s,
                        size_t n_events, const double *u, double *p, double *w);

/* Massless n-body phase-space volume Phi_n(s) in the convention above. */
double rambo_massless_volume(int n, double sqrt_s);

/* The elementary functions the kernel uses, exposed for accuracy tests:
 * natural log of x > 0 (normal numbers) and (cos, sin) of 2 pi u. */
double rambo_log(double x);
void rambo_sincos_2pi(double u, double *c, double *s);

#ifdef __cplusplus
}
#endif

#endif /* MCDH_RAMBO_H */
