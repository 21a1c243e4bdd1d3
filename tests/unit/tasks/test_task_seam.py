"""The per-task seam: the registry of tasks, and what classification gives training."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
import torch

from tsalign.components.config import DataConfig, ProtocolConfig, TrainConfig
from tsalign.components.data.errors import DataError
from tsalign.components.data.panel import canonical_panel, load_panel, read_panel
from tsalign.components.data.panel_inputs import PanelScaler, class_weights, split_arrays
from tsalign.components.tasks import TASK_ENTRIES, TaskEntry, TaskNotWired, get_task
from tsalign.components.tasks.base import TaskKind, TrainingInputs


def test_every_task_with_a_target_resolves_to_its_kind() -> None:
    for task, entry in TASK_ENTRIES.items():
        if entry.target is not None:
            kind = get_task(task)
            assert isinstance(kind, TaskKind) and kind.name == task


def test_a_task_without_a_seam_says_which_stages_run_it(monkeypatch) -> None:
    monkeypatch.setitem(TASK_ENTRIES, "anomaly", TaskEntry(None, ("ingest", "profile")))
    with pytest.raises(TaskNotWired, match="task=anomaly runs only ingest, profile so far"):
        get_task("anomaly")


def write_panel(tmp_path: Path, labels: list[str], lengths: list[int]) -> str:
    """A canonical panel (parquet + meta.json) of len(labels) instances, two channels."""
    rows = [
        {"instance_id": f"i{k}", "step": t, "c1": 10.0 + k + t, "c2": -5.0 * t, "label": lab}
        for k, (lab, n) in enumerate(zip(labels, lengths, strict=True))
        for t in range(n)
    ]
    source = tmp_path / "panel.csv"
    pd.DataFrame(rows).to_csv(source, index=False)
    cfg = DataConfig(
        name="p", source=str(source), panel={"test_fraction": 0.25, "val_fraction": 0.25}
    )
    table, meta = canonical_panel(read_panel(cfg, tmp_path), cfg)
    pq.write_table(table, tmp_path / "p.parquet")
    (tmp_path / "p.meta.json").write_text(meta.model_dump_json())
    return str(tmp_path / "p.parquet")


def test_padding_stays_out_of_the_scaler_and_reads_as_the_mean(tmp_path: Path) -> None:
    path = write_panel(tmp_path, list("abab" * 4), [4, 6] * 8)
    panel = load_panel(path)
    scaler = PanelScaler.fit(panel, ["a", "b"])
    train = panel.splits == "train"
    observed = panel.values[train][panel.observed[train]]
    np.testing.assert_allclose(scaler.mean, observed.mean(axis=0))
    x, y = split_arrays(panel, scaler, "train")
    assert x.shape == (int(train.sum()), 6, 2) and x.dtype == np.float32
    assert (x[~panel.observed[train]] == 0).all()
    assert set(y.tolist()) == {0, 1}


def test_labels_unseen_in_training_are_refused_by_name(tmp_path: Path) -> None:
    scaler = PanelScaler(["c1"], np.zeros(1), np.ones(1), ["a", "b"], 3)
    with pytest.raises(DataError, match=r"labels \['z'\] were not seen in training"):
        scaler.targets(np.array(["a", "z"]), "input.csv")


def test_class_weights_only_when_classes_are_imbalanced() -> None:
    assert class_weights(np.array([0, 0, 1, 1, 2, 2]), 3, 1.5) is None
    weights = class_weights(np.array([0] * 6 + [1] * 2), 2, 1.5)
    np.testing.assert_allclose(weights, [8 / 12, 8 / 4])  # n / (K * count)


def test_classification_training_data_weights_an_imbalanced_panel(tmp_path: Path) -> None:
    path = write_panel(tmp_path, ["a"] * 24 + ["b"] * 8, [5] * 32)
    data = get_task("classify").training_data(TrainingInputs(path, ProtocolConfig(), TrainConfig()))
    x, y = data.train[0]
    assert x.shape == (5, 2) and y.dtype == torch.int64
    assert data.scaler["classes"] == ["a", "b"] and data.scaler["steps"] == 5
    assert data.scaler["class_weights"][1] > data.scaler["class_weights"][0]
    logits = torch.tensor([[0.0, 2.0], [0.0, 1.0]])
    targets = torch.tensor([0, 1])
    weighted = data.loss(logits, targets)
    plain = torch.nn.functional.cross_entropy(logits, targets)
    assert not torch.isclose(weighted, plain)  # weights change the loss of a mixed batch
    summed, count = data.val_sums(logits, targets)
    assert count == 2 and torch.isclose(summed.float() / 2, plain)


def test_timellm_is_refused_for_classification_saying_why() -> None:
    from tsalign.components.config import ConfigError, build_config
    from tsalign.components.preflight import check_run_config

    config = build_config({"task": "classify", "compare": ["timellm_wo_llm"]})
    with pytest.raises(
        ConfigError, match=r"compare\[0\]: timellm_wo_llm does not run task=classify"
    ):
        check_run_config(config)
    with pytest.raises(ConfigError, match="Time-LLM is designed for forecasting only"):
        check_run_config(config)


def _table_rows(output: str) -> dict[str, list[str]]:
    """First cell -> the row's cells, with cells wrapped over several lines joined."""
    rows: dict[str, list[str]] = {}
    last = None
    for line in output.splitlines():
        if not line.startswith("│"):
            continue
        cells = [c.strip() for c in line.strip("│").split("│")]
        if cells[0]:
            last = rows.setdefault(cells[0], cells)
        elif last is not None:  # a wrapped continuation of the row above
            last[:] = [f"{a} {b}".strip() for a, b in zip(last, cells, strict=True)]
    return rows


def test_models_lists_only_the_tasks_that_run_end_to_end() -> None:
    from typer.testing import CliRunner

    from tsalign.flows.cli import app

    # The console's width is fixed when it is created, so cells may wrap: rows are rejoined.
    result = CliRunner().invoke(app, ["models"])
    assert result.exit_code == 0
    rows = _table_rows(result.output)
    gpt4ts, timellm = " ".join(rows["gpt4ts"]), " ".join(rows["timellm"])
    assert "forecast, classify, anomaly" in gpt4ts
    # Time-LLM forecasts, so it detects by forecast error, but it does not classify.
    assert "forecast, anomaly" in timellm and "classify" not in timellm
