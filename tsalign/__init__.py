"""tsalign: learn whether a pretrained language model helps on your time series.

The import package is ``tsalign``: :mod:`tsalign.components` (the platform's logic, no
Prefect) and :mod:`tsalign.flows` (Prefect flows and the ``tsalign`` CLI). In a wheel,
setuptools' ``package_dir`` (setup.py) maps them from the top-level ``components/`` and
``flows/`` folders, with the DeepSpeed presets (``tsalign.infra``) and example configs
(``tsalign.configs``) as package data.
"""

from __future__ import annotations

from pathlib import Path

# In a source checkout that is not installed (a Ray job's uploaded working_dir, `python -m
# pytest` from the root), the subpackages are the checkout's top-level folders. Searching the
# checkout root too keeps the uploaded code the code that runs, even where another copy of
# tsalign is installed.
_CHECKOUT = Path(__file__).resolve().parent.parent
if (_CHECKOUT / "components" / "__init__.py").is_file() and (_CHECKOUT / "setup.py").is_file():
    __path__.append(str(_CHECKOUT))
