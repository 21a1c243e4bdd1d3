"""A saved classifier classifies panel files, and refuses inputs it cannot take."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tsalign.components.config import ModelConfig
from tsalign.components.data.panel_inputs import PanelScaler
from tsalign.components.inference import PredictError
from tsalign.components.inference.classifier import PREDICTED, Classifier
from tsalign.components.layout import MODEL_DIR, SCALER_FILE
from tsalign.components.models import ModelSpec, build_model, save_pretrained

CHANNELS = ["c1", "c2"]
CLASSES = ["a", "b", "c"]


@pytest.fixture(scope="module")
def export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("classifier")
    spec = ModelSpec(seq_len=6, horizon=1, n_channels=2, task="classify", n_classes=3)
    cfg = ModelConfig(name="patchtst", params={"patch_len": 2, "patch_stride": 2})
    save_pretrained(build_model(cfg, spec), cfg, spec, root / MODEL_DIR)
    scaler = PanelScaler(CHANNELS, np.zeros(2), np.ones(2), CLASSES, 6)
    (root / SCALER_FILE).write_text(json.dumps(scaler.to_dict()))
    return root


def _long(path: Path, lengths: list[int], **extra) -> Path:
    rows = [
        {"instance_id": f"u{k}", "step": t, "c1": float(t), "c2": float(k), **extra}
        for k, n in enumerate(lengths)
        for t in range(n)
    ]
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def test_probabilities_per_instance_in_file_order(export: Path, tmp_path: Path) -> None:
    # u1 is longer than the trained 6 steps (cut), u0 and u2 shorter (padded); no label column.
    result = Classifier.load(export, device="cpu").classify(_long(tmp_path / "x.csv", [4, 9, 3]))
    assert list(result["instance_id"]) == ["u0", "u1", "u2"]
    probs = result[[f"p_{c}" for c in CLASSES]].to_numpy()
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)
    assert set(result[PREDICTED]) <= set(CLASSES)


def test_wrong_channels_are_refused_by_name(export: Path, tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    pd.DataFrame({"instance_id": ["u0"] * 3, "step": [0, 1, 2], "c1": [1.0, 2, 3]}).to_csv(
        path, index=False
    )
    with pytest.raises(PredictError, match=r"lacks channel column\(s\) \['c2'\].*takes 2 channels"):
        Classifier.load(export, device="cpu").classify(path)


def test_labels_the_model_never_saw_are_refused(export: Path, tmp_path: Path) -> None:
    path = _long(tmp_path / "x.csv", [4, 4], label="z")
    with pytest.raises(PredictError, match=r"labels \['z'\] were not seen in training"):
        Classifier.load(export, device="cpu").classify(path)


def test_a_forecaster_directory_is_not_a_classifier(tmp_path: Path) -> None:
    spec = ModelSpec(seq_len=8, horizon=2, n_channels=2)
    cfg = ModelConfig(name="naive")
    save_pretrained(build_model(cfg, spec), cfg, spec, tmp_path / MODEL_DIR)
    forecaster_scaler = {"channels": CHANNELS, "mean": [0, 0], "std": [1, 1], "freq": "h"}
    (tmp_path / SCALER_FILE).write_text(json.dumps(forecaster_scaler))
    with pytest.raises(PredictError, match="is not a classifier's scaler"):
        Classifier.load(tmp_path, device="cpu")


def test_a_published_classifier_is_rescored_on_this_panels_validation(
    export: Path, tmp_path: Path
) -> None:
    """The champion gate's score: the version's own scaler, this panel's validation data."""
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tasks"))
    from test_task_seam import write_panel

    from tsalign.components.config import RegistryConfig
    from tsalign.components.registry import open_registry
    from tsalign.components.registry.gates import ChampionNotComparable
    from tsalign.components.tasks import get_task

    registry = open_registry(RegistryConfig(uri=str(tmp_path / "registry")))
    files = {"model": export / MODEL_DIR, SCALER_FILE: export / SCALER_FILE}
    registry.publish("clf", files, config={}, metrics={}, lineage={}, tags={"task": "classify"})
    panel_dir = tmp_path / "panel"
    panel_dir.mkdir()
    path = write_panel(panel_dir, list("abc" * 8), [6] * 24)
    score = get_task("classify").champion_scorer(path, None, None, 64, "cpu")
    assert np.isfinite(score(registry, "clf", 1)) and score(registry, "clf", 1) > 0
    other_dir = tmp_path / "other"
    other_dir.mkdir()
    other = write_panel(other_dir, list("ab" * 12), [6] * 24)  # two classes, not three
    with pytest.raises(ChampionNotComparable, match="classifies channels"):
        get_task("classify").champion_scorer(other, None, None, 64, "cpu")(registry, "clf", 1)
