"""Summarizes the source benchmark's runs (one JSON object a line,
written by twitch_run.sh) into a table, target verdicts and
BUILD/SOURCE-bench-results.json.

usage: twitch_report.py SOURCE RUNS.jsonl OUT.json WINDOW BUFFER_MAX
                        ELAPSED_S FAILED(0|1)
SOURCE: eventsub or pubsub (the kind of the runs that are not "ceiling").
"""

import json
import statistics
import sys

from report import MIB, RSS_TARGET_KIB, f, finish, k, med

RATE_TARGET = 50000             # events/s, unpaced, QoS 0
P99_TARGET_MS = 2.0             # at 1,000/s
REFERENCE = {
    "eventsub": "twurple + mqtt.js (issue 3's figures): about 21,000 "
                "events/s, 150 MiB",
    "pubsub": "the seed's Python library (issue 5's figures): about 9,000 "
              "events/s",
}

NOTES = """\
events/s: median of the rounds (min-max beside it), counted by the
subscriber from its first to its last message. ratio: median over the
rounds of events/s divided by the ceiling's (same QoS) in the same round.
latency (the source): the subscriber's wall clock at arrival minus the
mock's wall clock when it made the event (carried to the microsecond in
the cheer's text); ceiling: arrival minus
the publisher's making of the message, as in tests/bench/run.sh. Medians
of the rounds; max is the highest of all runs. lost: events the
subscriber never got (highest of the rounds). peak RSS: VmHWM of the
publishing process (the daemon; bench_paho), highest run. CPU: user+system
time per event of the publisher (the daemon, its whole life), the mock,
the broker and the subscriber. other: CPU used outside the benchmark
meanwhile, as a share of the machine."""


def ok(r):
    return (r["pub_rc"] == 0 and r["mock_rc"] == 0 and r["sub"] is not None
            and r["pub"] is not None)


def name(kind, rate):
    if kind == "ceiling":
        return "ceiling"
    return "%s %s" % (kind, "%g/s" % rate if rate else "unpaced")


def groups(runs):
    seen = []
    for r in runs:
        key = (r["kind"], r["qos"], r["rate"])
        if key not in seen:
            seen.append(key)
    # ceiling before the source at the same QoS, paced last
    return sorted(seen, key=lambda k: (k[2] > 0, k[1], k[0] != "ceiling"))


def pub_cpu_us(r):
    p = r["pub"]
    if r["kind"] != "ceiling":
        c = p.get("cpu_s", -1)
        return c * 1e6 / r["n"] if c >= 0 else None
    return p.get("cpu_us_per_msg")


def summarize(runs):
    out = {}
    for kind, qos, rate in groups(runs):
        rs = [r for r in runs if (r["kind"], r["qos"], r["rate"]) ==
              (kind, qos, rate)]
        good = [r for r in rs if ok(r)]
        lat = [r for r in good if r["sub"].get("lat_n")]
        rss = [r["pub"].get("vmhwm_kib", -1) for r in good]
        out["%s/%d/%g" % (kind, qos, rate)] = {
            "kind": kind, "qos": qos, "rate_per_s": rate,
            "runs": len(rs), "ok": len(good), "n": rs[0]["n"],
            "rate": med([r["sub"]["rate"] for r in good]),
            "rates": [round(r["sub"]["rate"], 1) for r in good],
            "p50_ms": med([r["sub"]["p50_us"] / 1e3 for r in lat]),
            "p99_ms": med([r["sub"]["p99_us"] / 1e3 for r in lat]),
            "p99s_ms": [round(r["sub"]["p99_us"] / 1e3, 2) for r in lat],
            "max_ms": max([r["sub"]["max_us"] / 1e3 for r in lat] or [None])
            if lat else None,
            "lost": max([r["n"] - r["sub"].get("count", 0) for r in good]
                        or [None]) if good else None,
            "peak_rss_kib": max(rss) if rss else None,
            "cpu_us_per_msg": med([pub_cpu_us(r) for r in good]),
            "mock_cpu_us_per_msg": med(
                [(r["mock"] or {}).get("cpu_s", 0) * 1e6 / r["n"]
                 for r in good]) if kind != "ceiling" else None,
            "broker_cpu_us_per_msg": med(
                [r["broker_cpu_s"] * 1e6 / r["n"] for r in good]),
            "sub_cpu_us_per_msg": med(
                [r["sub"].get("cpu_s", 0) * 1e6 / r["n"] for r in good]),
            "other_load": med([r.get("other_load") for r in good]),
        }
    return out


def pair_ratios(runs):
    ratios = {}
    for qos in (0, 1):
        ceil = {r["rep"]: r["sub"]["rate"] for r in runs
                if r["kind"] == "ceiling" and r["qos"] == qos and ok(r)}
        pairs = [r["sub"]["rate"] / ceil[r["rep"]] for r in runs
                 if r["kind"] != "ceiling" and r["qos"] == qos and
                 not r["rate"] and ok(r) and ceil.get(r["rep"])]
        if pairs:
            ratios[str(qos)] = {"median": statistics.median(pairs),
                                "runs": [round(x, 3) for x in pairs]}
    return ratios


def verdicts(summary):
    targets = []
    for s in summary.values():
        if s["kind"] == "ceiling":
            continue
        label = name(s["kind"], s["rate_per_s"]) + ", QoS %d" % s["qos"]
        if not s["rate_per_s"] and s["qos"] == 0 and s["rate"] is not None:
            targets.append({
                "target": ">= %d events/s, %s" % (RATE_TARGET, label),
                "value": "%.0f" % s["rate"],
                "rounds": ", ".join("%.0f" % x for x in s["rates"]),
                "met": s["rate"] >= RATE_TARGET})
        if s["rate_per_s"] and s["p99_ms"] is not None:
            targets.append({
                "target": "p99 < %g ms, %s" % (P99_TARGET_MS, label),
                "value": "%.2f ms" % s["p99_ms"],
                "rounds": ", ".join("%.2f" % x for x in s["p99s_ms"]),
                "met": s["p99_ms"] < P99_TARGET_MS})
        rss = s["peak_rss_kib"]
        if rss is not None and rss > 0:
            targets.append({
                "target": "peak RSS < 16 MiB, %s" % label,
                "value": "%.1f MiB" % (rss / MIB),
                "met": rss < RSS_TARGET_KIB})
        if s["qos"] > 0 and s["lost"] is not None:
            targets.append({"target": "nothing lost, %s" % label,
                            "value": "%d lost" % s["lost"],
                            "met": s["lost"] == 0})
    return targets


def table(summary, ratios):
    print("%-17s %-3s %7s %9s %-12s %5s %7s %7s %7s %6s %9s  %-23s %s" % (
        "", "QoS", "events", "events/s", " min-max", "ratio", "p50 ms",
        "p99 ms", "max ms", "lost", "peak RSS",
        "CPU us/ev pub/mock/brk/sub", "other"))
    for s in summary.values():
        if s["kind"] == "ceiling":
            ratio = 1.0
        elif s["rate_per_s"]:
            ratio = None
        else:
            ratio = ratios.get(str(s["qos"]), {}).get("median")
        rss = s["peak_rss_kib"]
        spread = ("%s-%s" % (k(min(s["rates"])), k(max(s["rates"])))
                  if s["rates"] else "-")
        print("%-17s %-3d %7d %9s %-12s %5s %7s %7s %7s %6s %9s  %5s %4s %5s %5s %5s"
              % (name(s["kind"], s["rate_per_s"]), s["qos"], s["n"],
                 f(s["rate"], "%.0f"), " " + spread,
                 f(ratio * 100 if ratio is not None else None, "%.0f%%"),
                 f(s["p50_ms"], "%.2f"), f(s["p99_ms"], "%.2f"),
                 f(s["max_ms"], "%.1f"), f(s["lost"], "%d"),
                 f(rss / MIB if rss is not None and rss >= 0 else None,
                   "%.1f MiB"),
                 f(s["cpu_us_per_msg"], "%.1f"),
                 f(s["mock_cpu_us_per_msg"], "%.1f"),
                 f(s["broker_cpu_us_per_msg"], "%.1f"),
                 f(s["sub_cpu_us_per_msg"], "%.1f"),
                 f(100 * s["other_load"] if s["other_load"] is not None
                   else None, "%.0f%%")))


def main():
    (source, runs_path, out_path, window, buffer_max, elapsed,
     failed) = sys.argv[1:]
    runs = [json.loads(line) for line in open(runs_path) if line.strip()]
    summary = summarize(runs)
    ratios = pair_ratios(runs)
    targets = verdicts(summary)

    print()
    table(summary, ratios)
    finish(NOTES, targets, REFERENCE.get(source), {"source": source}, runs,
           summary, ratios, window, buffer_max, elapsed, failed, out_path)


if __name__ == "__main__":
    main()
