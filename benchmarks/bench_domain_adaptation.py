"""Every domain-adaptation benchmark in one run, on the same data for every method of a part.

The parts are the scripts ``bench_da_*.py`` beside this one, each runnable alone:

- ``tradaboost``: TrAdaBoost against AdaBoost on the labelled target rows (stall cases);
- ``coral``: CORAL with and without means, in the one-line pipeline;
- ``importance``: KMM and KLIEP against the unweighted estimator (sample-selection bias);
- ``features``: TCA, subspace alignment and the domain-revealing feature selector;
- ``selection``: every unsupervised scorer's pick of DANN's and CORAL's settings, against the
  pick the target labels would make.

Usage: ``python benchmarks/bench_domain_adaptation.py [--quick] [--only PART ...]``. Prints each
part's table, the rows where a method loses to its baseline, and the checks of issue 12 (each
figure and whether it holds); writes ``benchmarks/results/bench_domain_adaptation.json``
(``--out``), which holds each part's results under its name, ``losses`` and ``checks``, and
(without ``--quick``) each part's results into its own ``bench_da_<part>.json`` too.
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


def _rows(results, part, key="rows"):
    return results.get(part, {}).get(key, [])


def losses(results):
    """Every row where a method ends below its baseline, as readable lines."""
    lines = []
    for row in _rows(results, "tradaboost"):
        if row.get("gap_to_target_only", 0.0) < 0:
            lines.append(
                f"tradaboost: {row['model']} on {row['task']} ({row['n_estimators']} learners) "
                f"is {-row['gap_to_target_only']:.3f} below AdaBoost on the target rows"
            )
    coral = _rows(results, "coral")
    for row in coral:
        if row["model"] in ("source only", "target-trained"):
            continue
        for baseline in ("source only", "target-trained"):
            (base,) = [
                r["accuracy_mean"]
                for r in coral
                if (r["shift"], r["classifier"], r["model"])
                == (row["shift"], row["classifier"], baseline)
            ]
            if row["accuracy_mean"] < base:
                lines.append(
                    f"coral: {row['model']} with {row['classifier']} on {row['shift']} is "
                    f"{base - row['accuracy_mean']:.3f} below {baseline}"
                )
    for row in _rows(results, "importance", "accuracy"):
        if row["gain_mean"] < 0:
            lines.append(
                f"importance: {row['model']} (bias {row['bias']}, {row['n_source']} source rows) "
                f"is {-row['gain_mean']:.3f} below unweighted"
            )
    for row in _rows(results, "features"):
        if row["gain_over_no_adaptation"] < 0:
            lines.append(
                f"features: {row['method']} on {row['shift']} is "
                f"{-row['gain_over_no_adaptation']:.3f} below no adaptation"
            )
    for model in ("dann", "coral"):
        summary = results.get("selection", {}).get(model, {}).get("summary", {})
        for name, row in summary.get("scorers", {}).items():
            if row["mean regret vs oracle"] > 0.03:
                lines.append(
                    f"selection ({model}): {name} picks settings "
                    f"{row['mean regret vs oracle']:.3f} below the oracle's (mean regret)"
                )
    return lines


def checks(results):
    """The figures issue 12 asks for, each with whether it holds (None: part not run)."""
    out = []

    def check(name, figure, holds):
        out.append({"check": name, "figure": figure, "holds": holds})

    rows = _rows(results, "tradaboost")
    for n_estimators in (10, 50):
        gaps = {
            r["model"]: r["gap_to_target_only"]
            for r in rows
            if r["task"] == "redrawn" and r["n_estimators"] == n_estimators
        }
        if "TrAdaBoost" in gaps:
            check(
                f"TrAdaBoost ({n_estimators} learners, defaults) on make_redrawn_classification "
                "is at most 0.02 below AdaBoost on the target rows (mean over seeds)",
                {model: round(gap, 4) for model, gap in gaps.items() if "TrAdaBoost" in model},
                gaps["TrAdaBoost"] >= -0.02,
            )
    swap = {r["model"]: r for r in rows if r["task"] == "concept swap"}
    if swap:
        check(
            "TrAdaBoost (defaults) reaches 0.9 on the concept swap (mean over seeds)",
            {model: round(r["accuracy_mean"], 4) for model, r in swap.items()},
            swap["TrAdaBoost"]["accuracy_mean"] >= 0.9,
        )
        warned = {model: r["warned_every_seed"] for model, r in swap.items() if "Tr" in model}
        check(
            "the stall warns: every seed of a TrAdaBoost variant that stalls on the concept "
            "swap raised the ConvergenceWarning",
            warned,
            any(warned.values()),
        )
    coral = [r for r in _rows(results, "coral") if r["model"] == "CORAL"]
    if coral:
        figure = {f"{r['shift']}, {r['classifier']}": round(r["accuracy_mean"], 4) for r in coral}
        check(
            "a CORAL pipeline reaches 0.95 on a conditional shift (mean and scale)",
            figure,
            all(value >= 0.95 for value in figure.values()),
        )
    for model, setting in (("dann", "domain_weight"), ("coral", "reg")):
        summary = results.get("selection", {}).get(model, {}).get("summary")
        if summary:
            within = summary["unsupervised scorers within 0.03 of oracle (mean regret)"]
            check(
                f"an unsupervised scorer picks {model}'s {setting} within 0.03 of the oracle",
                {
                    name: round(row["mean regret vs oracle"], 4)
                    for name, row in summary["scorers"].items()
                },
                bool(within),
            )
    importance = [r for r in _rows(results, "importance", "accuracy") if r["bias"] > 0]
    if importance:
        figure = {
            f"{r['model']}, {r['n_source']} source rows": round(r["gain_mean"], 4)
            for r in importance
            if r["model"].startswith(("KMM", "KLIEP"))
        }
        check(
            "KMM and KLIEP beat unweighted by 0.03 on sample-selection bias",
            figure,
            all(value >= 0.03 for value in figure.values()),
        )
    features = _rows(results, "features")
    if features:
        best = {}
        for r in features:
            if r["method"].startswith(("TCA", "subspace alignment")):
                family = r["method"].split(" (")[0]
                best[family] = max(best.get(family, -1.0), r["gain_over_no_adaptation"])
        check(
            "TCA and subspace alignment beat no adaptation on a shifted dataset (best gain)",
            {family: round(gain, 4) for family, gain in best.items()},
            all(gain > 0 for gain in best.values()),
        )
    return out


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
    results["losses"] = losses(results)
    results["checks"] = checks(results)
    print("\nwhere each method loses to its baseline:")
    print("\n".join(f"  {line}" for line in results["losses"]) or "  nowhere")
    print("\nissue 12's checks:")
    for item in results["checks"]:
        print(f"  [{'holds' if item['holds'] else 'FAILS'}] {item['check']}: {item['figure']}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2, default=str) + "\n")
    print(f"wrote {args.out}")
    if not args.quick:
        write_parts(results)


def write_parts(results):
    """Each part's results also into its own JSON, which the user guide cites: one run for all."""
    for part in PARTS:
        if part in results:
            path = HERE / "results" / f"bench_da_{part}.json"
            path.write_text(json.dumps(results[part], indent=2, default=float) + "\n")
            print(f"wrote {path}")


if __name__ == "__main__":
    main()
