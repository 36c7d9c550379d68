"""Every public name of cnnlit refuses nonsense (issue 14, the bad-input part).

Each case calls a public function, class or method with one bad argument and expects a
ValueError or TypeError (FileNotFoundError for paths, KeyError for an unknown parameter
name) whose message names the argument as the caller spelled it. Nothing may return a
silently wrong result, and nothing may fail with a bare NumPy error.

Coverage is by default: ``test_every_public_name_has_cases`` enumerates ``cnnlit.__all__``
and every module's ``__all__``, and fails for a name that has no registered case and is not
in ALLOWED below.
"""
import argparse
import gzip
import json
import os
import pickle
import tracemalloc
import zipfile
import zlib
from functools import partial

import numpy as np
import pytest

import cnnlit
from cnnlit import checks, cli, combine, conv, data, dense, fast, gradcheck, sparsity, subsample, train

# Public names that take no arguments worth checking. Each entry says why.
ALLOWED = {
    # constants and tables (not callable)
    "dense.ACTIVATIONS", "data.IDX_DTYPES", "data.GZIP_MAGIC", "data.MNIST_FILES", "data.MNIST_SHA256",
    "data.MNIST_URL", "data.DATA_ENV", "data.SUBSET_SEED", "data.SUBSET_PER_CLASS", "data.N_CLASSES",
    "combine.KERNELS",
    # functions without arguments: they read the package's own files
    "conv.lenet5_c3_table", "data.load_subset", "data.subset_indices", "data.subset_stats",
    # a plain record (NamedTuple) of four arrays; its consumers (cut_subset) check it
    "data.MNIST",
    "cli.BEST_MAPS", "cli.COMBINE_LAMBDA", "cli.LOSSES", "cli.MODELS",
    "cli.BEST_PROTOCOL", "cli.DISTORTIONS", "cli.MAX_DEPTH", "cli.MAX_INFO_BYTES", "cli.MAX_PIXELS", "cli.BLANK",
    "cli.MAX_STEP", "cli.CHANCE", "cli.IMAGE_SUFFIXES",
    # a function without arguments: it builds the argparse parser
    "cli.make_parser",
}

BAD = (ValueError, TypeError)
CASES = {}  # "module.name" -> [(case id, thunk, the argument's name, accepted exceptions)]


def add(public, cid, thunk, name, exc=BAD):
    CASES.setdefault(public, []).append((cid, thunk, name, exc))


def call(fn, *args, **kwargs):
    return partial(fn, *args, **kwargs)


def variants(good, *, ints_ok=False, nonfinite=True, rank=True):
    """Bad versions of the good float array ``good``: {label: value}."""
    good = np.asarray(good, dtype=np.float64)
    out = {
        "bool": good > 0.5,
        "complex": good + 1j,
        "object": good.astype(object),
        "strings": good.astype(str),
        "str": "abc",
        "None": None,
        "ragged": [[1.0, 2.0], [3.0]],
    }
    if not ints_ok:
        out["int"] = good.astype(np.int64)
    if nonfinite:
        for label, v in (("nan", np.nan), ("inf", np.inf), ("-inf", -np.inf)):
            bad = good.copy()
            bad.flat[0] = v
            out[label] = bad
    if rank:
        out["rank+1"] = good[None]
        out["rank-1"] = good[0]
    return out


def add_array_cases(public, name, make_call, good, **kw):
    """make_call(value) -> thunk that passes value as the argument ``name``."""
    arg = name.rsplit("-", 1)[-1]  # "loss-X": the argument X of the method loss
    for label, bad in variants(good, **kw).items():
        add(public, f"{name}-{label}", make_call(bad), arg)


rng = np.random.default_rng(0)


# -- cnnlit.checks ---------------------------------------------------------------------
add_array_cases("checks.as_float_array", "X", lambda v: call(checks.as_float_array, "X", v, shape=("N", 3)),
                rng.normal(size=(2, 3)))
add("checks.as_float_array", "X-shape", call(checks.as_float_array, "X", np.zeros((2, 4)), shape=("N", 3)), "X")
for bad in (0, -1, 1.5, "3", None, True, np.nan):
    add("checks.check_size", f"n-{bad!r}", call(checks.check_size, "n_out", bad), "n_out")
for bad in (np.int64, np.bool_, np.complex128, object, "abc", None, np.float16, "int32"):
    add("checks.check_dtype", f"dtype-{bad!r}", call(checks.check_dtype, bad), "dtype")
for bad in ("abc", 1.5, -1, True, [1, 2], np.random.RandomState(0)):
    add("checks.as_rng", f"rng-{bad!r}", call(checks.as_rng, bad), "rng")


def _dense_net(act="sigmoid", loss=None):
    return dense.Network([dense.Dense(3, 4, act, rng=0), dense.Dense(4, 2, act, rng=1)], loss=loss)


def _set(params, key, value):
    params[key] = value


for label, bad in variants(np.zeros(2), rank=True).items():
    add("checks.ParamDict", f"b3-{label}", call(lambda v: _set(_dense_net().params, "b3", v), bad), "params['b3']")
add("checks.ParamDict", "b3-shape", call(lambda: _set(_dense_net().params, "b3", np.zeros(3))), "params['b3']")
add("checks.ParamDict", "unknown", call(lambda: _set(_dense_net().params, "W9", np.zeros(3))), "W9", KeyError)

# -- cnnlit.dense ------------------------------------------------------------------------
for cls, arg, kw in ((dense.Sigmoid, "beta", "beta"), (dense.ScaledTanh, "a", "a"), (dense.ScaledTanh, "b", "b")):
    for bad in (0, -1.0, np.nan, np.inf, "1", None, True, 1j):
        add(f"dense.{cls.__name__}", f"{arg}-{bad!r}", call(cls, **{kw: bad}), arg)
for cls in (dense.Sigmoid, dense.ScaledTanh, dense.Identity):
    for label in ("complex", "object", "strings", "str", "None", "bool"):
        v = variants(np.zeros((2, 2)))[label]
        add(f"dense.{cls.__name__}", f"f-u-{label}", call(lambda c, v: c().f(v), cls, v), "u")
        add(f"dense.{cls.__name__}", f"df-x-{label}", call(lambda c, v: c().df(v), cls, v), "x")
for bad in ("relu", "", None, 5, object()):
    add("dense.get_activation", f"spec-{bad!r}", call(dense.get_activation, bad), "activation")

Y = rng.uniform(size=(4, 3))
for method in ("per_pattern", "grad"):
    def _se(y, t, method=method):
        return getattr(dense.SquaredError(), method)(y, t)
    add_array_cases("dense.SquaredError", "y", lambda v: call(_se, v, Y), Y)
    add_array_cases("dense.SquaredError", "t", lambda v: call(_se, Y, v), Y, rank=False)
    for label, t in (("(c,)", Y[0]), ("(N,1)", Y[:, :1]), ("(N+1,c)", np.zeros((5, 3))), ("(N,c+1)", np.zeros((4, 4)))):
        add("dense.SquaredError", f"{method}-t-{label}", call(_se, Y, t), "t")

G = np.random.default_rng(0)
for bad in (0, -1, 1.5, "3", None, True):
    add("dense.glorot_uniform", f"fan_in-{bad!r}", call(dense.glorot_uniform, bad, 3, (3, 3), G), "fan_in")
    add("dense.glorot_uniform", f"fan_out-{bad!r}", call(dense.glorot_uniform, 3, bad, (3, 3), G), "fan_out")
for bad in ((0, 3), (-1, 3), (2.5,), "ab", None):
    add("dense.glorot_uniform", f"shape-{bad!r}", call(dense.glorot_uniform, 3, 3, bad, G), "shape")
for bad in (None, 0, "rng"):
    add("dense.glorot_uniform", f"rng-{bad!r}", call(dense.glorot_uniform, 3, 3, (3, 3), bad), "rng")
for bad in (np.int64, np.int8, np.bool_, np.complex128, object, "abc"):
    add("dense.glorot_uniform", f"dtype-{bad!r}", call(dense.glorot_uniform, 3, 3, (3, 3), G, dtype=bad), "dtype")

for bad in (0, -2, 2.5, "4", None, True):
    add("dense.Dense", f"n_in-{bad!r}", call(dense.Dense, bad, 3), "n_in")
    add("dense.Dense", f"n_out-{bad!r}", call(dense.Dense, 3, bad), "n_out")
add("dense.Dense", "activation", call(dense.Dense, 3, 3, "relu"), "activation")
add("dense.Dense", "rng", call(dense.Dense, 3, 3, rng="x"), "rng")
for bad in (np.int64, np.complex128, "abc"):
    add("dense.Dense", f"dtype-{bad!r}", call(dense.Dense, 3, 3, dtype=bad), "dtype")
XD = rng.normal(size=(5, 3))
add_array_cases("dense.Dense", "x_prev", lambda v: call(lambda v: dense.Dense(3, 2, rng=0).forward(v), v), XD)
add("dense.Dense", "x_prev-width", call(lambda: dense.Dense(3, 2, rng=0).forward(np.zeros((5, 4)))), "x_prev")


def _dense_backward(g):
    layer = dense.Dense(3, 2, rng=0)
    layer.forward(XD)
    return layer.backward(g)


add_array_cases("dense.Dense", "dE_dx", lambda v: call(_dense_backward, v), np.zeros((5, 2)))

for bad in ([], None, [5], [dense.Dense(3, 4), dense.Dense(5, 2)]):
    add("dense.Network", f"layers-{bad!r}", call(dense.Network, bad), "layers")
for bad in ("squared", 5, dense.Sigmoid()):
    add("dense.Network", f"loss-{bad!r}", call(dense.Network, [dense.Dense(3, 2)], loss=bad), "loss")
TD = data.one_hot([0, 1, 0, 1, 1], 2)
for method in ("loss", "gradients"):
    m = method
    add_array_cases("dense.Network", f"{m}-X", lambda v, m=m: call(lambda v: getattr(_dense_net(), m)(v, TD), v), XD)
    add_array_cases("dense.Network", f"{m}-T", lambda v, m=m: call(lambda v: getattr(_dense_net(), m)(XD, v), v), TD)
    add("dense.Network", f"{m}-empty", call(lambda m=m: getattr(_dense_net(), m)(XD[:0], TD[:0])), "X")
    for label, t in (("(c,)", TD[0]), ("(N,1)", TD[:, :1]), ("(N-1,c)", TD[1:]), ("(N,c+1)", np.zeros((5, 3)))):
        add("dense.Network", f"{m}-T-{label}", call(lambda t, m=m: getattr(_dense_net(), m)(XD, t), t), "T")
for method in ("predict", "classify"):
    add_array_cases("dense.Network", f"{method}-X", lambda v, m=method: call(lambda v: getattr(_dense_net(), m)(v), v), XD)


_DEFAULT = object()


def _step(grads=_DEFAULT, eta=0.1, params=_DEFAULT):
    net = _dense_net()
    params = net.params if params is _DEFAULT else params
    before = {k: v.copy() for k, v in net.params.items()}
    try:
        return dense.gradient_step(params, net.gradients(XD, TD) if grads is _DEFAULT else grads, eta)
    except Exception:
        # a refused step changes nothing
        assert all(np.array_equal(before[k], net.params[k]) for k in before)
        raise


for bad in ("0.1", None, -0.1, np.nan, np.inf, 1j, True, np.zeros(3), [0.1, "a"], {"W2": -1.0}, {"W2": np.nan},
            {"W2": "x"}, {"W2": np.zeros(2)}):
    add("dense.gradient_step", f"eta-{bad!r}", call(_step, eta=bad), "eta")
for label, g in variants(np.zeros(2)).items():
    add("dense.gradient_step", f"grads-{label}", call(lambda g: _step(grads={"W2": np.zeros((4, 3)), "b3": g}), g),
        "grads['b3']")
add("dense.gradient_step", "grads-shape", call(_step, grads={"b3": np.zeros(3)}), "grads['b3']")
add("dense.gradient_step", "grads-unknown", call(_step, grads={"W9": np.zeros(3)}), "W9", KeyError)
for bad in (None, [1, 2], "params"):
    add("dense.gradient_step", f"params-{bad!r}", call(_step, params=bad), "params")
    add("dense.gradient_step", f"grads-{bad!r}", call(_step, grads=bad), "grads")

# -- cnnlit.gradcheck ------------------------------------------------------------------
XG = rng.normal(size=(3, 2))
for bad in (None, 3, "f"):
    add("gradcheck.numerical_gradient", f"f-{bad!r}", call(gradcheck.numerical_gradient, bad, XG.copy()), "f")
for label, x in variants(XG, rank=False).items():
    add("gradcheck.numerical_gradient", f"x-{label}", call(gradcheck.numerical_gradient, np.sum, x), "x")
add("gradcheck.numerical_gradient", "x-list", call(gradcheck.numerical_gradient, np.sum, [1.0, 2.0]), "x")
add("gradcheck.numerical_gradient", "x-empty", call(gradcheck.numerical_gradient, np.sum, np.zeros((0, 2))), "x")
for bad in (0, -1e-4, np.nan, np.inf, "1e-4", None, True, 1j):
    add("gradcheck.numerical_gradient", f"eps-{bad!r}", call(gradcheck.numerical_gradient, np.sum, XG.copy(), bad), "eps")
for bad in ([6], [-1], [0.5], [], "a", [[0, 1]]):
    add("gradcheck.numerical_gradient", f"indices-{bad!r}",
        call(gradcheck.numerical_gradient, np.sum, XG.copy(), indices=bad), "indices")
for label, f in (("nan", lambda x: np.nan), ("inf", lambda x: np.inf), ("array", lambda x: x), ("str", lambda x: "a")):
    add("gradcheck.numerical_gradient", f"f-returns-{label}", call(gradcheck.numerical_gradient, f, XG.copy()), "f")
for label, v in variants(XG, ints_ok=True, rank=False).items():
    add("gradcheck.rel_error", f"a-{label}", call(gradcheck.rel_error, v, XG), "a")
    add("gradcheck.rel_error", f"b-{label}", call(gradcheck.rel_error, XG, v), "b")
add("gradcheck.rel_error", "shape", call(gradcheck.rel_error, XG, XG.T), "a and b")


def _check(**kw):
    args = {"model": _dense_net(), "X": XD, "T": TD, **kw}
    return gradcheck.check_gradients(args.pop("model"), args.pop("X"), args.pop("T"), **args)


for bad in (None, 5, "net"):
    add("gradcheck.check_gradients", f"model-{bad!r}", call(_check, model=bad), "model")
add("gradcheck.check_gradients", "X-empty", call(_check, X=XD[:0], T=TD[:0]), "X")
add_array_cases("gradcheck.check_gradients", "X", lambda v: call(_check, X=v), XD)
add_array_cases("gradcheck.check_gradients", "T", lambda v: call(_check, T=v), TD)
for bad in (0, -1, 1.5, "3", True):
    add("gradcheck.check_gradients", f"max_entries-{bad!r}", call(_check, max_entries=bad), "max_entries")
for bad in (0, -1.0, np.nan, "x", None):
    add("gradcheck.check_gradients", f"eps-{bad!r}", call(_check, eps=bad), "eps")
for bad in ("x", 1.5):
    add("gradcheck.check_gradients", f"seed-{bad!r}", call(_check, seed=bad), "seed")
for label, errs in (("nan", {"k2": 1e-9, "W6": np.nan}), ("inf", {"k2": 1e-9, "W6": np.inf}),
                    ("negative", {"W6": -1.0}), ("str", {"W6": "0"}), ("None", {"W6": None}), ("complex", {"W6": 1j})):
    add("gradcheck.print_errors", f"errors-{label}", call(gradcheck.print_errors, errs), "errors['W6']")
for bad in ({}, None, [1e-9], 1e-9):
    add("gradcheck.print_errors", f"errors-{bad!r}", call(gradcheck.print_errors, bad), "errors")
for bad in (0, -1, np.nan, "1e-7", None):
    add("gradcheck.print_errors", f"threshold-{bad!r}", call(gradcheck.print_errors, {"W": 1e-9}, bad), "threshold")

# -- cnnlit.conv -----------------------------------------------------------------------
for bad in (None, "abc", np.zeros(3), np.array([["a", "b"]]), np.array([[None]])):
    add("conv.rot180", f"k-{type(bad).__name__}-{np.shape(bad)}", call(conv.rot180, bad), "k")
XC, KC = rng.normal(size=(6, 5)), rng.normal(size=(3, 2))
add_array_cases("conv.conv2", "x", lambda v: call(conv.conv2, v, KC), XC)
add_array_cases("conv.conv2", "k", lambda v: call(conv.conv2, XC, v), KC)
for mode in ("valid", "full"):
    for shape in ((0, 0), (0, 2), (2, 0)):
        add("conv.conv2", f"k-empty-{shape}-{mode}", call(conv.conv2, XC, np.zeros(shape), mode), "k")
        add("conv.conv2", f"x-empty-{shape}-{mode}", call(conv.conv2, np.zeros(shape), KC, mode), "x")
add("conv.conv2", "k-larger", call(conv.conv2, KC, XC), "k")
for bad in ("same", None, 1):
    add("conv.conv2", f"mode-{bad!r}", call(conv.conv2, XC, KC, bad), "mode")
for bad in (0, -1, (0, 2), (2, -1), (1, 2, 3), (2,), "3", None, 1.5, True, (2.0, 2)):
    add("conv.kernel_shape", f"kernel_size-{bad!r}", call(conv.kernel_shape, bad), "kernel_size")
for label, bad in (("shape", np.ones((3, 2), bool)), ("orphan", np.array([[1, 0], [1, 0]], bool)),
                   ("strings", np.array([["X", "."], [".", "X"]])), ("floats", np.array([[0.5, 1], [1, 1]])),
                   ("nan", np.array([[np.nan, 1], [1, 1]])), ("None", np.array([[None, 1], [1, 1]])),
                   ("scalar", True)):
    add("conv.connection_table", f"connections-{label}", call(conv.connection_table, bad, 2, 2), "connections")
for bad in (0, -1, "2", None, 2.5):
    add("conv.connection_table", f"n_in-{bad!r}", call(conv.connection_table, None, bad, 2), "n_in")
    add("conv.connection_table", f"n_out-{bad!r}", call(conv.connection_table, None, 2, bad), "n_out")


def layer_cases(public, cls, in_shape, n_out_kw, extra=()):
    """Constructor and forward/backward cases shared by the convolution-like layers."""
    for bad in ((1, 6), (0, 6, 6), (1, -6, 6), (1, 6, 6.0), "166", None, (True, 6, 6)):
        add(public, f"in_shape-{bad!r}", call(cls, bad, *n_out_kw), "in_shape")
    for bad in (0, -1, 2.5, "3", None):
        add(public, f"n_out-{bad!r}", call(cls, in_shape, bad, *n_out_kw[1:]), "n_out")
    for bad in (0, (0, 2), 7, (7, 1), "3", None):
        add(public, f"kernel_size-{bad!r}", call(cls, in_shape, n_out_kw[0], bad), "kernel_size")
    add(public, "activation", call(cls, in_shape, *n_out_kw, "relu"), "activation")
    add(public, "rng", call(cls, in_shape, *n_out_kw, rng="seed"), "rng")
    for bad in (np.int64, np.complex128, "abc", None):
        add(public, f"dtype-{bad!r}", call(cls, in_shape, *n_out_kw, dtype=bad), "dtype")
    for args in extra:
        add(public, *args)
    x = rng.normal(size=(2,) + tuple(in_shape))
    add_array_cases(public, "x_prev", lambda v: call(lambda v: cls(in_shape, *n_out_kw, rng=0).forward(v), v), x)
    add(public, "x_prev-shape", call(lambda: cls(in_shape, *n_out_kw, rng=0).forward(np.zeros((2, 3, 6, 6)))),
        "x_prev")

    def backward(g):
        layer = cls(in_shape, *n_out_kw, rng=0)
        layer.forward(x)
        return layer.backward(g)

    for label, g in variants(np.zeros((2, n_out_kw[0], 4, 4))).items():
        add(public, f"dE_dx-{label}", call(backward, g), "dE_dx")


layer_cases("conv.Conv", conv.Conv, (1, 6, 6), (2, 3), extra=(
    ("connections-shape", call(conv.Conv, (1, 6, 6), 2, 3, "sigmoid", np.ones((2, 2), bool)), "connections"),
    ("connections-orphan", call(conv.Conv, (2, 6, 6), 2, 3, "sigmoid", np.array([[1, 0], [1, 0]], bool)),
     "connections"),
))

# -- cnnlit.subsample ------------------------------------------------------------------
for bad in (0, -2, 1.5, "2", None, True, (2, 2)):
    add("subsample.check_block", f"m-{bad!r}", call(subsample.check_block, bad), "m")
XS = rng.normal(size=(2, 1, 4, 4))
for fn in (subsample.down, subsample.up):
    public = f"subsample.{fn.__name__}"
    add_array_cases(public, "x", lambda v, fn=fn: call(fn, v, 2), XS[0, 0], rank=False)
    add(public, "x-1d", call(fn, np.zeros(4), 2), "x")
    for bad in (0, -2, 1.5, "2", None, True):
        add(public, f"m-{bad!r}", call(fn, XS, bad), "m")
add("subsample.down", "x-indivisible", call(subsample.down, np.zeros((5, 4)), 2), "x")
for fn in (subsample.down, subsample.up):
    for shape in ((0, 0), (0, 4), (1, 4, 0)):
        add(f"subsample.{fn.__name__}", f"x-empty-{shape}", call(fn, np.zeros(shape), 2), "x")
for bad in ((1, 6), (0, 6, 6), (1, 6, -6), (1, 6, 6.5), "abc", None, (True, 2, 2)):
    add("subsample.check_map_shape", f"shape-{bad!r}", call(subsample.check_map_shape, "in_shape", bad), "in_shape")
for cls in (subsample.Subsample, fast.FastSubsample):
    public = f"{cls.__module__.split('.')[-1]}.{cls.__name__}"
    for bad in ((1, 6), (0, 4, 4), "abc", None, (1, 5, 4)):
        add(public, f"in_shape-{bad!r}", call(cls, bad), "in_shape")
    for bad in (0, -2, 1.5, "2", None, True, 3):
        add(public, f"m-{bad!r}", call(cls, (1, 4, 4), bad), "m")
    add(public, "activation", call(cls, (1, 4, 4), 2, "relu"), "activation")
    for bad in ("yes", None, 1):
        add(public, f"trainable-{bad!r}", call(cls, (1, 4, 4), 2, None, bad), "trainable")
    for bad in (np.int64, np.complex128, "abc", None):
        add(public, f"dtype-{bad!r}", call(cls, (1, 4, 4), dtype=bad), "dtype")
    add_array_cases(public, "x_prev", lambda v, cls=cls: call(lambda v: cls((1, 4, 4)).forward(v), v), XS)
    add(public, "x_prev-shape", call(lambda cls=cls: cls((1, 4, 4)).forward(np.zeros((2, 1, 4, 6)))), "x_prev")

    def _sub_backward(g, cls=cls):
        layer = cls((1, 4, 4))
        layer.forward(XS)
        return layer.backward(g)

    add_array_cases(public, "dE_dx", lambda v, f=_sub_backward: call(f, v), np.zeros((2, 1, 2, 2)))
for bad in ((1, 6), (0, 4, 4), "abc", None):
    add("subsample.Flatten", f"in_shape-{bad!r}", call(subsample.Flatten, bad), "in_shape")
add_array_cases("subsample.Flatten", "x_prev", lambda v: call(lambda v: subsample.Flatten((1, 4, 4)).forward(v), v), XS)


def _flat_backward(g):
    layer = subsample.Flatten((1, 4, 4))
    layer.forward(XS)
    return layer.backward(g)


add_array_cases("subsample.Flatten", "dE_dx", lambda v: call(_flat_backward, v), np.zeros((2, 16)))
for bad in (0, -1, 1.5, "28", None, True):
    add("subsample.conv_pool_sizes", f"input_size-{bad!r}", call(subsample.conv_pool_sizes, bad, 5, 2), "input_size")
    add("subsample.conv_pool_sizes", f"kernel_size-{bad!r}", call(subsample.conv_pool_sizes, 28, bad, 2),
        "kernel_size")
    add("subsample.conv_pool_sizes", f"m-{bad!r}", call(subsample.conv_pool_sizes, 28, 5, bad), "m")
add("subsample.conv_pool_sizes", "indivisible", call(subsample.conv_pool_sizes, 27, 5, 2), "input_size")
add("subsample.conv_pool_sizes", "too-small", call(subsample.conv_pool_sizes, 4, 5, 2), "input_size")

for bad in ((0, 12), (6,), "ab", None, (6.0, 12)):
    add("subsample.check_two_stage", f"maps-{bad!r}", call(subsample.check_two_stage, 28, bad, 5, 2, 10), "maps")
add("subsample.check_two_stage", "input_size-0", call(subsample.check_two_stage, 0, (6, 12), 5, 2, 10), "input_size")
add("subsample.check_two_stage", "kernel_size-big", call(subsample.check_two_stage, 28, (6, 12), 29, 2, 10),
    "input_size")
add("subsample.check_two_stage", "m-0", call(subsample.check_two_stage, 28, (6, 12), 5, 0, 10), "m")
add("subsample.check_two_stage", "n_classes-0", call(subsample.check_two_stage, 28, (6, 12), 5, 2, 0), "n_classes")

BUILDERS = {
    "subsample.toolbox_cnn": subsample.toolbox_cnn, "subsample.paper_cnn": subsample.paper_cnn,
    "fast.fast_toolbox_cnn": fast.fast_toolbox_cnn, "fast.fast_paper_cnn": fast.fast_paper_cnn,
    "combine.combine_cnn": combine.combine_cnn, "combine.fast_combine_cnn": combine.fast_combine_cnn,
    "train.softmax_cnn": train.softmax_cnn,
}
for public, builder in BUILDERS.items():
    for bad in ((0, 12), (6, 0), (-1, 12), (6,), (6, 12, 3), "ab", None, (6.0, 12), (True, 12), 6):
        add(public, f"maps-{bad!r}", call(builder, maps=bad), "maps")
    for arg in ("input_size", "kernel_size", "n_classes", "m"):
        for bad in (0, -1, 1.5, "5", None, True):
            add(public, f"{arg}-{bad!r}", call(builder, **{arg: bad}), arg)
    add(public, "input_size-indivisible", call(builder, input_size=27), "input_size")
    add(public, "m-indivisible", call(builder, m=3), "m")
    add(public, "rng", call(builder, rng="seed"), "rng")
    for bad in (np.int64, np.complex128, "abc", None):
        add(public, f"dtype-{bad!r}", call(builder, dtype=bad), "dtype")
for public in ("subsample.paper_cnn", "fast.fast_paper_cnn"):
    add(public, "activation", call(BUILDERS[public], activation="relu"), "activation")
for bad in ("relu", "identity", None, 1, np.array(["tanh", "tanh"]), "TANH"):
    add("train.softmax_cnn", f"activation-{bad!r}", call(train.softmax_cnn, activation=bad), "activation")
    add(public, "connections-shape", call(BUILDERS[public], connections=np.ones((6, 6), bool)), "connections")
    add(public, "connections-strings", call(BUILDERS[public], connections=np.full((6, 12), "X")), "connections")
for public in ("combine.combine_cnn", "combine.fast_combine_cnn"):
    for bad in ("all", None, 1):
        add(public, f"kernels-{bad!r}", call(BUILDERS[public], kernels=bad), "kernels")

# -- cnnlit.fast -----------------------------------------------------------------------
XF = rng.normal(size=(2, 6, 5, 3))  # (C, P', Q', N)
add_array_cases("fast.im2col", "x", lambda v: call(fast.im2col, v, 2, 2), XF)
for arg, pos in (("R", 1), ("S", 2)):
    for bad in (0, -1, 1.5, "2", None, True, 7):
        args = [XF, 2, 2]
        args[pos] = bad
        add("fast.im2col", f"{arg}-{bad!r}", call(fast.im2col, *args), arg)
add("fast.im2col", "out-shape", call(fast.im2col, XF, 2, 2, out=np.zeros((2, 2, 2, 5, 4, 4))), "out")
add("fast.im2col", "out-list", call(fast.im2col, XF, 2, 2, out=[1]), "out")
COLS = fast.im2col(XF, 2, 2)
add_array_cases("fast.col2im", "cols", lambda v: call(fast.col2im, v, (2, 6, 5), 2, 2), COLS)
add("fast.col2im", "cols-rows", call(fast.col2im, COLS[1:], (2, 6, 5), 2, 2), "cols")
add("fast.col2im", "cols-columns", call(fast.col2im, COLS[:, 1:], (2, 6, 5), 2, 2), "cols")
add("fast.col2im", "cols-empty", call(fast.col2im, COLS[:, :0], (2, 6, 5), 2, 2), "cols")
for bad in ((2, 6), (0, 6, 5), "abc", None):
    add("fast.col2im", f"in_shape-{bad!r}", call(fast.col2im, COLS, bad, 2, 2), "in_shape")
for bad in (0, -1, "2", None, 7):
    add("fast.col2im", f"R-{bad!r}", call(fast.col2im, COLS, (2, 6, 5), bad, 2), "R")
    add("fast.col2im", f"S-{bad!r}", call(fast.col2im, COLS, (2, 6, 5), 2, bad), "S")
_rng_fc = np.random.default_rng(21)   # its own generator: the draws of the other cases stay as they were
DF, KF = _rng_fc.normal(size=(3, 4, 4, 2)), _rng_fc.normal(size=(2, 3, 2, 2))   # delta (C_out, P, Q, N), k
add_array_cases("fast.full_conv_sensitivity", "delta", lambda v: call(fast.full_conv_sensitivity, v, KF), DF)
add_array_cases("fast.full_conv_sensitivity", "k", lambda v: call(fast.full_conv_sensitivity, DF, v), KF)
add("fast.full_conv_sensitivity", "k-maps", call(fast.full_conv_sensitivity, DF, KF[:, :2]), "k")
XB = rng.normal(size=(2, 4, 4, 3))
for fn in (fast.down_blocks, fast.up_blocks):
    public = f"fast.{fn.__name__}"
    add_array_cases(public, "x", lambda v, fn=fn: call(fn, v, 2), XB)
    for bad in (0, -2, 1.5, "2", None, True):
        add(public, f"m-{bad!r}", call(fn, XB, bad), "m")
add("fast.down_blocks", "x-indivisible", call(fast.down_blocks, np.zeros((2, 5, 4, 3)), 2), "x")


def _fast_conv(*a, **k):
    return fast.FastConv(*a, **k)


layer_cases("fast.FastConv", fast.FastConv, (1, 6, 6), (2, 3), extra=(
    ("connections-shape", call(fast.FastConv, (1, 6, 6), 2, 3, "sigmoid", np.ones((2, 2), bool)), "connections"),
))
for bad in (0, "4", None):
    add("fast.FastDense", f"n_in-{bad!r}", call(fast.FastDense, bad, 3), "n_in")
add_array_cases("fast.FastDense", "x_prev", lambda v: call(lambda v: fast.FastDense(3, 2, rng=0).forward(v), v), XD)


def _fast_dense_backward(g):
    layer = fast.FastDense(3, 2, rng=0)
    layer.forward(XD)
    return layer.backward(g)


add_array_cases("fast.FastDense", "dE_dx", lambda v: call(_fast_dense_backward, v), np.zeros((5, 2)))


def _small_fast():
    return fast.fast_toolbox_cnn(input_size=14, maps=(2, 3), kernel_size=3, rng=0)


XN = rng.uniform(size=(3, 1, 14, 14))
TN = data.one_hot([0, 1, 2], 10)
for bad in ([], None, [5]):
    add("fast.FastNetwork", f"layers-{bad!r}", call(fast.FastNetwork, bad), "layers")
add("fast.FastNetwork", "loss", call(fast.FastNetwork, [fast.FastDense(3, 2)], loss="squared"), "loss")
for method in ("loss", "gradients"):
    add_array_cases("fast.FastNetwork", f"{method}-X",
                    lambda v, m=method: call(lambda v: getattr(_small_fast(), m)(v, TN), v), XN)
    add_array_cases("fast.FastNetwork", f"{method}-T",
                    lambda v, m=method: call(lambda v: getattr(_small_fast(), m)(XN, v), v), TN)
    add("fast.FastNetwork", f"{method}-empty", call(lambda m=method: getattr(_small_fast(), m)(XN[:0], TN[:0])), "X")
    add("fast.FastNetwork", f"{method}-T-(c,)", call(lambda m=method: getattr(_small_fast(), m)(XN, TN[0])), "T")
add_array_cases("fast.FastNetwork", "predict-X", lambda v: call(lambda v: _small_fast().predict(v), v), XN)

# -- cnnlit.combine --------------------------------------------------------------------
CC = rng.normal(size=(3, 2))
add_array_cases("combine.softmax", "c", lambda v: call(combine.softmax, v), CC, rank=False)
for bad in (np.zeros((0, 2)), np.zeros(0), np.zeros((2, 2, 2))):
    add("combine.softmax", f"c-shape-{bad.shape}", call(combine.softmax, bad), "c")
add_array_cases("combine.softmax_jacobian", "alpha", lambda v: call(combine.softmax_jacobian, v), np.full(3, 1 / 3))
add_array_cases("combine.softmax_backward", "alpha", lambda v: call(combine.softmax_backward, v, CC), combine.softmax(CC),
                rank=False)
add_array_cases("combine.softmax_backward", "dE_dalpha", lambda v: call(combine.softmax_backward, combine.softmax(CC), v),
                CC)
for bad in ("all", None, 1, ["pair"]):
    add("combine.check_kernels", f"kernels-{bad!r}", call(combine.check_kernels, bad), "kernels")
for cls in (combine.Combine, combine.FastCombine):
    public = f"combine.{cls.__name__}"
    layer_cases(public, cls, (2, 6, 6), (2, 3), extra=(
        ("kernels", call(cls, (2, 6, 6), 2, 3, "sigmoid", "all"), "kernels"),
    ))

# -- cnnlit.sparsity -------------------------------------------------------------------
A = combine.softmax(CC)
add_array_cases("sparsity.alpha_of", "c", lambda v: call(sparsity.alpha_of, v), CC)
for bad in (np.zeros((0, 2)), np.zeros((2, 0))):
    add("sparsity.alpha_of", f"c-empty-{bad.shape}", call(sparsity.alpha_of, bad), "c")
for fn in (sparsity.entropy, sparsity.effective_inputs):
    public = f"sparsity.{fn.__name__}"
    add_array_cases(public, "alpha", lambda v, fn=fn: call(fn, v), A, rank=False)
    for label, bad in (("negative", -A), ("above-1", A + 1), ("empty", np.zeros((0, 2))), ("3d", A[None])):
        add(public, f"alpha-{label}", call(fn, bad), "alpha")
for cls in (sparsity.L1Penalty, sparsity.EntropyPenalty, sparsity.LpPenalty):
    public = f"sparsity.{cls.__name__}"
    for method in ("value", "grad"):
        add_array_cases(public, f"{method}-c", lambda v, m=method, cls=cls: call(lambda v: getattr(cls(), m)(v), v), CC)
        add(public, f"{method}-c-empty", call(lambda m=method, cls=cls: getattr(cls(), m)(np.zeros((0, 2)))), "c")
for bad in (0, -0.5, 1.5, np.nan, "0.5", None, True):
    add("sparsity.LpPenalty", f"p-{bad!r}", call(sparsity.LpPenalty, bad), "p")
for bad in (-1, np.nan, np.inf, "0.1", None, True, 1j):
    add("sparsity.check_lam", f"lam-{bad!r}", call(sparsity.check_lam, bad), "lam")


def _comb_net():
    return combine.combine_cnn(input_size=14, maps=(2, 3), kernel_size=3, rng=0)


for bad in (None, 5, "model"):
    add("sparsity.Penalized", f"model-{bad!r}", call(sparsity.Penalized, bad, sparsity.EntropyPenalty(), 0.1), "model")
add("sparsity.Penalized", "model-no-c", call(sparsity.Penalized, _dense_net(), sparsity.EntropyPenalty(), 0.1), "model")
for bad in (None, "entropy", sparsity.EntropyPenalty):
    add("sparsity.Penalized", f"penalty-{bad!r}", call(sparsity.Penalized, _comb_net(), bad, 0.1), "penalty")
for bad in (-1, np.nan, "0.1", None):
    add("sparsity.Penalized", f"lam-{bad!r}", call(sparsity.Penalized, _comb_net(), sparsity.EntropyPenalty(), bad), "lam")
add("sparsity.Penalized", "loss-empty",
    call(lambda: sparsity.Penalized(_comb_net(), sparsity.EntropyPenalty(), 0.1).loss(XN[:0], TN[:0])), "X")
add("sparsity.Penalized", "gradients-T",
    call(lambda: sparsity.Penalized(_comb_net(), sparsity.EntropyPenalty(), 0.1).gradients(XN, TN[:, :2])), "T")

# -- cnnlit.train ----------------------------------------------------------------------
for bad in (None, 5, [1]):
    add("train.layer_rates", f"rates-{bad!r}", call(train.layer_rates, _small_fast(), bad), "rates")
add("train.layer_rates", "model", call(train.layer_rates, None, {2: 0.1}), "model")
for bad in (0, -0.1, np.nan, "0.1", None, True, np.zeros(2, complex)):
    add("train.layer_rates", f"rate-{bad!r}", call(train.layer_rates, _dense_net(), {2: bad, 3: 0.1}), "rates[2]")
    add("train.SGD", f"eta-{bad!r}", call(train.SGD, bad), "eta")
    add("train.SDLM", f"eta-{bad!r}", call(train.SDLM, bad), "eta")
    add("train.SDLM", f"mu-{bad!r}", call(train.SDLM, 0.1, bad), "mu")
for bad in (0, -0.1, 1.5, np.nan, "0.1", None, True):
    add("train.SDLM", f"gamma-{bad!r}", call(train.SDLM, 0.1, gamma=bad), "gamma")
add("train.SGD", "eta-dict-missing", call(lambda: train.SGD({"W2": 0.1}).check(_dense_net())), "eta", KeyError)
add("train.SGD", "eta-dict-nan", call(lambda: train.SGD({k: np.nan for k in _dense_net().params}).check(_dense_net())),
    "eta['W2']")
add("train.SDLM", "model", call(lambda: train.SDLM(0.1).check(object())), "model")


def _train(**kw):
    args = {"model": _dense_net(), "X": XD, "T": TD, "eta": 0.1, "batch_size": 2, **kw}
    return train.train(args.pop("model"), args.pop("X"), args.pop("T"), **args)


for bad in (None, 5):
    add("train.train", f"model-{bad!r}", call(_train, model=bad), "model")
add_array_cases("train.train", "X", lambda v: call(_train, X=v), XD)
add_array_cases("train.train", "T", lambda v: call(_train, T=v), TD)
add("train.train", "X-empty", call(_train, X=XD[:0], T=TD[:0]), "X")
add("train.train", "T-(N,1)", call(_train, T=TD[:, :1]), "T")
add("train.train", "T-(c,)", call(_train, T=TD[0]), "T")
for arg in ("epochs", "batch_size", "record_every"):
    for bad in (0, -1, 1.5, "2", True):
        add("train.train", f"{arg}-{bad!r}", call(_train, **{arg: bad}), arg)
add("train.train", "batch_size-too-big", call(_train, batch_size=6), "batch_size")
for bad in (-0.1, np.nan, "0.1"):
    add("train.train", f"eta-{bad!r}", call(_train, eta=bad), "eta")
add("train.train", "eta-and-optimizer", call(_train, optimizer=train.SGD(0.1)), "optimizer")
add("train.train", "optimizer", call(_train, eta=None, optimizer="sgd"), "optimizer")
add("train.train", "rng", call(_train, rng="seed"), "rng")
add("train.train", "monitor", call(_train, monitor=XD), "monitor")
add("train.train", "monitor-T", call(_train, monitor=(XD, TD[:, :1])), "T")
add("train.train", "callback", call(_train, callback=5), "callback")
for arg in ("shuffle", "per_step"):
    add("train.train", f"{arg}-str", call(_train, **{arg: "yes"}), arg)
add("train.train", "progress", call(_train, progress="yes"), "progress")

# output_curvature, curvatures
YC = rng.uniform(size=(4, 3))
add_array_cases("train.output_curvature", "y", lambda v: call(train.output_curvature, dense.SquaredError(), v, YC), YC)
add_array_cases("train.output_curvature", "T", lambda v: call(train.output_curvature, dense.SquaredError(), YC, v), YC,
                rank=False)
add("train.output_curvature", "T-(c,)", call(train.output_curvature, dense.SquaredError(), YC, YC[0]), "T")
add("train.output_curvature", "loss_fn", call(train.output_curvature, object(), YC, YC), "error")
add_array_cases("train.curvatures", "X", lambda v: call(lambda v: train.curvatures(_small_fast(), v, TN), v), XN)
add_array_cases("train.curvatures", "T", lambda v: call(lambda v: train.curvatures(_small_fast(), XN, v), v), TN)
add("train.curvatures", "X-empty", call(lambda: train.curvatures(_small_fast(), XN[:0], TN[:0])), "X")
add("train.curvatures", "model", call(train.curvatures, object(), XN, TN), "model")

SCE = train.SoftmaxCrossEntropy()
add_array_cases("train.SoftmaxCrossEntropy", "prob-u", lambda v: call(SCE.prob, v), YC)
add("train.SoftmaxCrossEntropy", "prob-u-no-columns", call(SCE.prob, np.zeros((3, 0))), "u")
for method in ("per_pattern", "grad", "curvature"):
    fn = getattr(SCE, method)
    add_array_cases("train.SoftmaxCrossEntropy", f"{method}-u", lambda v, fn=fn: call(fn, v, YC), YC)
    add_array_cases("train.SoftmaxCrossEntropy", f"{method}-t", lambda v, fn=fn: call(fn, YC, v), YC, rank=False)
    for label, t in (("(c,)", YC[0]), ("(N,1)", YC[:, :1])):
        add("train.SoftmaxCrossEntropy", f"{method}-t-{label}", call(fn, YC, t), "t")


# save_params / load_params: files are written by the test into tmp_path at call time
def _load(tmp_path, make):
    path = make(tmp_path)
    net = _dense_net()
    before = {k: v.copy() for k, v in net.params.items()}
    try:
        train.load_params(net, path)
    finally:
        assert all(np.array_equal(before[k], net.params[k]) for k in before), "a refused load changed the model"


def _npz(tmp_path, **arrays):
    path = tmp_path / "p.npz"
    np.savez(path, **arrays)
    return path


def _good_arrays():
    return {k: v.copy() for k, v in _dense_net().params.items()}


def _with(**changes):
    def make(tmp_path):
        arrays = _good_arrays()
        for k, v in changes.items():
            if v is None:
                del arrays[k]
            else:
                arrays[k] = v
        return _npz(tmp_path, **arrays)
    return make


def _raw(content):
    def make(tmp_path):
        path = tmp_path / "p.npz"
        path.write_bytes(content)
        return path
    return make


LOAD_FILES = {
    "missing-array": (_with(b3=None), "b3"),
    "extra-array": (_with(W9=np.zeros(2)), "W9"),
    "mis-shaped": (_with(b3=np.zeros(3)), "b3"),
    "mis-typed-float32": (_with(b3=np.zeros(2, np.float32)), "b3"),
    "mis-typed-int": (_with(b3=np.zeros(2, np.int64)), "b3"),
    "mis-typed-complex": (_with(b3=np.zeros(2, complex)), "b3"),
    "nan": (_with(b3=np.array([np.nan, 0.0])), "b3"),
    "pickled-object-array": (_with(b3=np.array([None, 1], dtype=object)), "p.npz"),
    "pickle-file": (_raw(pickle.dumps({"b3": np.zeros(2)})), "p.npz"),
    "text-file": (_raw(b"not an npz file"), "p.npz"),
    "empty-file": (_raw(b""), "p.npz"),
    "single-npy": (lambda tmp_path: (np.save(tmp_path / "p.npy", np.zeros(2)), tmp_path / "p.npy")[1], "p.npy"),
    "missing-file": (lambda tmp_path: tmp_path / "nothing.npz", "nothing.npz"),
}
for label, (make, name) in LOAD_FILES.items():
    exc = FileNotFoundError if label == "missing-file" else BAD
    add("train.load_params", f"file-{label}", ("tmp_path", partial(_load, make=make)), name, exc)
for bad in (None, 5):
    add("train.load_params", f"path-{bad!r}", call(train.load_params, _dense_net(), bad), "path")
    add("train.save_params", f"path-{bad!r}", call(train.save_params, _dense_net(), bad), "path")
add("train.load_params", "model", ("tmp_path", lambda tmp_path: train.load_params(None, _with()(tmp_path))), "model")
add("train.save_params", "model", ("tmp_path", lambda tmp_path: train.save_params(None, tmp_path / "p.npz")), "model")
add("train.save_params", "folder", ("tmp_path", lambda tmp_path: train.save_params(_dense_net(), tmp_path / "no" / "p.npz")),
    "path", FileNotFoundError)

# -- cnnlit.data -----------------------------------------------------------------------
GOOD_IDX = data.idx_bytes(np.arange(6, dtype=np.uint8).reshape(2, 3))
for label, bad in (("None", None), ("str", "abc"), ("int", 5), ("list", [0, 0, 8, 1]), ("array", np.zeros(4))):
    add("data.parse_idx", f"data-{label}", call(data.parse_idx, bad), "data")
for label, bad in (("empty", b""), ("truncated-magic", b"\0\0"), ("magic", b"\1\0" + GOOD_IDX[2:]),
                   ("type-code", GOOD_IDX[:2] + b"\x07" + GOOD_IDX[3:]), ("zero-dims", b"\0\0\x08\0"),
                   ("truncated-header", GOOD_IDX[:6]), ("truncated-data", GOOD_IDX[:-1]), ("trailing", GOOD_IDX + b"\0")):
    add("data.parse_idx", f"data-{label}", call(data.parse_idx, bad, "f.idx"), "f.idx")
add("data.parse_idx", "name", call(data.parse_idx, GOOD_IDX, 5), "name")


def _write(tmp_path, name, content):
    path = tmp_path / name
    path.write_bytes(content)
    return path


for label, content in (("truncated", GOOD_IDX[:-2]), ("magic", b"\xff\xff" + GOOD_IDX[2:]),
                       ("gzip-truncated", gzip.compress(GOOD_IDX)[:-6]), ("empty", b"")):
    add("data.read_idx", f"file-{label}", ("tmp_path", lambda tmp_path, c=content: data.read_idx(_write(tmp_path, "f.idx", c))),
        "f.idx")
add("data.read_idx", "missing", ("tmp_path", lambda tmp_path: data.read_idx(tmp_path / "none.idx")), "none.idx",
    FileNotFoundError)
add("data.read_idx", "folder", ("tmp_path", lambda tmp_path: data.read_idx(tmp_path)), str, FileNotFoundError)
for bad in (None, 5, b"f.idx", ["f.idx"]):
    add("data.read_idx", f"path-{bad!r}", call(data.read_idx, bad), "path")
for label, bad in (("float16", np.zeros(3, np.float16)), ("complex", np.zeros(3, complex)), ("object", np.array([None])),
                   ("bool", np.zeros(3, bool)), ("0-d", np.float64(1.0)), ("str", "abc"), ("None", None),
                   ("int64", np.zeros(3, np.int64))):
    add("data.idx_bytes", f"array-{label}", call(data.idx_bytes, bad), "array")
for bad in (None, 5):
    add("data.write_idx", f"path-{bad!r}", call(data.write_idx, bad, np.zeros(3, np.uint8)), "path")
add("data.write_idx", "array", ("tmp_path", lambda tmp_path: data.write_idx(tmp_path / "a.idx", np.zeros(3, complex))),
    "array")
add("data.write_idx", "compress", ("tmp_path", lambda tmp_path: data.write_idx(tmp_path / "a.idx", np.zeros(3, np.uint8),
                                                                                 "yes")), "compress")
add("data.write_idx", "folder", ("tmp_path", lambda tmp_path: data.write_idx(tmp_path / "no" / "a.idx",
                                                                              np.zeros(3, np.uint8))), "a.idx",
    FileNotFoundError)
for bad in (5, ["x"], True):
    add("data.load_mnist", f"path-{bad!r}", call(data.load_mnist, bad), "path")
add("data.load_mnist", "missing-folder", ("tmp_path", lambda tmp_path: data.load_mnist(tmp_path / "none")), "none",
    FileNotFoundError)
add("data.load_mnist", "empty-folder", ("tmp_path", lambda tmp_path: data.load_mnist(tmp_path)), "train-images",
    FileNotFoundError)
add("data.load_mnist", "a-file", ("tmp_path", lambda tmp_path: data.load_mnist(_write(tmp_path, "x", b""))), "x",
    FileNotFoundError)


def _bad_mnist_file(tmp_path):
    for name in data.MNIST_SHA256:
        data.write_idx(tmp_path / name, np.zeros((2, 28, 28) if "images" in name else 2, np.uint8))
    return data.load_mnist(tmp_path)


add("data.load_mnist", "checksum", ("tmp_path", _bad_mnist_file), "checksum")
for bad in (None, 5):
    add("data.download_mnist", f"dest-{bad!r}", call(data.download_mnist, bad), "dest")
for bad in (0, -1, np.nan, "60", None, True):
    add("data.download_mnist", f"timeout-{bad!r}", ("tmp_path", lambda tmp_path, b=bad: data.download_mnist(
        tmp_path / "d", timeout=b)), "timeout")
for bad in (None, 5, ""):
    add("data.download_mnist", f"base_url-{bad!r}", ("tmp_path", lambda tmp_path, b=bad: data.download_mnist(
        tmp_path / "d", base_url=b)), "base_url")

def _bad_download(tmp_path, content):
    """A download (from a file:// URL) whose content fails its checksum leaves nothing behind."""
    src, dest = tmp_path / "src", tmp_path / "dest"
    src.mkdir()
    for name in data.MNIST_SHA256:
        (src / (name + ".gz")).write_bytes(content)
    try:
        data.download_mnist(dest, base_url=src.as_uri() + "/")
    finally:
        assert list(dest.iterdir()) == [], f"a refused download left files behind: {list(dest.iterdir())}"


for label, content in (("checksum", gzip.compress(GOOD_IDX)), ("truncated-gzip", gzip.compress(GOOD_IDX)[:-5]),
                       ("empty", b"")):
    add("data.download_mnist", f"file-{label}", ("tmp_path", partial(_bad_download, content=content)),
        "checksum" if label != "truncated-gzip" else "gzip")


def _refused_write(tmp_path):
    """write_idx of an array IDX cannot store leaves no file behind."""
    try:
        data.write_idx(tmp_path / "a.idx", np.zeros(3, np.float16))
    finally:
        assert list(tmp_path.iterdir()) == []


add("data.write_idx", "nothing-left", ("tmp_path", _refused_write), "array")

SUB = data.MNIST(np.zeros((20, 28, 28), np.uint8), np.repeat(np.arange(10, dtype=np.uint8), 2),
                 np.zeros((20, 28, 28), np.uint8), np.repeat(np.arange(10, dtype=np.uint8), 2))
for bad in (None, (1, 2, 3, 4), {"X_train": 1}):
    add("data.cut_subset", f"mnist-{bad!r}", call(data.cut_subset, bad), "mnist")
add("data.cut_subset", "mnist-labels-float", call(data.cut_subset, SUB._replace(y_train=SUB.y_train.astype(float)),
                                                  {"train": 1, "test": 1}), "mnist.X_train")
add("data.cut_subset", "mnist-labels-short", call(data.cut_subset, SUB._replace(y_test=SUB.y_test[:3]),
                                                  {"train": 1, "test": 1}), "mnist.X_test")
for bad in ({"train": 0, "test": 1}, {"train": -1, "test": 1}, {"train": 1.5, "test": 1}, {"train": "1", "test": 1},
            {"train": True, "test": 1}):
    add("data.cut_subset", f"per_class-{bad!r}", call(data.cut_subset, SUB, bad), "per_class['train']")
for bad in ({"train": 1}, 5, None, {"train": 1, "test": 1, "val": 1}):
    add("data.cut_subset", f"per_class-{bad!r}", call(data.cut_subset, SUB, bad), "per_class")
add("data.cut_subset", "per_class-too-many", call(data.cut_subset, SUB, {"train": 3, "test": 1}), "train set")
for bad in (-1, 1.5, "2006", None, True):
    add("data.cut_subset", f"seed-{bad!r}", call(data.cut_subset, SUB, {"train": 1, "test": 1}, bad), "seed")

for bad in (0, -1, 1.5, "10", None, True):
    add("data.one_hot", f"c-{bad!r}", call(data.one_hot, [0, 1], bad), "c")
for bad in (np.nan, np.inf, -np.inf, 1.0, 1.5, "0", None, True, 1j):
    add("data.one_hot", f"off-{bad!r}", call(data.one_hot, [0, 1], 3, bad), "off")
for label, bad in (("float", [0.0, 1.0]), ("bool", [True, False]), ("2d", [[0, 1]]), ("str", ["0"]), ("None", None),
                   ("complex", [1j]), ("object", np.array([0, None], dtype=object)), ("negative", [-1, 0]),
                   ("too-big", [0, 3])):
    add("data.one_hot", f"labels-{label}", call(data.one_hot, bad, 3), "labels")
for bad in (np.int64, np.bool_, np.complex128, "abc"):
    add("data.one_hot", f"dtype-{bad!r}", call(data.one_hot, [0, 1], 3, dtype=bad), "dtype")
for bad in ("val", None, 1, ["train"]):
    add("data.load_digits", f"split-{bad!r}", call(data.load_digits, bad), "split")
for bad in (np.nan, 1.0, "0", None, True):
    add("data.load_digits", f"off-{bad!r}", call(data.load_digits, off=bad), "off")
for bad in (np.int64, "abc", None):
    add("data.load_digits", f"dtype-{bad!r}", call(data.load_digits, dtype=bad), "dtype")
for arg in ("flatten", "scale", "one_hot_targets"):
    add("data.load_digits", f"{arg}-str", call(data.load_digits, **{arg: "yes"}), arg)
IMGS, LABS = np.zeros((4, 28, 28), np.uint8), np.arange(4)
for label, bad in (("float", IMGS.astype(float)), ("empty", IMGS[:0]), ("1d", np.zeros(4, np.uint8)),
                   ("None", None), ("str", "abc")):
    add("data.pixel_stats", f"images-{label}", call(data.pixel_stats, bad, LABS if label != "empty" else LABS[:0]),
        "images")
for label, bad in (("float", LABS.astype(float)), ("short", LABS[:3]), ("range", LABS + 7), ("None", None)):
    add("data.pixel_stats", f"labels-{label}", call(data.pixel_stats, IMGS, bad), "labels")
for bad in (0, 3, -2, "16", True, 1.5):
    add("data.pixel_stats", f"bins-{bad!r}", call(data.pixel_stats, IMGS, LABS, bad), "bins")


# -- cnnlit.cli (chapter 8): the functions behind the command line, called from Python ----------
# (tests/test_cli.py runs the program itself: exit codes, one-line messages, no traceback)
for bad in ("nope", None, 3, "Toolbox"):
    add("cli.build_model", f"name-{bad!r}", call(cli.build_model, bad), "name")
for bad in ("mse", 1, "Squared"):
    add("cli.build_model", f"loss-{bad!r}", call(cli.build_model, "toolbox", loss=bad), "loss")
add("cli.build_model", "rng", call(cli.build_model, "best", rng="seed"), "rng")
add("cli.build_model", "dtype", call(cli.build_model, "toolbox", dtype=np.int64), "dtype")
for label, bad in (("None", None), ("dense-net", dense.Network([dense.Dense(2, 2)])), ("str", "toolbox")):
    add("cli.with_softmax", f"net-{label}", call(cli.with_softmax, bad), "net")
for label, bad in (("None", None), ("str", "toolbox")):
    add("cli.scores", f"model-{label}", call(cli.scores, bad, np.zeros((1, 1, 28, 28))), "model")
TOOLBOX = cli.build_model("toolbox")
for label, bad in (("rank", np.zeros((2, 28, 28), np.float32)), ("shape", np.zeros((2, 1, 27, 27), np.float32)),
                   ("nan", np.full((1, 1, 28, 28), np.nan, np.float32)), ("str", "abc"), ("None", None)):
    add("cli.scores", f"X-{label}", call(cli.scores, TOOLBOX, bad), "X")
Y = np.array([0, 1, 2])
for label, bad in (("float", Y.astype(float)), ("bool", Y > 0), ("2d", Y[None]), ("empty", Y[:0]), ("range", Y + 8),
                   ("negative", Y - 1), ("str", "012"), ("None", None), ("ragged", [[0], [1, 2]])):
    add("cli.confusion_matrix", f"labels-{label}", call(cli.confusion_matrix, bad, Y), "labels")
    add("cli.confusion_matrix", f"predicted-{label}", call(cli.confusion_matrix, Y, bad), "predicted")
add("cli.confusion_matrix", "predicted-length", call(cli.confusion_matrix, Y, Y[:2]), "predicted")
for bad in (0, -1, 2.5, True, "10", None):
    add("cli.confusion_matrix", f"c-{bad!r}", call(cli.confusion_matrix, Y, Y, bad), "c")
for bad in (None, 3, ["x"]):
    add("cli.CLIError", f"message-{bad!r}", call(cli.CLIError, bad), "message")
for bad in (0, 3, 130, "1", True, None):
    add("cli.CLIError", f"code-{bad!r}", call(cli.CLIError, "x", bad), "code")
INFO = {"model": "toolbox", "loss": "squared", "dtype": "float32"}
for label, bad in (("None", None), ("no-params", object())):
    add("cli.save_model", f"model-{label}", ("tmp_path", lambda tmp, b=bad: cli.save_model(b, tmp / "m.npz", INFO)),
        "model")
for label, bad in (("None", None), ("list", [1]), ("no-dtype", {"model": "toolbox", "loss": "squared"}),
                   ("not-json", {**INFO, "when": object()}), ("nan", {**INFO, "lr": float("nan")})):
    add("cli.save_model", f"info-{label}", ("tmp_path", lambda tmp, b=bad: cli.save_model(TOOLBOX, tmp / "m.npz", b)),
        "info")
for label, bad in (("None", None), ("int", 3), ("empty", "")):
    add("cli.save_model", f"path-{label}", call(cli.save_model, TOOLBOX, bad, INFO), "path")
add("cli.save_model", "path-is-folder", ("tmp_path", lambda tmp: cli.save_model(TOOLBOX, tmp, INFO)), str)
# issue 20, class 5: exactly the path asked for, and nothing the loader would refuse
add("cli.save_model", "path-trailing-slash",
    ("tmp_path", lambda tmp: cli.save_model(TOOLBOX, str(tmp / "new") + "/", INFO)), str)
add("cli.save_model", "path-folder-trailing-slash", ("tmp_path", lambda tmp: cli.save_model(TOOLBOX, f"{tmp}/", INFO)),
    str)


def _tampered(label):
    net = cli.build_model("toolbox", rng=1)
    if label in ("nan", "inf", "-inf"):
        net.params["W6"].flat[0] = float(label)
    return net


for label in ("nan", "inf", "-inf"):
    add("cli.save_model", f"model-{label}",
        ("tmp_path", lambda tmp, lab=label: cli.save_model(_tampered(lab), tmp / "m.npz", INFO)), "model")
for label, bad in (("other-model", {**INFO, "model": "best"}), ("other-dtype", {**INFO, "dtype": "float64"}),
                   ("unknown-model", {**INFO, "model": "lenet"}), ("int-dtype", {**INFO, "dtype": "int32"}),
                   ("deep", {**INFO, "x": json.loads("[" * 40 + "]" * 40)}),
                   ("huge", {**INFO, "x": "a" * (cli.MAX_INFO_BYTES + 1)})):
    add("cli.save_model", f"info-{label}",
        ("tmp_path", lambda tmp, b=bad: cli.save_model(TOOLBOX, tmp / "m.npz", b)), "info")
add("cli.save_model", "path-no-folder",
    ("tmp_path", lambda tmp: cli.save_model(TOOLBOX, tmp / "nowhere" / "m.npz", INFO)), str, FileNotFoundError)


def _model_file(tmp, label):
    """A model file damaged in the way ``label`` says (or not a model file at all)."""
    path = tmp / f"{label}.npz"
    arrays = {k: np.array(v) for k, v in TOOLBOX.params.items()}
    info = json.dumps(INFO)
    if label == "text":
        path.write_text("not a zip file")
        return path
    if label == "single-array":
        np.save(tmp / "single.npy", np.zeros(3))
        return (tmp / "single.npy").rename(path)
    if label == "pickled":
        np.savez(path, obj=np.array([{"a": 1}], dtype=object), cnnlit_info=np.array(info))
        return path
    if label == "no-info":
        np.savez(path, **arrays)
        return path
    if label == "corrupt-deflate":          # a compressed archive whose data stream is damaged
        np.savez_compressed(path, **arrays, cnnlit_info=np.array(info))
        raw = bytearray(path.read_bytes())
        start = raw.index(b"k2.npy") + 200
        raw[start:start + 64] = bytes(64)
        path.write_bytes(bytes(raw))
        return path
    if label == "not-npy-member":           # a zip member without the .npy header
        with zipfile.ZipFile(path, "w") as z:
            z.writestr("k2.npy", b"just bytes")
            z.writestr("cnnlit_info.npy", b"more bytes")
        return path
    if label in ("huge-shape", "encrypted", "deflate64", "deep-json", "huge-info"):   # issue 20, class 7
        import io
        members = {f"{k}.npy": v for k, v in arrays.items()}
        members["cnnlit_info"] = np.array(info)
        if label == "deep-json":
            members["cnnlit_info"] = np.array("[" * 100000 + "]" * 100000)
        blobs = {}
        for name, a in members.items():
            buf = io.BytesIO()
            np.save(buf, a)
            blobs[name if name.endswith(".npy") else name + ".npy"] = buf.getvalue()
        for name, header in (("huge-shape", ("k2.npy", "<f4", (10**6, 10**6))),
                             ("huge-info", ("cnnlit_info.npy", "<U1000000000", ()))):
            if label == name:
                buf = io.BytesIO()
                np.lib.format.write_array_header_1_0(
                    buf, {"descr": header[1], "fortran_order": False, "shape": header[2]})
                blobs[header[0]] = buf.getvalue()
        with zipfile.ZipFile(path, "w") as z:
            for name, blob in blobs.items():
                z.writestr(name, blob)
        if label in ("encrypted", "deflate64"):
            raw = bytearray(path.read_bytes())
            for sig, at in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
                i = raw.find(sig)
                while i >= 0:
                    if label == "encrypted":
                        raw[i + at] |= 1
                    else:
                        raw[i + at + 2:i + at + 4] = (9).to_bytes(2, "little")
                    i = raw.find(sig, i + 4)
            path.write_bytes(bytes(raw))
        return path
    if label == "info-array":
        np.savez(path, **arrays, cnnlit_info=np.array([info, info]))
        return path
    if label == "bad-info":
        info = json.dumps({"model": "resnet", "loss": "squared", "dtype": "float32"})
    elif label == "info-not-object":
        info = json.dumps([1, 2])
    elif label == "info-int-dtype":
        info = json.dumps({**INFO, "dtype": "int64"})
    elif label == "missing":
        del arrays["k2"]
    elif label == "extra":
        arrays["k9"] = np.zeros(3, np.float32)
    elif label == "mis-shaped":
        arrays["W6"] = arrays["W6"][:, :-1]
    elif label == "mis-typed":
        arrays["W6"] = arrays["W6"].astype(np.float64)
    elif label == "complex":
        arrays["W6"] = arrays["W6"].astype(np.complex64)
    elif label == "nan":
        arrays["b6"][0] = np.nan
    np.savez(path, **arrays, cnnlit_info=np.array(info))
    return path


for label in ("text", "single-array", "pickled", "no-info", "corrupt-deflate", "not-npy-member", "info-array", "bad-info",
              "info-not-object", "info-int-dtype", "missing",
              "extra", "mis-shaped", "mis-typed", "complex", "nan",
              "huge-shape", "encrypted", "deflate64", "deep-json", "huge-info"):
    add("cli.load_model", f"file-{label}", ("tmp_path", lambda tmp, lab=label: cli.load_model(_model_file(tmp, lab))),
        str)
add("cli.load_model", "missing-file", ("tmp_path", lambda tmp: cli.load_model(tmp / "none.npz")), str, FileNotFoundError)
add("cli.load_model", "folder", ("tmp_path", lambda tmp: cli.load_model(tmp)), str)
add("cli.load_model", "dev-zero", call(cli.load_model, "/dev/zero"), "/dev/zero")
add("cli.load_model", "fifo", ("tmp_path", lambda tmp: (os.mkfifo(tmp / "p.npz"), cli.load_model(tmp / "p.npz"))), str)
for label, bad in (("None", None), ("int", 3), ("empty", "")):
    add("cli.load_model", f"path-{label}", call(cli.load_model, bad), "path")
for label, bad in (("int", 3), ("empty", "")):
    add("cli.load_data", f"folder-{label}", call(cli.load_data, bad, np.float32), "folder")
add("cli.load_data", "folder-missing", ("tmp_path", lambda tmp: cli.load_data(tmp / "nowhere", np.float32)), str,
    FileNotFoundError)
add("cli.load_data", "folder-empty", ("tmp_path", lambda tmp: cli.load_data(tmp, np.float32)), str, FileNotFoundError)
for bad in (np.int64, None, "abc", np.complex128):
    add("cli.load_data", f"dtype-{bad!r}", call(cli.load_data, None, bad), "dtype")


def _image_file(tmp, label):
    from PIL import Image
    path = tmp / f"{label}.{'png' if label.endswith('png') else 'npy'}"
    if label == "text-png":
        path.write_text("hello")
    elif label == "big-png":
        Image.fromarray(np.zeros((32, 32), np.uint8)).save(path)
    elif label == "colour-png":
        colour = np.zeros((28, 28, 3), np.uint8)
        colour[..., 0] = 200
        Image.fromarray(colour).save(path)
    elif label == "transparent-png":                    # issue 20, class 9: nothing drawn
        Image.new("RGBA", (50, 50), (0, 0, 0, 0)).save(path)
    elif label == "white-png":
        Image.new("L", (300, 200), 255).save(path)
    elif label == "cmyk-blank-png":
        Image.new("CMYK", (40, 40), (0, 0, 0, 0)).convert("RGB").save(path)
    elif label == "bomb-png":                           # class 7: a header that claims 20000 x 20000
        import struct
        Image.new("L", (1, 1)).save(path)
        raw = bytearray(path.read_bytes())
        i = raw.index(b"IHDR")
        raw[i + 4:i + 12] = struct.pack(">II", 20000, 20000)
        raw[i + 17:i + 21] = struct.pack(">I", zlib.crc32(bytes(raw[i:i + 17])))
        path.write_bytes(bytes(raw))
    else:
        value = {"negative": -np.ones((28, 28)), "nan": np.full((28, 28), np.nan), "big": np.full((28, 28), 300.0),
                 "complex": np.ones((28, 28), complex), "object": np.array([None, 1], dtype=object),
                 "strings": np.full((28, 28), "x"), "3d": np.zeros((2, 28, 28)), "1d": np.zeros(784),
                 "empty": np.zeros((0, 28, 3)), "0d": np.array(3.0), "blank": np.full((28, 28), 0.5),
                 "huge-header": None}[label]
        if label == "huge-header":                     # class 7: declares 8 TB in a few bytes
            with open(path, "wb") as f:
                np.lib.format.write_array_header_1_0(f, {"descr": "<f8", "fortran_order": False,
                                                         "shape": (10**6, 10**6)})
            return path
        np.save(path, value, allow_pickle=True)
    return path


for label in ("text-png", "big-png", "colour-png", "negative", "nan", "big", "complex", "object", "strings", "3d", "1d",
              "empty", "0d", "transparent-png", "white-png", "cmyk-blank-png", "bomb-png", "blank", "huge-header"):
    add("cli.read_image", f"file-{label}", ("tmp_path", lambda tmp, lab=label: cli.read_image(_image_file(tmp, lab))), str)
add("cli.read_image", "missing-file", ("tmp_path", lambda tmp: cli.read_image(tmp / "none.png")), str, FileNotFoundError)
add("cli.read_image", "folder", ("tmp_path", lambda tmp: cli.read_image(tmp)), str)
for label, bad in (("None", None), ("int", 3), ("empty", "")):
    add("cli.read_image", f"path-{label}", call(cli.read_image, bad), "path")
X28 = np.zeros((2, 1, 28, 28), np.float32)
for label, bad in (("rank", np.zeros((2, 28, 28), np.float32)), ("int", np.zeros((2, 1, 28, 28), int)),
                   ("str", "abc"), ("None", None)):
    add("cli.distort", f"X-{label}", call(cli.distort, bad, 0), "X")
for arg, bads in (("shift", (-1, 9, float("nan"), "2", True)), ("angle", (-5, 90, float("inf"))),
                  ("scale", (-0.1, 0.6, None))):
    for bad in bads:
        add("cli.distort", f"{arg}-{bad!r}", call(cli.distort, X28, 0, **{arg: bad}), arg)
for bad in ("seed", -1, 1.5):
    add("cli.distort", f"rng-{bad!r}", call(cli.distort, X28, bad), "rng")
XS_FIT, TS_FIT = np.zeros((4, 1, 28, 28), np.float32), np.eye(10, dtype=np.float32)[[0, 1, 2, 3]]
for arg, bads in (("epochs", (0, -1, 1.5, True, None)), ("batch_size", (0, 2.5, "50")),
                  ("lr", (0, -1, float("nan"), 1e39, "0.1")), ("decay", (0, 1.5, 1e300, float("nan"))),
                  ("layer_scale", ([4, 2, 1], "4")), ("distortion", ("shift", 2.0)), ("on_epoch", (3, "print")),
                  ("rng", ("seed", -2))):
    for bad in bads:
        kwargs = {"epochs": 1, "lr": 0.1, arg: bad}
        add("cli.fit", f"{arg}-{bad!r}", call(cli.fit, TOOLBOX, XS_FIT, TS_FIT, **kwargs), arg)
for label, bad in (("3d", np.zeros((2, 28, 28))), ("nan", np.full((28, 28), np.nan)), ("empty", np.zeros((0, 5))),
                   ("blank", np.zeros((40, 40))), ("one-dot", np.eye(40)[:1].repeat(1, 0)), ("str", "abc")):
    add("cli.preprocess", f"x-{label}", call(cli.preprocess, bad), "x")
SGD1 = train.SGD(0.1)
for label, bad in (("None", None), ("str", "sgd")):
    add("cli.Progress", f"optimizer-{label}", call(cli.Progress, bad, 10, "epoch 1"), "optimizer")
for bad in (0, -1, 2.5, True, None):
    add("cli.Progress", f"total-{bad!r}", call(cli.Progress, SGD1, bad, "epoch 1"), "total")
    add("cli.Progress", f"width-{bad!r}", call(cli.Progress, SGD1, 10, "epoch 1", width=bad), "width")
for bad in (None, 1):
    add("cli.Progress", f"label-{bad!r}", call(cli.Progress, SGD1, 10, bad), "label")
add("cli.Progress", "stream", call(cli.Progress, SGD1, 10, "epoch 1", stream="stderr"), "stream")
for bad in (-1.0, float("nan"), "0.2", True):
    add("cli.Progress", f"every-{bad!r}", call(cli.Progress, SGD1, 10, "epoch 1", every=bad), "every")
for public, fn in (("cli.cmd_train", cli.cmd_train), ("cli.cmd_evaluate", cli.cmd_evaluate),
                   ("cli.cmd_predict", cli.cmd_predict)):
    for label, bad in (("None", None), ("dict", {"model": "toolbox"})):
        add(public, f"a-{label}", call(fn, bad), "a")
    add(public, "a-empty-namespace", call(fn, argparse.Namespace()), "a")
for label, bad in (("str", "train --epochs 1"), ("ints", ["train", 1]), ("int", 3)):
    add("cli.main", f"argv-{label}", call(cli.main, bad), "argv")


# -- issue 20: trustworthy at the edges, second pass (classes 1-4, 6-8, 10, 11; not the CLI) --------
# Each class is mutated in every way it covers. Classes 7 and 8 are also run under tracemalloc by
# test_nothing_large_is_allocated below: a refusal must come before any large allocation.


def _f32_net():
    return dense.Network([dense.Dense(3, 4, rng=0, dtype=np.float32), dense.Dense(4, 2, rng=1, dtype=np.float32)])


def _readonly(net, key):
    dict.__getitem__(net.params, key).flags.writeable = False
    return net


# class 1: every way of writing into a model's params dict is checked (or refused) like item assignment
_P_BAD = {"shape": np.zeros(3), "nan": np.array([np.nan, 0.0]), "str": "ab", "int": np.zeros(2, np.int64)}
for label, bad in _P_BAD.items():
    add("checks.ParamDict", f"update-b3-{label}", call(lambda v: _dense_net().params.update({"b3": v}), bad), "params['b3']")
    add("checks.ParamDict", f"update-kw-b3-{label}", call(lambda v: _dense_net().params.update(b3=v), bad), "params['b3']")
    add("checks.ParamDict", f"ior-b3-{label}", call(lambda v: _dense_net().params.__ior__({"b3": v}), bad), "params['b3']")
    add("checks.ParamDict", f"assign-b3-{label}", call(lambda v: setattr(_dense_net(), "params", {**_good_arrays(), "b3": v}),
                                                       bad), "params['b3']")
add("checks.ParamDict", "update-unknown", call(lambda: _dense_net().params.update({"W9": np.zeros(2)})), "W9", KeyError)
add("checks.ParamDict", "ior-unknown", call(lambda: _dense_net().params.__ior__({"W9": np.zeros(2)})), "W9", KeyError)
add("checks.ParamDict", "setdefault-unknown", call(lambda: _dense_net().params.setdefault("W9", np.zeros(2))), "W9", KeyError)
for method, args in (("pop", ("W2",)), ("popitem", ()), ("clear", ()), ("__delitem__", ("W2",))):
    add("checks.ParamDict", f"{method}", call(lambda m=method, a=args: getattr(_dense_net().params, m)(*a)), "params.update")
add("checks.ParamDict", "assign-partial", call(lambda: setattr(_dense_net(), "params", {"W2": np.zeros((4, 3))})), "params",
    KeyError)
add("sparsity.Penalized", "params-assign-partial",
    call(lambda: setattr(sparsity.Penalized(_comb_net(), sparsity.EntropyPenalty(), 0.1), "params", {"c4": 0})), "params",
    KeyError)
add("checks.ParamDict", "assign-not-a-dict", call(lambda: setattr(_dense_net(), "params", [1, 2])), "params", KeyError)
add("checks.ParamDict", "read-only", call(lambda: _set(_readonly(_dense_net(), "b3").params, "b3", np.ones(2))), "params['b3']")
add("checks.ParamDict", "update-read-only", call(lambda: _readonly(_dense_net(), "b3").params.update(b3=np.ones(2))),
    "params['b3']")
add("checks.ParamDict", "layer-params", call(lambda: _set(dense.Dense(2, 2).params, "b", np.zeros(3))), "params['b']")

# class 2: one layer object in two places
_D33 = dense.Dense(3, 3, rng=0)
add("dense.Network", "same-layer-twice", call(lambda: dense.Network([_D33, _D33])), "layers[1]")
add("dense.Network", "same-layer-apart", call(lambda: dense.Network([_D33, dense.Dense(3, 3), _D33])), "layers[2]")
_FD33 = fast.FastDense(3, 3, rng=0)
add("fast.FastNetwork", "same-layer-twice", call(lambda: fast.FastNetwork([_FD33, _FD33])), "layers[1]")
_S22 = subsample.Subsample((1, 8, 8), 2)
add("subsample.Subsample", "same-layer-twice", call(lambda: dense.Network([_S22, subsample.Subsample((1, 4, 4), 2), _S22])),
    "layers[2]")

# class 3: a dict of rates that misses a parameter or names an unknown one, where it is used
def _step_with(eta):
    net = _dense_net()
    return dense.gradient_step(net.params, net.gradients(XD, TD), eta)


def _sgd_step(eta):
    net = _dense_net()
    return train.SGD(eta).step(net, XD, TD)


_RATES = {k: 0.1 for k in ("W2", "b2", "W3", "b3")}
for label, eta in (("missing", {k: v for k, v in _RATES.items() if k != "b3"}), ("unknown", {**_RATES, "W9": 0.1}),
                   ("empty", {})):
    add("dense.gradient_step", f"eta-dict-{label}", call(_step_with, eta), "eta", KeyError)
    add("train.SGD", f"step-eta-dict-{label}", call(_sgd_step, eta), "eta", KeyError)

# class 4: cross-entropy targets and the probability-valued helpers
_U = rng.normal(size=(3, 4))
_T_GOOD = data.one_hot([0, 1, 3], 4)
_T_BAD = {"negative": _T_GOOD - 0.5 * data.one_hot([2, 2, 2], 4), "sum-2": 2 * _T_GOOD, "sum-half": 0.5 * _T_GOOD,
          "zeros": np.zeros((3, 4)), "above-1": _T_GOOD * 1.5 - 0.5 * np.roll(_T_GOOD, 1, axis=1),
          "soft-sum-1.01": np.full((3, 4), 0.2525)}
_CE = train.SoftmaxCrossEntropy()
_CE_NET = dense.Network([dense.Dense(3, 4, "identity", rng=0)], loss=train.SoftmaxCrossEntropy())
for label, bad in _T_BAD.items():
    for method in ("per_pattern", "grad", "curvature"):
        add("train.SoftmaxCrossEntropy", f"{method}-t-{label}", call(getattr(_CE, method), _U, bad), "t")
    add("train.output_curvature", f"t-{label}", call(train.output_curvature, _CE, _U, bad), "t")
    add("train.curvatures", f"T-ce-{label}", call(train.curvatures, _CE_NET, XD[:3], bad), "t")
    add("dense.Network", f"loss-ce-T-{label}", call(_CE_NET.loss, XD[:3], bad), "t")
    add("dense.Network", f"gradients-ce-T-{label}", call(_CE_NET.gradients, XD[:3], bad), "t")
    add("train.train", f"ce-T-{label}", call(_train, model=_CE_NET, X=XD[:3], T=bad), "t")
_A_BAD = {"sum-2": np.array([[1.0, 0.5], [1.0, 0.5]]), "sum-half": np.array([[0.25, 0.5], [0.25, 0.5]]),
          "negative": np.array([[1.5, 0.5], [-0.5, 0.5]]), "zeros": np.zeros((2, 2))}
for label, bad in _A_BAD.items():
    label = f"columns-{label}"
    add("sparsity.entropy", f"alpha-{label}", call(sparsity.entropy, bad), "alpha")
    add("sparsity.effective_inputs", f"alpha-{label}", call(sparsity.effective_inputs, bad), "alpha")
    add("combine.softmax_jacobian", f"alpha-{label}", call(combine.softmax_jacobian, bad[:, 0]), "alpha")
    add("combine.softmax_backward", f"alpha-{label}", call(combine.softmax_backward, bad, np.ones((2, 2))), "alpha")

# class 5 (the part in chapter 7): save_params writes exactly its path, and only what load_params reads
add("train.save_params", "path-trailing-slash", ("tmp_path", lambda tmp_path: train.save_params(_dense_net(), f"{tmp_path}/p/")),
    "path", FileNotFoundError)
add("train.save_params", "path-folder", ("tmp_path", lambda tmp_path: train.save_params(_dense_net(), tmp_path)), "path",
    FileNotFoundError)
add("train.save_params", "path-empty", call(train.save_params, _dense_net(), ""), "path")
for fn in (train.save_params, train.load_params):
    add(f"train.{fn.__name__}", "model-params-list", ("tmp_path", lambda t, fn=fn: fn(_ParamsList(), t / "p.npz")),
        "model.params")
add("train.save_params", "path-fifo", ("tmp_path", lambda t: (os.mkfifo(t / "f"), train.save_params(_dense_net(), t / "f"))),
    "path", FileNotFoundError)
add("train.save_params", "path-dev-zero", call(train.save_params, _dense_net(), "/dev/zero"), "path", FileNotFoundError)
for label, v in (("nan", np.nan), ("inf", np.inf)):
    add("train.save_params", f"params-{label}",
        ("tmp_path", lambda tmp_path, v=v: train.save_params(_nonfinite_net(v), tmp_path / "p.npz")), "model.params['b3']")


class _ParamsList:
    params = [np.zeros(2)]


def _nonfinite_net(v):
    net = _dense_net()
    dict.__getitem__(net.params, "b3")[0] = v
    return net


# class 6: finite float64 that overflows float32 is refused after the cast
for label, big in (("1e39", 1e39), ("-1e39", -1e39), ("max64", np.finfo(np.float64).max)):
    X32 = XD.copy()
    X32[0, 0] = big
    add("dense.Network", f"predict-f32-X-{label}", call(_f32_net().predict, X32), "X")
    add("dense.Network", f"loss-f32-X-{label}", call(_f32_net().loss, X32, TD[:2]), "X")
    add("dense.Dense", f"forward-f32-{label}", call(dense.Dense(3, 4, dtype=np.float32).forward, X32), "x_prev")
    add("checks.as_float_array", f"f32-{label}", call(checks.as_float_array, "X", X32, dtype=np.float32), "X")
    add("checks.ParamDict", f"f32-b3-{label}", call(lambda b=big: _set(_f32_net().params, "b3", np.array([b, 0.0]))),
        "params['b3']")
    add("train.train", f"f32-X-{label}", call(_train, model=_f32_net(), X=X32), "X")
    add("train.train", f"f32-T-{label}", call(_train, model=_f32_net(), T=np.where(TD > 0, big, 0.0)), "T")
    add("dense.gradient_step", f"f32-eta-{label}", call(lambda b=big: dense.gradient_step(
        _f32_net().params, _f32_net().gradients(XD, TD), abs(b))), "eta")


# class 7: crafted files must not exhaust memory (data.py loaders, load_params, read_npz)
def _gzip_bomb(tmp_path, declared_shape=(2, 3), payload=64 << 20):
    """An IDX file whose header declares a small array, followed by 64 MB of zeros, gzipped (~64 kB)."""
    header = bytes([0, 0, 0x08, len(declared_shape)]) + np.asarray(declared_shape, ">u4").tobytes()
    import zlib
    c = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    parts = [c.compress(header)]
    zeros = bytes(1 << 20)
    for _ in range(payload >> 20):
        parts.append(c.compress(zeros))
    parts.append(c.flush())
    path = tmp_path / "bomb-idx3-ubyte.gz"
    path.write_bytes(b"".join(parts))
    return path


def _npy_header(shape, descr="<f8"):
    import io
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": descr, "fortran_order": False, "shape": shape})
    return buf.getvalue()


def _zip_with(tmp_path, members, patch=None):
    """A zip (stored) of {name: bytes}; ``patch`` = (offset in the central directory entry, bytes)."""
    path = tmp_path / "p.npz"
    with zipfile.ZipFile(path, "w") as z:
        for name, content in members.items():
            z.writestr(name, content)
    if patch is not None:
        raw = bytearray(path.read_bytes())
        i = raw.index(b"PK\x01\x02")
        off, value = patch
        raw[i + off:i + off + len(value)] = value
        path.write_bytes(bytes(raw))
    return path


def _good_members():
    import io
    out = {}
    for k, v in _good_arrays().items():
        buf = io.BytesIO()
        np.save(buf, v)
        out[f"{k}.npy"] = buf.getvalue()
    return out


CRAFTED_NPZ = {
    "huge-shape": lambda t: _zip_with(t, {**_good_members(), "b3.npy": _npy_header((10**12,)) + bytes(16)}),
    "huge-2d-shape": lambda t: _zip_with(t, {**_good_members(), "W3.npy": _npy_header((10**6, 10**6)) + bytes(64)}),
    "shape-short": lambda t: _zip_with(t, {**_good_members(), "b3.npy": _npy_header((2,)) + bytes(8)}),
    "encrypted": lambda t: _zip_with(t, _good_members(), patch=(8, b"\x01\x00")),
    "unknown-method": lambda t: _zip_with(t, _good_members(), patch=(10, b"\x63\x00")),
    "declared-size-huge": lambda t: _zip_with(t, _good_members(), patch=(24, b"\xff\xff\xff\x7f")),
    "npy-version-3": lambda t: _zip_with(t, {**_good_members(), "b3.npy": b"\x93NUMPY\x03\x00" + bytes(8)}),
    "npy-huge-single": lambda t: ((t / "p.npz").write_bytes(_npy_header((10**12,)) + bytes(8)), t / "p.npz")[1],
}
for label, make in CRAFTED_NPZ.items():
    add("train.load_params", f"crafted-{label}", ("tmp_path", partial(_load, make=make)), "p.npz")
    add("checks.read_npz", f"crafted-{label}", ("tmp_path", lambda t, make=make: checks.read_npz("path", make(t), "a file")),
        "p.npz")
_SPECIAL = {"dev-zero": lambda t: "/dev/zero", "fifo": lambda t: (os.mkfifo(t / "fifo"), t / "fifo")[1],
            "folder": lambda t: t}
for label, make in _SPECIAL.items():
    name = "/dev/zero" if label == "dev-zero" else str
    add("train.load_params", f"path-{label}", ("tmp_path", lambda t, make=make: train.load_params(_dense_net(), make(t))),
        name, FileNotFoundError)
    add("data.read_idx", f"path-{label}", ("tmp_path", lambda t, make=make: data.read_idx(make(t))), name, FileNotFoundError)
    add("checks.open_regular", f"path-{label}", ("tmp_path", lambda t, make=make: checks.open_regular("path", make(t))),
        name, FileNotFoundError)
add("data.read_idx", "gzip-bomb", ("tmp_path", lambda t: data.read_idx(_gzip_bomb(t))), "bomb-idx3-ubyte.gz")
add("data.read_idx", "gzip-declares-huge", ("tmp_path", lambda t: data.read_idx(_gzip_bomb(t, (10**6, 10**6), 1 << 20))),
    "bomb-idx3-ubyte.gz")
add("data.read_idx", "gzip-declares-huge-3d",
    ("tmp_path", lambda t: data.read_idx(_gzip_bomb(t, (60000, 10**4, 10**4), 1 << 20))), "bomb-idx3-ubyte.gz")


def _mnist_bomb(tmp_path):
    for name in data.MNIST_SHA256:
        _gzip_bomb(tmp_path, payload=8 << 20).rename(tmp_path / (name + ".gz"))
    return data.load_mnist(tmp_path)


add("data.load_mnist", "gzip-bombs", ("tmp_path", _mnist_bomb), str)

# class 8: absurd sizes are refused before any allocation, naming the argument
ABSURD = {
    "dense.Dense": call(dense.Dense, 10**7, 10**7),
    "fast.FastDense": call(fast.FastDense, 10**7, 10**7),
    "dense.glorot_uniform": call(dense.glorot_uniform, 10, 10, (10**7, 10**7), np.random.default_rng(0)),
    "conv.Conv": call(conv.Conv, (10**5, 8, 8), 10**5, 5),
    "combine.Combine": call(combine.Combine, (10**5, 8, 8), 10**5, 5),
    "data.one_hot": call(data.one_hot, [1, 2], c=10**12),
    "subsample.up": call(subsample.up, np.ones((2, 2)), 10**7),
    "subsample.toolbox_cnn": call(subsample.toolbox_cnn, input_size=10**6),
    "subsample.paper_cnn": call(subsample.paper_cnn, input_size=10**6),
    "fast.fast_toolbox_cnn": call(fast.fast_toolbox_cnn, input_size=10**6),
    "fast.fast_paper_cnn": call(fast.fast_paper_cnn, input_size=10**6),
    "combine.combine_cnn": call(combine.combine_cnn, input_size=10**6),
    "combine.fast_combine_cnn": call(combine.fast_combine_cnn, input_size=10**6),
    "train.softmax_cnn": call(train.softmax_cnn, input_size=10**6),
    "subsample.check_two_stage": call(subsample.check_two_stage, 10**6, (6, 12), 5, 2, 10),
    "checks.check_memory": call(checks.check_memory, "n_out", 10**15, np.float64),
}
_ABSURD_NAMES = {"dense.Dense": "n_in x n_out", "fast.FastDense": "n_in x n_out", "dense.glorot_uniform": "shape",
                 "conv.Conv": "in_shape[0] x n_out", "combine.Combine": "in_shape[0] x n_out", "data.one_hot": "c =",
                 "subsample.up": "m =", "checks.check_memory": "n_out"}
for public, thunk in ABSURD.items():
    add(public, "absurd-size", thunk, _ABSURD_NAMES.get(public, "input_size"))


# class 11: weak messages (classes for instances, ragged lists, read-only buffers, SDLM reuse, monitor)
add("dense.Dense", "activation-class", call(dense.Dense, 2, 2, activation=dense.Sigmoid), "activation")
add("dense.get_activation", "class", call(dense.get_activation, dense.ScaledTanh), "activation")
add("conv.Conv", "activation-class", call(conv.Conv, (1, 6, 6), 2, 3, activation=dense.Sigmoid), "activation")
add("dense.Network", "loss-class", call(dense.Network, [dense.Dense(2, 2)], loss=dense.SquaredError), "loss")
add("dense.Network", "layer-class", call(dense.Network, [dense.Dense]), "layers[0]")
for cls in (train.SGD, train.SDLM):
    add("train.train", f"optimizer-class-{cls.__name__}", call(_train, eta=None, optimizer=cls), "optimizer")
_RAGGED = [[1.0, 2.0], [3.0]]
add("dense.Sigmoid", "f-ragged", call(dense.Sigmoid().f, _RAGGED), "u")
add("dense.ScaledTanh", "df-ragged", call(dense.ScaledTanh().df, _RAGGED), "x")
add("data.one_hot", "labels-ragged", call(data.one_hot, [[1, 2], [3]]), "labels")
add("gradcheck.rel_error", "a-ragged", call(gradcheck.rel_error, _RAGGED, _RAGGED), "a")
add("dense.Network", "predict-ragged", call(_dense_net().predict, [[1.0, 2.0, 3.0], [1.0]]), "X")
add("dense.gradient_step", "params-read-only", call(lambda: _step_read_only()), "params['W2']")


def _step_read_only():
    net = _readonly(_dense_net(), "W2")
    return dense.gradient_step(net.params, net.gradients(XD, TD), 0.1)


def _sdlm_reused(second_call):
    opt = train.SDLM(0.1)
    opt.step(_dense_net(), XD, TD)
    other = dense.Network([dense.Dense(3, 5, rng=0), dense.Dense(5, 2, rng=1)])
    return opt.check(other) if second_call == "check" else opt.step(other, XD, TD)


add("train.SDLM", "reused-check", call(_sdlm_reused, "check"), "SDLM")
add("train.SDLM", "reused-step", call(_sdlm_reused, "step"), "SDLM")
add("train.train", "SDLM-reused", call(lambda: _train(eta=None, optimizer=_sdlm_after_one_step())), "SDLM")


def _sdlm_after_one_step():
    opt = train.SDLM(0.1)
    opt.step(dense.Network([dense.Dense(3, 5, rng=0), dense.Dense(5, 2, rng=1)]), XD, TD)
    return opt


for label, bad in (("nan", np.nan), ("inf", np.inf)):
    Xm = XD.copy()
    Xm[0, 0] = bad
    add("train.train", f"monitor-X-{label}", call(_train, monitor=(Xm, TD)), "monitor X")
    add("train.train", f"monitor-T-{label}", call(_train, monitor=(XD, np.where(TD > 0, bad, 0.0))), "monitor T")


# the new checks of Appendix B, each with its own refusals
for bad in (dense.Sigmoid, train.SGD, int):
    add("checks.check_instance", f"{bad.__name__}", call(checks.check_instance, "optimizer", bad, "SGD(0.1)"), "optimizer")
for bad in ("yes", 1, None, np.array([True])):
    add("checks.check_flag", f"{bad!r}", call(checks.check_flag, "shuffle", bad), "shuffle")
for bad in (None, 3, dense.Dense):
    add("checks.check_contract", f"{bad!r}", call(checks.check_contract, "model", bad, ("params",), "a model"), "model")
for bad in (0, -0.1, np.nan, "0.1", None, True, np.zeros(2, complex), np.array([-1.0, 1.0]), np.ones(3)):
    add("checks.check_rate", f"{bad!r}", call(checks.check_rate, "eta", bad, (2,)), "eta")
for label, rates in (("missing", {"W2": 0.1}), ("unknown", {"W2": 0.1, "b2": 0.1, "W9": 0.1})):
    add("checks.check_rate_names", label, call(checks.check_rate_names, "eta", rates, {"W2": 0, "b2": 0}), "eta", KeyError)
for bad in (0, 1.5, -1, np.nan, "0.5", True, None):
    add("checks.check_fraction", f"{bad!r}", call(checks.check_fraction, "gamma", bad), "gamma")
add("checks.check_state_fits", "names", call(checks.check_state_fits, "SDLM", {"W": np.zeros(2)}, {"V": np.zeros(2)}), "SDLM")
add("checks.check_state_fits", "shapes", call(checks.check_state_fits, "SDLM", {"W": np.zeros(2)}, {"W": np.zeros(3)}), "SDLM")
add_array_cases("checks.check_patterns", "X", lambda v: call(checks.check_patterns, _dense_net(), v, TD), XD)
add_array_cases("checks.check_patterns", "T", lambda v: call(checks.check_patterns, _dense_net(), XD, v), TD)
add("checks.check_patterns", "T-columns", call(checks.check_patterns, _dense_net(), XD, TD[:, :1], names=("Xm", "Tm")), "Tm")
_TRAIN_OPTS = {"eta": 0.1, "optimizer": None, "epochs": 1, "batch_size": 2, "record_every": None, "shuffle": True,
               "per_step": False, "progress": False, "callback": None, "monitor": None}
for arg, bad in (("epochs", 0), ("batch_size", -1), ("record_every", 1.5), ("shuffle", "no"), ("per_step", None),
                 ("progress", "bar"), ("callback", 3), ("monitor", XD), ("optimizer", train.SGD), ("optimizer", object())):
    opts = {**_TRAIN_OPTS, arg: bad, **({"eta": None} if arg == "optimizer" else {})}
    add("checks.check_training", f"{arg}-{bad!r}", call(checks.check_training, _dense_net(), **opts), arg)
add("checks.check_training", "model", call(checks.check_training, None, **_TRAIN_OPTS), "model")
_P01 = np.array([[0.5, 1.0], [0.5, 0.0]])
for label, bad in (("sum", _P01 * 0.9), ("negative", _P01 - 0.5), ("above-1", _P01 * 2)):
    add("checks.check_distribution", label, call(checks.check_distribution, "alpha", bad, 0), "alpha")
    add("checks.check_distribution", f"rows-{label}", call(checks.check_distribution, "t", bad.T, 1), "t")
for bad in (None, 5, True):
    add("checks.open_regular", f"path-{bad!r}", call(checks.open_regular, "path", bad), "path")
    add("checks.read_npz", f"path-{bad!r}", call(checks.read_npz, "path", bad, "a file"), "path")
    add("checks.check_save_path", f"path-{bad!r}", call(checks.check_save_path, "path", bad), "path")
add("checks.open_regular", "missing", ("tmp_path", lambda t: checks.open_regular("path", t / "no.npz")), "no.npz",
    FileNotFoundError)
add("checks.check_save_path", "no-folder", ("tmp_path", lambda t: checks.check_save_path("path", t / "no" / "p.npz")), "path",
    FileNotFoundError)
add("checks.check_save_path", "slash", ("tmp_path", lambda t: checks.check_save_path("path", f"{t}/p.npz/")), "path",
    FileNotFoundError)
add("checks.check_save_path", "empty", call(checks.check_save_path, "path", ""), "path")
for label, stored in (("missing", {"W": np.zeros(2)}), ("shape", {"W": np.zeros(3), "b": np.zeros(1)}),
                      ("dtype", {"W": np.zeros(2, np.float32), "b": np.zeros(1)}),
                      ("nan", {"W": np.array([np.nan, 0.0]), "b": np.zeros(1)})):
    add("checks.check_stored_params", label,
        call(checks.check_stored_params, "p.npz", {"W": np.zeros(2), "b": np.zeros(1)}, stored), "p.npz")

LARGE = 4 << 20  # bytes: a refusal of classes 7 and 8 may allocate less than this at its peak
_TRACED = [(f"{public}:{cid}", thunk) for public, cases in CASES.items() for cid, thunk, _, _ in cases
           if cid.startswith(("crafted-", "gzip-bomb", "gzip-declares", "path-dev-zero", "path-fifo", "absurd-size"))]


@pytest.mark.parametrize("thunk", [t for _, t in _TRACED], ids=[i for i, _ in _TRACED])
def test_nothing_large_is_allocated(thunk, tmp_path):
    """Classes 7 and 8: the refusal comes before any large allocation (tracemalloc's peak < 4 MB)."""
    if isinstance(thunk, tuple):
        thunk = partial(thunk[1], tmp_path)
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        with pytest.raises((ValueError, TypeError, FileNotFoundError)):
            thunk()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < LARGE, f"peak allocation {peak / 1e6:.1f} MB while refusing"


def test_traced_cases_cover_classes_7_and_8():
    assert len(_TRACED) >= 40


# classes that are answers, not refusals
def test_param_routes_write_through_and_update_is_all_or_nothing():
    net = _dense_net()
    x = XD[:2]
    saved, before = net.params.copy(), net.predict(x)
    assert all(saved[k] is not net.params[k] for k in saved)        # copy() is a snapshot
    for restore in (lambda s: net.params.update(s), lambda s: net.params.__ior__(s), lambda s: setattr(net, "params", s),
                    lambda s: [net.params.setdefault(k) for k in s] and net.params.update(**s)):
        for a in net.layers[0].params.values():
            a += 1.0
        assert not np.array_equal(net.predict(x), before)
        restore(saved)
        assert np.array_equal(net.predict(x), before)
    W2 = net.params["W2"].copy()
    with pytest.raises(ValueError):
        net.params.update({"W2": W2 + 1.0, "b3": np.zeros(3)})
    assert np.array_equal(net.params["W2"], W2)                     # nothing written when one value is bad
    import copy
    import pickle
    for snap in (copy.copy(net.params), copy.deepcopy(net.params), pickle.loads(pickle.dumps(net.params))):
        assert isinstance(snap, dict) and all(np.array_equal(snap[k], net.params[k]) and snap[k] is not net.params[k]
                                               for k in snap)


def test_save_params_writes_exactly_the_path(tmp_path):
    net = _dense_net()
    for name in ("weights", "weights.bin", "w.npz"):
        train.save_params(net, tmp_path / name)
        assert (tmp_path / name).is_file() and not (tmp_path / (name + ".npz")).exists()
        other = _dense_net()
        for a in other.params.values():
            a += 1.0
        train.load_params(other, tmp_path / name)
        assert np.array_equal(other.predict(XD), net.predict(XD))


def test_overflow_where_the_answer_is_representable():
    """Class 10: the entropy penalty of logits near +-1e308 and rel_error near 1e200 are finite and right."""
    c = np.array([[1e308, 0.0, -1e308], [-1e308, 1e308, -1e308], [0.0, -1e308, -1e308]])
    with np.errstate(over="raise", invalid="raise", divide="raise"):  # underflow to 0 is the right answer
        pen = sparsity.EntropyPenalty()
        assert np.all(np.isfinite(pen.grad(c)))
        # the third column is uniform over 3 maps: its entropy is log 3; the others are one-hot (0)
        np.testing.assert_allclose(pen.value(c), np.log(3), rtol=1e-12)
        for p in (sparsity.LpPenalty(0.5), sparsity.L1Penalty()):
            assert np.isfinite(p.value(c)) and np.all(np.isfinite(p.grad(c)))
        a, b = np.array([1e200, 2e200, -1e200]), np.array([1e200, 3e200, -1e200])
        expected = gradcheck.rel_error(a / 1e200, b / 1e200)
        assert gradcheck.rel_error(a, b) == pytest.approx(expected, rel=1e-15)
        assert gradcheck.rel_error(np.full(3, 1e308), -np.full(3, 1e308)) == 1.0
        assert gradcheck.rel_error(np.full(2, 1e-300), np.full(2, 1e-300)) == 0.0


def test_one_layer_twice_would_give_wrong_gradients():
    """Class 2, why: a layer reused in two places overwrites its cached input, so its gradient is wrong."""
    d = dense.Dense(3, 3, rng=0)
    with pytest.raises(ValueError, match="same object"):
        dense.Network([d, d])

# -- the tests -------------------------------------------------------------------------
def _public_names():
    for module_name in cnnlit.__all__:
        module = getattr(cnnlit, module_name)
        for name in module.__all__:
            yield f"{module_name}.{name}", getattr(module, name)


def test_every_public_name_has_cases():
    names = dict(_public_names())
    uncovered = sorted(n for n in names if n not in CASES and n not in ALLOWED)
    assert not uncovered, f"public names without bad-input cases (register some, or allow-list with a reason): {uncovered}"
    stale = sorted((set(CASES) | ALLOWED) - set(names))
    assert not stale, f"cases or allow-list entries for names that are not public: {stale}"
    not_data = sorted(n for n in ALLOWED if callable(names[n]) and n not in {
        "conv.lenet5_c3_table", "data.load_subset", "data.subset_indices", "data.subset_stats", "data.MNIST",
        "cli.make_parser"})
    assert not not_data, f"callables allow-listed without a reason: {not_data}"


def test_many_cases():
    assert sum(len(v) for v in CASES.values()) >= 1000


PARAMS = [pytest.param(thunk, name, exc, id=f"{public}:{cid}")
          for public, cases in CASES.items() for cid, thunk, name, exc in cases]


@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize("thunk, name, exc", PARAMS)
def test_bad_input_is_refused(thunk, name, exc, tmp_path):
    if isinstance(thunk, tuple):  # ("tmp_path", f): f needs a scratch folder
        thunk = partial(thunk[1], tmp_path)
    with pytest.raises(exc) as info:
        thunk()
    assert type(info.value).__module__ == "builtins", f"a library-specific error leaked: {info.value!r}"
    message = str(info.value)
    if name is str:  # the message names the path
        name = str(tmp_path)
    assert name in message, f"the message does not name {name!r}: {message}"
