"""Overhead of tsalign training: a bare single-process PyTorch loop vs tsalign with one Ray
worker + DeepSpeed ZeRO-0, on the same model, data, batch size and number of steps.

Throughput is taken from the second epoch of each (after start-up, model build, first-epoch
warm-up), in training samples per second. Target: tsalign >= 0.9 of the bare loop.

Run: python benchmarks/training_overhead.py [--windows 1024] [--layers 2]
"""

from __future__ import annotations

import argparse
import math
import tempfile
import time
from pathlib import Path

import _training_common as common
import torch
from torch.utils.data import DataLoader, Subset

from tsalign.components.data.protocol import load_protocol
from tsalign.components.data.windows import WindowDataset
from tsalign.components.models import build_model
from tsalign.components.training.job import TrainJob
from tsalign.components.training.launcher import launch_training
from tsalign.components.training.recipe import capped_indices


def bare_loop(dataset, cfg, model_cfg, epochs: int = 2) -> list[float]:
    """Samples/s per epoch of a plain loop: same windows, sampler seed, AdamW, clipping."""
    torch.manual_seed(cfg.seed)
    proto = load_protocol(dataset.path, common.data_cfg())
    windows = WindowDataset(proto.train, common.SEQ_LEN, common.HORIZON, 1)
    windows = Subset(windows, capped_indices(len(windows), cfg.max_train_windows))
    gen = torch.Generator().manual_seed(cfg.seed)
    loader = DataLoader(windows, batch_size=cfg.batch_size, shuffle=True, generator=gen)
    model = build_model(model_cfg, common.spec())
    trainable = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(trainable, lr=cfg.lr, weight_decay=cfg.weight_decay)
    total = math.ceil(len(loader)) * epochs
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg.lr, total_steps=total)
    model.train()
    rates = []
    for _ in range(epochs):
        seen, started = 0, time.perf_counter()
        for x, y in loader:
            loss = torch.nn.functional.mse_loss(model(x).float(), y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(trainable, cfg.grad_clip)
            opt.step()
            sched.step()
            seen += x.shape[0]
        rates.append(seen / (time.perf_counter() - started))
    return rates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--windows", type=int, default=1024)
    parser.add_argument("--layers", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(1)  # the Ray worker gets 1 CPU (cpus_per_worker=1): same budget

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        dataset = common.write_dataset(root / "data")
        cfg = common.train_cfg(root / "runs", max_train_windows=args.windows)
        mcfg = common.model_cfg(args.layers)
        bare = bare_loop(dataset, cfg, mcfg)
        started = time.perf_counter()
        job = TrainJob(
            dataset, common.data_cfg().protocol(), mcfg, cfg, common.spec(), "overhead-zero0"
        )
        result = launch_training(job)
        wall = time.perf_counter() - started
        import ray

        ray.shutdown()
    ours = result.curves["samples_per_s"]
    ratio = ours[-1] / bare[-1]
    print(f"model gpt4ts n_layers={args.layers}, {args.windows} windows/epoch, batch 32, 2 epochs")
    print(f"bare PyTorch loop     : {bare[-1]:8.1f} samples/s (epoch 2; epoch 1 {bare[0]:.1f})")
    print(f"tsalign 1 worker ZeRO0: {ours[-1]:8.1f} samples/s (epoch 2; epoch 1 {ours[0]:.1f})")
    print(f"ratio tsalign/bare    : {ratio:8.3f}   (target >= 0.9)")
    print(f"tsalign wall incl. start-up: {wall:.1f} s")


if __name__ == "__main__":
    main()
