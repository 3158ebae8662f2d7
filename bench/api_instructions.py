"""Instructions per request, counted by valgrind's callgrind: an A/B that the machine's noise
cannot move.

On this shared machine two runs of `bench/api_cost.py` differ by 5-10 % in CPU time, so a
change worth 1-3 % cannot be seen in them. callgrind counts the instructions the interpreter
executes instead: the same code, inputs and hash seed give nearly the same count whatever else
the machine does. The request loop of `bench/api_cost.py` (SQLite, in process, the approval
model: a start and two completions per round) runs under callgrind at two sizes; the difference
divided by the extra requests is the cost of a request without the set-up. Instructions are not
time (cache misses and system calls are not in them), so this is for comparing two trees, not
for the results table.

    .venv/bin/python bench/api_instructions.py                 # this tree
    .venv/bin/python bench/api_instructions.py --ab OTHER_TREE # and another checkout, paired

About a minute per size and tree (callgrind runs Python ~35x slower). Not a test.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SIZES = (10, 40)  # rounds of start + 2 completions


def instructions(tree: Path, rounds: int) -> int:
    """Instructions of one `api_cost.py rounds` run of ``tree`` under callgrind."""
    env = {**os.environ, "PYTHONHASHSEED": "0", "PYTHONPATH": str(tree)}
    proc = subprocess.run(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null",
         sys.executable, str(tree / "bench" / "api_cost.py"), str(rounds)],
        cwd=tree, env=env, capture_output=True, text=True, check=True,
    )
    found = re.search(r"Collected : (\d+)", proc.stderr)
    if found is None:
        raise RuntimeError(f"callgrind printed no total:\n{proc.stderr[-2000:]}")
    return int(found.group(1))


def per_request(tree: Path) -> float:
    small, large = (instructions(tree, n) for n in SIZES)
    return (large - small) / (3 * (SIZES[1] - SIZES[0]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ab", type=Path, metavar="TREE", help="another checkout to compare")
    args = parser.parse_args()
    a = per_request(ROOT)
    print(f"A {ROOT}: {a / 1e6:.3f} M instructions per request")
    if args.ab is not None:
        b = per_request(args.ab.resolve())
        print(f"B {args.ab}: {b / 1e6:.3f} M instructions per request")
        print(f"B / A = {b / a:.4f}")


if __name__ == "__main__":
    main()
