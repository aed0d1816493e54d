"""The public surface: __all__ lists exactly what the packages define, and every module imports."""

from __future__ import annotations
import __future__

import importlib
import importlib.metadata
import pkgutil
import types

import pytest

import sealog
import sealog.ledger

MODULES = sorted(
    info.name
    for info in pkgutil.walk_packages(sealog.__path__, prefix="sealog.")
    if not any(part.startswith("_") for part in info.name.split("."))
)


def public_names(module: types.ModuleType) -> set[str]:
    """Names a package defines for users: not private, not submodules, not __future__ flags."""
    return {
        name
        for name, value in vars(module).items()
        if not name.startswith("_")
        and not isinstance(value, types.ModuleType)
        and value is not __future__.annotations
    }


@pytest.mark.parametrize("package", [sealog, sealog.ledger], ids=lambda m: m.__name__)
def test_all_equals_public_names(package):
    """__all__ lists every public name the package defines, and nothing else."""
    exported = [name for name in package.__all__ if name != "__version__"]
    assert len(set(package.__all__)) == len(package.__all__)
    assert set(exported) == public_names(package)


def test_version_is_exported():
    """sealog exports __version__, equal to the distribution's version."""
    assert "__version__" in sealog.__all__
    assert sealog.__version__ == importlib.metadata.version("sealog")


def test_public_modules_are_found():
    """The module walk sees the core modules (it is not silently empty)."""
    assert {"sealog.canonical", "sealog.crypto", "sealog.ledger.checkpoint"} <= set(MODULES)


@pytest.mark.parametrize("name", MODULES)
def test_public_module_imports(name):
    """Every public module imports, and its __all__ names only what exists."""
    module = importlib.import_module(name)
    for exported in getattr(module, "__all__", ()):
        assert hasattr(module, exported), f"{name}.__all__ names missing {exported!r}"
