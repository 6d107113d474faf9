"""The store interface: primitive writes and reads, and the named queries the rest of omibench uses.

Two implementations: :class:`~omibench.store.mlflow_store.MlflowStore` (the real one, MLflow over
SQLite or a tracking server) and :class:`~omibench.store.memory.MemoryStore` (a test double with the
same behaviour, so that resume logic can be tested without SQLite). Queries are expressed as
:class:`Tags` to match (every field that is set must be equal) plus an optional status and parent;
each implementation turns that into its own search.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from omibench.store.schema import BOARD_FILTER, NOTE_TAG, VIEW_TAG, Run, RunLevel, RunStatus, Tags

__all__ = ["Store", "report_experiment", "tune_experiment"]


def tune_experiment(experiment: str, label: str) -> str:
    """The MLflow experiment that mirrors the tuning studies of translator ``label`` of ``experiment``
    (a study run per split, its trials nested under it): kept out of the translators' experiment so
    that its runs page is the leaderboard, and one per translator so MLflow compares trials of one
    search space."""
    return f"{experiment}/tune/{label}"


def report_experiment(experiment: str) -> str:
    """The MLflow experiment that holds the ``report`` runs of ``experiment``."""
    return f"{experiment}/report"


class Store(ABC):
    """Where runs, their metrics and their artifacts are kept. One writer process per experiment
    of a local store (see :mod:`omibench.store.lock`); on a shared one, one owner per job (claims)."""

    path: Path  # the local folder: data cache, splits, locks, job folders
    uri: str
    # whether other machines write the same runs (a tracking server, or a database outside the store
    # folder): jobs are then claimed on the store (omibench/run/claims.py), since the local lock
    # sees only this machine's processes
    shared: bool = False

    # --- primitives -------------------------------------------------------------------------------
    @abstractmethod
    def exists(self) -> bool:
        """Whether the store already exists (reading never creates one)."""

    @abstractmethod
    def experiment_id(self, name: str, create: bool = True) -> str | None:
        """The id of experiment ``name``; created when missing unless ``create`` is false."""

    @abstractmethod
    def create_run(
        self,
        experiment_id: str,
        name: str,
        tags: Tags,
        parent_id: str | None = None,
        other_tags: Mapping[str, str] | None = None,
    ) -> str:
        """A new RUNNING run; returns its id."""

    @abstractmethod
    def set_status(self, run_id: str, status: RunStatus) -> None:
        """Set a run's status (FINISHED, FAILED and KILLED end it; RUNNING reopens it)."""

    @abstractmethod
    def log_params(self, run_id: str, params: Mapping[str, Any]) -> None: ...

    @abstractmethod
    def log_metrics(self, run_id: str, metrics: Mapping[str, float], step: int = 0) -> None: ...

    @abstractmethod
    def set_tags(self, run_id: str, tags: Tags, other_tags: Mapping[str, str] | None = None) -> None:
        """Set every field of ``tags`` that is not None (and ``other_tags`` verbatim)."""

    def log_batch(self, run_id: str, metrics: Mapping[str, float], params: Mapping[str, Any], tags: Tags) -> None:
        """Metrics (step 0), params and tags together; a store that can writes them in one
        transaction (a job's results are one write, not one per kind)."""
        self.log_metrics(run_id, metrics)
        if params:
            self.log_params(run_id, params)
        self.set_tags(run_id, tags)

    @abstractmethod
    def log_artifacts(self, run_id: str, local_dir: str | Path, artifact_path: str | None = None) -> None: ...

    @abstractmethod
    def log_artifact(self, run_id: str, local_file: str | Path, artifact_path: str | None = None) -> None: ...

    @abstractmethod
    def download(self, run_id: str, artifact_path: str, dst: str | Path) -> Path:
        """Copy an artifact (file or folder) of a run into ``dst``; return its local path.
        Raises ``FileNotFoundError`` when the run has no such artifact."""

    @abstractmethod
    def get_run(self, run_id: str) -> Run:
        """Raises ``KeyError`` for an unknown run id."""

    @abstractmethod
    def search(
        self,
        experiment_id: str,
        where: Tags | None = None,
        status: RunStatus | None = None,
        parent_id: str | None = None,
        newest_first: bool = True,
    ) -> list[Run]:
        """Runs of an experiment whose tags equal every field set in ``where``."""

    @abstractmethod
    def set_experiment_tags(self, experiment_id: str, tags: Mapping[str, str]) -> None: ...

    @abstractmethod
    def experiment_tags(self, experiment_id: str) -> dict[str, str]: ...

    @abstractmethod
    def experiment_names(self) -> list[str]:
        """Names of the store's experiments (those not deleted), oldest first."""

    @abstractmethod
    def metric_history(self, run_id: str, key: str) -> list[tuple[int, float]]:
        """Every ``(step, value)`` logged for metric ``key`` of a run, in the order logged."""

    @abstractmethod
    def artifact_paths(self, run_id: str, path: str | None = None) -> list[str]:
        """The artifacts of a run directly under ``path`` (the top when None), as paths from the run's root."""

    # --- optional capabilities: check the ``supports_*`` flag before calling ----------------------
    supports_pyfunc: bool = False  # whether log_pyfunc works (MLflow models need an MLflow store)

    def log_pyfunc(
        self, run_id: str, model_dir: Path, requirements: list[str], example: tuple[Any, Any] | None = None
    ) -> str:
        """Log a run's model folder as an MLflow pyfunc model (``mlflow models predict``, the
        registry) with pip ``requirements`` and, given ``example`` (an input DataFrame and the model's
        output for it), a signature and an input example; return its model URI. Only where
        :attr:`supports_pyfunc` is true; by default it raises ``NotImplementedError``."""
        raise NotImplementedError(f"{type(self).__name__} cannot hold MLflow pyfunc models")

    def set_experiment_note(self, experiment_id: str, text: str) -> None:
        """Set an experiment's description (Markdown, shown above its runs in the MLflow UI)."""
        self.set_experiment_tags(experiment_id, {NOTE_TAG: text})

    def experiment_note(self, experiment_id: str) -> str:
        """An experiment's description ("" when none)."""
        return self.experiment_tags(experiment_id).get(NOTE_TAG, "")

    def set_run_note(self, run_id: str, text: str) -> None:
        """Set a run's description (Markdown, shown on the run's page)."""
        self.set_tags(run_id, Tags(), {NOTE_TAG: text})

    # --- writes with a meaning ---------------------------------------------------------------------
    def end_run(self, run_id: str, status: RunStatus = RunStatus.FINISHED, error: str | None = None) -> None:
        if error:
            self.set_tags(run_id, Tags(error=error))
        self.set_status(run_id, status)

    def stop_if_running(self, run_ids: Iterable[str], status: RunStatus = RunStatus.KILLED) -> list[str]:
        """End the given runs that are still RUNNING with ``status``; finished ones are never
        touched (an interruption must not turn finished work into KILLED). Returns those ended."""
        stopped = []
        for run_id in run_ids:
            try:
                if self.get_run(run_id).status is RunStatus.RUNNING:
                    self.set_status(run_id, status)
                    stopped.append(run_id)
            except KeyError:
                continue
        return stopped

    # --- named queries -----------------------------------------------------------------------------
    def runs_with_key(self, experiment_id: str, job_key: str, status: RunStatus | None = None) -> list[Run]:
        """Runs of one job key (a translator's summary, a seed, a reference), newest first."""
        return self.search(experiment_id, Tags(job_key=job_key), status)

    def finished_run(self, experiment_id: str, job_key: str) -> Run | None:
        """The newest FINISHED run of job key ``job_key``, if any."""
        runs = self.runs_with_key(experiment_id, job_key, RunStatus.FINISHED)
        return runs[0] if runs else None

    def unfinished_runs(self, experiment_id: str, job_key: str) -> list[Run]:
        """Runs of ``job_key`` that did not finish (RUNNING, FAILED, KILLED), newest first; claims
        that lost to another machine's (``superseded_by``) are not among them: nothing ran in them."""
        return [
            r
            for r in self.runs_with_key(experiment_id, job_key)
            if r.status is not RunStatus.FINISHED and r.tags.superseded_by is None
        ]

    def seed_runs(self, run_id: str) -> list[Run]:
        """The per-seed child runs of a summary run, by seed; ``[]`` for a single-seed run."""
        parent = self.get_run(run_id)
        children = self.search(parent.experiment_id, Tags(level=RunLevel.SEED), parent_id=run_id)
        return sorted(children, key=lambda r: r.tags.seed or 0)

    def summaries(self, experiment: str, split_hash: str | None = None, dataset_hash: str | None = None) -> list[Run]:
        """FINISHED summary runs of experiment ``experiment`` (by name), newest first; optionally
        only those on one split and dataset. ``[]`` when the store or experiment does not exist."""
        exp_id = self.experiment_id(experiment, create=False) if self.exists() else None
        if exp_id is None:
            return []
        where = Tags(level=RunLevel.SUMMARY, split_hash=split_hash, dataset_hash=dataset_hash)
        return self.search(exp_id, where, RunStatus.FINISHED)

    def reference_run(self, experiment_id: str, split_hash: str | None) -> Run | None:
        """The newest FINISHED "original data" run of Table 3 on this split."""
        runs = self.search(experiment_id, Tags(level=RunLevel.REFERENCE, split_hash=split_hash), RunStatus.FINISHED)
        return runs[0] if runs else None

    def study_runs(self, experiment_id: str, study: str) -> list[Run]:
        """Every run mirroring tuning study ``study`` (the study run and its trials)."""
        return self.search(experiment_id, Tags(study=study))

    def running_runs(self, experiment_id: str) -> list[Run]:
        return self.search(experiment_id, status=RunStatus.RUNNING)

    # --- for people --------------------------------------------------------------------------------
    @property
    def server_url(self) -> str | None:
        """The tracking server's own address (``http(s)://host:port``) when the runs live on one:
        its UI is already up there and needs no ``omibench ui``. None otherwise."""
        return None

    def ui_command(self, port: int = 5000) -> str:
        """A command that starts the MLflow UI on this store, runnable as printed (the venv's own
        ``omibench`` by its path, so no activated environment is needed). For runs in a database
        outside the store folder: ``mlflow ui`` on that database."""
        import shlex
        import sys

        exe = Path(sys.executable).parent / "omibench"
        if exe.exists() and not self.shared:
            return f"{shlex.quote(str(exe))} ui --store {shlex.quote(str(self.path))} --port {port}"
        python = shlex.quote(sys.executable)
        return f"{python} -m mlflow ui --backend-store-uri {shlex.quote(self.uri)} --host 127.0.0.1 --port {port}"

    def set_ui_view(
        self, experiment_id: str, key: str, order_by: str, ascending: bool, metrics: Iterable[str], search: str
    ) -> None:
        """Save a view of an experiment's runs page for the MLflow UI: runs matching filter ``search``,
        sorted by metric ``order_by`` (a full MLflow key, e.g. ``test/mse``), with the columns of
        ``metrics`` shown, in that order (without a saved view the UI shows no metric column).

        The UI reads the view from experiment tag ``mlflow.sharedViewState.<key>`` (JSON: the page's
        search facets and its column state, as its own "share" button writes them) when the URL
        has ``viewStateShareKey=<key>`` (mlflow/server/js, the experiment page's shared view state)."""
        import json

        columns = [f"metrics.`{m}`" for m in dict.fromkeys(metrics)]
        state = {
            "searchFilter": search,
            "orderByKey": f"metrics.`{order_by}`",
            "orderByAsc": ascending,
            "selectedColumns": columns,
            "columnOrder": columns,
        }
        self.set_experiment_tags(experiment_id, {VIEW_TAG + key: json.dumps(state)})

    def ui_view_url(self, experiment_id: str, key: str, port: int = 5000) -> str:
        """The MLflow UI's runs page of an experiment in the view saved as ``key`` (:meth:`set_ui_view`)."""
        from urllib.parse import quote as urlquote

        base = self.server_url or f"http://127.0.0.1:{port}"
        return f"{base}/#/experiments/{experiment_id}/runs?viewStateShareKey={urlquote(key, safe='')}"

    def ui_url(self, experiment_id: str, order_by: str | None = None, ascending: bool = False, port: int = 5000) -> str:
        """The MLflow UI's runs page of an experiment showing only the leaderboard's summary runs
        (``board = current``), sorted by metric ``order_by`` (a full MLflow key, e.g. ``test/mse``).

        MLflow's runs page reads ``searchFilter``, ``orderByKey`` and ``orderByAsc`` from the URL
        (mlflow/server/js: the experiment page's search-facets state)."""
        from urllib.parse import quote as urlquote

        url = f"{self.server_url or f'http://127.0.0.1:{port}'}/#/experiments/{experiment_id}/runs"
        params = {"searchFilter": BOARD_FILTER}
        if order_by:
            params["orderByKey"] = f"metrics.`{order_by}`"
            params["orderByAsc"] = "true" if ascending else "false"
        return url + "?" + "&".join(f"{k}={urlquote(v, safe='')}" for k, v in params.items())
