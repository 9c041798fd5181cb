"""Drawing explanations: the text with each token's weight as a colour (escaped HTML), and tables of details.

The user's text is untrusted: every piece of it goes through `html.escape` before it meets markup, so a
`<script>` in a review is shown as the characters it is. The original text is highlighted in place (its
spacing and case kept) when the tokens can be found in it in order; otherwise the tokens are shown joined.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

import pandas as pd

from textclf.explain.explanation import Explanation, joiner_for

TOWARDS, AGAINST, LOOKED = (22, 163, 74), (220, 38, 38), (234, 88, 12)
DETAIL_COLUMNS = {
    "ngrams": ["ngram", "height", "filters", "weight"],
    "features": ["feature", "value", "coefficient", "weight"],
    "neighbours": ["label", "similarity", "vote", "text"],
}
STYLE = ("line-height:2;font-size:1rem;padding:0.5rem 0.75rem;border:1px solid rgba(128,128,128,0.3);"
         "border-radius:0.5rem;white-space:pre-wrap;word-break:break-word")


def token_spans(text: str, tokens: Sequence[str]) -> list[tuple[int, int]] | None:
    """Where each token sits in `text` (tokenizers lowercase), or None when they cannot all be found in order."""
    lowered = text.lower()
    if len(lowered) != len(text):
        return None
    spans, cursor = [], 0
    for token in tokens:
        start = lowered.find(token, cursor)
        if start < 0:
            return None
        spans.append((start, start + len(token)))
        cursor = start + len(token)
    return spans


def highlight_html(explanation: Explanation, text: str | None = None) -> str:
    """The text as HTML with every token read shaded by its weight; cut tokens greyed, unknown ones dotted."""
    tokens = explanation.tokens
    spans = token_spans(text, tokens) if text is not None else None
    if spans is None:
        text, spans = joined(tokens)
    scale = max((abs(w) for w in explanation.weights if w is not None), default=0.0) or 1.0
    unknown = set(explanation.unknown)
    pieces, cursor = [], 0
    for i, (start, stop) in enumerate(spans):
        pieces.append(html.escape(text[cursor:start]))
        pieces.append(_token_html(text[start:stop], explanation.weights[i], scale, i in unknown,
                                  explanation.method == "attention"))
        cursor = stop
    pieces.append(html.escape(text[cursor:]))
    return f'<div class="textclf-highlight" style="{STYLE}">{"".join(pieces)}</div>'


def joined(tokens: Sequence[str]) -> tuple[str, list[tuple[int, int]]]:
    """Tokens rejoined for display when the original text is not at hand (no spaces between CJK tokens)."""
    cjk = sum(1 for t in tokens if t and "\u3400" <= t[0] <= "\u9fff")
    joiner = joiner_for("jieba" if cjk > len(tokens) / 2 else "words")
    spans, cursor = [], 0
    for token in tokens:
        spans.append((cursor, cursor + len(token)))
        cursor += len(token) + len(joiner)
    return joiner.join(tokens), spans


def _token_html(piece: str, weight: float | None, scale: float, unknown: bool, unsigned: bool) -> str:
    shown = html.escape(piece)
    if weight is None:
        return f'<span style="color:#999;text-decoration:line-through" title="cut: not read">{shown}</span>'
    colour = LOOKED if unsigned else (TOWARDS if weight >= 0 else AGAINST)
    alpha = min(1.0, abs(weight) / scale) * 0.75
    border = "border-bottom:2px dotted #666;" if unknown else ""
    title = f"{weight:+.3f}" + (" (unknown word)" if unknown else "")
    return (f'<span style="background:rgba({colour[0]},{colour[1]},{colour[2]},{alpha:.2f});{border}'
            f'border-radius:0.25rem;padding:0 0.1rem" title="{html.escape(title)}">{shown}</span>')


def legend_html(method: str) -> str:
    """One line saying what the colours mean for this method."""
    if method == "attention":
        return _swatch(LOOKED, "where the model looked (darker: more attention)")
    return (_swatch(TOWARDS, "towards the predicted class") + " " + _swatch(AGAINST, "against it") + " "
            + '<span style="color:#999;text-decoration:line-through">cut</span> '
            + '<span style="border-bottom:2px dotted #666">unknown word</span>')


def _swatch(colour: tuple[int, int, int], label: str) -> str:
    return (f'<span style="background:rgba({colour[0]},{colour[1]},{colour[2]},0.6);border-radius:0.25rem;'
            f'padding:0 0.3rem">{html.escape(label)}</span>')


def details_table(explanation: Explanation, rows: int = 8) -> pd.DataFrame | None:
    """The method's own evidence (n-grams, features or neighbours) as a table, strongest first."""
    for key, columns in DETAIL_COLUMNS.items():
        if key in explanation.details:
            return pd.DataFrame(explanation.details[key][:rows], columns=columns)
    return None


def top_tokens_table(explanation: Explanation, rows: int = 8) -> pd.DataFrame:
    """The tokens with the largest weights either way (for methods whose details are the tokens themselves)."""
    ranked = sorted((i for i, w in enumerate(explanation.weights) if w is not None),
                    key=lambda i: -abs(explanation.weights[i]))[:rows]
    return pd.DataFrame({"token": [explanation.tokens[i] for i in ranked],
                         "weight": [explanation.weights[i] for i in ranked]})


def class_table_frame(rows: Sequence[dict]) -> pd.DataFrame:
    """A per-class table (class_table rows) with the classes side by side: rank × class, cells 'feature (score)'."""
    frame = pd.DataFrame(rows)
    if frame.empty:
        return frame
    frame["rank"] = frame.groupby("class").cumcount() + 1
    frame["cell"] = [f"{f} ({s:.2f})" if isinstance(s, float) else f"{f} ({s})"
                     for f, s in zip(frame["feature"], frame["score"], strict=True)]
    return frame.pivot(index="rank", columns="class", values="cell").fillna("")
