"""OmiTrans-CNN declines a fit whose training step cannot fit the memory available (estimated from
the shapes before anything is allocated), and the run tags it not-applicable with the reason."""

import numpy as np
import pytest
import torch
from omibench_plugins import _memory
from omibench_plugins._memory import StepMemory, memory_reason, step_memory
from omibench_plugins._nets import CNNDiscriminator, UNetGenerator

from omibench import FitContext
from omibench.contract.registry import load_registry
from omibench.data import make_synthetic
from omibench.run.failures import NotApplicable

GIB = 1024**3


def _cnn(**params):
    return load_registry().translator("omitrans_cnn")(filters=2, disc_filters=2, epochs=1, epochs_decay=0, **params)


def test_estimate_is_linear_in_the_batch_and_matches_a_real_forward():
    def make():
        return UNetGenerator(64, 48, 2, 9, 0.0), CNNDiscriminator(48, 64, 2, 9, 0.0)

    est = step_memory(make, n_train=10, n_in=64, n_out=48)
    assert est.per_sample > 0 and est.data == 10 * (64 + 48) * 4
    assert est.parameters == sum(p.numel() * 4 for m in make() for p in m.parameters())

    # the same count on real tensors: linear in the batch with the meta device's slope (the
    # batch-independent part is the weights that layers save, which are no new memory)
    def saved(batch):
        total = 0

        def pack(t):
            nonlocal total
            total += t.numel() * t.element_size()
            return t

        gen, disc = make()
        b = torch.rand(batch, 64)
        with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
            disc(gen(b), b)
        return total

    assert saved(5) - saved(1) == 4 * est.per_sample


def test_reason_names_the_estimate_and_what_to_do():
    est = StepMemory(per_sample=GIB, parameters=GIB // 8, data=GIB // 2)  # fixed = 1 GiB
    assert memory_reason("omitrans_cnn", est, 8, "cpu", 10 * GIB) is None  # 9 GiB fits 10
    reason = memory_reason("omitrans_cnn", est, 128, "cpu", 10 * GIB)
    assert reason is not None and "\n" not in reason
    assert "129.0 GiB" in reason and "batch_size 128" in reason and "10.0 GiB RAM available" in reason
    assert "set batch_size: 9 or smaller" in reason and "GPU with at least 162 GiB" in reason
    assert "no batch of 2" in memory_reason("omitrans_cnn", est, 128, "cuda", GIB + GIB // 2)


def test_cnn_fit_declines_when_the_step_does_not_fit_and_trains_when_it_does(monkeypatch):
    d = make_synthetic(n_samples=40, n_cpgs=32, n_genes=20, seed=0)
    train, val = d.subset(np.arange(30)), d.subset(np.arange(30, 40))
    model = _cnn(batch_size=8)
    need = model.memory_reason(train.n_samples, 32, 20, "cpu")  # real available memory: fits
    assert need is None
    monkeypatch.setattr(_memory, "available_bytes", lambda device: 1000)
    monkeypatch.setattr("omibench_plugins.omitrans.available_bytes", lambda device: 1000)
    with pytest.raises(NotApplicable, match=r"omitrans_cnn needs about .* at batch_size 8 .* cpu has 0.0 GiB RAM"):
        model.fit(train, val, FitContext(seed=0))
    assert not hasattr(model, "net")  # nothing was built
    monkeypatch.setattr("omibench_plugins.omitrans.available_bytes", lambda device: 64 * GIB)
    model.fit(train, val, FitContext(seed=0))
    assert np.isfinite(model.predict(val.b)).all()


def test_run_tags_the_declined_cnn_not_applicable_and_finishes_the_rest(write_config, tmp_path, monkeypatch):
    from omibench import api

    from .conftest import small_experiment

    monkeypatch.setattr("omibench_plugins.omitrans.available_bytes", lambda device: 1000)
    body = small_experiment(
        data={"source": "synthetic", "n_samples": 60, "n_cpgs": 32, "n_genes": 15, "seed": 0},
        translators=[
            {"name": "linear_regression"},
            {"name": "omitrans_cnn", "params": {"filters": 2, "disc_filters": 2, "epochs": 1, "epochs_decay": 0}},
        ],
    )
    said: list[str] = []
    results = api.run(write_config(body), store=tmp_path / "store", executor="inline", echo=said.append)
    # (inline: the patch holds in-process)
    assert any(": not applicable: omitrans_cnn needs about" in line for line in said), said  # a verdict, not FAILED
    status = {o.label: o for o in results.outcomes}
    assert status["linear_regression"].status == "FINISHED"
    assert status["omitrans_cnn"].status == "FAILED"
    assert "NotApplicable" in status["omitrans_cnn"].error and "set batch_size" not in status["omitrans_cnn"].error
    assert "no batch of 2 or more fits here" in status["omitrans_cnn"].error
    import mlflow

    client = mlflow.MlflowClient(tracking_uri=f"sqlite:///{tmp_path / 'store' / 'mlflow.db'}")
    runs = client.search_runs([e.experiment_id for e in client.search_experiments()])
    kinds = [r.data.tags.get("omibench.failure_kind") for r in runs]
    assert kinds.count("not-applicable") >= 1 and "error" not in kinds


def test_linear_regression_in_gene_blocks_equals_the_whole(monkeypatch):
    from omibench_plugins import linear

    d = make_synthetic(n_samples=50, n_cpgs=80, n_genes=23, seed=1)  # p > n: the minimum-norm solution
    train, test = d.subset(np.arange(40)), d.subset(np.arange(40, 50))
    reg = load_registry().translator("linear_regression")
    whole = reg().fit(train, test, FitContext()).predict(test.b)
    monkeypatch.setattr(linear, "GENE_BLOCK", 5)  # 23 genes: blocks of 5, the last one of 3
    blocked = reg().fit(train, test, FitContext()).predict(test.b)
    np.testing.assert_allclose(blocked, whole, rtol=1e-5, atol=1e-5)
    xc = train.b.astype(np.float64) - train.b.astype(np.float64).mean(axis=0)
    yc = train.a.astype(np.float64) - train.a.astype(np.float64).mean(axis=0)
    w = np.linalg.lstsq(xc, yc, rcond=None)[0]
    expected = (test.b - train.b.astype(np.float64).mean(axis=0)) @ w + train.a.astype(np.float64).mean(axis=0)
    np.testing.assert_allclose(blocked, expected, rtol=1e-4, atol=1e-4)
