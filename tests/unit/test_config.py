"""Run config: schema defaults, dotted-path errors, overrides, shipped configs."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from tsalign.components.config import (
    ConfigError,
    RunConfig,
    build_config,
    load_config,
    parse_overrides,
)

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
    from tsalign.components.config import DataConfig, WindowConfig

    cfg = RunConfig(data=DataConfig(window=WindowConfig(seq_len=200)))
    assert cfg.profile.input_len == 200


# --- broken configs (tests/fixtures/broken/cases.yaml: config_cases) -----------------------

CORPUS = Path(__file__).resolve().parents[1] / "fixtures" / "broken"
CONFIG_CASES = yaml.safe_load((CORPUS / "cases.yaml").read_text())["config_cases"]


def load_case(case: dict) -> RunConfig:
    """Load a broken-config case the way the CLI does: file + overrides, then the catalogues."""
    from tsalign.components.preflight import check_run_config

    path = CORPUS / case["file"] if "file" in case else None
    return check_run_config(load_config(path, case.get("overrides", [])), str(path))


@pytest.mark.parametrize("case", CONFIG_CASES, ids=[c["id"] for c in CONFIG_CASES])
def test_broken_config_is_refused_with_the_field_and_fix(case: dict):
    with pytest.raises(ConfigError) as caught:
        load_case(case)
    message = str(caught.value)
    if "file" in case:
        assert case["file"] in message, message
    for word in case["expect"]:
        assert word in message, f"{word!r} not in: {message}"
    for word in case.get("absent", []):
        assert word not in message, message
    assert len(message) <= case.get("max_chars", 2000), len(message)


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_every_shipped_config_names_real_models_and_presets(path: Path):
    from tsalign.components.preflight import check_run_config

    check_run_config(load_config(path))


def test_override_that_is_not_yaml_is_a_plain_string():
    cfg = load_config(None, ["data.description=[draft: x"])
    assert cfg.data.description == "[draft: x"
    with pytest.raises(ConfigError, match=r"data\.units: .*dictionary.*got '\{load: kW'"):
        load_config(None, ["data.units={load: kW"])


@pytest.mark.parametrize(
    ("override", "field"),
    [
        ("train.epochs=100001", "train.epochs"),
        ("train.batch_size=1000000", "train.batch_size"),
        ("train.lr=2.0", "train.lr"),
        ("train.lr=.nan", "train.lr"),
        ("train.num_workers=100000", "train.num_workers"),
        ("data.window.seq_len=10000000", "data.window.seq_len"),
        ("model.n_layers=1000", "model.n_layers"),
    ],
)
def test_settings_have_sane_bounds(override: str, field: str):
    with pytest.raises(ConfigError, match=re.escape(field) + ": Input should be"):
        load_config(None, [override])


def test_list_items_are_reported_by_index():
    with pytest.raises(ConfigError, match=r"compare\[1\]: Value error, a compare entry is a"):
        load_config(None, ["compare=[dlinear, 3]"])


def test_yaml_error_does_not_quote_the_offending_line(tmp_path: Path):
    bad = tmp_path / "long.yaml"
    bad.write_text("data:\n  source: [" + "x" * 20_000 + "\n")
    with pytest.raises(ConfigError) as caught:
        load_config(bad)
    assert "at line 3" in str(caught.value) and "xxxx" not in str(caught.value)


def test_a_flood_of_problems_is_cut_to_a_readable_list():
    tree = {"data": {f"key{i}": i for i in range(500)}}
    with pytest.raises(ConfigError) as caught:
        build_config(tree)
    lines = str(caught.value).splitlines()
    assert len(lines) == 21 and lines[-1].endswith("… and 480 more problems")
