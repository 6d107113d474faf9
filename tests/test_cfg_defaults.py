"""Defaults that changed after runs already existed: their config hashes and splits must carry over."""

from __future__ import annotations

from omibench.config import ExperimentConfig, canonical_hash, load_config

from .conftest import REPO, small_experiment


def test_tsne_is_opt_in_and_leaves_the_config_hash_alone(write_config):
    cfg = load_config(write_config(small_experiment()))
    assert cfg.downstream.tsne is False
    on = load_config(write_config(small_experiment()), ["downstream.tsne=true"])
    assert on.downstream.tsne is True
    assert canonical_hash(cfg.semantic_dict()) == canonical_hash(on.semantic_dict())


def test_the_quickstart_config_hash_is_unchanged_by_the_new_defaults():
    # b2a2abd77fc3: the quickstart's config hash before controls, group_by: auto and direction existed;
    # db02dbcecd26 since issue 29 changed the quickstart's omitrans_cnn settings (a new configuration
    # by design). The defaults added since must still leave it unchanged.
    cfg = load_config(REPO / "experiments" / "quickstart.yaml")
    assert canonical_hash(cfg.semantic_dict()) == "db02dbcecd26"
    assert isinstance(cfg, ExperimentConfig)
