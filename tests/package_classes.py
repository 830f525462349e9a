"""The classes a package defines, for tests that hold every one of a kind (components, their Args) to a rule."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from collections.abc import Iterator
from types import ModuleType


def classes_defined_in(package: ModuleType) -> Iterator[type]:
    """Every class defined (not just imported) in a module of `package`, its subpackages included."""
    for module in pkgutil.walk_packages(package.__path__, f"{package.__name__}."):
        for _, cls in inspect.getmembers(importlib.import_module(module.name), inspect.isclass):
            if cls.__module__ == module.name:
                yield cls
