# SPDX-License-Identifier: MIT
"""Print the results of `make bench` (one JSON object a line) as a table, or with --json as one
JSON object: {"cpu", "cpus", "flags", "results": [...]}.

Each result: model, path (ort-fp32, vitrt-int, vitrt-fp32, vitrt-int-avx2: the AVX2-only build), threads, batch, ms_per_image (the
median of the rounds, one line each in the input), images_per_s, macs (per image, from
`vitrt info`), and here added rounds, spread ((slowest - fastest) / median of the rounds),
gmac_per_s and vs_ort: ONNX Runtime's ms/image at the same threads and batch divided by this
row's (above 1: faster than ONNX Runtime), or null where ONNX Runtime has no such row.
"""

import json
import os
import statistics
import sys


def cpu():
    name, flags = "unknown", []
    with open("/proc/cpuinfo") as f:
        for line in f:
            key, _, val = line.partition(":")
            if key.strip() == "model name" and name == "unknown":
                name = val.strip()
            if key.strip() == "flags" and not flags:
                have = set(val.split())
                flags = [x for x in ("avx2", "avx512f", "avx512_vnni", "avx_vnni", "amx_int8")
                         if x in have]
    return name, flags


def median_rows(lines):
    """One row per model, path, threads and batch: the median round, in first-seen order."""
    groups = {}
    for r in lines:
        groups.setdefault((r["model"], r["path"], r["threads"], r["batch"]), []).append(r)
    rows = []
    for runs in groups.values():
        ms = [r["ms_per_image"] for r in runs]
        med = statistics.median(ms)
        row = dict(runs[0], ms_per_image=med, images_per_s=1000 / med, rounds=len(ms),
                   spread=round((max(ms) - min(ms)) / med, 3))
        rows.append(row)
    return rows


def main(argv):
    path, as_json = argv[0], "--json" in argv[1:]
    with open(path) as f:
        rows = median_rows([json.loads(line) for line in f if line.strip()])
    ort = {(r["model"], r["threads"], r["batch"]): r["ms_per_image"]
           for r in rows if r["path"] == "ort-fp32"}
    for r in rows:
        r["gmac_per_s"] = r["macs"] * r["images_per_s"] / 1e9
        base = ort.get((r["model"], r["threads"], r["batch"]))
        r["vs_ort"] = round(base / r["ms_per_image"], 3) if base else None
        r["gmac_per_s"] = round(r["gmac_per_s"], 2)
        r["ms_per_image"] = round(r["ms_per_image"], 3)
        r["images_per_s"] = round(r["images_per_s"], 3)
    name, flags = cpu()
    cpus = len(os.sched_getaffinity(0))
    if as_json:
        json.dump({"cpu": name, "cpus": cpus, "flags": flags, "results": rows},
                  sys.stdout, indent=1)
        print()
        return
    print("%s, %d CPUs (%s)" % (name, cpus, " ".join(flags) or "no AVX2"))
    print("%-7s %-14s %7s %5s %10s %9s %8s %7s %7s" % (
        "model", "path", "threads", "batch", "ms/image", "images/s", "GMAC/s", "vs ORT",
        "spread"))
    for r in rows:
        print("%-7s %-14s %7d %5d %10.2f %9.2f %8.1f %7s %6.0f%%" % (
            r["model"], r["path"], r["threads"], r["batch"], r["ms_per_image"],
            r["images_per_s"], r["gmac_per_s"],
            "%.2fx" % r["vs_ort"] if r["vs_ort"] else "-", 100 * r["spread"]))
    print("ms/image: the median of %d rounds (spread: slowest - fastest, of the median); "
          "vs ORT: ONNX Runtime FP32's ms/image at the same threads and batch / this row's"
          % max(r["rounds"] for r in rows))


if __name__ == "__main__":
    main(sys.argv[1:])
