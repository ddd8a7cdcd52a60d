"""Every domain-adaptation benchmark in one run, on the same data for every method of a part.

The parts are the scripts ``bench_da_*.py`` beside this one, each runnable alone:

- ``tradaboost``: TrAdaBoost against AdaBoost on the labelled target rows (stall cases);
- ``coral``: CORAL with and without means, in the one-line pipeline;
- ``importance``: KMM and KLIEP against the unweighted estimator (sample-selection bias);
- ``features``: TCA, subspace alignment and the domain-revealing feature selector;
- ``selection``: every unsupervised scorer's pick of DANN's and CORAL's settings, against the
  pick the target labels would make.

Usage: ``python benchmarks/bench_domain_adaptation.py [--quick] [--only PART ...]``. Prints each
part's table and writes ``benchmarks/results/bench_domain_adaptation.json`` (``--out``), which
holds each part's results under its name.
"""

import argparse
import json
import sys
import time
from importlib import import_module
from pathlib import Path

HERE = Path(__file__).parent
PARTS = ["tradaboost", "coral", "importance", "features", "selection"]


def run(parts=PARTS, quick=False):
    """``{part: results}`` of each part's ``run(quick=...)``, with its duration in seconds."""
    sys.path.insert(0, str(HERE))
    results = {}
    for part in parts:
        module = import_module(f"bench_da_{part}")
        start = time.perf_counter()
        print(f"=== {part}", flush=True)
        results[part] = module.run(quick=quick)
        results[part + "_seconds"] = round(time.perf_counter() - start, 1)
    return results


def print_tables(results):
    """Each part's tables: every list of rows it returned, as a table."""
    import pandas as pd

    for part, value in results.items():
        if not isinstance(value, dict):
            continue
        for name, rows in value.items():
            if isinstance(rows, list) and rows and isinstance(rows[0], dict):
                print(f"\n{part}: {name}")
                print(pd.DataFrame(rows).to_markdown(index=False, floatfmt=".3f"))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="each part's smoke sizes")
    parser.add_argument("--only", action="append", choices=PARTS, help="run only these parts")
    parser.add_argument(
        "--out", type=Path, default=HERE / "results" / "bench_domain_adaptation.json"
    )
    args = parser.parse_args()
    results = run(args.only or PARTS, quick=args.quick)
    print_tables(results)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2, default=str) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
