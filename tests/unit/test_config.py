"""Run config: schema defaults, dotted-path errors, overrides, shipped configs."""

from __future__ import annotations

from pathlib import Path

import pytest

from components.config import ConfigError, RunConfig, build_config, load_config, parse_overrides

CONFIG_DIR = Path(__file__).resolve().parents[2] / "configs"
SHIPPED = sorted(CONFIG_DIR.glob("*.yaml"))


def test_default_yaml_is_exactly_the_embedded_default():
    assert load_config(CONFIG_DIR / "default.yaml") == RunConfig()


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_every_shipped_config_validates_and_says_how_to_run_it(path: Path):
    load_config(path)
    first_lines = path.read_text().splitlines()[:3]
    assert any(line.startswith("#") and "tsalign" in line for line in first_lines), (
        f"{path.name} must start with a comment giving the command that runs it"
    )


def test_unknown_key_is_rejected_with_its_dotted_path():
    with pytest.raises(ConfigError, match=r"train\.epoch: remove it or fix its spelling"):
        build_config({"train": {"epoch": 3}})


def test_bad_value_names_field_and_value():
    with pytest.raises(
        ConfigError, match=r"data\.window\.horizon: .*greater than or equal to 1.*got 0"
    ):
        build_config({"data": {"window": {"horizon": 0}}})


def test_overrides_parse_yaml_scalars_and_lists():
    tree = parse_overrides(
        ["train.epochs=3", "data.targets=[Demand, Temperature]", "train.max_steps=null"]
    )
    assert tree == {
        "train": {"epochs": 3, "max_steps": None},
        "data": {"targets": ["Demand", "Temperature"]},
    }


def test_override_beats_file(tmp_path: Path):
    path = tmp_path / "run.yaml"
    path.write_text("# tsalign run --config run.yaml\ntrain:\n  epochs: 2\n")
    cfg = load_config(path, ["train.epochs=5", "model.n_layers=3"])
    assert (cfg.train.epochs, cfg.model.n_layers) == (5, 3)


@pytest.mark.parametrize("override", ["train.epochs", "=3", "train.epochs.x=1"])
def test_malformed_overrides_are_errors(override: str):
    with pytest.raises(ConfigError):
        load_config(None, [override])


def test_missing_and_unparsable_files_are_errors(tmp_path: Path):
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("train: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(bad)


def test_split_ratios_must_sum_to_one():
    with pytest.raises(ConfigError, match="split_ratios must sum to 1"):
        build_config({"data": {"split_ratios": [0.5, 0.1, 0.1]}})


def test_profile_prices_the_training_window_unless_told_otherwise():
    assert load_config(None, ["data.window.seq_len=336"]).profile.input_len == 336
    assert (
        load_config(None, ["data.window.seq_len=336", "profile.input_len=50"]).profile.input_len
        == 50
    )
    from components.config import DataConfig, WindowConfig

    cfg = RunConfig(data=DataConfig(window=WindowConfig(seq_len=200)))
    assert cfg.profile.input_len == 200
