"""Where omibench puts things, written once: the artifact paths of a run and the folders of a store.

Artifact paths are relative to a run's artifact root and use ``/`` (MLflow's artifact paths); store
paths are relative to the store folder (``--store``, default ``mlruns``). No other module spells one
of these names (``tests/test_layering.py`` checks).
"""

from __future__ import annotations

from pathlib import Path

__all__ = [
    "ARTIFACTS",
    "CACHE",
    "CHOSEN",
    "CHOSEN_FILE",
    "CLASSIFIER",
    "CLASSIFIER_CACHE",
    "CLASSIFIER_TRAIN_LABELS",
    "CLASSIFIER_TRAIN_LATENT",
    "CONFIG",
    "DATABASE",
    "DOWNSTREAM",
    "DOWNSTREAM_PREDICTIONS",
    "DOWNSTREAM_PREDICTIONS_FILE",
    "JOBS",
    "JOB_LOG",
    "JOB_RESULT",
    "JOB_SPEC",
    "LOCKS",
    "MODEL",
    "OPTUNA_JOURNAL",
    "PREDICTIONS",
    "PREDICTIONS_FILE",
    "PREDICTIONS_H5AD",
    "PREDICTIONS_H5AD_FILE",
    "PREPROCESS_JSON",
    "PREPROCESS_NPZ",
    "PYFUNC_ARTIFACT",
    "PYFUNC_NAME",
    "R2_HISTOGRAMS",
    "R2_HISTOGRAMS_FILE",
    "R2_PER_GENE",
    "R2_PER_GENE_FILE",
    "R2_PER_SAMPLE",
    "R2_PER_SAMPLE_FILE",
    "REPORT",
    "RESULTS",
    "SPLIT",
    "SPLITS",
    "STORE_LOCK",
    "TOP_GENES_SCATTER",
    "TOP_GENES_SCATTER_FILE",
    "TRACEBACK",
    "TSNE",
    "TSNE_FILE",
    "split_file",
]

# --- a job's run (a translator's run for one outer split and seed) ----------------------------------
RESULTS = "results"  # the job's result files, written by the job (run/artifacts.py)
PREDICTIONS_FILE = "predictions_test.parquet"  # test predictions: genes in rows, samples in columns
R2_PER_GENE_FILE = "r2_per_gene.csv"
R2_PER_SAMPLE_FILE = "r2_per_sample.csv"
R2_HISTOGRAMS_FILE = "r2_histograms.png"  # the paper's Figs 6 and 7 (first outer split only)
TOP_GENES_SCATTER_FILE = "top_genes_scatter.png"  # supplementary Fig. 5 (first outer split only)
CHOSEN_FILE = "chosen.json"  # the settings the translator chose on validation
PREDICTIONS_H5AD_FILE = "predictions_test.h5ad"  # the AnnData twin of the predictions (with anndata)
PREDICTIONS = f"{RESULTS}/{PREDICTIONS_FILE}"
R2_PER_GENE = f"{RESULTS}/{R2_PER_GENE_FILE}"
R2_PER_SAMPLE = f"{RESULTS}/{R2_PER_SAMPLE_FILE}"
R2_HISTOGRAMS = f"{RESULTS}/{R2_HISTOGRAMS_FILE}"
TOP_GENES_SCATTER = f"{RESULTS}/{TOP_GENES_SCATTER_FILE}"
CHOSEN = f"{RESULTS}/{CHOSEN_FILE}"
PREDICTIONS_H5AD = f"{RESULTS}/{PREDICTIONS_H5AD_FILE}"

MODEL = "model"  # the fitted translator (its own files) and its fitted preprocessing
PREPROCESS_JSON = "preprocess.json"  # in MODEL: the preprocessing steps (omibench.data.persist)
PREPROCESS_NPZ = "preprocess.npz"  # in MODEL: their arrays

TRACEBACK = "traceback.txt"  # a FAILED job: what it raised

# Table 3 on a job's run and on the reference ("original data") run
DOWNSTREAM = "downstream"
DOWNSTREAM_PREDICTIONS_FILE = "downstream_predictions.csv"  # the classifier's class per test sample
TSNE_FILE = "tsne.png"  # the classifier's latent space (Fig. 8)
DOWNSTREAM_PREDICTIONS = f"{DOWNSTREAM}/{DOWNSTREAM_PREDICTIONS_FILE}"
TSNE = f"{DOWNSTREAM}/{TSNE_FILE}"

# --- a translator's summary run ---------------------------------------------------------------------
CONFIG = "config.yaml"  # the resolved experiment config
SPLIT = "split"  # the split files of the outer splits

# --- the reference run: the Table 3 classifier, for ``omibench translate --labels`` (Fig. 9) --------
CLASSIFIER = "classifier"
CLASSIFIER_TRAIN_LATENT = "train_latent.npy"  # in CLASSIFIER: the real training set's latent means
CLASSIFIER_TRAIN_LABELS = "train_labels.txt"  # in CLASSIFIER: their classes, one a line

# --- a report run -----------------------------------------------------------------------------------
REPORT = "report"  # the written report folder (HTML, Markdown, figures)

# --- a summary run's MLflow pyfunc model (fixed by the models already logged) -------------------------
PYFUNC_NAME = "translator"  # the logged model's name
PYFUNC_ARTIFACT = "model"  # the key of the model folder in the pyfunc model's artifacts

# --- the store folder -------------------------------------------------------------------------------
DATABASE = "mlflow.db"  # MLflow's SQLite tracking database
ARTIFACTS = "artifacts"  # local stores: the run artifacts, one folder per experiment
SPLITS = "splits"  # every split drawn, as <split hash>.json
CACHE = "cache"  # prepared data, by content hash
CLASSIFIER_CACHE = f"{CACHE}/{DOWNSTREAM}"  # the Table 3 classifiers, by key
JOBS = "jobs"  # a running job's scratch folder, <random hex>/, removed when it is logged
JOB_SPEC = "spec.json"  # in a job folder: what a worker process runs
JOB_RESULT = "result.json"  # in a job folder: what it returns
JOB_LOG = "worker.log"  # in a job folder: its output
LOCKS = "locks"  # one writer per experiment
STORE_LOCK = ".store.lock"  # creating the database
OPTUNA_JOURNAL = "optuna.journal"  # tuning studies, unless --storage says otherwise


def split_file(store: Path, split_hash: str) -> Path:
    """Where a store keeps the split with hash ``split_hash``."""
    return store / SPLITS / f"{split_hash}.json"
