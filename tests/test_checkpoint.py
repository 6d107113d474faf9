"""OmiTrans-CNN's activation checkpointing (issue 29): the same predictions as without it, on under
``checkpoint: auto`` exactly when the plain step's estimate does not fit, and an estimate that counts
it (so a decline happens only where even the checkpointed step does not fit)."""

import numpy as np
import pytest
import torch
from omibench_plugins import _nets
from omibench_plugins._memory import step_memory
from omibench_plugins._nets import CNNDiscriminator, UNetGenerator
from omibench_plugins.omitrans import OmiTransCNN

from omibench import FitContext
from omibench.contract.registry import load_registry
from omibench.data import make_synthetic
from omibench.errors import PluginError
from omibench.run.failures import NotApplicable

GIB = 1024**3
SMALL = {"filters": 4, "disc_filters": 4, "epochs": 3, "epochs_decay": 1, "batch_size": 16}


def _cnn(**params):
    return load_registry().translator("omitrans_cnn")(**{**SMALL, **params})


@pytest.fixture(scope="module")
def cohort():
    d = make_synthetic(n_samples=64, n_cpgs=40, n_genes=50, seed=3)
    return d.subset(np.arange(48)), d.subset(np.arange(48, 64))


@pytest.fixture
def segments(monkeypatch):
    """How many checkpointed segments ran (forward), through the real ``torch.utils.checkpoint``."""
    calls = []
    real = _nets.checkpoint

    def counting(*args, **kwargs):
        calls.append(kwargs)
        return real(*args, **kwargs)

    monkeypatch.setattr(_nets, "checkpoint", counting)
    return calls


def test_checkpointed_training_predicts_what_plain_training_predicts(cohort, segments):
    train, val = cohort
    torch.set_num_threads(1)
    plain = _cnn(checkpoint=False).fit(train, val, FitContext(seed=7))
    assert not segments and plain.checkpoint_ is False
    ckpt = _cnn(checkpoint=True).fit(train, val, FitContext(seed=7))
    assert ckpt.checkpoint_ is True and ckpt.net.checkpointing and ckpt.disc.checkpointing
    # 3 epochs x 3 batches x (G forward: 10 segments + 3 D forwards x 7 segments)
    assert len(segments) == 3 * 3 * (10 + 3 * 7)
    assert all(c["use_reentrant"] is False and c["preserve_rng_state"] is True for c in segments)
    assert plain.params["dropout"] > 0  # dropout is replayed by the recomputation, not redrawn
    expected = plain.predict(val.b)
    np.testing.assert_allclose(ckpt.predict(val.b), expected, rtol=1e-5, atol=1e-5 * np.abs(expected).max())
    # (bitwise equal on CPU; the tolerance is relative to outputs of about 1e-3 after 3 epochs, which
    # another seed's training changes well beyond it)
    other = _cnn(checkpoint=False).fit(train, val, FitContext(seed=8)).predict(val.b)
    assert np.abs(other - expected).max() > 100 * 1e-5 * np.abs(expected).max()
    # batch norm's running statistics (what evaluation uses) were updated once per forward, not twice
    for (name, x), (_, y) in zip(plain.net.state_dict().items(), ckpt.net.state_dict().items()):
        torch.testing.assert_close(y, x, rtol=1e-5, atol=1e-5, msg=name)
    # prediction never checkpoints
    segments.clear()
    ckpt.predict(val.b)
    assert not segments


def test_auto_checkpoints_exactly_when_the_plain_step_does_not_fit(cohort, monkeypatch):
    train, val = cohort
    model = _cnn()
    assert model.params["checkpoint"] is None and model.params["precision"] == "fp32"  # null: auto
    assert _cnn(checkpoint="auto").params["checkpoint"] == "auto"

    def make():
        return model.make_networks(40, 50)

    plain = step_memory(make, train.n_samples, 40, 50)
    ckpt = step_memory(make, train.n_samples, 40, 50, checkpoint=True)
    assert ckpt.fixed == plain.fixed and ckpt.per_sample < plain.per_sample / 2.5
    batch = model.params["batch_size"]
    need_plain, need_ckpt = plain.total(batch), ckpt.total(batch)

    available = {"bytes": need_plain}
    monkeypatch.setattr("omibench_plugins.omitrans.available_bytes", lambda device: available["bytes"])
    assert model.plan_memory(train.n_samples, 40, 50, "cpu") == (False, None)  # fits exactly: off
    available["bytes"] = need_plain - 1
    assert model.plan_memory(train.n_samples, 40, 50, "cpu") == (True, None)  # one byte short: on
    available["bytes"] = need_ckpt
    assert model.plan_memory(train.n_samples, 40, 50, "cpu") == (True, None)
    available["bytes"] = need_ckpt - 1  # not even checkpointed: declined, and the reason says so
    on, reason = model.plan_memory(train.n_samples, 40, 50, "cpu")
    assert on and reason is not None and "with activation checkpointing" in reason
    assert f"about {need_ckpt / GIB:.1f} GiB" in reason
    with pytest.raises(NotApplicable, match="with activation checkpointing"):
        model.fit(train, val, FitContext(seed=0))

    # forced: true checkpoints where the plain step fits; false declines with what true would need
    available["bytes"] = 64 * GIB
    assert _cnn(checkpoint=True).plan_memory(train.n_samples, 40, 50, "cpu") == (True, None)
    available["bytes"] = need_plain - 1
    on, reason = _cnn(checkpoint=False).plan_memory(train.n_samples, 40, 50, "cpu")
    assert not on and reason is not None and "activation checkpointing" not in reason
    assert reason.endswith(f"with checkpoint: true about {need_ckpt / GIB:.1f} GiB")

    # auto, between the two estimates: the fit trains checkpointed
    available["bytes"] = (need_plain + need_ckpt) // 2
    fitted = model.fit(train, val, FitContext(seed=0))
    assert fitted.checkpoint_ is True and fitted.net.checkpointing
    assert np.isfinite(fitted.predict(val.b)).all()


def test_the_estimate_at_size_s_and_at_the_paper_size_falls_by_more_than_4x():
    for n_in, n_out, n_train, at_most in [(5_000, 5_000, 800, 6), (39_464, 60_483, 7_265, 40)]:

        def make(n_in=n_in, n_out=n_out):
            return UNetGenerator(n_in, n_out, 64, 9, 0.2), CNNDiscriminator(n_out, n_in, 64, 9, 0.2)

        plain = step_memory(make, n_train, n_in, n_out)
        ckpt = step_memory(make, n_train, n_in, n_out, checkpoint=True)
        assert ckpt.per_sample * 4 < plain.per_sample
        assert ckpt.total(128) <= at_most * GIB < plain.total(128)  # the paper's: one 80 GB GPU


def test_params_and_bf16_on_cpu(cohort):
    train, val = cohort
    with pytest.raises(PluginError, match="'checkpoint' = 'yes' is not allowed: must be null or one of 'auto', True"):
        _cnn(checkpoint="yes")
    with pytest.raises(PluginError, match="precision"):
        _cnn(precision="fp16")
    with pytest.raises(NotApplicable, match="precision bf16 trains under CUDA autocast"):
        _cnn(precision="bf16").fit(train, val, FitContext(seed=0, device="cpu"))
    # the FC family has neither: its activations are a few percent of its parameters' memory
    assert "checkpoint" not in load_registry().translator("omitrans_fc").default_params


def test_conformance_with_checkpointing_forced_on(monkeypatch):
    from omibench.contract.conformance import check_translator

    class Checkpointed(OmiTransCNN):
        check_params = {**OmiTransCNN.check_params, "checkpoint": True}

    failed = [r for r in check_translator(Checkpointed) if not r.passed]
    assert not failed, failed
