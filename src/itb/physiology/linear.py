"""Closed-form solution of a linear compartment system under piecewise-constant input.

The patient's drug state obeys dx/dt = A x + B u(t), with u constant on each piece
[t_k, t_k+1) and instantaneous jumps (boluses, pocket deposits) at the breakpoints.
For such a system the exact solution on a piece is

    x(t) = x_ss,k + expm(A (t - t_k)) (x(t_k+) - x_ss,k),   x_ss,k = -A^-1 B u_k,

so no fixed-step ODE integration is needed. `LinearSystem` decomposes A once per
parameter set (A = V diag(lambda) V^-1) and then works in modal coordinates, where
every mode is a scalar exponential: the state at all breakpoints comes from one
vectorised recurrence (chunked so that no exponential overflows) and the state at
any number of sample times from one vectorised gather. When the eigenvectors are
ill-conditioned (two modes with nearly equal rates), it falls back to batched
`scipy.linalg.expm`, which is exact for any A but slower.

Time is in hours, amounts in micrograms, concentrations in mcg/mL (floats: these
are physiological states, not doses).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.linalg
from numpy.typing import NDArray

from itb.errors import InvalidInput

FloatArray = NDArray[np.float64]

# Largest exponent magnitude allowed inside one recurrence chunk (e^300 ~ 1e130), so that
# scaled partial sums stay far below the float64 limit (~1e308).
_MAX_CHUNK_EXPONENT = 300.0
# Above this condition number of the eigenvector matrix, modal coordinates lose accuracy.
_MAX_EIGENVECTOR_CONDITION = 1e7


def _apply(rows: FloatArray, matrix: FloatArray) -> FloatArray:
    """rows @ matrix.T for many short rows. einsum, because BLAS matmul is an order of
    magnitude slower on tall, 6-column arrays here (thread start-up per call)."""
    return np.einsum("ij,kj->ik", rows, matrix)


@dataclass(frozen=True)
class Trajectory:
    """States at the breakpoints and at the requested sample times.

    `breakpoint_states[k]` is the state just after the jump at `breakpoints_h[k]`
    (states are right-continuous); `sample_states[i]` is the state at `sample_times_h[i]`.
    """

    breakpoints_h: FloatArray
    breakpoint_states: FloatArray
    sample_times_h: FloatArray
    sample_states: FloatArray


class LinearSystem:
    """dx/dt = A x + B u, with every eigenvalue of A real and negative (a stable system)."""

    def __init__(self, a: FloatArray, b: FloatArray, *, method: str = "auto") -> None:
        a = np.asarray(a, dtype=np.float64)
        b = np.asarray(b, dtype=np.float64)
        if a.ndim != 2 or a.shape[0] != a.shape[1]:
            raise InvalidInput("a", a.shape, "a square matrix")
        if b.ndim != 2 or b.shape[0] != a.shape[0]:
            raise InvalidInput("b", b.shape, f"a matrix with {a.shape[0]} rows")
        if method not in ("auto", "modal", "expm"):
            raise InvalidInput("method", method, "one of: auto, modal, expm")
        if not np.all(np.isfinite(a)) or not np.all(np.isfinite(b)):
            raise InvalidInput("a", "non-finite entries", "finite numbers")
        self.a = a
        self.b = b
        self.n = a.shape[0]
        eigenvalues, vectors = np.linalg.eig(a)
        if np.max(np.abs(eigenvalues.imag)) > 1e-9 * max(1.0, float(np.max(np.abs(eigenvalues)))):
            raise InvalidInput("a", "complex eigenvalues", "a compartment matrix with real rates")
        rates = eigenvalues.real
        if np.any(rates >= 0):
            raise InvalidInput("a", f"eigenvalues {rates}", "a stable system (every rate < 0)")
        # -A^-1 B: the steady state reached under a unit constant input.
        self._steady_per_input = -np.linalg.solve(a, b)
        condition = float(np.linalg.cond(vectors.real)) if method != "expm" else np.inf
        use_modal = method == "modal" or (method == "auto" and
                                          condition < _MAX_EIGENVECTOR_CONDITION)
        self.method = "modal" if use_modal else "expm"
        self.rates_per_h: FloatArray = rates
        if use_modal:
            self._v = vectors.real
            self._w = np.linalg.inv(self._v)
            self._fastest = float(np.max(-rates))

    # -- public ---------------------------------------------------------------------

    def steady_state(self, u: FloatArray) -> FloatArray:
        """The state that a constant input `u` holds forever."""
        return self._steady_per_input @ np.asarray(u, dtype=np.float64)

    def propagate(self, x0: FloatArray, breakpoints_h: FloatArray, inputs: FloatArray,
                  jumps: FloatArray, sample_times_h: FloatArray) -> Trajectory:
        """Exact states under piecewise-constant `inputs` with `jumps` at the breakpoints.

        `breakpoints_h` (K+1, strictly increasing), `inputs` (K, m) constant on each
        piece, `jumps` (K+1, n) added to the state at each breakpoint, and sorted
        `sample_times_h` within [breakpoints_h[0], breakpoints_h[-1]].
        """
        t = np.asarray(breakpoints_h, dtype=np.float64)
        u = np.asarray(inputs, dtype=np.float64).reshape(len(t) - 1, self.b.shape[1])
        j = np.asarray(jumps, dtype=np.float64).reshape(len(t), self.n)
        s = np.asarray(sample_times_h, dtype=np.float64)
        if len(t) < 2 or np.any(np.diff(t) <= 0):
            raise InvalidInput("breakpoints_h", "not strictly increasing",
                               "at least two strictly increasing times")
        if len(s) and (s[0] < t[0] or s[-1] > t[-1] or np.any(np.diff(s) < 0)):
            raise InvalidInput("sample_times_h", "outside or unsorted",
                               "sorted times within the breakpoints")
        steady = _apply(u, self._steady_per_input)  # (K, n) steady state of each piece
        if self.method == "modal":
            return self._propagate_modal(np.asarray(x0, dtype=np.float64), t, steady, j, s)
        return self._propagate_expm(np.asarray(x0, dtype=np.float64), t, steady, j, s)

    # -- modal path -----------------------------------------------------------------

    def _propagate_modal(self, x0: FloatArray, t: FloatArray, steady: FloatArray,
                         jumps: FloatArray, s: FloatArray) -> Trajectory:
        lam = self.rates_per_h
        w = self._w
        zss = _apply(steady, w)       # (K, n) modal steady states
        zj = _apply(jumps, w)         # (K+1, n) modal jumps
        dt = np.diff(t)
        decay = np.exp(np.outer(dt, lam))         # (K, n) e^(lambda dt)
        # z_{k+1} = decay_k * (z_k + zj_k) + (1 - decay_k) * zss_k = decay_k z_k + c_k
        c = decay * zj[:-1] + (1.0 - decay) * zss
        z = np.empty((len(t), self.n))
        z[0] = x0 @ w.T
        span = _MAX_CHUNK_EXPONENT / self._fastest
        k_pieces = len(dt)
        start = 0
        while start < k_pieces:
            end = int(np.searchsorted(t, t[start] + span, side="right")) - 1
            end = min(max(end, start + 1), k_pieces)
            if end == start + 1:
                z[end] = decay[start] * z[start] + c[start]
            else:
                rel = t[start + 1:end + 1] - t[start]          # (L,)
                grow = np.exp(-np.outer(rel, lam))             # e^(-lambda (T_{j+1} - T_s))
                partial = np.cumsum(grow * c[start:end], axis=0)
                z[start + 1:end + 1] = np.exp(np.outer(rel, lam)) * (z[start] + partial)
            start = end
        z_after = z + zj  # right-continuous: state just after each breakpoint's jump
        states = _apply(z_after, self._v)
        samples = self._samples_modal(t, z_after, zss, s)
        return Trajectory(t, states, s, samples)

    def _samples_modal(self, t: FloatArray, z_after: FloatArray, zss: FloatArray,
                       s: FloatArray) -> FloatArray:
        if not len(s):
            return np.empty((0, self.n))
        piece = np.searchsorted(t, s, side="right") - 1
        at_end = piece >= len(t) - 1
        piece = np.minimum(piece, len(t) - 2)
        offset = s - t[piece]
        zk = z_after[piece]
        zs = zss[piece]
        z = zs + np.exp(np.outer(offset, self.rates_per_h)) * (zk - zs)
        if np.any(at_end):
            z[at_end] = z_after[-1]
        return _apply(z, self._v)

    # -- expm fallback ----------------------------------------------------------------

    def _propagate_expm(self, x0: FloatArray, t: FloatArray, steady: FloatArray,
                        jumps: FloatArray, s: FloatArray) -> Trajectory:
        dt = np.diff(t)
        unique_dt, index = np.unique(dt, return_inverse=True)
        phis = scipy.linalg.expm(unique_dt[:, None, None] * self.a)
        x = np.empty((len(t), self.n))
        x[0] = x0 + jumps[0]
        for k in range(len(dt)):
            xk = x[k]
            x[k + 1] = steady[k] + phis[index[k]] @ (xk - steady[k]) + jumps[k + 1]
        if not len(s):
            return Trajectory(t, x, s, np.empty((0, self.n)))
        piece = np.searchsorted(t, s, side="right") - 1
        at_end = piece >= len(t) - 1
        piece = np.minimum(piece, len(t) - 2)
        offset = s - t[piece]
        unique_off, off_index = np.unique(offset, return_inverse=True)
        phi_s = scipy.linalg.expm(unique_off[:, None, None] * self.a)
        dev = x[piece] - steady[piece]
        samples = steady[piece] + np.einsum("sij,sj->si", phi_s[off_index], dev)
        if np.any(at_end):
            samples[at_end] = x[-1]
        return Trajectory(t, x, s, samples)
