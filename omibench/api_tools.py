"""The library API's tools around a run: the MLflow UI on a store, input files and downloads.

Part of the API layer (:mod:`omibench.api` re-exports every function here): the same contract
holds, a user mistake is one :class:`~omibench.OmibenchError` line and nothing is written.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from omibench.data.fetch import MIRROR_ENV
from omibench.errors import ConfigError, check_output
from omibench.run.setup import Echo, quiet

if TYPE_CHECKING:
    from omibench.data.fetch import Fetched, Remote

__all__ = ["MIRROR_ENV", "MIRROR_SCHEMES", "check_mirror", "fetch_data", "inspect", "serve_ui", "ui_pages"]

MIRROR_SCHEMES = ("http", "https", "file")


def ui_pages(
    store: str | Path = "mlruns", experiment: str | None = None, port: int = 5000, workers: int | None = None
) -> tuple[list[tuple[str, str]], list[str]]:
    """The leaderboard URL of each experiment of ``store`` (or of ``experiment`` only) and the
    command (argv) that starts the MLflow UI on it with this environment's MLflow (``workers``
    server processes; None: MLflow's default). Run the command with :func:`serve_ui`."""
    import sys

    from omibench.report.mlflow_page import leaderboard_url
    from omibench.store import MlflowStore

    st = MlflowStore(store)
    if not st.exists():
        raise ConfigError(
            f"{store}: no omibench store here (no {st.database.name}); run `omibench run` first or fix --store"
        )
    pages = leaderboard_url(st, experiment, port)
    if experiment is not None and not pages:
        raise ConfigError(f"{store}: no experiment {experiment!r} in this store; check the name (the YAML's name)")
    command = [sys.executable, "-m", "mlflow", "ui", "--backend-store-uri", st.uri, "--host", "127.0.0.1"]
    command += ["--port", str(port)] + (["--workers", str(workers)] if workers else [])
    if st.local:
        command += ["--default-artifact-root", st.artifact_root.as_uri()]
    return pages, command


def serve_ui(command: Sequence[str], grace_s: float = 5.0) -> int:
    """Run the UI server ``command`` (from :func:`ui_pages`) as a child this process owns, until it
    exits or this process gets SIGTERM, SIGINT or SIGHUP (then 0). The server runs in a process group
    of its own that is stopped whole, its workers included, on any return, exception or such signal,
    and asks the kernel to SIGTERM it should this process die first (``PR_SET_PDEATHSIG``). Call it
    from the main thread."""
    from omibench.run.owned import run_owned

    return run_owned(command, grace_s)


def fetch_data(
    dataset: str,
    to: str | Path | None = None,
    *,
    mirror: str | None = None,
    files: Sequence[Remote] | None = None,
    progress: bool = True,
    echo: Echo = quiet,
) -> list[Fetched]:
    """Download ``dataset``'s input files (``omibench data fetch``; ``"tcga"``: the paper's) into
    folder ``to`` (default ``data/<dataset>``, where its experiment looks). Files already there are
    skipped; downloads resume after an interruption (restarting a file that changed on the server)
    and are renamed into place only when whole and checked: against the recorded size and SHA-256
    where the table has them (for ``tcga``: the test-id list), else against the size the server
    announces, with the first download's SHA-256 recorded beside the file (see
    :mod:`omibench.data.fetch`). ``mirror``: a base URL serving the same files by name; ``files``:
    another table of files (a test, or a cohort of your own). A mirror that is not an ``http``,
    ``https`` or ``file`` URL, or a folder that could not be written (a file, or under one; no
    permission), is refused in one line before any download, and nothing is created."""
    from omibench.data.fetch import fetch_files, files_of

    if mirror is not None:  # first: a mistyped mirror creates no folder and downloads nothing
        check_mirror(mirror)
    table = tuple(files) if files is not None else files_of(dataset)
    folder = check_output(to if to is not None else Path("data") / dataset, "--to", folder=True)
    return fetch_files(table, folder, mirror=mirror, progress=progress, echo=echo)


def inspect(file: str | Path) -> dict[str, Any]:
    """Shape, orientation guess, value range, missing values and scale guess of a matrix file."""
    from omibench.data.inspect import inspect_matrix

    return dict(inspect_matrix(Path(file)))


def check_mirror(mirror: str) -> None:
    """Refuse in one line (:class:`~omibench.errors.ConfigError`) a mirror that is not an ``http``,
    ``https`` or ``file`` URL (a bare name, a path, another scheme, a scheme with no address)."""
    parts = urlsplit(mirror.strip())
    if parts.scheme.lower() not in MIRROR_SCHEMES or not (parts.netloc or parts.path.strip("/")):
        raise ConfigError(
            f"--mirror {mirror!r}: not a URL; give an http://, https:// or file:// base URL (also ${MIRROR_ENV})"
        )
