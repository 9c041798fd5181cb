"""The batching strategy registry: one registered object per strategy, read by everything that names one.

A `BatchingStrategy` holds the whole fact: its name (as configs and records store it), its label and colour
(as tables and charts show it), its relative cost (so the longest runs start first) and how it is built for
flat texts and for documents (a hierarchical model's two-level batching is the document side of the same
strategy). Adding a strategy is one new module in this package that calls `register_strategy`; the modules
here are imported at the first lookup.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from textclf.errors import TextclfError
from textclf.training.batching import Strategy

NOT_BATCHED = "none"  # the batching recorded for a model that is not trained in batches
NOT_BATCHED_LABEL, NOT_BATCHED_COLOUR = "classical (no batching)", "#7f7f7f"


@dataclass(frozen=True)
class BatchingStrategy:
    """One strategy: `texts` and `documents` are `Strategy` classes (None: no document side)."""

    name: str
    label: str
    colour: str
    cost_factor: float
    texts: type[Strategy]
    documents: type[Strategy] | None = None
    order: int = 100

    def for_texts(self, batch_size: int, **settings) -> Strategy:
        """The flat-text strategy for a model's settings (`n_buckets`, `pad_to`: those it uses)."""
        return self.texts.from_settings(batch_size, **settings)

    def for_documents(self, batch_size: int, **settings) -> Strategy:
        """The two-level strategy (documents of sentences); refused where the strategy has none."""
        if self.documents is None:
            raise TextclfError(f"The {self.label} batching has no document level, so a hierarchical model "
                               "cannot train with it; choose another batching for it.")
        return self.documents.from_settings(batch_size, **settings)


_REGISTRY: dict[str, BatchingStrategy] = {}
_discovered = False


def register_strategy(strategy: BatchingStrategy) -> BatchingStrategy:
    _REGISTRY[strategy.name] = strategy
    return strategy


def unregister_strategy(name: str) -> None:
    """Forget a strategy (tests that register a toy one clean up with this)."""
    _REGISTRY.pop(name, None)


def strategy_names() -> tuple[str, ...]:
    _discover()
    return tuple(sorted(_REGISTRY, key=lambda name: _REGISTRY[name].order))


def get_strategy(name: str) -> BatchingStrategy:
    _discover()
    if name not in _REGISTRY:
        raise ValueError(f"Unknown batching {name!r}; choose one of {', '.join(strategy_names())}.")
    return _REGISTRY[name]


def batching_label(name: str) -> str:
    """How tables and legends name a batching (`none` included); an unknown name as it is."""
    return _field(name, "label", NOT_BATCHED_LABEL, name)


def batching_colour(name: str) -> str | None:
    return _field(name, "colour", NOT_BATCHED_COLOUR, None)


def cost_factor(name: str) -> float:
    """How much longer than the cheapest strategy a run under this batching is expected to take."""
    return _field(name, "cost_factor", 1, 1)


def _field(name: str, attribute: str, not_batched, unknown):
    if name == NOT_BATCHED:
        return not_batched
    _discover()
    return getattr(_REGISTRY[name], attribute) if name in _REGISTRY else unknown


def make_strategy(name: str, batch_size: int = 64, **settings) -> Strategy:
    return get_strategy(name).for_texts(batch_size, **settings)


def make_document_strategy(name: str, batch_size: int = 64, **settings) -> Strategy:
    return get_strategy(name).for_documents(batch_size, **settings)


class _Field(Mapping):
    """name → one field of every registered strategy, plus `none`, read live."""

    def __init__(self, read):
        self._read = read

    def __getitem__(self, name: str):
        if name != NOT_BATCHED and name not in strategy_names():
            raise KeyError(name)
        return self._read(name)

    def __iter__(self) -> Iterator[str]:
        return iter((*strategy_names(), NOT_BATCHED))

    def __len__(self) -> int:
        return len(strategy_names()) + 1


BATCHING_NAMES: Mapping[str, str] = _Field(batching_label)
BATCHING_COLOURS: Mapping[str, str] = _Field(batching_colour)


def _discover() -> None:
    global _discovered
    if _discovered:
        return
    _discovered = True
    for info in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{info.name}")
