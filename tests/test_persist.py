"""Fitted preprocessing is stored as data: a round trip, and a planted pickle never runs."""

import json
import pickle

import numpy as np
import pytest

from omibench import DataError, OmibenchError
from omibench.contract.registry import load_registry
from omibench.data import Preprocessor, make_synthetic
from omibench.data.steps import build_steps
from omibench.run.translate import load_trained, save_preprocessing


def _fitted(tmp_path):
    data = make_synthetic(n_samples=40, n_cpgs=20, n_genes=8, n_classes=2, seed=3)
    pre = Preprocessor(
        "mean",
        build_steps([{"max_missing": 0.5}, {"variance": {"top_k": 12}}, {"transform": "beta_to_m"}], "b"),
        build_steps([{"transform": "log1p"}], "a"),
    ).fit(data)
    return data, pre


def test_preprocessor_round_trip_is_exact(tmp_path):
    data, pre = _fitted(tmp_path)
    pre.save(tmp_path / "m", {"note": "x"})
    back, meta = Preprocessor.load(tmp_path / "m")
    assert meta == {"note": "x"}
    want, got = pre.transform(data, "test"), back.transform(data, "test")
    np.testing.assert_array_equal(want.b, got.b)
    np.testing.assert_array_equal(want.a, got.a)
    np.testing.assert_array_equal(pre.transform_b_only(data.b)[0], back.transform_b_only(data.b)[0])


class _Evil:
    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))  # creates the marker file when unpickled


def test_planted_pickle_never_runs_and_garbled_files_are_one_line(tmp_path):
    data, pre = _fitted(tmp_path)
    folder = tmp_path / "model"
    model = load_registry().translator("linear_regression")()
    from omibench.contract.translator import FitContext

    model.fit(pre.transform(data, "train"), pre.transform(data, "val"), FitContext(seed=0))
    model.save(folder)
    save_preprocessing(folder, pre, pre.transform(data, "train").b_features, pre.transform(data, "train").a_features)
    marker = tmp_path / "pwned"
    (folder / "preprocess.pkl").write_bytes(pickle.dumps(_Evil(marker)))
    trained = load_trained(str(folder), load_registry())
    assert not marker.exists()  # the pickle was never opened
    assert trained.b_features == list(map(str, pre.transform(data, "train").b_features))
    for name in ("preprocess.json", "preprocess.npz"):
        (folder / name).rename(folder / f"{name}.bak")
        with pytest.raises(OmibenchError, match=f"{name}: missing") as info:
            load_trained(str(folder), load_registry())
        assert "\n" not in str(info.value)
        (folder / f"{name}.bak").rename(folder / name)
    doc = json.loads((folder / "preprocess.json").read_text())
    doc["b_steps"][0] = {"kind": "os.system", "command": "touch pwned"}
    (folder / "preprocess.json").write_text(json.dumps(doc))
    with pytest.raises(DataError, match="preprocess.json: not a valid saved preprocessing .*unknown step"):
        load_trained(str(folder), load_registry())
    np.savez(folder / "preprocess.npz", b_means=np.array([_Evil(marker)], dtype=object))  # an object array
    with pytest.raises(DataError, match="preprocess.npz: not a valid saved preprocessing"):
        load_trained(str(folder), load_registry())
    assert not marker.exists()


def test_translate_fills_non_finite_cells_like_missing_ones(tmp_path):
    """inf / -inf / NaN cells in new input are filled with training means and counted; never a row of
    NaN predictions with exit 0."""
    import pandas as pd

    from omibench.contract.translator import FitContext
    from omibench.run.translate import translate_frame

    data, pre = _fitted(tmp_path)
    train = pre.transform(data, "train")
    model = load_registry().translator("ridge")(alpha=1.0)
    model.fit(train, pre.transform(data, "val"), FitContext(seed=0))
    model.save(tmp_path / "m")
    save_preprocessing(tmp_path / "m", pre, train.b_features, train.a_features)
    trained = load_trained(str(tmp_path / "m"), load_registry())
    frame = pd.DataFrame(data.b[:5].copy(), index=data.sample_ids[:5], columns=[str(f) for f in data.b_features])
    kept = trained.b_features[0]
    frame.loc[frame.index[0], kept] = np.inf
    frame.loc[frame.index[1], kept] = -np.inf
    frame.loc[frame.index[2], kept] = np.nan
    pred, counts = translate_frame(trained, frame)
    assert np.isfinite(pred.to_numpy()).all() and len(pred) == 5
    assert counts["missing_cells"] == 3
