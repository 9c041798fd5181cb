"""Two-level padding waste of the hierarchical attention network's batching, one epoch's plan (pure arithmetic).

    python bench/han_waste.py [DATASET ...]      default: bbc_news online_shopping_10_cats

Documents are split into sentences and tokenized as HAN does (tokenizer 'auto'), truncated to their first 256
tokens (the compare default), and planned at batch 32 (seed 0). Word level: token slots the word-level GRU reads;
sentence level: (documents × sentences) slots; two-level: both together (what the results' padding_waste reports).
The last row keeps bucketing's groups of documents but pads each batch as one (documents × sentences × words)
block: what grouping documents alone achieves, without sending the sentences to the word level in blocks.
"""

import sys
import time
from pathlib import Path

import numpy as np
import torch

from textclf.data.documents import encode_documents, sentence_tokens
from textclf.data.reading import load_dataset
from textclf.data.tokenize import Tokenizer, resolve
from textclf.data.vocab import Vocabulary
from textclf.training.batching import Batch, document_level_stats, padding_stats
from textclf.training.strategies import make_document_strategy

DATA = Path(__file__).resolve().parents[2] / "shared" / "datasets"
BATCH, MAX_LEN = 32, 256


def waste_table(name: str) -> str:
    dataset = load_dataset(DATA / f"{name}.csv")
    tokenizer = Tokenizer(resolve("auto", dataset.texts))
    started = time.perf_counter()
    docs = [sentence_tokens(text, tokenizer) for text in dataset.texts]
    data = encode_documents(docs, Vocabulary([]), MAX_LEN)
    lengths = data.lengths
    rows = [f"{name}: {len(docs)} documents, tokenizer {tokenizer.name}, sentences per document median "
            f"{np.median(lengths.n_sentences):.0f} (max {lengths.n_sentences.max()}), longest sentence median "
            f"{np.median(lengths.longest):.0f} (max {lengths.longest.max()}); tokenized in "
            f"{time.perf_counter() - started:.0f} s",
            "| strategy | word level | sentence level | two-level |", "|---|---|---|---|"]
    plans = {name: make_document_strategy(name, BATCH).plan(lengths, torch.Generator().manual_seed(0))
             for name in ("max_length", "per_batch", "bucket")}
    plans["bucket, one 3-D block per batch"] = [
        Batch(b.index, (b.padded_length[0], int(lengths.longest[b.index.numpy()].max()))) for b in plans["bucket"]]
    for strategy, plan in plans.items():
        words, sentences = document_level_stats(plan, lengths)
        rows.append(f"| {strategy} | {words.waste:.1%} | {sentences.waste:.1%} | "
                    f"{padding_stats(plan, lengths).waste:.1%} |")
    return "\n".join(rows)


if __name__ == "__main__":
    torch.set_num_threads(1)
    for dataset_name in sys.argv[1:] or ["bbc_news", "online_shopping_10_cats"]:
        print(waste_table(dataset_name), flush=True)
