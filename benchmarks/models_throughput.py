"""CPU training throughput of every trainable catalogue model (forward + backward + step).

Run: python benchmarks/models_throughput.py [--models gpt4ts dlinear ...] [--channels 7]

Prints samples/s, where a sample is one window [seq_len, channels] (default: batch 64,
input 336, horizon 96, 7 channels as in ETTh1), for the default ModelConfig of each model
(MiniLM truncated to model.n_layers=2). Zero-parameter baselines and the injective model
(no training) are listed with the reason they are skipped.
"""

from __future__ import annotations

import argparse
import os
import time

import torch

from tsalign.components.config import ModelConfig
from tsalign.components.models import (
    ModelSpec,
    build_model,
    count_parameters,
    get_entry,
    list_models,
)


def measure(name: str, spec: ModelSpec, batch: int, steps: int, warmup: int) -> tuple[float, int]:
    """Return (samples/s over ``steps`` timed optimizer steps, trainable parameters)."""
    torch.manual_seed(0)
    model = build_model(ModelConfig(name=name), spec).train()
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=1e-4)
    x = torch.randn(batch, spec.seq_len, spec.n_channels)
    y = torch.randn(batch, spec.horizon, spec.n_channels)

    def step() -> None:
        loss = torch.nn.functional.mse_loss(model(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    for _ in range(warmup):
        step()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    elapsed = time.perf_counter() - start
    return batch * steps / elapsed, count_parameters(model)[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="*", default=None)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--seq-len", type=int, default=336)
    parser.add_argument("--horizon", type=int, default=96)
    parser.add_argument("--channels", type=int, default=7)
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--warmup", type=int, default=1)
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    spec = ModelSpec(
        args.seq_len,
        args.horizon,
        args.channels,
        season=24,
        domain_context="Electricity transformer loads and oil temperature, hourly.",
    )
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, "
        f"load average {os.getloadavg()[0]:.1f}; batch {args.batch} x input {args.seq_len} "
        f"x {args.channels} channels -> horizon {args.horizon}"
    )
    print(f"{'model':<20} {'paradigm':<10} {'trainable':>11} {'samples/s':>10}")
    for name in args.models or list_models():
        entry = get_entry(name)
        if entry.paradigm == "injective" or name in {"naive", "seasonal_naive"}:
            print(f"{name:<20} {entry.paradigm:<10} {'-':>11} {'-':>10}  (nothing to train)")
            continue
        rate, trainable = measure(name, spec, args.batch, args.steps, args.warmup)
        print(f"{name:<20} {entry.paradigm:<10} {trainable:>11,} {rate:>10.1f}", flush=True)


if __name__ == "__main__":
    main()
