import pytest

from omibench import ConfigError
from omibench.config import canonical_hash, load_config

from .conftest import REPO, small_experiment

REPO_EXPERIMENTS = REPO / "experiments"


def test_defaults_and_overrides(write_config):
    path = write_config(small_experiment())
    cfg = load_config(path, ["seeds=[0,1,2]", "translators.1.params.alpha=0.05", "data.n_samples=70", "split.seed=3"])
    assert cfg.seeds == [0, 1, 2]
    assert cfg.translators[1].params == {"n_alphas": 3, "alpha": 0.05}
    assert cfg.data["n_samples"] == 70 and cfg.data["source"] == "synthetic"
    assert cfg.split.seed == 3 and cfg.preprocess.impute == "none"


def test_hash_ignores_key_order_and_output_location():
    assert canonical_hash({"a": 1, "b": [1, 2]}) == canonical_hash({"b": [1, 2], "a": 1})


def test_semantic_hash_ignores_tracking(write_config):
    a = load_config(write_config(small_experiment(), "a.yaml"))
    b = load_config(write_config(small_experiment(tracking={"store": "elsewhere"}), "b.yaml"))
    assert canonical_hash(a.semantic_dict()) == canonical_hash(b.semantic_dict())


@pytest.mark.parametrize(
    "text, message",
    [
        ("name: x\ntranslators: [\n", r"invalid YAML at line \d+"),
        ("- just\n- a list\n", "top level must be a mapping"),
        ("name: x\ntranslator: []\n", "field translator: unknown field .did you mean .translators.."),
        ("name: x\n", "field translators: Field required"),
        ("name: x\ntranslators: [{name: lasso}]\nsplit: {test_fraction: 1.5}\n", "field split.test_fraction"),
        ("name: x\ntranslators: [{name: lasso}, {name: lasso}]\n", "appears twice"),
    ],
)
def test_malformed_config_is_one_clear_line(tmp_path, text, message):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message) as info:
        load_config(path)
    assert "\n" not in str(info.value) and "bad.yaml" in str(info.value)


def test_bad_override(write_config):
    with pytest.raises(ConfigError, match="expected key=value"):
        load_config(write_config(small_experiment()), ["seeds"])
    with pytest.raises(ConfigError, match="not an index"):
        load_config(write_config(small_experiment()), ["translators.9.name=x"])


def test_every_shipped_experiment_validates():
    from omibench.contract.registry import load_registry
    from omibench.contract.translator import validate_params
    from omibench.data.steps import build_steps

    from .conftest import REPO

    registry = load_registry()
    files = sorted((REPO / "experiments").glob("*.yaml"))
    assert len(files) >= 6
    for path in files:
        cfg = load_config(path)
        for entry in cfg.translators:
            validate_params(registry.translator(entry.name), entry.params)
        build_steps(cfg.preprocess.b, "b")
        build_steps(cfg.preprocess.a, "a")
        registry.dataset(cfg.data["source"])


def test_duplicate_seeds_refused(write_config):
    with pytest.raises(ConfigError, match="field seeds: seed 0 is listed twice"):
        load_config(write_config(small_experiment(seeds=[0, 1, 0])))


def test_alias_bomb_refused_and_ordinary_aliases_kept(tmp_path):
    lines = ["name: x", "translators: [{name: lasso}]", "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for i in range(1, 10):  # 10**9 values once expanded
        lines.append(f"{chr(97 + i)}: &{chr(97 + i)} [{', '.join(['*' + chr(96 + i)] * 10)}]")
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text("\n".join(lines) + "\n")
    with pytest.raises(ConfigError, match="bomb.yaml: its aliases .* expand to more than"):
        load_config(bomb)
    cfg = load_config(REPO_EXPERIMENTS / "tcga.yaml")  # uses &table2 / <<: *table2
    assert cfg.translators[4].params["hidden"] == [4096, 1024, 512]


def test_non_utf8_yaml_is_one_line(tmp_path):
    path = tmp_path / "latin.yaml"
    path.write_bytes("name: caf\xe9\ntranslators: [{name: lasso}]\n".encode("latin-1"))
    with pytest.raises(ConfigError, match="latin.yaml: not UTF-8 text"):
        load_config(path)
