"""Results: what a comparison's runs say together (summaries, paired tests, breakdowns, headline, charts)."""
