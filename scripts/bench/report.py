# SPDX-License-Identifier: MIT
"""Print the results of `make bench` (one JSON object a line) as a table, or with --json as one
JSON object: {"cpu", "cpus", "flags", "results": [...]}.

Each result: model, path (ort-fp32, vitrt-int, vitrt-fp32), threads, batch, ms_per_image,
images_per_s, macs (per image, from `vitrt info`), and here added gmac_per_s and vs_ort:
ONNX Runtime's ms/image at the same threads and batch divided by this row's (above 1: faster
than ONNX Runtime), or null where ONNX Runtime has no such row.
"""

import json
import os
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


def main(argv):
    path, as_json = argv[0], "--json" in argv[1:]
    with open(path) as f:
        rows = [json.loads(line) for line in f if line.strip()]
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
    print("%-7s %-10s %7s %5s %10s %9s %8s %7s" % ("model", "path", "threads", "batch",
                                                   "ms/image", "images/s", "GMAC/s", "vs ORT"))
    for r in rows:
        print("%-7s %-10s %7d %5d %10.2f %9.2f %8.1f %7s" % (
            r["model"], r["path"], r["threads"], r["batch"], r["ms_per_image"],
            r["images_per_s"], r["gmac_per_s"],
            "%.2fx" % r["vs_ort"] if r["vs_ort"] else "-"))
    print("vs ORT: ONNX Runtime FP32's ms/image at the same threads and batch / this row's")


if __name__ == "__main__":
    main(sys.argv[1:])
