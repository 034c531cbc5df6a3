# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False
"""Cython bridge to the C RAMBO core (csrc/rambo.c).

The C code never sees Python objects: this module takes a numpy bit
generator's ``bitgen_t`` out of its capsule, hands its state and
``next_uint64`` to C, releases the GIL and lets C fill caller-owned arrays.
"""
from cpython.pycapsule cimport PyCapsule_GetPointer, PyCapsule_IsValid
from libc.stdint cimport uint64_t
from numpy.random cimport bitgen_t


cdef extern from "rambo.h" nogil:
    ctypedef struct rambo_uniform_source:
        void *state
        uint64_t (*next_uint64)(void *state) noexcept nogil

    int RAMBO_OK, RAMBO_E_N, RAMBO_E_MASS, RAMBO_E_ENERGY
    int RAMBO_E_THRESHOLD, RAMBO_E_NOCONV, RAMBO_E_NOMEM
    int RAMBO_BLOCK

    size_t rambo_uniforms_per_event(int n)
    int rambo_generate(int n, const double *masses, double sqrt_s,
                       size_t n_events, rambo_uniform_source *src,
                       double *p, double *w)
    int rambo_from_uniforms(int n, const double *masses, double sqrt_s,
                            size_t n_events, const double *u, double *p,
                            double *w)
    double rambo_massless_volume(int n, double sqrt_s)
    double rambo_log(double x)
    void rambo_sincos_2pi(double u, double *c, double *s)


STATUS = {
    RAMBO_OK: "ok",
    RAMBO_E_N: "fewer than 2 final-state particles",
    RAMBO_E_MASS: "a mass is negative or not finite",
    RAMBO_E_ENERGY: "sqrt_s is not a finite positive number",
    RAMBO_E_THRESHOLD: "the sum of the masses is not below sqrt_s",
    RAMBO_E_NOCONV: "the massive rescaling did not converge",
    RAMBO_E_NOMEM: "out of memory for the work space",
}
BLOCK = RAMBO_BLOCK


cdef bitgen_t *_bitgen(object bit_generator) except NULL:
    capsule = bit_generator.capsule
    if not PyCapsule_IsValid(capsule, "BitGenerator"):
        raise TypeError("expected a numpy BitGenerator")
    return <bitgen_t *> PyCapsule_GetPointer(capsule, "BitGenerator")


def generate(object bit_generator, double sqrt_s, const double[::1] masses,
             double[:, :, ::1] p, double[::1] w):
    """Fill ``p`` (n_events, n, 4) and ``w`` (n_events,) from ``bit_generator``.

    Returns the C status code (0 on success).  The GIL is released while the
    C code runs; the bit generator's lock is held.
    """
    cdef bitgen_t *rng = _bitgen(bit_generator)
    cdef rambo_uniform_source src
    cdef int rc
    cdef int n = masses.shape[0]
    cdef size_t n_events = p.shape[0]
    if p.shape[1] != n or p.shape[2] != 4 or w.shape[0] != p.shape[0]:
        raise ValueError("output arrays have the wrong shape")
    if n_events == 0:
        return RAMBO_OK
    src.state = rng.state
    src.next_uint64 = rng.next_uint64
    with bit_generator.lock, nogil:
        rc = rambo_generate(n, &masses[0], sqrt_s, n_events, &src,
                            &p[0, 0, 0], &w[0])
    return rc


def from_uniforms(double sqrt_s, const double[::1] masses,
                  const double[:, ::1] u, double[:, :, ::1] p, double[::1] w):
    """The same map applied to given uniforms ``u`` (n_events, 4 n)."""
    cdef int rc
    cdef int n = masses.shape[0]
    cdef size_t n_events = p.shape[0]
    if (p.shape[1] != n or p.shape[2] != 4 or w.shape[0] != p.shape[0]
            or u.shape[0] != p.shape[0] or u.shape[1] != 4 * n):
        raise ValueError("arrays have the wrong shape")
    if n_events == 0:
        return RAMBO_OK
    with nogil:
        rc = rambo_from_uniforms(n, &masses[0], sqrt_s, n_events, &u[0, 0],
                                 &p[0, 0, 0], &w[0])
    return rc


def massless_volume(int n, double sqrt_s):
    """Massless n-body phase-space volume (pi/2)^(n-1) s^(n-2)/((n-1)!(n-2)!)."""
    return rambo_massless_volume(n, sqrt_s)


def c_log(const double[::1] x):
    """The kernel's own log, for accuracy tests."""
    import numpy as np
    out = np.empty(x.shape[0])
    cdef double[::1] o = out
    cdef Py_ssize_t i
    for i in range(x.shape[0]):
        o[i] = rambo_log(x[i])
    return out


def c_sincos_2pi(const double[::1] u):
    """The kernel's own (cos, sin)(2 pi u), for accuracy tests."""
    import numpy as np
    c = np.empty(u.shape[0])
    s = np.empty(u.shape[0])
    cdef double[::1] cv = c, sv = s
    cdef Py_ssize_t i
    for i in range(u.shape[0]):
        rambo_sincos_2pi(u[i], &cv[i], &sv[i])
    return c, s
