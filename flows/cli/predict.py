"""`tsalign predict REF --input FILE [--horizon H] [--output result.csv]`.

Loads a published model by name, version or alias (sha256-verified) and hands the input to
its task (the version's ``task`` tag): a forecaster forecasts the input's channels and
continues its timestamps at the series' frequency; a classifier returns each instance's
class probabilities; a detector scores every row and flags those at or above the threshold
evaluation tuned for a NAB profile. Mounted on the main CLI as ``app.command("predict")(predict_cmd)``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tsalign.components.storage import atomic_path
from tsalign.flows.cli.common import ConfigOpt, fail, user_errors
from tsalign.flows.cli.registry import EndpointOpt, RegistryOpt, _open


def predict_cmd(
    ref: Annotated[
        str, typer.Argument(help="NAME, NAME:VERSION or NAME@ALIAS (e.g. my-model@champion).")
    ],
    input_path: Annotated[
        Path,
        typer.Option(
            "--input",
            "-i",
            help="Forecaster: CSV with a timestamp column and the model's channels. "
            "Classifier: a panel file (.ts, or long CSV/Parquet: instance_id, step, channels). "
            "Detector: one series as CSV/Parquet in row order (NAB's timestamp,value).",
        ),
    ],
    horizon: Annotated[
        int | None,
        typer.Option(
            "--horizon", "-H", min=1, help="Steps to forecast; the model's horizon by default."
        ),
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Write the forecast CSV here; stdout when omitted."),
    ] = None,
    timestamp_col: Annotated[
        str | None,
        typer.Option("--timestamp-col", help="Timestamp column; 'timestamp' or inferred."),
    ] = None,
    text: Annotated[
        Path | None,
        typer.Option(
            "--text",
            help="Recent text (CSV/Parquet with the columns of the version's data.text source) "
            "for a text-fused model, aligned to the forecast start as in training.",
        ),
    ] = None,
    value_col: Annotated[
        str, typer.Option("--value-col", help="Detector: the column to score.")
    ] = "value",
    profile: Annotated[
        str | None,
        typer.Option(
            "--profile",
            help="Detector: the NAB profile whose tuned threshold flags rows (standard, "
            "reward_low_FP_rate or reward_low_FN_rate); the version's own (standard) by default.",
        ),
    ] = None,
    registry: RegistryOpt = None,
    endpoint_url: EndpointOpt = None,
    config: ConfigOpt = None,
    device: Annotated[
        str,
        typer.Option(
            "--device", help="auto (cuda when available), cpu or cuda: where the model runs."
        ),
    ] = "auto",
) -> None:
    """Apply a published model to INPUT and write the result as CSV: a forecaster's forecast,
    a classifier's class probabilities per instance, or a detector's anomaly score and flag
    per row."""
    from tsalign.components.inference.published import task_of
    from tsalign.components.tasks import get_task
    from tsalign.components.tasks.base import PredictRequest

    if not input_path.is_file():
        fail(f"--input {input_path}: file not found")
    if text is not None and not text.is_file():
        fail(f"--text {text}: file not found")
    reg = _open(config, registry, endpoint_url)
    request = PredictRequest(
        input_path, horizon, timestamp_col, device, text, value_col=value_col, profile=profile
    )
    with user_errors():
        result = get_task(task_of(reg, ref)).predict(reg, ref, request)
    if output is None:
        typer.echo(result.to_csv(index=False), nl=False)
        return
    # Temp file + rename: a failed write never leaves a truncated forecast behind.
    output.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(output) as tmp:
        result.to_csv(tmp, index=False)
    typer.echo(f"wrote {len(result)} rows x {result.shape[1]} columns to {output}", err=True)
