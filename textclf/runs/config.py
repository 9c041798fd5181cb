"""What defines a comparison: the models (registry key + options), the batchings, seeds, folds and settings,
and the grid of runs they plan. Two equal configs on the same data give the same table."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields

from textclf.errors import TextclfError
from textclf.models import get_model_class
from textclf.models.bounds import bound_text, setting_problem
from textclf.models.neural import DEFAULT_MAX_LEN
from textclf.training.batching import DEFAULT_BUCKETS
from textclf.training.strategies import NOT_BATCHED, batching_label, strategy_names

AUTO = "auto"


MAX_TRUNCATION = DEFAULT_MAX_LEN


@dataclass(frozen=True)
class ModelSpec:
    """A model key from the registry plus the parameters that differ from its defaults."""

    key: str
    params: dict = field(default_factory=dict)

    @property
    def label(self) -> str:
        return get_model_class(self.key).label(self.params)

    @classmethod
    def parse(cls, text: str) -> ModelSpec:
        """'rnn' or 'rnn:cell=gru:pooling=attention' (values become int/float when they look like one, and a tuple
        of ints when written like 'cnn:kernel_sizes=2/3/4': a comma would split the list of models)."""
        key, *pairs = text.strip().split(":")
        params = {}
        for pair in pairs:
            name, sep, value = pair.partition("=")
            if not sep:
                raise TextclfError(f"Model option {pair!r} in {text!r} should look like name=value.")
            params[name.strip()] = _parse_value(value.strip())
        _check_options(key, params)
        return cls(key, params)


def _check_options(key: str, params: dict) -> None:
    """Every option one the model has, within the bounds a bundle's settings are held to (one table): refused
    here, in one sentence, rather than as a traceback that ends the whole comparison once training starts."""
    known = get_model_class(key)._get_param_names()
    for name, value in params.items():
        if name not in known:
            raise TextclfError(f"The model {key!r} has no option {name[:40]!r}; its options are {', '.join(known)}.")
        problem = setting_problem(name, value)
        if problem:
            raise TextclfError(f"Model option {name}={str(value)[:40]} for {key!r} {problem}: {name} must be "
                               f"{bound_text(name)}.")


def _parse_value(value: str):
    if "/" in value and all(part.isdigit() for part in value.split("/")):
        return tuple(int(part) for part in value.split("/"))
    for convert in (int, float):
        try:
            return convert(value)
        except ValueError:
            pass
    return {"true": True, "false": False}.get(value.lower(), value)


@dataclass(frozen=True)
class CompareConfig:
    """Everything that defines a comparison; two equal configs on the same data give the same table."""

    models: tuple[ModelSpec, ...] = (ModelSpec("cnn"), ModelSpec("rnn"), ModelSpec("svm"), ModelSpec("knn"))
    batchings: tuple[str, ...] = ("max_length", "bucket")
    seeds: tuple[int, ...] = (0,)
    epochs: int | None = None
    batch_size: int | None = None
    lr: float | None = None
    max_len: int | str = MAX_TRUNCATION
    n_buckets: int = DEFAULT_BUCKETS
    pad_to: str = "batch"
    patience: int | None = None
    tokenizer: str = "auto"
    validation: float = 0.1
    test: float = 0.1
    split_seed: int = 0
    cv: int = 0
    device: str = "auto"
    refit: bool = False
    quick_look: bool = False  # trained briefly on purpose (the Train page's quick look): results say under-trained
    estimated_seconds: float | None = None  # the time estimated before Start (textclf.runs.calibration); a record only

    def __post_init__(self):
        models = tuple(ModelSpec.parse(m) if isinstance(m, str) else m for m in self.models)
        object.__setattr__(self, "models", models)
        object.__setattr__(self, "batchings", tuple(self.batchings))
        object.__setattr__(self, "seeds", tuple(int(s) for s in self.seeds))
        self._check()

    def _check(self) -> None:
        unknown = [b for b in self.batchings if b not in strategy_names()]
        if unknown:
            raise TextclfError(f"Unknown batching {', '.join(unknown)}; choose from {', '.join(strategy_names())}.")
        labels = [m.label for m in self.models]
        if len(set(labels)) != len(labels):
            raise TextclfError("The same model is listed twice with the same settings; list each once.")
        if not self.models or not self.seeds:
            raise TextclfError("Choose at least one model and one seed.")
        for model in self.models:
            get_model_class(model.key).check_batchings(self.batchings)
        for name in ("epochs", "batch_size", "n_buckets", "patience"):
            if getattr(self, name) is not None and getattr(self, name) < 1:
                raise TextclfError(f"{name.replace('_', ' ')} must be at least 1.")
        for name in ("epochs", "batch_size", "n_buckets", "patience", "lr"):  # the bundle loader's bounds too
            value = getattr(self, name)
            if value is not None and (problem := setting_problem(name, value)):
                raise TextclfError(f"The {name.replace('_', ' ')} {str(value)[:40]} {problem}: it must be "
                                   f"{bound_text(name)}.")
        if self.cv == 1 or self.cv < 0:
            raise TextclfError("Cross-validation needs at least 2 folds (or 0 for one train/validation/test split).")
        if self.max_len != AUTO and (not isinstance(self.max_len, int) or self.max_len < 1):
            raise TextclfError(f"The truncation length must be a whole number of tokens or {AUTO!r}.")

    def to_dict(self) -> dict:
        data = asdict(self)
        data["models"] = [{"key": m.key, "params": m.params} for m in self.models]
        return data

    @classmethod
    def from_dict(cls, data: dict) -> CompareConfig:
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        values["models"] = tuple(ModelSpec(m["key"], dict(m.get("params", {}))) for m in data.get("models", []))
        return cls(**values)


@dataclass(frozen=True)
class RunSpec:
    """One cell of the grid; `fold` is the cross-validation fold (1 to k), None for the single split."""

    model: ModelSpec
    batching: str
    seed: int
    fold: int | None = None

    @property
    def name(self) -> str:
        """'TextCNN · bucketed · seed 0', as progress lines and the Train page show it."""
        return run_name(self.model.label, self.batching, self.seed, self.fold)


def cell_name(model_label: str, batching: str) -> str:
    """'TextCNN · bucketed', or just 'SVM' for a classical model: the name people read in tables and charts."""
    return model_label if batching == NOT_BATCHED else f"{model_label} · {batching_label(batching)}"


def run_name(model_label: str, batching: str, seed: int, fold: int | None = None, *, with_seed: bool = True) -> str:
    """'TextCNN · bucketed · seed 1 · fold 2', 'SVM · seed 0': one run's name in progress lines and bundle files.
    Tables leave out a classical run's seed (`with_seed=False`): it runs once per fold whatever the seeds."""
    fold_part = "" if fold is None else f" · fold {fold}"
    seed_part = f" · seed {seed}" if with_seed else ""
    return f"{cell_name(model_label, batching)}{seed_part}{fold_part}"


def plan_runs(config: CompareConfig) -> list[RunSpec]:
    """Each model in every (batching, seed) cell its family trains it in (neural models: every pair; classical
    ones: once, unbatched), for every fold."""
    folds = list(range(1, config.cv + 1)) if config.cv else [None]
    runs = []
    for spec in config.models:
        cells = get_model_class(spec.key).run_grid(config.batchings, config.seeds)
        runs += [RunSpec(spec, batching, seed, fold) for fold in folds for batching, seed in cells]
    return runs


def expected_cost(run: RunSpec) -> float:
    """A rough relative training time: with several workers the longest runs start first, so that a long
    run started last does not keep every other worker idle at the end."""
    return get_model_class(run.model.key).expected_cost(run.batching)
