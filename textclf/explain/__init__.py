"""Explanations: why a model labels a text as it does (attributions, their faithfulness, their drawing)."""
