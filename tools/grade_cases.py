"""The random cases on which tools/grade.py compares a reader's functions with cnnlit's.

One workload per chapter, keyed by the modules the chapter writes. A workload uses the
reference modules it is given, and random inputs from ``rng``; tools/student.py records every
call it makes into those modules (directly or from inside other functions), with their
arguments, and replays each with the reader's function alone. Small sizes keep grading fast;
both float64 and float32 run where a function accepts a dtype.
"""
from __future__ import annotations

import numpy as np


def _targets(rng, n, c, off=-1.0):
    T = np.full((n, c), off)
    T[np.arange(n), rng.integers(0, c, n)] = 1.0
    return T


def dense_gradcheck(dense, gradcheck, rng):
    for act in ("sigmoid", "tanh", "identity"):
        a = dense.get_activation(act)
        u = rng.normal(size=(3, 4))
        a.df(a.f(u))
    dense.glorot_uniform(3, 4, (4, 3), rng)
    for dtype in (np.float64, np.float32):
        net = dense.Network([dense.Dense(4, 5, "sigmoid", rng=rng, dtype=dtype),
                             dense.Dense(5, 3, "tanh", rng=rng, dtype=dtype)])
        X = rng.normal(size=(6, 4)).astype(dtype)
        T = _targets(rng, 6, 3).astype(dtype)
        net.loss(X, T)
        net.classify(X)
        grads = net.gradients(X, T)
        dense.gradient_step(net.params, grads, 0.1)
    dense.SquaredError().per_pattern(rng.normal(size=(4, 3)), _targets(rng, 4, 3))
    # chapter 1's finite-difference tools, on functions that hold no state of their own
    x = rng.normal(size=(3, 4))
    gradcheck.numerical_gradient(lambda v: float(np.sum(np.sin(v) * v)), x)
    gradcheck.numerical_gradient(lambda v: float(np.sum(v ** 3)), x, 1e-3, np.array([0, 5, 7]))
    gradcheck.rel_error(rng.normal(size=5), rng.normal(size=5))
    gradcheck.rel_error(np.zeros(3), np.zeros(3))
    net = dense.Network([dense.Dense(3, 4, "tanh", rng=rng), dense.Dense(4, 2, "sigmoid", rng=rng)])
    X, T = rng.normal(size=(5, 3)), _targets(rng, 5, 2)
    errors = gradcheck.check_gradients(net, X, T)
    gradcheck.check_gradients(net, X, T, max_entries=3, seed=1)
    gradcheck.print_errors(errors)


def conv(conv, rng):
    x = rng.normal(size=(7, 6))
    for shape in ((3, 2), (1, 1), (7, 6)):
        k = rng.normal(size=shape)
        conv.rot180(k)
        conv.conv2(x, k)
        conv.conv2(x, k, "full")
    conv.conv2(x.astype(np.float32), rng.normal(size=(2, 3)).astype(np.float32), "full")
    conv.lenet5_c3_table()
    conv.kernel_shape(3)
    conv.kernel_shape((2, 3))
    conv.connection_table(None, 2, 3)
    table = np.array([[True, True, False], [False, True, True]])
    conv.connection_table(table, 2, 3)
    for dtype in (np.float64, np.float32):
        layer = conv.Conv((2, 6, 5), 3, (3, 2), "tanh", connections=table, rng=rng, dtype=dtype)
        _ = layer.connections
        X = rng.normal(size=(2, 2, 6, 5)).astype(dtype)
        y = layer.forward(X)
        layer.backward(rng.normal(size=y.shape).astype(dtype))
    layer = conv.Conv((1, 5, 5), 2, 3, rng=rng)
    y = layer.forward(rng.normal(size=(3, 1, 5, 5)))
    layer.backward(rng.normal(size=y.shape))


def subsample(sub, rng):
    x = rng.normal(size=(2, 3, 6, 4))
    sub.down(x, 2)
    sub.down(rng.normal(size=(6, 6)), 3)
    sub.up(rng.normal(size=(2, 3, 3, 2)), 2)
    sub.up(rng.normal(size=(2, 2)), 3)
    sub.check_block(2)
    sub.check_map_shape("x", (3, 6, 4))
    sub.conv_pool_sizes(14, 3, 2)
    sub.check_two_stage(14, (2, 3), 3, 2, 4)
    for dtype in (np.float64, np.float32):
        for activation, trainable in ((None, True), ("sigmoid", True), ("tanh", False)):
            layer = sub.Subsample((3, 6, 4), 2, activation, trainable, dtype=dtype)
            if "beta" in layer.params:
                layer.params["beta"] = rng.normal(size=layer.params["beta"].shape).astype(dtype)
            y = layer.forward(x.astype(dtype))
            layer.backward(rng.normal(size=y.shape).astype(dtype))
        flat = sub.Flatten((3, 2, 2))
        flat.forward(rng.normal(size=(2, 3, 2, 2)).astype(dtype))
        flat.backward(rng.normal(size=(2, 12)).astype(dtype))
    for build in (sub.toolbox_cnn, sub.paper_cnn):
        net = build(input_size=14, maps=(2, 3), kernel_size=3, m=2, n_classes=4, rng=rng)
        X, T = rng.normal(size=(2, 1, 14, 14)), _targets(rng, 2, 4, 0.0)
        net.gradients(X, T)


def fast(fast, rng):
    x = rng.normal(size=(2, 3, 6, 5))
    fast._chwn(x)
    fast._nchw(x)
    maps = fast._chwn(x)  # (C, P', Q', N)
    cols = fast.im2col(maps, 3, 2)
    fast.col2im(cols, maps.shape[:3], 3, 2)
    fast.down_blocks(maps[:, :6, :4], 2)  # maps (C, P, Q, N)
    fast.up_blocks(rng.normal(size=(3, 3, 2, 2)), 2)
    for dtype in (np.float64, np.float32):
        for build in (fast.fast_toolbox_cnn, fast.fast_paper_cnn):
            net = build(input_size=14, maps=(2, 3), kernel_size=3, m=2, n_classes=4, rng=rng, dtype=dtype)
            X = rng.normal(size=(3, 1, 14, 14)).astype(dtype)
            T = _targets(rng, 3, 4, 0.0).astype(dtype)
            net.predict(X)
            net.gradients(X, T)
            net.backward(rng.normal(size=(3, 4)).astype(dtype), input_grad=False)
        table = np.array([[True, True, False], [False, True, True]])
        layer = fast.FastConv((2, 6, 5), 3, 3, "tanh", connections=table, rng=rng, dtype=dtype)
        _ = layer.connections
        y = layer.forward(rng.normal(size=(2, 2, 6, 5)).astype(dtype))
        layer.backward(rng.normal(size=y.shape).astype(dtype))


def combine(combine, rng):
    c = rng.normal(size=(3, 4))
    alpha = combine.softmax(c)
    combine.softmax_jacobian(alpha[:, 0])
    combine.softmax_backward(alpha, rng.normal(size=alpha.shape))
    combine.check_kernels("pair")
    for dtype in (np.float64, np.float32):
        for cls in (combine.Combine, combine.FastCombine):
            for kernels in ("pair", "shared"):
                layer = cls((3, 6, 5), 2, 3, "tanh", kernels, rng=rng, dtype=dtype)
                _ = layer.alpha
                layer.pair_kernels()
                y = layer.forward(rng.normal(size=(2, 3, 6, 5)).astype(dtype))
                layer.backward(rng.normal(size=y.shape).astype(dtype))
    for build in (combine.combine_cnn, combine.fast_combine_cnn):
        net = build(input_size=14, maps=(2, 3), kernel_size=3, m=2, n_classes=4, rng=rng)
        net.gradients(rng.normal(size=(2, 1, 14, 14)), _targets(rng, 2, 4, 0.0))


def sparsity(sp, rng):
    from cnnlit.combine import combine_cnn

    c = rng.normal(size=(3, 4))
    alpha = sp.alpha_of(c)
    sp._log_alpha(c)
    sp.entropy(alpha)
    sp.effective_inputs(alpha)
    sp.check_lam(0.1)
    for pen in (sp.L1Penalty(), sp.EntropyPenalty(), sp.LpPenalty(0.5), sp.LpPenalty(0.8)):
        pen.value(c)
        pen.grad(c)
        model = sp.Penalized(combine_cnn(input_size=14, maps=(2, 3), kernel_size=3, m=2, n_classes=4, rng=rng),
                             pen, 0.05)
        X, T = rng.normal(size=(2, 1, 14, 14)), _targets(rng, 2, 4, 0.0)
        _ = model.lam
        model.lam = 0.1
        _ = model.params
        model.penalty_value()
        model.loss(X, T)
        model.gradients(X, T)
        model.predict(X)


def train(tr, rng):
    from cnnlit.fast import fast_toolbox_cnn
    from cnnlit.subsample import toolbox_cnn

    ce = tr.SoftmaxCrossEntropy()
    u, t = rng.normal(size=(4, 3)), _targets(rng, 4, 3, 0.0)
    ce.prob(u)
    ce.per_pattern(u, t)
    ce.grad(u, t)
    ce.curvature(u, t)
    for dtype in (np.float64, np.float32):
        for net in (tr.softmax_cnn(input_size=14, maps=(2, 3), kernel_size=3, m=2, n_classes=4, rng=rng, dtype=dtype),
                    fast_toolbox_cnn(input_size=14, maps=(2, 3), kernel_size=3, m=2, n_classes=4, rng=rng, dtype=dtype)):
            X = rng.normal(size=(6, 1, 14, 14)).astype(dtype)
            T = _targets(rng, 6, 4, 0.0).astype(dtype)
            tr.curvatures(net, X[:2], T[:2])
            layers = {int("".join(ch for ch in name if ch.isdigit())) for name in net.params}
            tr.layer_rates(net, {n: 0.1 * n for n in layers})
            tr.train(net, X, T, epochs=1, batch_size=3, eta=0.1, rng=rng, progress=False)
            sdlm = tr.SDLM(0.05)
            tr.train(net, X, T, epochs=1, batch_size=2, optimizer=sdlm, rng=rng, progress=False, per_step=True)
            sdlm.rates()
    net = toolbox_cnn(input_size=14, maps=(2, 3), kernel_size=3, m=2, n_classes=4, rng=rng)
    X, T = rng.normal(size=(2, 1, 14, 14)), _targets(rng, 2, 4, 0.0)
    tr.curvatures(net, X, T)
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as tmp:
        tr.save_params(net, Path(tmp) / "net.npz")
        tr.load_params(net, Path(tmp) / "net.npz")
    tr.output_curvature(ce, rng.normal(size=(3, 4)), _targets(rng, 3, 4, 0.0))


def checks(ch, rng):
    ch.as_float_array("x", rng.normal(size=(3, 4)), shape=("N", 4))
    ch.as_float_array("x", [[1.0, 2.0], [3.0, 4.0]], dtype=np.float32)
    ch.as_float_array("x", rng.normal(size=5).astype(np.float32))
    ch.check_size("n", 3)
    ch.check_dtype("float32")
    ch.check_dtype(np.float64)
    ch.as_rng(int(rng.integers(0, 100)))
    ch.as_rng(None)


def data(data, rng):
    labels = rng.integers(0, 10, size=12)
    data.one_hot(labels)
    data.one_hot(labels, 10, -1.0, np.float32)
    images = rng.integers(0, 256, size=(12, 28, 28), dtype=np.uint8)
    for a in (images, labels.astype(np.uint8), rng.normal(size=(3, 2)).astype(">f4")):
        data.parse_idx(data.idx_bytes(a))
    data.pixel_stats(images, labels)
    data.load_digits("test", dtype=np.float32)
    data.load_digits("test", flatten=True, scale=False, one_hot_targets=False)
    data.subset_indices()
    data.subset_stats()
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as tmp:
        for name in ("a.idx", "b.idx.gz"):
            data.write_idx(Path(tmp) / name, images[:3])
            data.read_idx(Path(tmp) / name)
    split = rng.permutation(np.arange(40) % 10).astype(np.uint8)
    mnist = data.MNIST(images[:1].repeat(40, 0), split, images[:1].repeat(40, 0), split)
    data.cut_subset(mnist, per_class={"train": 1, "test": 1}, seed=int(rng.integers(0, 1000)))


WORKLOADS = {
    ("dense", "gradcheck"): dense_gradcheck,
    ("conv",): conv,
    ("subsample",): subsample,
    ("fast",): fast,
    ("combine",): combine,
    ("sparsity",): sparsity,
    ("train",): train,
    ("checks",): checks,
    ("data",): data,
}
