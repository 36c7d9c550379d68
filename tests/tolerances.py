"""The tolerances and the comparison that the tests of fast == faithful share (test_fast,
test_combine, test_properties)."""
import numpy as np

F64_TOL = 1e-12   # fast == faithful in float64, relative to the largest entry
F32_TOL = 2e-4    # a float32 computation against the float64 one, relative to the largest entry


def close(a, b, tol):
    """max |a - b| <= tol * max |b|: entry-wise, scaled by the reference's largest entry."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    assert a.shape == b.shape, (a.shape, b.shape)
    scale = max(np.abs(b).max(initial=0.0), 1e-300)
    err = np.abs(a - b).max(initial=0.0) / scale
    assert err <= tol, f"relative difference {err:.2e} > {tol:.0e}"
