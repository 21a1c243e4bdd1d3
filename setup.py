"""Package layout of the ``tsalign`` distribution (metadata lives in pyproject.toml).

The import package is ``tsalign``; its subpackages stay in the top-level folders through
``package_dir``: ``tsalign.components`` -> ``components/``, ``tsalign.flows`` -> ``flows/``,
``tsalign.infra`` -> ``infra/`` (the DeepSpeed presets as package data) and
``tsalign.configs`` -> ``configs/`` (example run configs, which ``tsalign init`` copies).
Subpackages are found here, so a new folder under components/ or flows/ ships without
editing a list.
"""

from setuptools import find_packages, setup

FOLDERS = ("components", "flows", "infra", "configs")


def mapped(folder: str) -> list[str]:
    """``tsalign.<folder>`` and every package below it."""
    return [f"tsalign.{folder}"] + [f"tsalign.{folder}.{p}" for p in find_packages(folder)]


setup(
    packages=["tsalign"] + [name for folder in FOLDERS for name in mapped(folder)],
    package_dir={"tsalign": "tsalign", **{f"tsalign.{f}": f for f in FOLDERS}},
    package_data={"tsalign.infra": ["deepspeed/*.json"], "tsalign.configs": ["*.yaml"]},
)
