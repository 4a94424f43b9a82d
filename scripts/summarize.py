#!/usr/bin/env python3
"""Tables for docs/RESULTS.md from the JSON lines of scripts/stage2.sh and bench/peers.py.

    python3 scripts/summarize.py RESULTS_DIR > table.md

Mean ± standard deviation over seeds (sample std, n-1) for overall, Many, Medium, Few and
mean per-class recall, one table per backbone, rows sorted by overall accuracy.
"""
import glob, json, os, statistics, sys
from collections import defaultdict

rows = []
d = sys.argv[1]
for p in sorted(glob.glob(os.path.join(d, "*.json"))):
    if p.endswith(".eval.json"):
        continue
    with open(p) as f:
        text = f.read().strip()
    try:
        obj = json.loads(text)
        got = obj if isinstance(obj, list) else [obj]
    except json.JSONDecodeError:
        got = [json.loads(l) for l in text.splitlines() if l.strip()]
    for r in got:  # peers' files are named BACKBONE.*.json
        r.setdefault("backbone", os.path.basename(p).split(".")[0])
    rows.extend(got)

groups = defaultdict(list)
for r in rows:
    bb = r.get("backbone") or r.get("features", "?")
    groups[(bb, r["method"])].append(r)

def ms(vals):
    vals = [v for v in vals if v is not None]
    if not vals:
        return "–"
    m = statistics.mean(vals)
    return f"{m:.2f} ± {statistics.stdev(vals):.2f}" if len(vals) > 1 else f"{m:.2f}"

for bb in sorted({k[0] for k in groups}):
    print(f"\n### {bb} features\n")
    print("| stage two | overall | Many | Medium | Few | mean recall | seeds | s/run |")
    print("|---|---|---|---|---|---|---|---|")
    items = sorted(((m, rs) for (b, m), rs in groups.items() if b == bb),
                   key=lambda x: -statistics.mean(r["overall"] for r in x[1]))
    for m, rs in items:
        secs = statistics.mean(r.get("seconds", 0) for r in rs)
        print(f"| {m} | {ms([r['overall'] for r in rs])} | {ms([r['many'] for r in rs])} | "
              f"{ms([r['medium'] for r in rs])} | {ms([r['few'] for r in rs])} | "
              f"{ms([r['mean_recall'] for r in rs])} | {len(rs)} | {secs:.1f} |")
