"""``micro_batch`` of the OmiTrans family (issue 29): a batch trained as shards of at most that many
rows, one shard's graph alive at a time. The gradient is still the whole batch's mean (exactly where
the networks normalise per sample, as OmiTrans-FC's "instance" norm does); batch norm (the CNN)
normalises each shard alone, as the original code's DataParallel did on several GPUs."""

import contextlib
import copy

import numpy as np
import pytest
import torch
from omibench_plugins._shards import replay
from omibench_plugins._shards import rng_state as _rng_state

from omibench import FitContext
from omibench.contract.registry import load_registry
from omibench.data import make_synthetic
from omibench.errors import PluginError

GIB = 1024**3
SMALL = {"epochs": 1, "epochs_decay": 1, "batch_size": 16}
FC_SMALL = {**SMALL, "hidden": [32, 16], "latent": 8, "disc_hidden": [16], "dropout": 0.0}
CNN_SMALL = {**SMALL, "filters": 4, "disc_filters": 4, "dropout": 0.2}


@pytest.fixture(scope="module")
def cohort():
    d = make_synthetic(n_samples=64, n_cpgs=40, n_genes=50, seed=3)
    return d.subset(np.arange(48)), d.subset(np.arange(48, 64))


def _fitted(name, params, cohort):
    train, val = cohort
    torch.set_num_threads(1)
    return load_registry().translator(name)(**params).fit(train, val, FitContext(seed=7))


def _grads(model):
    return [p.grad.clone() for net in (model.net, model.disc) for p in net.parameters()]


@pytest.mark.parametrize("micro", [6, 8, 15])  # shards 6+5+5, 8+8, 8+8
def test_sharded_step_gives_the_whole_batch_gradient_where_norms_are_per_sample(cohort, micro):
    model = _fitted("omitrans_fc", FC_SMALL, cohort)
    train, _ = cohort
    b, a = torch.as_tensor(train.b, dtype=torch.float32), torch.as_tensor(train.a, dtype=torch.float32)
    idx = torch.arange(16)
    whole, sharded = copy.deepcopy(model), copy.deepcopy(model)
    sharded.params = {**sharded.params, "micro_batch": micro}
    losses = []
    for m in (whole, sharded):
        m.net.train()
        losses.append(m._step(b, a, idx))
    torch.testing.assert_close(losses[1], losses[0], rtol=1e-5, atol=1e-6)
    for g_sharded, g_whole in zip(_grads(sharded), _grads(whole)):
        torch.testing.assert_close(g_sharded, g_whole, rtol=1e-4, atol=1e-6)
    # and it is a real difference a wrong weighting would show: one shard alone is another gradient
    alone = copy.deepcopy(model)
    alone.net.train()
    alone._step(b, a, idx[:micro])
    assert max((x - y).abs().max() for x, y in zip(_grads(alone), _grads(whole))) > 1e-3


def test_a_micro_batch_as_large_as_the_batch_changes_nothing(cohort):
    train, val = cohort
    plain = _fitted("omitrans_cnn", CNN_SMALL, cohort).predict(val.b)
    same = _fitted("omitrans_cnn", {**CNN_SMALL, "micro_batch": 16}, cohort).predict(val.b)
    np.testing.assert_array_equal(same, plain)


def test_cnn_shards_replay_the_generator_and_update_running_stats_once(cohort):
    _, val = cohort
    params = {**CNN_SMALL, "micro_batch": 8, "checkpoint": True}
    model = _fitted("omitrans_cnn", params, cohort)
    again = _fitted("omitrans_cnn", params, cohort)
    np.testing.assert_array_equal(model.predict(val.b), again.predict(val.b))  # deterministic
    # 48 rows = 3 batches of 16 = 6 shards: each batch norm counted 6 real forwards, not 12 with replays
    counts = {int(m.num_batches_tracked) for m in model.net.modules() if isinstance(m, torch.nn.BatchNorm1d)}
    assert counts == {6}
    # the replay is the first forward again: same dropout masks, running statistics untouched
    b = torch.as_tensor(val.b[:8], dtype=torch.float32)
    model.net.train()
    state = _rng_state(b.device)
    with torch.no_grad():
        first = model.net(b)
    stats = copy.deepcopy(model.net.state_dict())
    replayed = replay(model.net, b, state, contextlib.nullcontext())
    torch.testing.assert_close(replayed.detach(), first, rtol=0, atol=0)
    for key, value in model.net.state_dict().items():
        torch.testing.assert_close(value, stats[key], rtol=0, atol=0, msg=key)
    assert not torch.equal(model.net(b).detach(), first)  # a fresh forward draws other dropout masks


def test_the_memory_plan_counts_one_micro_batch(cohort, monkeypatch):
    train, _ = cohort
    whole = load_registry().translator("omitrans_cnn")(**CNN_SMALL, checkpoint=False)
    sharded = load_registry().translator("omitrans_cnn")(**CNN_SMALL, checkpoint=False, micro_batch=4)
    monkeypatch.setattr("omibench_plugins.omitrans.available_bytes", lambda device: 1)
    _, reason_whole = whole.plan_memory(train.n_samples, 40, 50, "cpu")
    _, reason_sharded = sharded.plan_memory(train.n_samples, 40, 50, "cpu")
    assert "in micro-batches of 4" in reason_sharded and "micro-batches" not in reason_whole

    def need(reason):
        return float(reason.split("about ")[1].split(" GiB")[0])

    from omibench_plugins._memory import step_memory

    est = step_memory(lambda: whole.make_networks(40, 50), train.n_samples, 40, 50)
    monkeypatch.setattr("omibench_plugins.omitrans.available_bytes", lambda device: est.total(4))
    assert sharded.plan_memory(train.n_samples, 40, 50, "cpu") == (False, None)  # 4 rows fit: trains
    assert whole.plan_memory(train.n_samples, 40, 50, "cpu")[1] is not None  # 16 do not
    assert need(reason_whole) >= need(reason_sharded)


def test_micro_batch_is_declared():
    registry = load_registry()
    for name in ("omitrans_fc", "omitrans_cnn", "cgan"):
        assert registry.translator(name).default_params["micro_batch"] is None
    with pytest.raises(PluginError, match="micro_batch"):
        registry.translator("omitrans_cnn")(micro_batch=1)
