"""One stage-two run's record for scripts/summarize.py (called by scripts/stage2.sh).

    stage2_record.py EVAL_JSON TRAIN_INSPECT_JSON OUT_JSON BACKBONE METHOD SEED T0 T1

Test accuracy overall, per group and mean per-class recall from `afg evaluate --json`, with
the Many / Medium / Few groups taken from the training split's class counts
(`afg inspect --json` of the training file), not from the counts the classifier records: a
cross-validated choice is refitted on train + validation and records those larger counts,
which would move classes between groups and make its group columns incomparable.
A group's accuracy is the mean recall of its classes (exact, from the confusion matrix).
"""
import json
import sys

src, counts_json, dst, bb, m, seed, t0, t1 = sys.argv[1:]
d = json.load(open(src))
s, conf = d["summary"], d["confusion"]
counts = json.load(open(counts_json))["classCounts"]
many_t, few_t = s["thresholds"]["many"], s["thresholds"]["few"]
recall = [row[k] / sum(row) if sum(row) else None for k, row in enumerate(conf)]


def group(member):
    ks = [k for k, n in enumerate(counts) if member(n) and recall[k] is not None]
    return 100 * sum(recall[k] for k in ks) / len(ks) if ks else None


r = {"backbone": bb, "method": m, "seed": int(seed), "seconds": float(t1) - float(t0),
     "overall": s["overall"] * 100,
     "many": group(lambda n: n > many_t), "medium": group(lambda n: few_t <= n <= many_t),
     "few": group(lambda n: n < few_t), "mean_recall": s["meanPerClassRecall"] * 100}
json.dump(r, open(dst, "w"))
print(json.dumps(r))
