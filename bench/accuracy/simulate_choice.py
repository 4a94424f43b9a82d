#!/usr/bin/env python3
"""Other choice rules for the recommended command, simulated from suite runs without a new build.

The recommended command chooses among its candidates by their 5-fold CV means
(`cv_scores` in suite.py's JSON) and refits the winner. Each candidate's refit is also a
method of its own: the generated blend is plain `glag`, the class-weighted regression is
`afg-lr`, and the logit-adjusted regression is the recommended command's own classifier
wherever it chose that candidate. So a rule that reads only the CV means can be scored
from `recommended`, `glag` and `afg-lr` runs, against the peers' runs.

    ACC_DIR=/tmp/acc suite.py run --sets S --seeds ... --methods recommended glag afg-lr
    python3 bench/accuracy/simulate_choice.py --runs /tmp/acc --peers /tmp/afg-accuracy \
        --sets perl-pod fortunes --seeds 0 1 2 ...

Prints, per rule and set, the mean Δ overall / Few against the set's bar (the best peer by
its mean over the seeds given), and the runs where the rule's pick has no refit to read.
"""
import argparse, json, os
import numpy as np

PEERS = ["sk-lrcv", "sk-la", "sk-la-ll"]
LA, BLEND, BALANCED = "logit-adjusted-lr", "generated-lr", "balanced-lr"
RULES = {
    "as chosen": lambda cv, selected: selected,
    "best CV mean of blend and LA": lambda cv, selected: max([LA, BLEND], key=lambda c: cv[c]),
    "best CV mean of all three": lambda cv, selected: max([BALANCED, BLEND, LA], key=lambda c: cv[c]),
    "always the blend": lambda cv, selected: BLEND,
    "always balanced-lr": lambda cv, selected: BALANCED,
}


def run(d, s, seed, method):
    path = os.path.join(d, "suite", f"{s}.seed{seed}.{method}.json")
    return json.load(open(path)) if os.path.exists(path) else None


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", required=True, help="ACC_DIR of the recommended, glag and afg-lr runs")
    ap.add_argument("--peers", required=True, help="ACC_DIR of the peers' runs")
    ap.add_argument("--sets", nargs="+", required=True)
    ap.add_argument("--seeds", nargs="+", type=int, required=True)
    args = ap.parse_args()
    for name, rule in RULES.items():
        cells, means = [], []
        for s in args.sets:
            peers = {m: [run(args.peers, s, k, m) for k in args.seeds] for m in PEERS}
            if any(r is None for rs in peers.values() for r in rs):
                raise SystemExit(f"{args.peers}: {s}: a peer run is missing for seeds {args.seeds}")
            bar = max(PEERS, key=lambda m: np.mean([r["overall"] for r in peers[m]]))
            d, f, missing = [], [], 0
            for i, k in enumerate(args.seeds):
                rec = run(args.runs, s, k, "recommended")
                if rec is None or rec.get("cv_scores") is None:
                    raise SystemExit(f"{args.runs}: {s} seed {k}: no recommended run with cv_scores")
                if set(rec["cv_scores"]) != {BALANCED, BLEND, LA}:
                    raise SystemExit(f"{args.runs}: {s} seed {k}: candidates {sorted(rec['cv_scores'])}: only runs "
                                     "with one input space (signed features) map to glag and afg-lr")
                pick = rule(rec["cv_scores"], rec["selected"])
                source = rec if pick == rec["selected"] else run(args.runs, s, k, {BLEND: "glag", BALANCED: "afg-lr"}.get(pick, ""))
                if source is None:
                    missing += 1
                    continue
                d.append(source["overall"] - peers[bar][i]["overall"])
                f.append(source["few"] - peers[bar][i]["few"])
            means.append(np.mean(d) if d else np.nan)
            cells.append(f"{s} {means[-1]:+.2f} / {np.mean(f) if f else np.nan:+.2f}" + (f" ({missing} missing)" if missing else ""))
        print(f"{name:30s} " + "  ".join(cells) + f"  | mean {np.nanmean(means):+.2f}")


if __name__ == "__main__":
    main()
