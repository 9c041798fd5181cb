"""Jobs: comparisons running in the background for the dashboard and the CLI, stored as they finish."""
