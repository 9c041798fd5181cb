"""Data: reading a table of labelled texts, splitting it, tokenizing, the vocabulary, documents, word vectors."""
