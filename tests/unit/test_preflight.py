"""The config check against the catalogues: torch-free, fast to fail, with a suggestion."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tsalign.components.config import ConfigError, load_config
from tsalign.components.preflight import catalogue_problems, check_run_config
from tsalign.components.tasks import PIPELINE_STAGES, TASK_ENTRIES, TaskEntry

ROOT = Path(__file__).resolve().parents[2]


def _run_python(code: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TSALIGN_LOG_FILE": str(cwd / "tsalign.log")}
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
        env=env,
    )


def test_checking_a_bad_name_imports_no_torch(tmp_path: Path):
    done = _run_python(
        """
        import sys
        from tsalign.components.config import ConfigError, load_config
        from tsalign.components.preflight import check_run_config
        try:
            check_run_config(load_config(None, ["model.name=gpt4tz", "compare=[dlinaer]"]))
        except ConfigError as err:
            print(err)
        else:
            raise SystemExit("no ConfigError")
        print("torch loaded:", "torch" in sys.modules)
        """,
        tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert "did you mean 'gpt4ts'?" in done.stdout and "did you mean 'dlinear'?" in done.stdout
    assert "torch loaded: False" in done.stdout, done.stdout


def test_cli_run_with_a_typo_fails_before_torch_or_prefect_and_writes_nothing(tmp_path: Path):
    done = _run_python(
        """
        import sys
        from tsalign.flows.cli import app
        print("exit", app(["run", "model.name=gpt4tz"], standalone_mode=False))
        print("loaded:", sorted(m for m in ("torch", "prefect") if m in sys.modules))
        """,
        tmp_path,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert "exit 1" in done.stdout, output
    assert "model.name: 'gpt4tz' is not in the catalogue (did you mean 'gpt4ts'?)" in output
    assert "loaded: []" in done.stdout, output
    assert [p.name for p in tmp_path.iterdir() if p.name != "tsalign.log"] == []


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ("model.name=patchtsd", "model.name: 'patchtsd' is not in the catalogue (did you mean 'patchtst'?)"),
        ("compare=[gpt4ts_lroa]", "compare[0]: 'gpt4ts_lroa' is not in the catalogue (did you mean 'gpt4ts_lora'?)"),
        ("eval.baselines=[naiv]", "eval.baselines[0]: 'naiv' is not in the catalogue (did you mean 'naive'?)"),
    ],
)  # fmt: skip
def test_typo_error_suggests_the_closest_name(override: str, expected: str):
    problems = catalogue_problems(load_config(None, [override]))
    assert len(problems) == 1 and expected in problems[0], problems


def test_name_far_from_every_entry_gets_no_suggestion_but_the_valid_list():
    with pytest.raises(ConfigError) as caught:
        check_run_config(load_config(None, ["model.name=qqqq"]), "cfg.yaml")
    message = str(caught.value)
    assert message.startswith("cfg.yaml: model.name: 'qqqq' is not in the catalogue; valid names:")
    assert "did you mean" not in message and "'gpt4ts'" in message


def test_valid_config_passes_unchanged():
    cfg = load_config(None, ["model.name=gpt4ts_lora", "eval.baselines=[naive, llmtime]"])
    assert check_run_config(cfg) is cfg


def test_task_is_forecast_by_default_and_checked_against_the_stages(monkeypatch):
    cfg = load_config(None, ["task=anomaly"])
    assert load_config(None).task == "forecast"
    check_run_config(cfg, "c.yaml", PIPELINE_STAGES)  # anomaly runs every stage
    # A task whose later stages are not wired is refused up front.
    monkeypatch.setitem(TASK_ENTRIES, "anomaly", TaskEntry(None, ("ingest", "profile")))
    check_run_config(cfg, "c.yaml", ("ingest", "profile"))  # ingest and profile handle it
    with pytest.raises(ConfigError, match=r"c.yaml: task: task=anomaly: the train stage"):
        check_run_config(cfg, "c.yaml", ("ingest", "train"))


def test_unknown_task_names_the_field_and_choices():
    with pytest.raises(
        ConfigError, match=r"task: Input should be 'forecast', 'classify' or 'anomaly'"
    ):
        load_config(None, ["task=regress"])
