"""The paper's neural translators: architectures pinned at the paper's sizes, schedule, training."""

import numpy as np
import pytest
import torch
from omibench_plugins._nets import CNNDiscriminator, FCDiscriminator, FCGenerator, UNetGenerator

from omibench import FitContext
from omibench.contract.registry import load_registry
from omibench.contract.torch_translator import DivergenceError, linear_decay_multiplier
from omibench.data import make_synthetic

B_DIM, A_DIM = 39_464, 60_483
REG = load_registry()


def n_params(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def test_fc_parameter_counts_at_paper_size():
    with torch.device("meta"):  # shapes only: no 1.7 GB allocation
        gen = FCGenerator(B_DIM, A_DIM, [4096, 1024, 512], 256, "instance", 0.2)
        disc = FCDiscriminator(A_DIM, B_DIM, [128, 64, 32], 16, "instance")
    widths = [B_DIM, 4096, 1024, 512, 256, 512, 1024, 4096, A_DIM]
    expected_g = sum(a * b + b for a, b in zip(widths[:-1], widths[1:]))
    assert n_params(gen) == expected_g == 419_154_243  # "about 419.2 M" (the paper's FC generator)
    d_widths = [A_DIM + B_DIM, 128, 64, 32, 16]
    assert n_params(disc) == sum(a * b + b for a, b in zip(d_widths[:-1], d_widths[1:])) == 12_804_208


def test_unet_and_cnn_lengths_at_paper_size():
    with torch.device("meta"):
        unet = UNetGenerator(B_DIM, A_DIM)
        disc = CNNDiscriminator(A_DIM, B_DIM)
        out = unet(torch.empty(2, B_DIM))
        logits = disc(out, torch.empty(2, B_DIM))
    assert unet.out_length == 78_912  # the paper's U-Net: 78,912 positions, first 60,483 kept
    assert isinstance(unet.stretch, torch.nn.Identity)
    assert out.shape == (2, A_DIM)
    assert logits.shape == (2, 64)
    assert disc.fc[0][0].in_features == A_DIM // 64 == 945


@pytest.mark.parametrize("n_in, n_out", [(17, 5), (101, 517), (574, 645), (1065, 649), (3012, 752), (333, 2001)])
def test_unet_output_matches_target_size_for_odd_sizes(n_in, n_out):
    unet = UNetGenerator(n_in, n_out, filters=2)
    disc = CNNDiscriminator(n_out, n_in, filters=2)
    b = torch.rand(3, n_in)
    out = unet(b)
    assert out.shape == (3, n_out)
    assert disc(out, b).shape == (3, 64)


def test_linear_decay_schedule_matches_the_spec():
    m = linear_decay_multiplier(800, 100)  # multiplier used during epoch e is m(e - 1)
    lr = {e: 1e-4 * m(e - 1) for e in (1, 700, 701, 800)}
    assert lr[1] == lr[700] == 1e-4
    assert lr[701] == pytest.approx(1e-4 * 100 / 101)
    assert lr[800] == pytest.approx(1e-4 / 101)


def _parts():
    d = make_synthetic(n_samples=90, n_cpgs=40, n_genes=24, seed=2)
    return d.subset(np.arange(60)), d.subset(np.arange(60, 75)), d.subset(np.arange(75, 90))


SMALL_FC = {"hidden": [32, 16], "latent": 8, "disc_hidden": [16], "batch_size": 16}


def test_fc_learning_rate_follows_schedule_and_reports_per_epoch():
    train, val, _ = _parts()
    ctx = FitContext(seed=0)
    REG.translator("omitrans_fc")(**SMALL_FC, epochs=6, epochs_decay=3).fit(train, val, ctx)
    steps = [s for s, _ in ctx.reported]
    assert steps == [1, 2, 3, 4, 5, 6]
    lrs = [v["lr_g"] for _, v in ctx.reported]  # the learning rate used during each epoch
    np.testing.assert_allclose(lrs, [1e-4, 1e-4, 1e-4, 1e-4 * 3 / 4, 1e-4 * 2 / 4, 1e-4 / 4], atol=1e-12)
    assert all({"loss_d", "loss_g_gan", "loss_g_dist", "val_mse"} <= set(v) for _, v in ctx.reported)


def test_cgan_has_no_distance_term_and_fc_learns():
    train, val, test = _parts()
    fc = REG.translator("omitrans_fc")(
        **SMALL_FC, epochs=40, epochs_decay=10, lr_g=1e-3, lr_d=1e-3, output_bias="train_mean"
    )
    fc.fit(train, val, FitContext(seed=0))
    assert REG.translator("cgan")().params["lambda_dist"] == 0.0
    assert REG.translator("omitrans_fc")().params["output_bias"] == "zero"  # the original code's init
    baseline = ((test.a - train.a.mean(0)) ** 2).mean()
    assert ((fc.predict(test.b) - test.a) ** 2).mean() < baseline  # beats the training mean


def test_best_val_selection_keeps_the_best_epoch():
    train, val, _ = _parts()
    ctx = FitContext(seed=0)
    model = REG.translator("tdimpute")(hidden=16, epochs=8, select="best_val", lr=1e-2).fit(train, val, ctx)
    val_mse = {s: v["val_mse"] for s, v in ctx.reported}
    assert model.best_epoch_ == min(val_mse, key=val_mse.get)
    got = float(((model.predict(val.b) - val.a) ** 2).mean())
    # val_mse is computed on the model scale mapped back, i.e. the same quantity
    assert got == pytest.approx(val_mse[model.best_epoch_], rel=1e-4)


def test_divergence_raises():
    train, val, _ = _parts()
    model = REG.translator("omitrans_fc")(**SMALL_FC, epochs=3, epochs_decay=1, lr_g=1e30, lr_d=1e30, gan_mode="lsgan")
    with pytest.raises(DivergenceError, match="diverged at epoch"):
        model.fit(train, val, FitContext(seed=0))


def test_tdimpute_scaling_round_trips_negative_targets():
    train, val, _ = _parts()
    train.a[:] -= 5.0  # log-ratio-like data with negative values
    model = REG.translator("tdimpute")(hidden=8, epochs=1)
    model.fit_scaling(train)
    a = torch.from_numpy(train.a)
    scaled = model.to_model_scale(a)
    assert float(scaled.min()) >= 0 and float(scaled.max()) <= 1
    torch.testing.assert_close(model.from_model_scale(scaled), a)


def test_tdimpute_transfer_pretrains_on_the_source():
    train, val, _ = _parts()
    source = make_synthetic(n_samples=50, n_cpgs=40, n_genes=24, seed=9)
    ctx = FitContext(seed=0, source=source)
    REG.translator("tdimpute")(hidden=8, epochs=2, transfer=True, pretrain_epochs=3).fit(train, val, ctx)
    assert [s for s, v in ctx.reported if "pretrain_loss" in v] == [1, 2, 3]
    assert [s for s, v in ctx.reported if "loss_rmse" in v] == [1, 2]


def test_weights_load_with_weights_only(tmp_path):
    train, val, test = _parts()
    model = REG.translator("omitrans_cnn")(filters=2, disc_filters=2, epochs=1, epochs_decay=0, batch_size=16).fit(
        train, val, FitContext()
    )
    model.save(tmp_path / "m")
    state = torch.load(tmp_path / "m" / "weights.pt", weights_only=True)
    assert all(isinstance(v, torch.Tensor) for v in state.values())
    again = type(model).load(tmp_path / "m")
    np.testing.assert_allclose(again.predict(test.b), model.predict(test.b), rtol=1e-5, atol=1e-6)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no GPU here")
def test_fc_runs_on_gpu_when_present():
    train, val, test = _parts()
    model = REG.translator("omitrans_fc")(**SMALL_FC, epochs=2, epochs_decay=1).fit(
        train, val, FitContext(device="cuda")
    )
    assert next(model.net.parameters()).is_cuda
    assert np.isfinite(model.predict(test.b)).all()


@pytest.mark.parametrize("name", ["omitrans_fc", "tdimpute"])
def test_read_only_data_cache_arrays_train_without_warnings(name):
    """The data cache hands fits read-only memory maps: training on them must not warn (or write)."""
    import warnings

    parts = _parts()
    for part in parts:
        part.b.setflags(write=False), part.a.setflags(write=False)
    before = [(p.b.copy(), p.a.copy()) for p in parts]
    params = {**SMALL_FC, "epochs": 2, "epochs_decay": 1} if name == "omitrans_fc" else {"hidden": 16, "epochs": 2}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model = REG.translator(name)(**params).fit(parts[0], parts[1], FitContext(seed=0))
        model.predict(parts[2].b)
    for part, (b, a) in zip(parts, before):
        assert np.array_equal(part.b, b) and np.array_equal(part.a, a)
