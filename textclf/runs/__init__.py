"""Runs: a comparison's plan, its shared prepared data, one run, the back-ends that execute runs and the ETA."""
