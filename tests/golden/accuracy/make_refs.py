#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Record PyTorch's FP32 predictions of the shipped model on the first Fashion-MNIST test images.

    /usr/bin/python3 tests/golden/accuracy/make_refs.py [-n 2000]

Writes fmnist-t10k.txt next to this script: a few comment lines ('#'), then one line per
image, in test-set order: "LABEL PRED", the true label (from the dataset) and the class that
models/vit-fmnist.safetensors predicts in float32 PyTorch (models/vit.py, timm semantics, the
input normalized by models/fmnist.py).  tests/unit/accuracy.sh compares vitrt eval's
per-image classes (--predictions) with it; Python is never needed at test time.

The float32 forward is also run in float64 (model.double()); an image whose class differs
between the two, or whose two best float32 logits are closer than TIE, is a near tie that
any other summation order may resolve the other way: they are counted and listed in the
header, so a C forward that disagrees on one of them is not a bug.
Needs only Debian packages: python3-torch, dataset-fashion-mnist.
"""

import argparse
import json
import math
import os
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "models"))

import fmnist                      # noqa: E402
import safetensors_io              # noqa: E402
from vit import VisionTransformer  # noqa: E402

TIE = 1e-3


def load_model(ckpt):
    """models/vit.py with the checkpoint's shapes and its sidecar's heads and eps."""
    weights, _ = safetensors_io.load(ckpt)
    with open(ckpt + ".json") as f:
        side = json.load(f)
    C, chans, p, _ = weights["patch_embed.proj.weight"].shape
    T = weights["pos_embed"].shape[1]
    img = int(round(math.sqrt(T - 1))) * p
    depth = len({k.split(".")[1] for k in weights if k.startswith("blocks.")})
    classes = weights["head.weight"].shape[0]
    model = VisionTransformer(img_size=img, patch_size=p, in_chans=chans, num_classes=classes,
                              embed_dim=C, depth=depth, num_heads=side["heads"],
                              eps=side.get("eps", 1e-6))
    model.load_state_dict({k: torch.from_numpy(v) for k, v in weights.items()}, strict=True)
    return model.eval(), side


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", type=int, default=2000, help="the first N test images (2000)")
    ap.add_argument("--ckpt", default=os.path.join(ROOT, "models", "vit-fmnist.safetensors"))
    ap.add_argument("--data", default=fmnist.DEFAULT_DIR)
    args = ap.parse_args()
    torch.set_num_threads(1)

    model, side = load_model(args.ckpt)
    images, labels = fmnist.load("t10k", args.data)
    images, labels = images[:args.n], labels[:args.n].astype(np.int64)
    if side.get("mean") != [fmnist.MEAN] or side.get("std") != [fmnist.STD]:
        raise SystemExit("%s: mean/std %s/%s, fmnist.py normalizes with %s/%s"
                         % (args.ckpt, side.get("mean"), side.get("std"), fmnist.MEAN, fmnist.STD))
    x = torch.from_numpy(fmnist.normalize(images))
    with torch.no_grad():
        logits = torch.cat([model(x[i:i + 250]) for i in range(0, len(x), 250)]).numpy()
        model.double()
        logits64 = torch.cat([model(x[i:i + 250].double())
                              for i in range(0, len(x), 250)]).numpy()
    pred = logits.argmax(1)
    pred64 = logits64.argmax(1)
    top2 = np.sort(logits, 1)[:, -2:]
    ties = np.nonzero((pred != pred64) | (top2[:, 1] - top2[:, 0] < TIE))[0]
    correct = int((pred == labels).sum())
    n = len(labels)

    out = os.path.join(HERE, "fmnist-t10k.txt")
    with open(out + ".tmp", "w") as f:
        f.write("# %s on the first %d Fashion-MNIST test images (t10k), float32 PyTorch\n"
                % (os.path.relpath(args.ckpt, ROOT), n))
        f.write("# made by tests/golden/accuracy/make_refs.py; one line per image: LABEL PRED\n")
        f.write("# top-1 %d/%d = %.2f%%; float64 predicts another class on %d; near ties "
                "(float32/float64 differ or margin < %g): %d%s\n"
                % (correct, n, 100.0 * correct / n, int((pred != pred64).sum()), TIE,
                   len(ties), "".join(" %d" % i for i in ties)))
        for lab, p in zip(labels, pred):
            f.write("%d %d\n" % (lab, p))
    os.replace(out + ".tmp", out)
    print("%s: %d images, top-1 %.2f%%, %d near ties"
          % (os.path.relpath(out, ROOT), n, 100.0 * correct / n, len(ties)))


if __name__ == "__main__":
    main()
