"""What every textclf model shares: scikit-learn's estimator contract and a name in the registry.

Models keep their own hyperparameters in `__init__` and pass the shared ones up with `**params`;
`_get_param_names` collects them along the class hierarchy so `get_params`, `set_params` and `clone` see all.
`fit` starts by forgetting everything a previous fit learned (tokenizer included), predicting before fitting
raises scikit-learn's `NotFittedError`, and the tags declare that the input is text, not a numeric matrix.

A model *family* (neural over token ids, neural over documents, classical over TF-IDF, ...) answers, through
the hooks below, every question the rest of the library has about it: which (batching, seed) cells a comparison
trains it in, which run settings it takes, how it fits on a run's prepared parts, what its training cost is
for the ETA and the run order, how a bundle stores it and how it explains. Nothing outside the families asks
which family a model is. These defaults describe a model trained in one go, without batches or epochs.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Hashable, Sequence

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.validation import check_is_fitted

from textclf.data.tokenize import Tokenizer, is_tokenized, resolve
from textclf.errors import TextclfError
from textclf.explain.explanation import NOTHING_TO_EXPLAIN, Explanation, joiner_for, reading_notes
from textclf.training.strategies import NOT_BATCHED

Explainer = Callable[[list[str]], Explanation]


class TextClassifier(ClassifierMixin, BaseEstimator):
    """Base of all models: `fit(texts, labels)`, `predict(texts)`; texts may be strings or token lists."""

    key = "base"
    order = 100
    title = "base"  # its name in model lists (the Train page, `--models` help, Home)
    summary = ""  # what it is, in a few words, for the same lists
    form_fields: tuple[str, ...] = ()  # the Train page's model settings that apply to it
    fitted_attribute = "history_"  # every fit sets its per-epoch history last (empty for classical models)
    unknown_effect = "it reads each as one unknown word"
    reads_raw_text = False  # True: fit/predict want the raw strings (e.g. to split sentences at line breaks)
    relative_cost = 1  # a rough guess of training time, so that dispatch starts the longest runs first
    # Settings whose default has changed, with the value they had before: a bundle saved before the change
    # does not name them, and was trained with the earlier value.
    earlier_defaults: dict = {}
    bundle_kind: str | None = None  # how a bundle stores the learned state (textclf.storage.bundle); None: cannot


    def __init__(self, *, tokenizer: str = "auto", seed: int = 0):
        self.tokenizer = tokenizer
        self.seed = seed

    @classmethod
    def _get_param_names(cls):
        names = set()
        for klass in cls.__mro__:
            if "__init__" not in vars(klass) or not issubclass(klass, TextClassifier):
                continue
            names.update(p.name for p in inspect.signature(klass.__init__).parameters.values()
                         if p.name != "self" and p.kind == p.KEYWORD_ONLY)
        return sorted(names)

    @classmethod
    def label(cls, params: dict) -> str:
        """A short display name for a model with these parameters (unique within a comparison)."""
        return cls.key

    # The family's answers to a comparison (textclf.runs): the grid, the settings, the fit, the cost.

    @classmethod
    def run_grid(cls, batchings: Sequence[str], seeds: Sequence[int]) -> list[tuple[str, int]]:
        """The (batching, seed) cells a comparison trains this model in, per fold: a model not trained in
        batches runs once, unbatched, with the first seed."""
        return [(NOT_BATCHED, seeds[0])]

    @classmethod
    def check_batchings(cls, batchings: Sequence[str]) -> None:
        """Raise TextclfError when this model cannot run under a comparison's batchings."""

    @classmethod
    def run_settings(cls, batching: str, max_len: int, config) -> dict:
        """Parameters a comparison sets on this model for one run (`config`: its CompareConfig)."""
        return {}

    @classmethod
    def expected_cost(cls, batching: str) -> float:
        """A rough relative training time, so that the longest runs start first."""
        return cls.relative_cost

    def fit_for_run(self, train: tuple[Sequence, Sequence], validation: tuple[Sequence, Sequence], *,
                    progress: Callable | None = None, should_stop: Callable[[], bool] | None = None):
        """Fit on a run's training and validation parts: without early stopping there is no use for a
        validation part, so the model learns from both."""
        return self.fit(list(train[0]) + list(validation[0]), [*train[1], *validation[1]])

    def history_records(self) -> list[dict]:
        """One dict per training epoch (none for a model fitted in one go)."""
        return []

    def run_note(self, history: list[dict]) -> str:
        """What a run's record should say about how training ended."""
        return ""

    def run_measures(self, test_docs: Sequence) -> dict:
        """Measures of predicting the test part worth a column (e.g. the padded slots it filled)."""
        return {}

    def lengths_key(self) -> Hashable:
        """What `training_lengths` depends on besides the texts: runs with equal keys share one computation."""
        return type(self)

    def training_lengths(self, docs: Sequence):
        """The lengths training batches on (None: this model is not trained in batches)."""
        return None

    def slots_key(self) -> Hashable:
        """What `planned_slots` depends on besides the lengths."""
        return type(self)

    def planned_slots(self, lengths) -> int:
        """Padded token slots training would fill over all its epochs (0: not trained in batches)."""
        return 0

    def expected_share(self, training_texts: int, classes: int) -> float:
        """The share of `planned_slots` a run on this many training texts and classes typically fills (early
        stopping usually ends it before the cap)."""
        return 1.0

    @property
    def has_probabilities(self) -> bool:
        return True

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.string = True
        tags.input_tags.two_d_array = False
        return tags

    def __sklearn_is_fitted__(self) -> bool:
        """Fitted once the attribute that `fit` sets last exists (a half-finished fit does not count)."""
        return hasattr(self, self.fitted_attribute)

    def _start_fit(self, docs: Sequence) -> None:
        """Forget every fitted attribute of an earlier fit, then choose the tokenizer from these texts."""
        for name in [n for n in vars(self) if n.endswith("_") and not n.startswith("__")]:
            delattr(self, name)
        sample = ["".join(d) for d in docs] if is_tokenized(docs) else list(docs)
        self.tokenizer_ = resolve(self.tokenizer, sample)

    def _tokens(self, docs: Sequence) -> list[list[str]]:
        """Tokens of `docs` with the tokenizer chosen at fit time."""
        check_is_fitted(self, "tokenizer_")
        tokenizer = Tokenizer(self.tokenizer_)
        return [tokenizer(doc) for doc in docs]

    def _encode_labels(self, labels: Sequence) -> np.ndarray:
        self.classes_ = np.array(sorted(set(map(str, labels))), dtype=object)
        lookup = {c: i for i, c in enumerate(self.classes_)}
        return np.array([lookup[str(v)] for v in labels], dtype=np.int64)

    def _label_ids(self, labels: Sequence) -> np.ndarray:
        """Ids of labels in the classes seen at fit (for validation labels)."""
        lookup = {c: i for i, c in enumerate(self.classes_)}
        return np.array([lookup.get(str(v), -1) for v in labels], dtype=np.int64)

    def predict(self, docs: Sequence) -> np.ndarray:
        check_is_fitted(self)
        return self.classes_[np.argmax(self.predict_proba(docs), axis=1)]

    def predict_proba(self, docs: Sequence) -> np.ndarray:
        raise NotImplementedError

    @property
    def n_parameters(self) -> int | None:
        """Learned numbers in the model, or None where the idea does not apply (kNN stores its data)."""
        return None

    def fit_details(self) -> dict:
        """Facts about the fit worth a column in the results (e.g. how much of the vocabulary had vectors)."""
        return {}

    def fit(self, docs, labels, **fit_params):
        raise NotImplementedError

    @property
    def display_name(self) -> str:
        return type(self).label(self.get_params())

    def explainers(self) -> dict[str, Explainer]:
        """The ways this model explains a prediction, its own first: method name → function of the tokens.

        A model family adds its own here (and keeps its parents' with `super()`), so no caller ever asks
        which kind of model it holds.
        """
        return {}

    def explain(self, text: str, method: str | None = None) -> Explanation:
        """Why this model labels `text` (a string, or its tokens) as it does, by `method` (default: its own)."""
        explainers = self.explainers()
        if not explainers:
            raise TextclfError(f"{self.display_name} cannot explain its predictions.")
        method = method or next(iter(explainers))
        if method not in explainers:
            raise TextclfError(f"{self.display_name} explains by {', '.join(explainers)}; {method!r} is not one.")
        tokens = self._tokens([text])[0] if isinstance(text, str) else list(text)
        if not tokens:
            raise TextclfError(NOTHING_TO_EXPLAIN)
        return explainers[method](tokens)

    def class_table(self, docs: Sequence | None = None, labels: Sequence | None = None, top: int = 10) -> list[dict]:
        """Per class, what this model most relies on for it (rows of class, feature, score, measure); [] if
        the family has no such summary or needs training texts that were not given."""
        return []

    def _decision(self, tokens: list[str]) -> tuple[int, float | None]:
        """The predicted class's index and probability for one tokenized text."""
        probabilities = self.predict_proba([tokens])[0]
        index = int(np.argmax(probabilities))
        return index, float(probabilities[index])

    def _explanation(self, method: str, tokens: list[str], decision: tuple[int, float | None], weights,
                     *, read: int | None = None, unknown: Sequence[int] = (), details: dict | None = None,
                     notes: Sequence[str] = ()) -> Explanation:
        """Assemble an Explanation: weights for the first `read` tokens, None for the cut tail."""
        read = len(tokens) if read is None else read
        index, probability = decision
        joiner = joiner_for(getattr(self, "tokenizer_", "words"))
        notes = reading_notes(tokens, read, unknown, joiner, self.unknown_effect) + list(notes)
        return Explanation(
            model=self.display_name, method=method, predicted=str(self.classes_[index]), probability=probability,
            tokens=list(tokens), weights=[float(w) for w in weights[:read]] + [None] * (len(tokens) - read),
            unknown=list(unknown), notes=notes, details=details or {},
        )
