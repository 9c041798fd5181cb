"""Storage: the run history (SQLite) and model bundles on disk, with the checks that make loading them safe."""
