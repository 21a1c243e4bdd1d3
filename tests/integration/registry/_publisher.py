"""Helper process for the registry integration tests (run as a script, not collected).

    python _publisher.py CONFIG_JSON WORKDIR INDEX GO_FILE [--die-before-claim]

Waits until GO_FILE exists (so that every process starts publishing at the same moment),
publishes model "race" with files whose contents name INDEX, and prints the version as JSON.
With --die-before-claim it SIGKILLs itself after uploading the files and before the manifest
is written, like a machine lost mid-publish.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from pathlib import Path

from tsalign.components.config import RegistryConfig
from tsalign.components.registry import Registry, open_registry


def main() -> None:
    cfg = RegistryConfig.model_validate_json(sys.argv[1])
    work, index, go = Path(sys.argv[2]), int(sys.argv[3]), Path(sys.argv[4])
    model = work / f"model-{index}"
    model.mkdir(parents=True)
    # A few hundred KiB per file so uploads overlap in time between processes.
    (model / "weights.safetensors").write_bytes(f"proc {index};".encode() * 40_000)
    (model / "config.json").write_text(json.dumps({"index": index}))
    scaler = work / f"scaler-{index}.json"
    scaler.write_text(json.dumps({"mean": [index], "std": [1.0], "channels": ["y"]}))
    reg = open_registry(cfg)
    if "--die-before-claim" in sys.argv:
        Registry._claim = lambda self, manifest: os.kill(os.getpid(), signal.SIGKILL)  # type: ignore[method-assign]
    deadline = time.monotonic() + 60
    while not go.exists():
        if time.monotonic() > deadline:
            sys.exit("go file never appeared")
        time.sleep(0.005)
    pv = reg.publish(
        "race",
        {"model": model, "scaler.json": scaler},
        config={"index": index},
        metrics={"mse": float(index)},
        lineage={"publisher": index},
    )
    print(json.dumps({"index": index, "version": pv.version}))


if __name__ == "__main__":
    main()
