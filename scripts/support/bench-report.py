#!/usr/bin/env python3
"""Turns scripts/bench.sh's raw results into Docs/BENCHMARKS.md, Docs/bench/results.json
and the PNG plots (gnuplot): medians over the rounds, ratios SwiftRBD / librbd."""
import argparse
import csv
import json
import os
import platform
import statistics
import subprocess
import time

parser = argparse.ArgumentParser()
parser.add_argument("results")
parser.add_argument("micro")
parser.add_argument("out")
parser.add_argument("--null-threads", type=int, default=0)
parser.add_argument("--null-rss", type=int, default=0)
parser.add_argument("--runtime", type=int, default=0)
parser.add_argument("--rounds", type=int, default=0)
parser.add_argument("--seconds", type=int, default=0)
args = parser.parse_args()

rows = list(csv.DictReader(open(args.results)))
FIELDS = ["iops", "mbps", "p50_us", "p99_us", "p999_us", "cpu_us_per_io", "rss_kb", "threads"]

# (workload, group, mode) -> client -> field -> median
medians = {}
order = []
for row in rows:
    key = (row["workload"], row["group"], row["mode"])
    if key not in medians:
        medians[key] = {}
        order.append(key)
    medians[key].setdefault(row["client"], []).append(row)
for key, clients in medians.items():
    for client, runs in clients.items():
        clients[client] = {field: statistics.median(float(run[field]) for run in runs) for field in FIELDS}
        clients[client]["runs"] = len(runs)


def ratio(key, field):
    ours, theirs = medians[key].get("swiftrbd", {}).get(field), medians[key].get("librbd", {}).get(field)
    if not ours or not theirs:
        return None
    return ours / theirs


def tool(command):
    try:
        return subprocess.run(command, capture_output=True, text=True, timeout=30).stdout.strip()
    except Exception:
        return "?"


def cpu_model():
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "?"


def memory_gib():
    try:
        for line in open("/proc/meminfo"):
            if line.startswith("MemTotal"):
                return "%.0f GiB" % (int(line.split()[1]) / 1024 / 1024)
    except OSError:
        pass
    return "?"


def fmt(value, digits=0):
    if value is None:
        return "–"
    return f"{value:,.{digits}f}"


def r(value):
    return "–" if value is None else f"{value:.2f}"


os.makedirs(os.path.join(args.out, "bench"), exist_ok=True)
modes = [m for m in ["crc", "secure"] if any(k[2] == m for k in order)]
main_keys = [k for k in order if k[1] == "main"]

# Raw medians as JSON.
json.dump(
    [{"workload": k[0], "group": k[1], "mode": k[2], **{c: v for c, v in medians[k].items()}} for k in order],
    open(os.path.join(args.out, "bench", "results.json"), "w"), indent=1)

# Plots: IOPS and CPU per I/O per workload, both libraries side by side, per mode.
plots = []
gnuplot = tool(["sh", "-c", "command -v gnuplot"])
for mode in modes:
    keys = [k for k in main_keys if k[2] == mode]
    data = os.path.join(args.out, "bench", f"main-{mode}.dat")
    with open(data, "w") as f:
        f.write("# workload librbd_iops swiftrbd_iops librbd_cpu swiftrbd_cpu\n")
        for k in keys:
            lib, ours = medians[k].get("librbd", {}), medians[k].get("swiftrbd", {})
            f.write("%s %.1f %.1f %.2f %.2f\n" % (k[0], lib.get("iops", 0), ours.get("iops", 0), lib.get("cpu_us_per_io", 0), ours.get("cpu_us_per_io", 0)))
    for what, columns, label, log in [("iops", (2, 3), "IOPS (log scale)", True), ("cpu", (4, 5), "client CPU per I/O, µs (log scale)", True)]:
        png = f"{what}-{mode}.png"
        script = f"""
set terminal pngcairo size 1200,520 font ",10"
set output "{os.path.join(args.out, 'bench', png)}"
set title "{label}: librbd vs SwiftRBD, {mode} mode (fio, rbd engine; median of {args.rounds})"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set xtics rotate by 35 right scale 0
set bmargin 7
set key top right
set grid ytics
{'set logscale y' if log else ''}
plot "{data}" using {columns[0]}:xtic(1) title "librbd" lc rgb "#4c72b0", "" using {columns[1]} title "SwiftRBD" lc rgb "#dd8452"
"""
        if gnuplot:
            subprocess.run(["gnuplot"], input=script, text=True, check=False)
            if os.path.exists(os.path.join(args.out, "bench", png)):
                plots.append((mode, what, png))
    os.remove(data)

lines = []
add = lines.append
add("# Benchmarks: SwiftRBD beside librbd")
add("")
add("Written by `make bench` (`scripts/bench.sh`, `scripts/support/bench-report.py`); do not edit by hand.")
add(f"Run of {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {args.seconds} s end to end.")
add("")
add("## How it was measured")
add("")
add("- Every workload is one fio process (`--ioengine=rbd`, one job, `--thread=1`) run twice in a row: on Ceph's")
add("  librbd and librados, then with SwiftRBD's C ABI found first through `LD_LIBRARY_PATH` (the same fio binary).")
add(f"  {args.runtime} s per run, time-based; the pairs are interleaved and repeated {args.rounds} times; the tables show medians.")
add("- IOPS, MB/s and completion-latency percentiles are fio's. Client CPU per I/O is user + system seconds of the")
add("  fio process (`/usr/bin/time`, so start-up and connection set-up included) over the I/Os it completed; peak RSS")
add("  is `/usr/bin/time`'s; threads are the most `/proc/PID/task` showed during the run.")
add(f"- fio itself (null engine) uses {args.null_threads} threads and {args.null_rss / 1024:.0f} MiB RSS: that share is in both columns.")
add("- One 1 GiB image with Pacific's default features (layering, exclusive-lock, object-map, fast-diff, deep-flatten),")
add("  filled first. Cache rows set `rbd_cache = true` (writeback from the first write); the others `rbd_cache = false`.")
add("  The messenger mode is `ms_client_mode` (crc or secure), for both libraries.")
add("- The cluster is the project's throwaway dev cluster on the same machine (one monitor, three memstore OSDs, pool")
add("  size 2): client and cluster share the CPUs, so absolute figures say little; the ratios are the point.")
add("")
add("Machine: " + f"{cpu_model()}, {os.cpu_count()} CPUs, {memory_gib()}, Linux {platform.release()}; "
    + f"{tool(['ceph', '--version']).split(' (')[0]}; {tool(['fio', '--version'])}; "
    + f"{tool(['swift', '--version']).splitlines()[0] if tool(['swift', '--version']) else 'swift ?'}.")
add("")

targets = []
for mode in modes:
    add(f"## Workloads, {mode} mode")
    add("")
    add("| workload | librbd IOPS | SwiftRBD IOPS | ratio | MB/s (l / S) | librbd CPU µs/IO | SwiftRBD CPU µs/IO | ratio | p50 µs (l / S) | p99 µs (l / S) | p99.9 µs (l / S) | RSS MiB (l / S) | threads (l / S) |")
    add("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for k in [k for k in main_keys if k[2] == mode]:
        lib, ours = medians[k].get("librbd", {}), medians[k].get("swiftrbd", {})
        add(f"| {k[0]} | {fmt(lib.get('iops'))} | {fmt(ours.get('iops'))} | {r(ratio(k, 'iops'))} | {fmt(lib.get('mbps'), 1)} / {fmt(ours.get('mbps'), 1)} | "
            f"{fmt(lib.get('cpu_us_per_io'), 1)} | {fmt(ours.get('cpu_us_per_io'), 1)} | {r(ratio(k, 'cpu_us_per_io'))} | "
            f"{fmt(lib.get('p50_us'))} / {fmt(ours.get('p50_us'))} | {fmt(lib.get('p99_us'))} / {fmt(ours.get('p99_us'))} | "
            f"{fmt(lib.get('p999_us'))} / {fmt(ours.get('p999_us'))} | "
            f"{fmt(lib.get('rss_kb', 0) / 1024)} / {fmt(ours.get('rss_kb', 0) / 1024)} | {fmt(lib.get('threads'))} / {fmt(ours.get('threads'))} |")
    add("")
    for (m, what, png) in plots:
        if m == mode:
            add(f"![{what}, {mode}](bench/{png})")
    add("")

# Targets from the benchmark issue, checked against this run.
def find(name, mode="crc"):
    return next((k for k in main_keys if k[0] == name and k[2] == mode), None)

add("## Against the targets")
add("")
add("fio rows compare the libraries under the same program; `rbd bench` rows each library's own tool.")
add("")
add("| target | this run |")
add("|---|---|")
for name in ["4k-randread-qd16", "4k-randwrite-qd16"]:
    k = find(name)
    if k:
        add(f"| {name}: IOPS ≥ 1.2× librbd | {r(ratio(k, 'iops'))}× |")
        add(f"| {name}: CPU per I/O ≤ 0.5× librbd | {r(ratio(k, 'cpu_us_per_io'))}× |")
for k in [k for k in order if k[1] == "tools"]:
    add(f"| {k[0]} (rbdctl bench vs rbd bench), 16 in flight: IOPS ≥ 1.2×, CPU per I/O ≤ 0.5× | {r(ratio(k, 'iops'))}×, {r(ratio(k, 'cpu_us_per_io'))}× |")
for name in ["4k-randread-qd1", "4k-randwrite-qd1"]:
    k = find(name)
    if k:
        add(f"| {name}: p99 ≤ librbd | {fmt(medians[k]['swiftrbd']['p99_us'])} vs {fmt(medians[k]['librbd']['p99_us'])} µs |")
for name in ["4m-seqread", "4m-seqwrite"]:
    k = find(name)
    if k:
        add(f"| {name}: ≥ 1.0× librbd | {r(ratio(k, 'iops'))}× |")
if "secure" in modes:
    for name in ["4k-randread-qd16", "4k-randwrite-qd16"]:
        c, s = find(name, "crc"), find(name, "secure")
        if c and s:
            add(f"| {name}: secure / crc IOPS ≥ 0.9 (SwiftRBD) | {medians[s]['swiftrbd']['iops'] / medians[c]['swiftrbd']['iops']:.2f} |")
k = find("4k-randread-qd16")
if k:
    add(f"| ≤ 2 client threads for I/O | SwiftRBD's fio process: {fmt(medians[k]['swiftrbd']['threads'])} threads, of which fio's own {args.null_threads} |")
add("")

tool_keys = [k for k in order if k[1] == "tools"]
if tool_keys:
    add("## `rbd bench` beside `rbdctl bench`")
    add("")
    add("Each library's own tool, no fio and no C ABI: 4 KiB random I/O, 16 in flight, crc, no cache (`--io-total` per run in the")
    add("script), CPU seconds of the tool's process over its I/Os; medians of the rounds.")
    add("")
    add("| workload | rbd IOPS | rbdctl IOPS | ratio | rbd CPU µs/IO | rbdctl CPU µs/IO | ratio | RSS MiB (rbd / rbdctl) | threads (rbd / rbdctl) |")
    add("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for k in tool_keys:
        lib, ours = medians[k].get("librbd", {}), medians[k].get("swiftrbd", {})
        add(f"| {k[0]} | {fmt(lib.get('iops'))} | {fmt(ours.get('iops'))} | {r(ratio(k, 'iops'))} | {fmt(lib.get('cpu_us_per_io'), 1)} | "
            f"{fmt(ours.get('cpu_us_per_io'), 1)} | {r(ratio(k, 'cpu_us_per_io'))} | {fmt(lib.get('rss_kb', 0) / 1024)} / {fmt(ours.get('rss_kb', 0) / 1024)} | "
            f"{fmt(lib.get('threads'))} / {fmt(ours.get('threads'))} |")
    add("")

for group, title, column in [("scale-depth", "Cost as in-flight I/Os grow (4 KiB random reads, crc, one image)", "in flight"),
                             ("scale-images", "Cost as open images grow (4 KiB random reads, 4 in flight each, one cluster connection per image as fio opens them)", "images")]:
    keys = [k for k in order if k[1] == group]
    if not keys:
        continue
    add(f"## {title}")
    add("")
    add(f"| {column} | librbd IOPS | SwiftRBD IOPS | librbd CPU µs/IO | SwiftRBD CPU µs/IO | librbd RSS MiB | SwiftRBD RSS MiB | librbd threads | SwiftRBD threads |")
    add("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for k in keys:
        lib, ours = medians[k].get("librbd", {}), medians[k].get("swiftrbd", {})
        add(f"| {k[0].split('-')[-1]} | {fmt(lib.get('iops'))} | {fmt(ours.get('iops'))} | {fmt(lib.get('cpu_us_per_io'), 1)} | {fmt(ours.get('cpu_us_per_io'), 1)} | "
            f"{fmt(lib.get('rss_kb', 0) / 1024)} | {fmt(ours.get('rss_kb', 0) / 1024)} | {fmt(lib.get('threads'))} | {fmt(ours.get('threads'))} |")
    add("")

add("## Micro-benchmarks")
add("")
add("`Microbench all` (release build); CRUSH is timed beside `crushtool --test` on the same map and inputs.")
add("")
add("```")
add(open(args.micro).read().rstrip())
add("```")
add("")
add("Raw results: `bench/results.csv` (every run), `bench/results.json` (medians), `bench/microbench.txt`.")
open(os.path.join(args.out, "BENCHMARKS.md"), "w").write("\n".join(lines) + "\n")
