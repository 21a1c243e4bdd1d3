"""The one exception type for every data problem a user can cause."""

from __future__ import annotations


class DataError(ValueError):
    """Bad data, source or version: the message names the file, column/row and the fix.

    Raised before anything is written, so ``data/``, ``data.dvc`` and the DVC
    remote are left as they were. The CLI prints the message and exits non-zero.
    """

    def __init__(self, where: str, problem: str, fix: str) -> None:
        self.where = where
        self.problem = problem
        self.fix = fix
        super().__init__(f"{where}: {problem}. Fix: {fix}")
