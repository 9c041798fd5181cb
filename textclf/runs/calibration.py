"""How long a whole comparison will take on this machine, said before it starts.

A neural run's time is close to proportional to the padded token slots it processes (textclf.runs.eta), so
the estimate is each run's planned slots × the seconds one slot costs this model on this machine. That cost is
measured once per setting (model and options, embedding size, torch threads) by a tiny timed training on
made-up texts, and kept in a JSON file in the textclf folder, so only the first estimate for a setting waits
a few seconds. A neural run counts for the epochs early stopping typically lets it train (textclf.runs.eta);
counting every epoch up to the cap gives the upper bound. Classical runs take seconds; they count at a fixed
rate per training text.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from textclf.data.tokenize import tokenize_all
from textclf.models import create, get_model_class
from textclf.runs.config import CompareConfig, ModelSpec, RunSpec, plan_runs
from textclf.runs.eta import expected_shares, planned_slots
from textclf.runs.prepare import Prepared
from textclf.training.loop import resolve_device, resolve_precision

CALIBRATION_FILE = "calibration.json"
CALIBRATION_TEXTS = 240  # training texts of the timed run; a validation part of 1/8 of that, as in the default split
CALIBRATION_LENGTH = 60  # tokens per made-up text (sentences of 10, for models that read sentences)
CALIBRATION_EPOCHS = 2  # the first epoch carries one-off costs; the last one is timed
CLASSICAL_SECONDS_PER_TEXT = 1e-3  # SVM and kNN fit and predict in about a millisecond per training text
CLASSICAL_MIN_SECONDS = 2.0
CAP_MATTERS_FACTOR = 1.5  # the upper bound is worth saying when it is this many times the estimate or more
NOT_MEASURED = ("embedding", "vectors")  # word vectors change the starting weights, not the work per slot

RateMeasure = Callable[[ModelSpec, int], float]


def calibration_key(spec: ModelSpec, threads: int) -> str:
    """'rnn:cell=gru · embed_dim 300 · bf16 · 1 thread': what a slot's cost depends on (the precision as resolved
    on this machine, so a rate kept from an fp32 default is not read for bf16)."""
    params = {k: v for k, v in spec.params.items() if k not in NOT_MEASURED}
    model = get_model_class(spec.key)()
    embed_dim = params.pop("embed_dim", getattr(model, "embed_dim", None))
    precision = params.pop("precision", getattr(model, "precision", None))
    device = resolve_device(getattr(model, "device", "auto"))
    arithmetic = f" · {resolve_precision(precision, device)}" if precision else ""
    options = "".join(f":{name}={value}" for name, value in sorted(params.items()))
    return f"{spec.key}{options} · embed_dim {embed_dim}{arithmetic} · {threads} thread{'s' if threads != 1 else ''}"


def measure_rate(spec: ModelSpec, threads: int) -> float:
    """Seconds per padded slot (training plus its share of validation) of a short training on made-up texts."""
    texts = _made_up_texts(CALIBRATION_TEXTS + CALIBRATION_TEXTS // 8)
    labels = ["a", "b"] * (len(texts) // 2) + ["a"] * (len(texts) % 2)
    params = {k: v for k, v in spec.params.items() if k not in NOT_MEASURED}
    estimator = create(spec.key, **{**params, "epochs": CALIBRATION_EPOCHS, "max_len": CALIBRATION_LENGTH,
                                     "tokenizer": "words"})
    docs = texts if estimator.reads_raw_text else tokenize_all(texts, "words")
    split = CALIBRATION_TEXTS
    with torch_threads(threads):
        estimator.fit(docs[:split], labels[:split], validation=(docs[split:], labels[split:]))
    last = estimator.history_[-1]
    return (last.seconds + last.val_seconds) / max(1, last.padded_slots)


def _made_up_texts(count: int) -> list[str]:
    rng = np.random.default_rng(0)
    words = np.array([f"w{i}" for i in range(400)])
    sentences = CALIBRATION_LENGTH // 10
    return [" . ".join(" ".join(rng.choice(words, 10)) for _ in range(sentences)) for _ in range(count)]


@contextlib.contextmanager
def torch_threads(threads: int) -> Iterator[None]:
    """Torch's intra-op threads set to `threads` for the block, then restored (it is a process-wide setting)."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)


class Calibration:
    """Measured seconds per padded slot, by setting; kept in `path` so each setting is measured once per machine."""

    def __init__(self, path: str | os.PathLike, measure: RateMeasure | None = None, threads: int = 1):
        """`measure`: how a rate is measured (`measure_rate` by default; a test passes a made-up one)."""
        self.path, self.measure, self.threads = Path(path), measure, threads
        self.rates = _read_rates(self.path)

    @classmethod
    def in_home(cls, home: str | os.PathLike, **kwargs) -> Calibration:
        return cls(Path(home) / CALIBRATION_FILE, **kwargs)

    def missing(self, specs: Sequence[ModelSpec]) -> list[ModelSpec]:
        """The neural settings not measured yet (the first estimate with them takes a few seconds each)."""
        return [spec for spec in specs if _trains_in_epochs(spec)
                and calibration_key(spec, self.threads) not in self.rates]

    def rate(self, spec: ModelSpec) -> float:
        """Seconds per padded slot for this setting, measured now (and kept) if it never was."""
        key = calibration_key(spec, self.threads)
        if key not in self.rates:
            self.rates[key] = float((self.measure or measure_rate)(spec, self.threads))
            self._save()
        return self.rates[key]

    def _save(self) -> None:
        """Written to a temporary file and renamed, so a reader never sees half a file."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("w", dir=self.path.parent, suffix=".tmp", delete=False,
                                         encoding="utf-8") as handle:
            json.dump(self.rates, handle, indent=1, sort_keys=True)
        os.replace(handle.name, self.path)


def _read_rates(path: Path) -> dict[str, float]:
    """The kept rates; a missing or damaged file is measured again rather than trusted."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    return {str(k): float(v) for k, v in data.items() if isinstance(v, int | float) and v > 0}


def _trains_in_epochs(spec: ModelSpec) -> bool:
    return "epochs" in get_model_class(spec.key)._get_param_names()


@dataclass(frozen=True)
class TimeEstimate:
    """Seconds a comparison should take: `typical`, each neural run stopped early as it usually is, and `at_most`,
    every neural run trained to its epoch cap (a run that keeps improving goes on that long)."""

    typical: float
    at_most: float

    @property
    def cap_matters(self) -> bool:
        """Whether runs that keep improving could take noticeably longer than the estimate (worth saying)."""
        return self.at_most >= CAP_MATTERS_FACTOR * self.typical


def estimate_time(prepared: Prepared, config: CompareConfig, calibration: Calibration,
                  workers: int = 1) -> TimeEstimate:
    """Each run's planned slots × its measured rate (twice that with a refit on training + validation), a neural
    run counted for the share of its planned epochs early stopping typically lets it train (all of them for the
    upper bound); classical runs at a fixed rate per training text. Several workers share the work, but it
    cannot end sooner than its longest run."""
    runs = plan_runs(config)
    at_cap = [_run_seconds(run, slots, prepared, config, calibration)
              for run, slots in zip(runs, planned_slots(prepared, config, runs), strict=True)]
    typical = [seconds * share for seconds, share in zip(at_cap, expected_shares(prepared, config, runs), strict=True)]
    return TimeEstimate(typical=_whole(typical, workers), at_most=_whole(at_cap, workers))


def _run_seconds(run: RunSpec, slots: int, prepared: Prepared, config: CompareConfig,
                 calibration: Calibration) -> float:
    """One run trained to its cap: its slots at its model's rate, or a classical run's time per training text."""
    if slots:
        return slots * calibration.rate(run.model) * (2 if config.refit else 1)
    return max(CLASSICAL_MIN_SECONDS, len(prepared.fold_split(run.fold).train) * CLASSICAL_SECONDS_PER_TEXT)


def _whole(seconds: list[float], workers: int) -> float:
    """A comparison's seconds from its runs' on `workers` workers."""
    return max(sum(seconds) / max(1, workers), max(seconds, default=0.0))
