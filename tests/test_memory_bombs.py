"""Small files that declare gigabytes are refused before the memory is spent (measured in a fresh process)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.hostile import MiB, good_bundles, memory_bombs

pytestmark = pytest.mark.slow  # measures a fresh process that imports torch: 15 s and more

ROOT = Path(__file__).resolve().parents[1]
MAX_GROWTH = 300 * MiB
# Loads a normal bundle first (imports, torch's allocator), then each bomb; reports the peak RSS growth of each load
# over the resident memory just before it (on Linux the peak is reset there, so an earlier, higher peak cannot
# hide a load's growth; elsewhere the growth is over the peak so far) and the CPU seconds it took (wall time would
# count what other processes do on a shared machine).
PROBE = """
import gc, json, resource, sys, time
from textclf.storage.bundle import load_bundle
from textclf.errors import BundleError

def peak():
    try:
        with open("/proc/self/status") as status:
            return next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmHWM"))
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * (1 if sys.platform == "darwin" else 1024)

def baseline():
    gc.collect()
    try:
        with open("/proc/self/clear_refs", "w") as refs:
            refs.write("5")
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * resource.getpagesize()
    except OSError:
        return peak()

normal, bombs = sys.argv[1], sys.argv[2:]
load_bundle(normal).predict(["a warm, tasty meal"])
report = {}
for path in bombs:
    base, started = baseline(), time.process_time()
    try:
        load_bundle(path)
        outcome = "loaded"
    except BundleError as err:
        outcome = str(err)
    report[path] = {"outcome": outcome, "growth": peak() - base, "seconds": time.process_time() - started}
print(json.dumps(report))
"""


def test_the_three_memory_bombs_are_refused_within_300_mb(tmp_path):
    cnn = good_bundles()["cnn"]
    normal = tmp_path / "normal.textclf"
    normal.write_bytes(cnn)
    paths = {}
    for name, data in memory_bombs(cnn).items():
        paths[name] = tmp_path / f"{name}-bomb.textclf"
        paths[name].write_bytes(data)
    for name in ("manifest", "weights"):
        with zipfile.ZipFile(paths[name]) as archive:
            declared = sum(info.file_size for info in archive.infolist())
        assert paths[name].stat().st_size < 4 * MiB and declared > 2500 * MiB, "not a real bomb"
    result = subprocess.run([sys.executable, "-c", PROBE, str(normal), *map(str, paths.values())], cwd=ROOT,
                            capture_output=True, text=True, timeout=300,
                            env={**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"})
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    expected = {"manifest": "bundle.json declares", "weights": "weights.pt declares",
                "embed_dim": "embed_dim = 10000000 is outside"}
    for name, path in paths.items():
        outcome = report[str(path)]
        assert "was refused" in outcome["outcome"] and expected[name] in outcome["outcome"], outcome
        assert outcome["growth"] < MAX_GROWTH, f"{name}: peak memory grew by {outcome['growth'] / MiB:.0f} MiB"
