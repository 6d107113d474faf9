"""Control methods: reference lines every benchmark run should carry, never ranked as translators.

As in Open Problems' "predict modality" task, controls bound what a score means:

- ``random_profile``: each sample gets the expression profile of a training sample drawn at
  random (no methylation used). Its scores are those of a prediction with the right marginal
  distribution and no information about the sample: the floor below ``train_mean`` for
  correlation metrics.
- ``class_mean``: each test sample gets the training mean profile of its OWN label (e.g. PAM50
  subtype, tumour type). It uses no methylation but reads the test labels, which only a control
  may do; its score is the part of a translator's score that tissue or subtype identity alone
  explains (on the Lock-Dunson BRCA cohort about half of RidgeCV's median R²f).

Control contract (extra class attributes next to the translator contract):

- ``control = True``: shown as a reference line, never ranked or compared as a winner.
- ``anchors_skill``: whether the control's score anchors the skill score; ``random_profile`` (median
  R² near -1) sets False, ``class_mean`` (like ``train_mean``) keeps True.
- ``uses_test_labels``: the harness must call ``predict_with_labels(b, labels)`` with the test
  split's labels instead of ``predict(b)``; ``predict(b)`` alone raises.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

import numpy as np

from omibench import FitContext, NotApplicable, PairedData, PluginError, Translator, hookimpl

__all__ = ["ClassMean", "RandomProfile"]


class RandomProfile(Translator):
    """A random training sample's profile for every sample; seeded.

    The draw for a sample depends only on the seed and the sample's input row, so a sample gets
    the same profile whatever batch or order it is predicted in (and a reloaded model agrees).
    Data contract: predicts (n, n_a_features) float32 rows of ``train.a`` unchanged.
    """

    name = "random_profile"
    default_params: ClassVar[Mapping[str, Any]] = {}
    control: ClassVar[bool] = True
    anchors_skill: ClassVar[bool] = False  # a random profile never anchors the skill score
    uses_test_labels: ClassVar[bool] = False
    seed_dependent: ClassVar[bool] = True

    @classmethod
    def skip_reason(cls, params: Mapping[str, Any], train: PairedData, val: PairedData) -> str | None:
        return None if train.n_samples > 0 else "random_profile: the training split is empty"

    def fit(self, train: PairedData, val: PairedData, context: FitContext) -> RandomProfile:
        if train.n_samples == 0:
            raise PluginError("random_profile: the training split is empty")
        self.y_train_ = np.ascontiguousarray(train.a, dtype=np.float32)
        self.seed_ = int(context.seed)
        return self

    def _draws(self, b: np.ndarray) -> np.ndarray:
        rows = np.ascontiguousarray(b, dtype=np.float32)
        salt = self.seed_.to_bytes(8, "little", signed=True)
        draws = np.empty(len(rows), dtype=np.int64)
        for i, row in enumerate(rows):
            digest = hashlib.blake2b(row.tobytes(), digest_size=8, key=salt).digest()
            draws[i] = int.from_bytes(digest, "little") % len(self.y_train_)
        return draws

    def predict(self, b: np.ndarray) -> np.ndarray:
        return self.y_train_[self._draws(b)].copy()

    def chosen(self) -> dict[str, Any]:
        return {}

    def get_state(self) -> dict[str, np.ndarray]:
        return {"y_train": self.y_train_, "seed": np.array(self.seed_)}

    def set_state(self, state: Mapping[str, np.ndarray]) -> None:
        self.y_train_, self.seed_ = state["y_train"], int(state["seed"])


class ClassMean(Translator):
    """The training mean profile of each test sample's own label; reads the test labels.

    Data contract: ``fit`` needs labels on the training split (samples without a label are left
    out of the class means but count in the overall mean). ``predict_with_labels(b, labels)``
    takes the test split's (n,) labels; a sample whose label is missing or unseen in training
    gets the overall training mean. Output (n, n_a_features) float32.
    """

    name = "class_mean"
    default_params: ClassVar[Mapping[str, Any]] = {}
    control: ClassVar[bool] = True
    uses_test_labels: ClassVar[bool] = True
    seed_dependent: ClassVar[bool] = False

    @classmethod
    def skip_reason(cls, params: Mapping[str, Any], train: PairedData, val: PairedData) -> str | None:
        if not train.has_labels:
            return "class_mean: the data have no labels (set data.labels and data.label_column)"
        return None

    def fit(self, train: PairedData, val: PairedData, context: FitContext) -> ClassMean:
        reason = self.skip_reason(self.params, train, val)
        if reason:
            raise NotApplicable(reason)
        assert train.labels is not None
        y = train.a.astype(np.float64)
        labels = np.array([None if lab is None else str(lab) for lab in train.labels], dtype=object)
        known = np.array([lab is not None for lab in labels])
        self.classes_ = np.array(sorted({str(lab) for lab in labels[known]}))
        self.means_ = np.stack([y[labels == c].mean(axis=0) for c in self.classes_])
        self.counts_ = np.array([int((labels == c).sum()) for c in self.classes_])
        self.overall_ = y.mean(axis=0)
        return self

    def predict(self, b: np.ndarray) -> np.ndarray:
        raise PluginError(
            "class_mean is a control that predicts from the test samples' labels: it cannot predict "
            "from methylation alone; the harness calls predict_with_labels(b, labels) for controls"
        )

    def predict_with_labels(self, b: np.ndarray, labels: np.ndarray | None) -> np.ndarray:
        """(n, n_a_features) float32: the training mean of each sample's label (overall mean where
        the label is missing or was not seen in training)."""
        n = len(b)
        if labels is None:
            raise NotApplicable("class_mean needs the labels of the samples it predicts; the data have none")
        if len(labels) != n:
            raise PluginError(f"class_mean: {len(labels)} labels for {n} samples")
        index = {c: i for i, c in enumerate(self.classes_.tolist())}
        out = np.empty((n, len(self.overall_)), dtype=np.float32)
        for i, lab in enumerate(labels):
            k = None if lab is None else index.get(str(lab))
            out[i] = self.overall_ if k is None else self.means_[k]
        return out

    def chosen(self) -> dict[str, Any]:
        """The classes seen in training and their training sizes, flat (logged as parameters)."""
        return {
            "n_classes": len(self.classes_),
            "classes": ", ".join(f"{c} ({int(n)})" for c, n in zip(self.classes_, self.counts_)),
        }

    def get_state(self) -> dict[str, np.ndarray]:
        return {"classes": self.classes_, "means": self.means_, "counts": self.counts_, "overall": self.overall_}

    def set_state(self, state: Mapping[str, np.ndarray]) -> None:
        self.classes_, self.means_ = np.asarray(state["classes"]).astype(str), state["means"]
        self.counts_, self.overall_ = state["counts"], state["overall"]


@hookimpl
def omibench_register_translators(register: Callable[[type[Translator]], Any]) -> None:
    register(RandomProfile)
    register(ClassMean)
