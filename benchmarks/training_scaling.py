"""Scaling of tsalign training: 1 vs 2 Ray workers (DeepSpeed ZeRO-2 over gloo) on this
machine, same global data, second-epoch throughput in samples/s (all workers together).

On a 2-core laptop expect little: both workers share the cores the single worker already
used, and gloo adds an all-reduce per step. On GPUs run with --gpu (bf16, nccl).

Run: python benchmarks/training_scaling.py [--windows 1024] [--gpu]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import _training_common as common

from tsalign.components.training.job import TrainJob
from tsalign.components.training.launcher import launch_training


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--windows", type=int, default=1024)
    parser.add_argument("--gpu", action="store_true")
    args = parser.parse_args()
    import ray

    rates = {}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        dataset = common.write_dataset(root / "data")
        for workers in (1, 2):
            cfg = common.train_cfg(
                root / "runs",
                num_workers=workers,
                deepspeed_preset="zero2",
                device="cuda" if args.gpu else "cpu",
                max_train_windows=args.windows,
            )
            job = TrainJob(
                dataset,
                common.data_cfg().protocol(),
                common.model_cfg(),
                cfg,
                common.spec(),
                f"scale-{workers}",
            )
            result = launch_training(job)
            rates[workers] = result.curves["samples_per_s"][-1]
        ray.shutdown()
    for workers, rate in rates.items():
        print(f"{workers} worker(s) ZeRO-2: {rate:8.1f} samples/s (epoch 2)")
    print(f"speed-up 2 vs 1: {rates[2] / rates[1]:.2f}x")


if __name__ == "__main__":
    main()
