"""Summarizes the benchmark's runs (one JSON object a line, written by
run.sh) into a table, target verdicts and BUILD/bench-results.json.

usage: report.py RUNS.jsonl OUT.json WINDOW BUFFER_MAX ELAPSED_S FAILED(0|1)
"""

import json
import os
import platform
import statistics
import sys

MIB = 1024.0
RSS_TARGET_KIB = 16 * 1024
RATIO_TARGET = 0.70
KINDS = ("ceiling", "pipeline", "daemon")

NOTES = """\
events/s: median of the runs (min-max beside it), counted by the subscriber
from its first to its last message. ratio: median over the rounds of
events/s divided by the ceiling's in the same round. latency: the
subscriber's clock minus the event's creation (none for the daemon: its
events carry only a millisecond time). peak RSS: VmHWM of the publishing
process, highest run. CPU: user+system time per event of the publisher, the
broker and the subscriber (the machine's budget is cores / events/s).
other: CPU used by processes outside the benchmark during the runs, as a
share of the machine (median)."""


def ok(r):
    return (r["pub_rc"] == 0 and r["sub_rc"] == 0 and r["sub"] is not None
            and r["pub"] is not None)


def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def pub_cpu_us(r):
    if r["kind"] == "daemon":   # the whole process life, startup included
        c = r["pub"].get("cpu_s", -1)
        return c * 1e6 / r["n"] if c >= 0 else None
    return r["pub"].get("cpu_us_per_msg")


def summarize(runs):
    summary = {}
    for kind in KINDS:
        for qos in (0, 1):
            rs = [r for r in runs if r["kind"] == kind and r["qos"] == qos]
            if not rs:
                continue
            good = [r for r in rs if ok(r)]
            lat = [r for r in good if r["sub"]["lat_n"] > 0]
            rss = [r["pub"].get("vmhwm_kib", -1) for r in good]
            summary.setdefault(kind, {})[str(qos)] = {
                "runs": len(rs), "ok": len(good), "n": rs[0]["n"],
                "rate": med([r["sub"]["rate"] for r in good]),
                "rates": [round(r["sub"]["rate"], 1) for r in good],
                "pub_rate": med([r["pub"].get("rate") for r in good]),
                "p50_ms": med([r["sub"]["p50_us"] / 1e3 for r in lat]),
                "p99_ms": med([r["sub"]["p99_us"] / 1e3 for r in lat]),
                "peak_rss_kib": max(rss) if rss else None,
                "cpu_us_per_msg": med([pub_cpu_us(r) for r in good]),
                "broker_cpu_us_per_msg": med(
                    [r["broker_cpu_s"] * 1e6 / r["n"] for r in good]),
                "sub_cpu_us_per_msg": med(
                    [r["sub"].get("cpu_s", 0) * 1e6 / r["n"] for r in good]),
                "other_load": med([r.get("other_load") for r in good]),
            }
    return summary


def pair_ratios(runs):
    """Each run against the ceiling run of the same round, measured seconds
    apart, so that load from outside moves both alike; the median of those
    pairs is the figure."""
    ratios = {}
    for qos in (0, 1):
        ceil = {r["rep"]: r["sub"]["rate"] for r in runs
                if r["kind"] == "ceiling" and r["qos"] == qos and ok(r)}
        for kind in ("pipeline", "daemon"):
            pairs = [r["sub"]["rate"] / ceil[r["rep"]] for r in runs
                     if r["kind"] == kind and r["qos"] == qos and ok(r)
                     and ceil.get(r["rep"])]
            if pairs:
                ratios.setdefault(kind, {})[str(qos)] = {
                    "median": statistics.median(pairs),
                    "runs": [round(x, 3) for x in pairs]}
    return ratios


def verdicts(summary, ratios):
    targets = []
    for qos in (0, 1):
        r = ratios.get("pipeline", {}).get(str(qos))
        if r is not None:
            targets.append({
                "target": "pipeline >= 70%% of ceiling, QoS %d" % qos,
                "value": "%.0f%%" % (100 * r["median"]),
                "rounds": ", ".join("%.0f%%" % (100 * x) for x in r["runs"]),
                "met": r["median"] >= RATIO_TARGET})
    for qos in (0, 1):
        rss = summary.get("pipeline", {}).get(str(qos), {}).get(
            "peak_rss_kib")
        if rss is not None and rss >= 0:
            targets.append({
                "target": "pipeline peak RSS < 16 MiB, QoS %d" % qos,
                "value": "%.1f MiB" % (rss / MIB),
                "met": rss < RSS_TARGET_KIB})
    return targets


def f(v, fmt):
    return fmt % v if v is not None else "-"


def k(v):
    return "%.0fk" % (v / 1000.0) if v >= 10000 else "%.1fk" % (v / 1000.0)


def table(summary, ratios):
    print("%-9s %-3s %7s %9s %-9s %6s %7s %7s %9s  %-17s %s" % (
        "", "QoS", "events", "events/s", " min-max", "ratio", "p50 ms",
        "p99 ms", "peak RSS", "CPU us/ev pub/brk/sub", "other"))
    for qos in (0, 1):
        for kind in KINDS:
            s = summary.get(kind, {}).get(str(qos))
            if not s:
                continue
            ratio = 1.0 if kind == "ceiling" else \
                ratios.get(kind, {}).get(str(qos), {}).get("median")
            rss = s["peak_rss_kib"]
            other = s["other_load"]
            spread = ("%s-%s" % (k(min(s["rates"])), k(max(s["rates"])))
                      if s["rates"] else "-")
            print("%-9s %-3d %7d %9s %-9s %6s %7s %7s %9s  %5s %5s %5s %7s" % (
                kind, qos, s["n"], f(s["rate"], "%.0f"), " " + spread,
                f(ratio * 100 if ratio is not None else None, "%.0f%%"),
                f(s["p50_ms"], "%.1f"), f(s["p99_ms"], "%.1f"),
                f(rss / MIB if rss is not None and rss >= 0 else None,
                  "%.1f MiB"),
                f(s["cpu_us_per_msg"], "%.1f"),
                f(s["broker_cpu_us_per_msg"], "%.1f"),
                f(s["sub_cpu_us_per_msg"], "%.1f"),
                f(100 * other if other is not None else None, "%.0f%%")))


def main():
    runs_path, out_path, window, buffer_max, elapsed, failed = sys.argv[1:]
    runs = [json.loads(line) for line in open(runs_path) if line.strip()]
    summary = summarize(runs)
    ratios = pair_ratios(runs)
    targets = verdicts(summary, ratios)

    print()
    table(summary, ratios)
    finish(NOTES, targets, None, {}, runs, summary, ratios, window,
           buffer_max, elapsed, failed, out_path)


def finish(notes, targets, reference, extra, runs, summary, ratios, window,
           buffer_max, elapsed, failed, out_path):
    """The end every report shares: notes, target verdicts, the JSON file."""
    print()
    print(notes)
    print()
    for t in targets:
        print("target %-40s %9s  %-6s %s" % (
            t["target"] + ":", t["value"], "met" if t["met"] else "MISSED",
            "(rounds: %s)" % t["rounds"] if "rounds" in t else ""))
    if reference:
        print("reference: " + reference)
    doc = dict(extra)
    doc.update({
        "machine": {"cores": os.cpu_count(), "kernel": platform.release()},
        "params": {"window": int(window), "buffer_max": buffer_max,
                   "elapsed_s": int(elapsed),
                   "reps": max([r["rep"] for r in runs] or [0])},
        "summary": summary, "ratios": ratios, "targets": targets,
        "failed": failed == "1", "runs": runs,
    })
    with open(out_path, "w") as fh:
        json.dump(doc, fh, indent=1)
    print()
    print("results: %s (%s s)" % (out_path, elapsed))


if __name__ == "__main__":
    main()
