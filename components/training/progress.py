"""A tiny Ray actor through which rank 0 tells the driver how far training got."""

from __future__ import annotations

import ray


@ray.remote(num_cpus=0)
class ProgressActor:
    """Holds (step, total_steps, last_loss); rank 0 writes, the driver polls."""

    def __init__(self) -> None:
        self._step, self._total, self._loss = 0, 0, None

    def start(self, total: int, step: int) -> None:
        self._total, self._step = total, step

    def update(self, step: int, loss: float) -> None:
        self._step, self._loss = step, loss

    def get(self) -> tuple[int, int, float | None]:
        return self._step, self._total, self._loss
