"""What the recipe records as a training worker's peak memory."""

from __future__ import annotations

import resource
import subprocess
import sys

import torch

from tsalign.components.training.recipe import peak_memory_mib


def _maxrss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def test_cpu_peak_memory_is_the_process_peak_rss_and_no_cuda():
    before = _maxrss_mib()
    rss_mib, cuda_mib = peak_memory_mib(torch.device("cpu"))
    assert before <= rss_mib <= _maxrss_mib()
    assert cuda_mib == 0.0


def test_cpu_peak_memory_keeps_a_freed_allocation():
    # A fresh process, so that no earlier test's peak hides this one.
    script = (
        "import psutil, torch\n"
        "from tsalign.components.training.recipe import peak_memory_mib\n"
        "now = psutil.Process().memory_info().rss / 2**20\n"
        "block = torch.ones(400 * 2**20 // 4)\n"  # 400 MiB, written so its pages are resident
        "del block\n"
        "peak, _ = peak_memory_mib(torch.device('cpu'))\n"
        "print(now, peak)\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    now, peak = map(float, out.stdout.split())
    assert peak >= now + 390  # the freed block still counts: a peak, not the current size
