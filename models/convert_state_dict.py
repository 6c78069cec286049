#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Convert a PyTorch ViT state_dict (.pth / .bin) into the model folder vitrt loads.

    /usr/bin/python3 models/convert_state_dict.py CKPT.pth OUTDIR --mean 0.485,0.456,0.406 \\
        --std 0.229,0.224,0.225 [--interpolation bicubic] [--crop-pct 0.875] [--heads N] \\
        [--global-pool token|avg] [--labels FILE] [--arch NAME]

Writes OUTDIR/model.safetensors (every tensor as float32, names unchanged: timm or
torchvision) and OUTDIR/config.json as timm's push_to_hub writes it (architecture,
num_classes, global_pool, model_args.num_heads, label_names, pretrained_cfg with input_size,
interpolation, crop_pct, crop_mode, mean, std).  The file is read with
torch.load(weights_only=True): tensors only, no code runs.  A checkpoint that wraps its
weights ({"model": ...}, {"state_dict": ...}, {"model_ema": ...}) is unwrapped and a
DataParallel "module." prefix dropped.  Checking the tensors is vitrt's job (vitrt info, run
--fp32): an unknown or missing tensor is named there.
"""

import argparse
import json
import math
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import safetensors_io  # noqa: E402


def floats(text):
    return [float(v) for v in text.split(",")]


def unwrap(obj):
    """The state_dict inside a training checkpoint, without a DataParallel prefix."""
    for key in ("model_ema", "model", "state_dict", "module"):
        if isinstance(obj, dict) and isinstance(obj.get(key), dict):
            obj = obj[key]
            break
    if not isinstance(obj, dict) or not obj:
        raise SystemExit("not a state_dict: %s" % type(obj).__name__)
    bad = [k for k, v in obj.items() if not torch.is_tensor(v)]
    if bad:
        raise SystemExit("entries that are not tensors: %s" % ", ".join(map(str, bad[:5])))
    if all(k.startswith("module.") for k in obj):
        obj = {k[len("module."):]: v for k, v in obj.items()}
    return obj


def geometry(sd):
    """(chans, img, classes, dim, prefix tokens) from the shapes, as vitrt infers them."""
    tv = "conv_proj.weight" in sd
    pw = sd["conv_proj.weight" if tv else "patch_embed.proj.weight"]
    pos = sd["encoder.pos_embedding" if tv else "pos_embed"]
    head = sd["heads.head.weight" if tv else "head.weight"]
    prefix = ("class_token" in sd or "cls_token" in sd) + ("dist_token" in sd)
    rows = pos.shape[1]
    grid = math.isqrt(rows - prefix)
    if grid * grid != rows - prefix:
        grid = math.isqrt(rows)                  # no_embed_class: no prefix rows
    return pw.shape[1], grid * pw.shape[2], head.shape[0], pw.shape[0], prefix


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("ckpt")
    ap.add_argument("out")
    ap.add_argument("--mean", type=floats, required=True, help="one value per channel")
    ap.add_argument("--std", type=floats, required=True)
    ap.add_argument("--interpolation", default="bicubic", choices=["bicubic", "bilinear"])
    ap.add_argument("--crop-pct", type=float, default=0.875)
    ap.add_argument("--heads", type=int,
                    help="attention heads (default: vitrt's, dim / 64 or 16 for ViT-H)")
    ap.add_argument("--global-pool", choices=["token", "avg"],
                    help="default: avg with fc_norm or without a class token, else token")
    ap.add_argument("--labels", help="a text file, one class name per line")
    ap.add_argument("--arch", default="vit", help="recorded as config.json's architecture")
    a = ap.parse_args()

    sd = unwrap(torch.load(a.ckpt, map_location="cpu", weights_only=True))
    try:
        chans, img, classes, dim, prefix = geometry(sd)
    except KeyError as e:
        raise SystemExit("%s: no tensor %s: not a timm or torchvision ViT" % (a.ckpt, e))
    if len(a.mean) != chans or len(a.std) != chans:
        raise SystemExit("--mean and --std need %d values (input channels)" % chans)
    pool = a.global_pool or ("avg" if "fc_norm.weight" in sd or not prefix else "token")
    cfg = {"architecture": a.arch, "num_classes": classes, "num_features": dim,
           "global_pool": pool}
    if a.heads:
        cfg["model_args"] = {"num_heads": a.heads}
    if a.labels:
        with open(a.labels) as f:
            cfg["label_names"] = [line.rstrip("\n") for line in f if line.strip()]
    cfg["pretrained_cfg"] = {
        "input_size": [chans, img, img], "interpolation": a.interpolation,
        "crop_pct": a.crop_pct, "crop_mode": "center", "mean": a.mean, "std": a.std,
        "num_classes": classes}
    os.makedirs(a.out, exist_ok=True)
    safetensors_io.save(os.path.join(a.out, "model.safetensors"),
                        {k: v.float() for k, v in sd.items()},
                        {"format": "pt", "source": os.path.basename(a.ckpt)})
    with open(os.path.join(a.out, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
        f.write("\n")
    print("%s: %d tensors, %dx%dx%d input, %d classes, %s pooling" %
          (a.out, len(sd), chans, img, img, classes, pool))


if __name__ == "__main__":
    main()
