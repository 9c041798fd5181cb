"""The model registry: every model module registers its estimator under a short key.

Adding a model is one new module in this package that defines a `TextClassifier` subclass decorated with
`@register`; the modules here are imported automatically. Its family (the base class it extends, or a new one)
answers everything else the library asks about it: see `textclf.models.base` and docs/extending.md.
"""

from __future__ import annotations

import importlib
import pkgutil

from textclf.models.base import TextClassifier

REGISTRY: dict[str, type[TextClassifier]] = {}


def register(cls: type[TextClassifier]) -> type[TextClassifier]:
    REGISTRY[cls.key] = cls
    return cls


def unregister(key: str) -> None:
    """Forget a model (tests that register a toy one clean up with this)."""
    REGISTRY.pop(key, None)


def get_model_class(key: str) -> type[TextClassifier]:
    _import_all()
    if key not in REGISTRY:
        raise ValueError(f"Unknown model {key!r}; choose from {', '.join(sorted(REGISTRY))}.")
    return REGISTRY[key]


def create(key: str, **params) -> TextClassifier:
    return get_model_class(key)(**params)


def model_keys() -> list[str]:
    _import_all()
    return sorted(REGISTRY, key=lambda key: REGISTRY[key].order)


def model_titles() -> dict[str, str]:
    """Title → key of every registered model, in display order (for model pickers)."""
    return {get_model_class(key).title: key for key in model_keys()}


def models_help() -> str:
    """One sentence per registered model: its title and what it is."""
    return " ".join(f"{cls.title}: {cls.summary}." for cls in map(get_model_class, model_keys()))


def _import_all() -> None:
    for info in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{info.name}")
