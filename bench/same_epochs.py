"""Did two `python -m textclf compare` runs train the same way? Compares their printed epoch lines.

    python bench/same_epochs.py BEFORE.log AFTER.log

Each epoch line gives the run, the epoch, the training loss, the validation accuracy and the padding waste;
seconds are left out (they depend on the machine). Runs are matched by name, with a forced `impl=packed`
suffix removed, so a run of the current code that forces the earlier packed recurrent layers meets the same
run of the earlier code. An epoch cap changes no epoch before it, so a shorter run checks the epochs it has.
"""

from __future__ import annotations

import re
import sys

EPOCH = re.compile(r"^\s+(.+?), epoch (\d+)/\d+: loss ([\d.]+), validation accuracy ([\d.]+),.*padding waste ([\d.]+)%")


def epochs(path: str) -> dict[tuple[str, int], tuple[str, str, str]]:
    found = {}
    with open(path, encoding="utf-8", errors="replace") as lines:
        for line in lines:
            if match := EPOCH.match(line):
                run = match.group(1).replace(", packed)", ")").replace(" (packed)", "")
                found[(run, int(match.group(2)))] = match.group(3, 4, 5)
    return found


def main(before_path: str, after_path: str) -> int:
    before, after = epochs(before_path), epochs(after_path)
    common = sorted(set(before) & set(after))
    different = [key for key in common if before[key] != after[key]]
    runs = {run for run, _ in common}
    print(f"{len(common)} epochs of {len(runs)} runs in both; {len(common) - len(different)} identical "
          "(training loss, validation accuracy, padding waste)")
    for key in different:
        print("different:", key, before[key], after[key])
    return 1 if different or not common else 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))
