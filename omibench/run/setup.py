"""The one preparation sequence: config -> plugins -> data (through the store's data cache).

Used by the library API (every command), by tuning's worker processes and by ``omibench data
prepare``; ``python -m omibench.run.jobs`` workers rebuild from the resolved config in their spec.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from omibench.errors import ConfigError, OmibenchError
from omibench.store import layout

if TYPE_CHECKING:
    from omibench.config import ExperimentConfig
    from omibench.contract.registry import Registry
    from omibench.run.preparation import Prepared

__all__ = ["Echo", "load_experiment_config", "load_plugins", "prepare_experiment", "quiet"]

Echo = Callable[[str], None]


def quiet(_: str) -> None:
    """The default ``echo``: says nothing."""


def load_experiment_config(config: str | Path | ExperimentConfig, overrides: Sequence[str] = ()) -> ExperimentConfig:
    """An experiment YAML read with its ``--set`` overrides, or an :class:`ExperimentConfig` as given
    (overrides apply to a file only: given with a config object, a :class:`ConfigError`)."""
    from omibench.config import ExperimentConfig, load_config

    if isinstance(config, ExperimentConfig):
        if overrides:
            raise ConfigError("overrides apply to a YAML file; change the ExperimentConfig itself instead")
        return config
    return load_config(config, overrides)


def load_plugins(dirs: Sequence[str | Path] = (), echo: Echo = quiet) -> Registry:
    """Every registered translator and data source (the plugin folders ``dirs`` included); each
    problem met on the way goes to ``echo`` as a warning."""
    from omibench.contract.registry import load_registry

    registry = load_registry(dirs)
    for problem in registry.problems:
        echo(f"warning: plugin problem: {problem}")
    return registry


# the old private names, still used by api.run / api._only / api.tune / api.add_downstream (being
# edited elsewhere): remove once they say quiet and load_experiment_config


def prepare_experiment(
    config: str | Path | ExperimentConfig,
    overrides: Sequence[str] = (),
    plugin_dirs: Sequence[str | Path] = (),
    store: str | Path | None = None,
    only: str | None = None,
    echo: Echo = quiet,
    data_only: bool = False,
) -> tuple[Prepared, list[str], Path]:
    """Config -> plugins -> data (through the store's cache): the one preparation sequence.

    ``only`` keeps one translator (by label); ``data_only`` keeps only the first (translators play no
    part in the data). Returns the prepared experiment, the plugin folders
    used and the store folder. Nothing is written to the store but the data cache.
    """
    from omibench.run.preparation import prepare

    cfg = load_experiment_config(config, overrides)
    dirs = list(dict.fromkeys([str(d) for d in plugin_dirs] + ([str(cfg.plugins_dir)] if cfg.plugins_dir else [])))
    registry = load_plugins(dirs, echo)
    if only is not None or data_only:  # one translator's tuning, or the data alone: no controls
        cfg = cfg.model_copy(update={"controls": False})
    if only is not None:
        labels = [t.display for t in cfg.translators]
        if only not in labels:
            raise OmibenchError(
                f"{config}: no translator labelled {only!r} in this experiment (it has {', '.join(labels)})"
            )
        cfg = cfg.model_copy(update={"translators": [t for t in cfg.translators if t.display == only]})
    if data_only:
        cfg = cfg.model_copy(update={"translators": cfg.translators[:1]})
    store_dir = Path(store or cfg.tracking.store)
    _check_store(store_dir, cfg.tracking.uri)
    echo(f"omibench: preparing {cfg.name!r} (data source {cfg.data['source']!r})")
    prepared = prepare(cfg, registry, store_dir / layout.CACHE)
    echo(
        f"omibench: {prepared.train.n_samples} train / {prepared.val.n_samples} val / {prepared.test.n_samples} test "
        f"samples, {prepared.train.b.shape[1]} -> {prepared.train.a.shape[1]} features, split {prepared.split.hash}"
        + (f" (1 of {len(prepared.splits)} outer splits, {cfg.split.scheme})" if len(prepared.splits) > 1 else "")
    )
    if prepared.controls:
        echo(
            f"omibench: controls {', '.join(prepared.controls)} run too (reference rows, never ranked; "
            "--set controls=false leaves them out)"
        )
    for note in prepared.controls_left_out:
        echo(f"omibench: control {note}: left out")
    return prepared, dirs, store_dir


def _check_store(store_dir: Path, uri: str | None) -> None:
    from omibench.store import MlflowStore

    MlflowStore(store_dir, uri).check(write=True)
