"""The registry stores and verifies files; loading models from them belongs to inference."""

from __future__ import annotations

from pathlib import Path

from _import_scan import imported_modules

REGISTRY = Path(__file__).resolve().parents[3] / "components" / "registry"
FORBIDDEN = ("tsalign.components.models", "tsalign.components.inference", "torch")


def test_registry_imports_neither_models_nor_inference() -> None:
    files = sorted(REGISTRY.glob("*.py"))
    assert len(files) >= 5, f"expected the registry's modules under {REGISTRY}"
    offending = {
        f"{path.name}: {module}"
        for path in files
        for module in imported_modules(path)
        if any(module == f or module.startswith(f + ".") for f in FORBIDDEN)
    }
    assert not offending, f"components/registry must not import the model zoo: {sorted(offending)}"


def test_the_scan_sees_imports_inside_functions(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text(
        "def f():\n    from tsalign.components.models.persistence import load_pretrained\n"
    )
    assert "tsalign.components.models.persistence" in imported_modules(module)
