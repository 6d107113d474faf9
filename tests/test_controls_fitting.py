"""Controls in the fit path (who may read test labels), within-type and correlation metrics,
resources and failure kinds."""

from __future__ import annotations

import os
import signal
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest

from omibench import ConfigError, FitContext, PairedData, PluginError, Translator
from omibench.contract.conformance import check_translator, parametrize_with_checks
from omibench.contract.registry import load_registry
from omibench.run.failures import NotApplicable, failure_kind, failure_line
from omibench.run.fitting import WITHIN_TYPE_METRIC, fit_and_score

os.environ.setdefault("OMP_NUM_THREADS", "1")
REG = load_registry()
PLUGINS = Path(__file__).parent / "fixtures" / "plugins"


def _data(labels: list[str | None] | None, n_features: int = 6, seed: int = 0, name: str = "d") -> PairedData:
    """b = a + noise (same width), so a translator predicting ``b * k`` has a known error."""
    n = len(labels) if labels is not None else 20
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(n, n_features)).astype(np.float32)
    b = (a + rng.normal(scale=0.5, size=a.shape)).astype(np.float32)
    return PairedData(
        b=b,
        a=a,
        sample_ids=np.array([f"{name}{i}" for i in range(n)]),
        b_features=np.array([f"cg{j}" for j in range(n_features)]),
        a_features=np.array([f"g{j}" for j in range(n_features)]),
        labels=None if labels is None else np.array(labels, dtype=object),
        name=name,
    )


class Shrink(Translator):
    """Predicts ``0.5 * b``; an ordinary translator."""

    name = "shrink"
    seed_dependent = False

    def fit(self, train: PairedData, val: PairedData, context: FitContext) -> Shrink:
        self.seen_fit_labels_ = None if train.labels is None else list(train.labels)
        return self

    def predict(self, b: np.ndarray) -> np.ndarray:
        return (0.5 * b).astype(np.float32)


class Peeker(Shrink):
    """An ordinary translator that implements predict_with_labels anyway: the harness must not call it."""

    name = "peeker"

    def predict_with_labels(self, b: np.ndarray, labels: np.ndarray | None) -> np.ndarray:
        raise AssertionError("the harness handed test labels to a translator that is not a control")


class SneakyNonControl(Shrink):
    """Declares uses_test_labels without being a control."""

    name = "sneaky"
    uses_test_labels: ClassVar[bool] = True

    def predict_with_labels(self, b: np.ndarray, labels: np.ndarray | None) -> np.ndarray:
        return self.predict(b)


# --- controls ----------------------------------------------------------------------------------


@parametrize_with_checks([REG.translator("class_mean"), REG.translator("random_profile"), REG.translator("train_mean")])
def test_controls_pass_conformance(translator: type[Translator], check: Any) -> None:
    check(translator)


def test_controls_are_declared_and_registered_by_entry_point():
    for name in ("class_mean", "random_profile", "train_mean"):
        assert REG.translator(name).control is True
        assert "entry point" in str(REG.translators[name].source)
    assert REG.translator("class_mean").uses_test_labels is True
    assert REG.translator("random_profile").uses_test_labels is False
    assert not REG.translator("ridge").control and not REG.translator("ridge").uses_test_labels


def test_class_mean_gets_the_test_labels_and_fit_never_does():
    train = _data(["x"] * 6 + ["y"] * 6, seed=1, name="tr")
    val = _data(["x", "y", "y"], seed=2, name="va")
    test = _data(["y", "x", "x", None], seed=3, name="te")
    out = fit_and_score(REG.translator("class_mean"), {}, train, val, FitContext(), test)
    means = {c: train.a[train.labels == c].astype(np.float64).mean(axis=0) for c in ("x", "y")}
    expected = np.stack([means["y"], means["x"], means["x"], train.a.astype(np.float64).mean(axis=0)])
    np.testing.assert_allclose(out.test_pred, expected, rtol=1e-6, atol=1e-6)
    assert out.val is not None and "val/mse" in out.metrics


def test_an_ordinary_translator_never_receives_test_labels():
    train, val, test = _data(["x"] * 8, name="tr"), _data(["x"] * 3, name="va"), _data(["q"] * 4, name="te")
    out = fit_and_score(Peeker, {}, train, val, FitContext(), test)
    assert out.model.seen_fit_labels_ == ["x"] * 8  # its own training labels only
    np.testing.assert_allclose(out.test_pred, 0.5 * test.b)


def test_an_ordinary_translator_asking_for_labels_gets_an_error():
    model = Shrink().fit(_data(None), _data(None), FitContext())
    with pytest.raises(PluginError, match="only a control"):
        model.predict_with_labels(np.zeros((2, 6), np.float32), np.array(["x", "y"], dtype=object))


def test_a_non_control_declaring_uses_test_labels_is_refused():
    registry = load_registry([PLUGINS / "sneaky"])  # a non-control declaring uses_test_labels, an honest control
    assert "sneaky_labels" not in registry.translators and "honest_control" in registry.translators
    assert any("sneaky_labels" in p and "uses_test_labels without control" in p for p in registry.problems)
    # used directly, past the registry, the fit path refuses it too, and conformance fails it
    with pytest.raises(PluginError, match="only a control"):
        fit_and_score(SneakyNonControl, {}, _data(["x"] * 8), _data(["x"] * 3), FitContext(), _data(["x"] * 3))
    declares = {r.name: r for r in check_translator(SneakyNonControl)}["declares"]
    assert not declares.passed and "uses_test_labels" in declares.detail


def test_class_mean_without_labels_is_refused_before_and_not_applicable_at_fit():
    cls = REG.translator("class_mean")
    unlabelled = _data(None)
    assert "no labels" in (cls.skip_reason({}, unlabelled, unlabelled) or "")
    with pytest.raises(NotApplicable):
        fit_and_score(cls, {}, unlabelled, unlabelled, FitContext(), unlabelled)


# --- within-type and correlation metrics -----------------------------------------------------------


def _r2_by_hand(y: np.ndarray, p: np.ndarray) -> list[float]:
    out = []
    for j in range(y.shape[1]):
        col = [float(v) for v in y[:, j]]
        mean = sum(col) / len(col)
        ss_res = sum((col[i] - float(p[i, j])) ** 2 for i in range(len(col)))
        ss_tot = sum((v - mean) ** 2 for v in col)
        out.append(1.0 - ss_res / ss_tot)
    return out


def test_within_type_r2_against_a_hand_computation():
    labels = ["x"] * 5 + ["y"] * 7 + ["z"] * 3 + [None]  # z too small, one unlabelled: skipped and named
    test = _data(labels, seed=4, name="te")
    out = fit_and_score(Shrink, {}, _data(["x"] * 10, name="tr"), _data(["x"], name="va"), FitContext(), test)
    pred = 0.5 * test.b.astype(np.float64)
    medians = {}
    for c, rows in (("x", range(5)), ("y", range(5, 12))):
        r = list(rows)
        medians[c] = float(np.median(_r2_by_hand(test.a[r].astype(np.float64), pred[r])))
    expected = (5 * medians["x"] + 7 * medians["y"]) / 12
    assert out.metrics[f"test/{WITHIN_TYPE_METRIC}"] == pytest.approx(expected, rel=1e-4, abs=1e-5)
    assert f"val/{WITHIN_TYPE_METRIC}" not in out.metrics  # one validation sample: not scored at all
    assert any("z (3)" in n and "<unlabelled> (1)" in n and n.startswith("test:") for n in out.notes)


def test_no_within_type_metric_without_labels_and_correlation_is_opt_in():
    train, val, test = _data(None, name="tr"), _data(None, seed=1, name="va"), _data(None, seed=2, name="te")
    plain = fit_and_score(Shrink, {}, train, val, FitContext(), test)
    assert not any(WITHIN_TYPE_METRIC in k or "pearson" in k for k in plain.metrics)
    out = fit_and_score(Shrink, {}, train, val, FitContext(), test, extra_metrics=["correlation"])
    per_sample = np.mean([np.corrcoef(test.a[i], test.b[i])[0, 1] for i in range(test.n_samples)])
    per_gene = np.mean([np.corrcoef(test.a[:, j], test.b[:, j])[0, 1] for j in range(test.a.shape[1])])
    assert out.metrics["test/mean_pearson_per_sample"] == pytest.approx(per_sample, abs=1e-5)
    assert out.metrics["test/mean_pearson_per_gene"] == pytest.approx(per_gene, abs=1e-5)
    assert out.metrics["test/overall_pearson"] == pytest.approx(
        np.corrcoef(test.a.ravel(), test.b.ravel())[0, 1], abs=1e-5
    )
    assert "val/mean_spearman_per_gene" in out.metrics
    with pytest.raises(ConfigError, match="unknown metric set 'corr'"):
        fit_and_score(Shrink, {}, train, val, FitContext(), test, extra_metrics=["corr"])


# --- resources ---------------------------------------------------------------------------------------


class Hog(Shrink):
    """Touches ``mb`` MiB and burns some CPU in fit."""

    name = "hog"
    default_params: ClassVar[Mapping[str, Any]] = {"mb": 0}

    def fit(self, train: PairedData, val: PairedData, context: FitContext) -> Hog:
        block = np.ones(self.params["mb"] * 1024 * 1024 // 8)
        total = 0.0
        for _ in range(200):
            total += float(np.sqrt(np.arange(20_000.0)).sum())
        self.total_ = total + float(block[-1]) if block.size else total
        return self


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return float(line.split()[1]) / 1024.0
    raise AssertionError("no VmRSS")


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs Linux /proc")
def test_resources_are_recorded_per_fit():
    parts = (_data(None, name="tr"), _data(None, seed=1, name="va"), _data(None, seed=2, name="te"))
    small = fit_and_score(Hog, {"mb": 0}, *parts[:2], FitContext(), parts[2])
    before = _rss_mb()
    big = fit_and_score(Hog, {"mb": 300}, *parts[:2], FitContext(), parts[2])
    for out in (small, big):
        assert out.metrics["fit_cpu_s"] > 0 and out.metrics["fit_time_s"] > 0
        assert "peak_gpu_mb" not in out.metrics  # CPU fits: no GPU column
    assert big.metrics["peak_rss_mb"] >= before + 250  # the 300 MiB block shows
    # the high-water mark is reset per fit: a small fit after the big one does not inherit its peak
    again = fit_and_score(Hog, {"mb": 0}, *parts[:2], FitContext(), parts[2])
    assert again.metrics["peak_rss_mb"] < big.metrics["peak_rss_mb"] - 200


# --- failure kinds -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "error, exit_signal, timed_out, kind",
    [
        ("MemoryError: ", None, False, "out-of-memory"),
        (
            "_ArrayMemoryError: Unable to allocate 1.62 GiB for an array with shape (9081, 48000)",
            None,
            False,
            "out-of-memory",
        ),
        ("OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB", None, False, "out-of-memory"),
        (
            "RuntimeError: CUDA error: CUBLAS_STATUS_ALLOC_FAILED when calling cublasCreate",
            None,
            False,
            "out-of-memory",
        ),
        ("worker died", signal.SIGKILL, False, "out-of-memory"),
        ("worker died", -signal.SIGKILL, False, "out-of-memory"),
        ("worker killed at the time limit", signal.SIGKILL, True, "time-out"),
        ("", None, True, "time-out"),
        ("NotApplicable: class_mean: the data have no labels", None, False, "not-applicable"),
        ("omibench.run.failures.NotApplicable: no locations", None, False, "not-applicable"),
        ("ValueError: NotApplicable is not the error type here", None, False, "error"),
        ("worker died", signal.SIGSEGV, False, "error"),
        ("FloatingPointError: ridge predicted 12 NaN/inf values (diverged?)", None, False, "error"),
    ],
)
def test_failure_kind(error: str, exit_signal: int | None, timed_out: bool, kind: str):
    assert failure_kind(error, exit_signal, timed_out) == kind


def test_failure_line_is_the_first_line_and_a_verdict_without_its_exception_name():
    assert failure_line("NotApplicable: class_mean: no labels\nTraceback ...", "not-applicable") == (
        "class_mean: no labels"
    )
    assert failure_line("omibench.run.failures.NotApplicable: no locations", "not-applicable") == "no locations"
    assert failure_line("ValueError: NotApplicable is not the type\nTraceback", "error") == (
        "ValueError: NotApplicable is not the type"
    )
    assert failure_line("", "error") == ""


class CudaBlock(Shrink):
    """Allocates 64 MiB on the GPU in fit."""

    name = "cuda_block"

    def fit(self, train: PairedData, val: PairedData, context: FitContext) -> CudaBlock:
        import torch

        self.block_ = torch.ones(16 * 1024 * 1024, device=context.device)  # float32: 64 MiB
        return self


def test_peak_gpu_memory_is_recorded_on_cuda():
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("needs a CUDA device")
    parts = (_data(None, name="tr"), _data(None, seed=1, name="va"), _data(None, seed=2, name="te"))
    out = fit_and_score(CudaBlock, {}, *parts[:2], FitContext(device="cuda"), parts[2])
    assert out.metrics["peak_gpu_mb"] >= 63
