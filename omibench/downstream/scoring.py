"""Table 3: does a classifier trained on real expression still recognise the class of translated data?

Flow (driven by the runner): :func:`setup_downstream` trains the OmiEmbed classifier once per
training data (cached in ``<store>/cache/downstream/<key>`` and logged with a reference run for the
real test data, "original data"); :meth:`Downstream.score` then scores each translator's test
predictions and writes the t-SNE figure. Only the *training* split's expression and labels fit the
classifier; the test split's labels only score it.

Test samples without a label, or with a class the training split never saw, are left out of the
scores and counted. Macro precision, recall, F1 and one-vs-rest AUC average over the classes present
in the test split; absent classes are named in the run's ``omibench.downstream_note`` tag, never
scored as -1 (OmiEmbed's convention).
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from omibench.config import canonical_hash
from omibench.downstream.classifier import ClassifierSettings, OmiEmbedClassifier
from omibench.metrics import catalogue
from omibench.plots.paper import tsne_figure
from omibench.run.preparation import Prepared
from omibench.run.provenance import provenance_tags
from omibench.store import RunLevel, RunStatus, Store, Tags, layout

__all__ = ["Downstream", "LEVEL_REFERENCE", "REFERENCE_LABEL", "classification_scores", "setup_downstream"]

log = logging.getLogger(__name__)
LEVEL_REFERENCE = RunLevel.REFERENCE.value
REFERENCE_LABEL = "original data"
DOWNSTREAM_METRICS = ("accuracy", "precision", "recall", "f1", "auc")


def classification_scores(
    y_true: Sequence[str], proba: np.ndarray, classes: Sequence[str]
) -> tuple[dict[str, float], str]:
    """Accuracy, macro precision / recall / F1 and macro one-vs-rest AUC of class probabilities
    ``proba`` (n, len(classes)) against true class names ``y_true`` (each one of ``classes``).

    Returns the scores and a note naming the classes absent from ``y_true`` (excluded from the macro
    averages). With fewer than two classes present the AUC is undefined and left out.
    """
    from sklearn.metrics import accuracy_score, precision_recall_fscore_support, roc_auc_score

    classes = [str(c) for c in classes]
    truth = np.array([classes.index(str(t)) for t in y_true])
    pred = np.asarray(proba).argmax(axis=1)
    present = sorted(set(truth.tolist()))
    missing = [classes[i] for i in range(len(classes)) if i not in present]
    p, r, f, _ = precision_recall_fscore_support(truth, pred, labels=present, average="macro", zero_division=0)
    out = {
        "accuracy": float(accuracy_score(truth, pred)),
        "precision": float(p),
        "recall": float(r),
        "f1": float(f),
        "n_samples": float(len(truth)),
        "n_classes_missing": float(len(missing)),
    }
    notes = []
    if missing:
        notes.append(
            f"classes absent from the test split, excluded from the macro averages and the AUC: {', '.join(missing)}"
        )
    if len(present) >= 2:
        out["auc"] = float(np.mean([roc_auc_score(truth == c, proba[:, c]) for c in present]))
    else:
        notes.append(f"AUC undefined: the test split holds {len(present)} class")
    return out, "; ".join(notes)


@dataclass
class Downstream:
    """A fitted classifier plus what every scoring reuses: the real training latents and the test
    rows that can be scored (labelled with a class seen in training)."""

    classifier: OmiEmbedClassifier
    train_inputs: Callable[[], np.ndarray]  # the labelled training expression, read when first needed
    train_labels: list[str]
    test_rows: np.ndarray
    test_labels: list[str]
    test_ids: list[str]
    tsne: bool
    seed: int
    note: str = ""
    reference_run: str = ""
    _train_latent: np.ndarray | None = field(default=None, repr=False)

    @property
    def train_latent(self) -> np.ndarray:
        """Latent means of the labelled training rows (the t-SNE figures and the reference run's
        copy for ``omibench translate --labels``), encoded on first use: at the paper's size the
        encoding costs about 10 s, which a run with a cached classifier and no t-SNE never needs."""
        if self._train_latent is None:
            self._train_latent = self.classifier.encode(self.train_inputs())[0]
        return self._train_latent

    def score(
        self, prediction: np.ndarray, out: Path, title: str, kind: str = "synthetic"
    ) -> tuple[dict[str, float], str]:
        """Score test expression ``prediction`` (n_test, genes; real or translated, on A's scale);
        write ``downstream_predictions.csv`` and ``tsne.png`` into ``out``; return metrics and note."""
        out.mkdir(parents=True, exist_ok=True)
        latent, proba = self.classifier.encode(np.asarray(prediction, dtype=np.float32)[self.test_rows])
        scores, note = classification_scores(self.test_labels, proba, self.classifier.classes)
        frame = pd.DataFrame(proba, columns=[f"p_{c}" for c in self.classifier.classes])
        frame.insert(0, "predicted", [self.classifier.classes[i] for i in proba.argmax(axis=1)])
        frame.insert(0, "true", self.test_labels)
        frame.insert(0, "sample", self.test_ids)
        frame.to_csv(out / layout.DOWNSTREAM_PREDICTIONS_FILE, index=False)
        if self.tsne:
            tsne_figure(
                out / layout.TSNE_FILE,
                self.train_latent,
                self.train_labels,
                latent,
                self.test_labels,
                f"{title}: classifier latent means (t-SNE)",
                test_kind=kind,
                seed=self.seed,
            )
        note = "; ".join(n for n in (self.note, note) if n)
        return {catalogue.DOWNSTREAM + k: v for k, v in scores.items()}, note


def setup_downstream(
    prepared: Prepared,
    store: Store,
    exp_id: str,
    echo: Callable[[str], None] = lambda _: None,
    device: str | None = None,
) -> Downstream | None:
    """Train (or load) the classifier of ``prepared``'s training split and make sure the reference
    run for the real test data exists. ``None`` when disabled or when there is nothing to classify."""
    cfg = prepared.config.downstream
    if cfg.enabled is False:
        return None
    train, test = prepared.train, prepared.test
    train_labels = train.labels if train.labels is not None else np.full(train.n_samples, None, dtype=object)
    labelled = [i for i, lab in enumerate(train_labels) if lab is not None]
    classes = sorted({str(train_labels[i]) for i in labelled})
    if len(classes) < 2:  # downstream.enabled: true without two classes was already refused by prepare()
        return None
    if cfg.enabled is None:
        echo(
            f"omibench: Table 3 is on because the data has {len(classes)} labelled classes: every translator's "
            "predictions go through the downstream classifier; skip it with --set downstream.enabled=false"
        )
    settings = ClassifierSettings(
        latent=cfg.latent,
        epochs=(cfg.epochs[0], cfg.epochs[1], cfg.epochs[2]),
        decay_epochs=cfg.decay_epochs,
        batch_size=cfg.batch_size,
        lr=cfg.lr,
        scaling=cfg.scaling,
        seed=cfg.seed,
    )
    key = canonical_hash({"downstream": asdict(settings), "train": train.fingerprint()})
    if device is None:
        from omibench.contract.translator import Resources, resolve_device

        device = resolve_device(Resources(gpus=1))
    classifier = _load_or_train(prepared, store, exp_id, key, settings, labelled, device, echo)

    test_rows, test_labels, unknown, unlabelled = [], [], set(), 0
    for i, lab in enumerate(test.labels if test.labels is not None else [None] * test.n_samples):
        if lab is None:
            unlabelled += 1
        elif str(lab) not in classes:
            unknown.add(str(lab))
        else:
            test_rows.append(i)
            test_labels.append(str(lab))
    notes = []
    if unlabelled:
        notes.append(f"{unlabelled} test samples have no label and are not scored")
    if unknown:
        notes.append(f"test samples of classes unseen in training are not scored: {', '.join(sorted(unknown))}")
    if not test_rows:
        echo("    downstream: no labelled test sample of a class seen in training; Table 3 is skipped")
        return None
    ds = Downstream(
        classifier,
        lambda: train.a[labelled],
        [str(train_labels[i]) for i in labelled],
        np.array(test_rows),
        test_labels,
        [str(test.sample_ids[i]) for i in test_rows],
        cfg.tsne,
        cfg.seed,
        "; ".join(notes),
    )
    ds.reference_run = _reference_run(ds, prepared, store, exp_id, key)
    return ds


def _load_or_train(
    prepared: Prepared,
    store: Store,
    exp_id: str,
    key: str,
    settings: ClassifierSettings,
    labelled: list[int],
    device: str,
    echo: Callable[[str], None],
) -> OmiEmbedClassifier:
    cache = store.path / layout.CLASSIFIER_CACHE / key
    cache.parent.mkdir(parents=True, exist_ok=True)
    if not OmiEmbedClassifier.saved_in(cache):
        reference = store.finished_run(exp_id, key)
        if reference is not None:  # trained before, cache since deleted: the reference run holds it
            staging = Path(tempfile.mkdtemp(dir=cache.parent))
            store.download(reference.run_id, layout.CLASSIFIER, staging)
            _publish(staging / layout.CLASSIFIER, cache)
            shutil.rmtree(staging, ignore_errors=True)
    if OmiEmbedClassifier.saved_in(cache):
        echo(f"    downstream classifier {key}: cached")
        return OmiEmbedClassifier.load(cache, device)
    train = prepared.train
    epochs = sum(settings.epochs)
    echo(
        f"    downstream classifier {key}: training OmiEmbed on {len(labelled)} labelled training samples "
        f"({epochs} epochs)"
    )
    from omibench.run.progress import progress

    assert train.labels is not None  # only called with labelled training data
    model = OmiEmbedClassifier.train(
        train.a[labelled],
        [str(train.labels[i]) for i in labelled],
        list(train.a_features),
        settings,
        device,
        progress=lambda it: progress(it, "classifier epoch", echo, total=epochs, every=max(1, epochs // 10)),
        # the threads a job is given, never torch's default pool (oversubscribed under load: 7 min 50 s
        # for BRCA's 200 epochs against 84 s with one thread)
        threads=prepared.config.n_jobs or os.cpu_count() or 1,
    )
    staging = Path(tempfile.mkdtemp(dir=cache.parent))
    model.save(staging)
    _publish(staging, cache)
    return OmiEmbedClassifier.load(cache, device)


def _publish(src: Path, dst: Path) -> None:
    """Move a finished folder into place; a concurrent writer's identical copy wins."""
    if dst.exists():
        shutil.rmtree(src, ignore_errors=True)
    else:
        src.replace(dst)


def _reference_run(ds: Downstream, prepared: Prepared, store: Store, exp_id: str, key: str) -> str:
    """The "original data" row of Table 3: the classifier on the real test expression (logged once)."""
    done = store.finished_run(exp_id, key)
    if done is not None:
        return done.run_id
    # the caller holds the experiment's lock: a RUNNING reference run was left by a dead process
    store.stop_if_running([r.run_id for r in store.runs_with_key(exp_id, key, RunStatus.RUNNING)], RunStatus.FAILED)
    tags = Tags(
        level=RunLevel.REFERENCE,
        label=REFERENCE_LABEL,
        translator=REFERENCE_LABEL,
        job_key=key,
        dataset=prepared.train.name,
        dataset_hash=prepared.dataset_hash,
        split_hash=prepared.split.hash,
        config_hash=prepared.config_hash,
    ).merged(provenance_tags(prepared.config))
    run_id = store.create_run(exp_id, REFERENCE_LABEL, tags)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            metrics, note = ds.score(prepared.test.a, Path(tmp) / layout.DOWNSTREAM, "real test data", kind="real")
            saved = Path(tmp) / layout.CLASSIFIER
            ds.classifier.save(saved)
            # for Fig. 9 (`omibench translate --labels`): the real training set's place in the latent space
            np.save(saved / layout.CLASSIFIER_TRAIN_LATENT, ds.train_latent)
            (saved / layout.CLASSIFIER_TRAIN_LABELS).write_text("\n".join(ds.train_labels))
            store.log_params(
                run_id,
                {
                    **asdict(ds.classifier.settings),
                    "classes": ds.classifier.classes,
                    "n_train": len(ds.train_labels),
                    "n_test": len(ds.test_labels),
                },
            )
            store.log_metrics(run_id, metrics)
            if note:
                store.set_tags(run_id, Tags(downstream_note=note))
            store.log_artifacts(run_id, tmp)
    except BaseException:
        store.stop_if_running([run_id], RunStatus.FAILED)
        raise
    store.end_run(run_id)
    return run_id
