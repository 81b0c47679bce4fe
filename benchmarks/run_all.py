"""Run every benchmark once and print one table (`make bench`).

Each benchmark runs as its own process (a fresh interpreter, its own scratch database) and
prints its lines; this script collects their RESULT lines into the table at the end.
Usage: .venv/bin/python benchmarks/run_all.py [--quick] [--only hotlot,fanout,catalog,sweep]
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = str(ROOT / ".venv" / "bin" / "python")

# Targets from the performance issue.
HOT_TARGET = 500
FAN_P95_TARGET = 250
FAN_TARGET_WATCHERS = 3000  # the target size; 5,000 is run to show where the machine ends
RATIO_TARGET = 0.8
CATALOG_P95_TARGET = 50


def run(script: str, *args: str) -> object:
    """Run one benchmark script, echo its output, return its RESULT."""
    print(f"\n$ {script} {' '.join(args)}", flush=True)
    proc = subprocess.Popen([PY, str(ROOT / "benchmarks" / script), *args], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    result = None
    for line in proc.stdout:
        if line.startswith("RESULT "):
            result = json.loads(line[len("RESULT "):])
        else:
            print("  " + line.rstrip(), flush=True)
    proc.wait()
    if proc.returncode != 0:
        print(f"  ({script} failed with {proc.returncode})", flush=True)
    return result


def verdict(ok: bool) -> str:
    """Met or missed."""
    return "met" if ok else "MISSED"


def main() -> None:
    """Run the benchmarks, then print the table."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    parser.add_argument("--only", default="hotlot,fanout,catalog,sweep")
    args = parser.parse_args()
    only = set(args.only.split(","))
    rows: list[tuple[str, str, str, str]] = []

    if "hotlot" in only:
        hot = run("hotlot.py", "--seconds", "5" if args.quick else "15")
        if hot:
            rows.append((f"hot lot, {hot['bidders']} bidders, {hot['workers']} gunicorn workers, card holds off",
                         f"{hot['accepted_per_s']:.0f} accepted bids/s ({hot['accepted']} accepted, "
                         f"{sum(hot['refused'].values())} refused, {hot['errors']} errors); "
                         f"p50/p95/p99 {hot['p50_ms']:.0f}/{hot['p95_ms']:.0f}/{hot['p99_ms']:.0f} ms; "
                         f"consistent: {'yes' if hot['consistent'] else 'no'}",
                         f">= {HOT_TARGET}/s, consistent",
                         verdict(hot["accepted_per_s"] >= HOT_TARGET and hot["consistent"])))
    if "fanout" in only:
        fan = run("fanout.py", "--watchers", "300,1000" if args.quick else "1000,2000,3000,5000",
                  "--seconds", "5" if args.quick else "10")
        for r in fan or []:
            a, b, ratio = r["app"], r["bare"], r["ratio"]
            targeted = r["watchers"] <= FAN_TARGET_WATCHERS
            rows.append((f"fan-out {r['watchers']} watchers x 10 bids/s, 2 processes",
                         f"app p50/p95/p99 {a['p50_ms']}/{a['p95_ms']}/{a['p99_ms']} ms, missed {a['missed']}, "
                         f"{a['delivered_per_s']:.0f} msg/s, {a['cpu_ms_per_1k']} CPU-ms/1k msg",
                         f"p95 < {FAN_P95_TARGET} ms, 0 missed" if targeted else "(none: past the target size)",
                         verdict(a["p95_ms"] is not None and a["p95_ms"] < FAN_P95_TARGET and a["missed"] == 0)
                         if targeted else ""))
            rows.append((f"  bare relay, same run",
                         f"p50/p95/p99 {b['p50_ms']}/{b['p95_ms']}/{b['p99_ms']} ms, missed {b['missed']}, "
                         f"{b['delivered_per_s']:.0f} msg/s, {b['cpu_ms_per_1k']} CPU-ms/1k msg", "", ""))
            # The target is throughput; CPU per message is shown for what it says about headroom.
            rows.append((f"  app / bare",
                         f"throughput {ratio['throughput']:.2f}, p95 {ratio['p95']:.2f}x, "
                         f"CPU per message {1 / ratio['cpu_efficiency']:.2f}x",
                         f">= {RATIO_TARGET} of bare throughput" if targeted else "",
                         verdict(ratio["throughput"] >= RATIO_TARGET) if targeted else ""))
    if "catalog" in only:
        cat = run("catalog.py", "--explain", "--rows", "100000" if args.quick else "1000000")
        for r in cat or []:
            rows.append((f"catalog {r['rows']:,}: {r['query']}", f"p50 {r['p50_ms']:.0f} ms, p95 {r['p95_ms']:.0f} ms",
                         f"p95 < {CATALOG_P95_TARGET} ms", verdict(r["p95_ms"] < CATALOG_P95_TARGET)))
    if "sweep" in only:
        accounts = "100000" if args.quick else "1000000"
        sweep = run("release_sweep.py", "--accounts", accounts)
        if sweep:
            rows.append((f"release sweep, {sweep['accounts']:,} accounts, batches of {sweep['batch']:,}",
                         f"first pass {sweep['first_per_s']:,.0f} accounts/s ({sweep['flagged']:,} flagged, "
                         f"{sweep['first_s']:.0f} s); 30 days later {sweep['release_per_s']:,.0f}/s "
                         f"({sweep['released']:,} released, {sweep['release_s']:.0f} s); nothing to do "
                         f"{sweep['idle_per_s']:,.0f}/s; peak {sweep['traced_peak_mib']:.1f} MiB Python, "
                         f"{sweep['rss_peak_mib']:.0f} MiB RSS", "(none set)", ""))

    widths = [max(len(r[i]) for r in rows) if rows else 10 for i in range(4)]
    line = "+".join("-" * (w + 2) for w in widths)
    print("\n" + line)
    for r in [("benchmark", "measured", "target", "")] + rows:
        print(" | ".join(c.ljust(w) for c, w in zip(r, widths)))
    print(line)
    sys.exit(0)


if __name__ == "__main__":
    main()
