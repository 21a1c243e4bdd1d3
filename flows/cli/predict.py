"""`tsalign predict REF --input history.csv [--horizon H] [--output forecast.csv]`.

Loads a published model by name, version or alias (sha256-verified), forecasts the input's
channels and continues its timestamps at the series' frequency. Mounted on the main CLI as
``app.command("predict")(predict_cmd)``.
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
        typer.Option("--input", "-i", help="CSV with a timestamp column and the model's channels."),
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
    """Forecast INPUT with a published model and write the forecast as CSV."""
    import pandas as pd

    from tsalign.components.inference import forecast

    if not input_path.is_file():
        fail(f"--input {input_path}: file not found")
    try:
        frame = pd.read_csv(input_path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
        fail(f"--input {input_path}: not a readable CSV ({err})")
    reg = _open(config, registry, endpoint_url)
    with user_errors():
        result = forecast(
            reg, ref, frame, horizon=horizon, timestamp_col=timestamp_col, device=device
        )
    if output is None:
        typer.echo(result.to_csv(index=False), nl=False)
        return
    # Temp file + rename: a failed write never leaves a truncated forecast behind.
    output.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(output) as tmp:
        result.to_csv(tmp, index=False)
    typer.echo(f"wrote {len(result)} steps x {result.shape[1] - 1} channels to {output}", err=True)
