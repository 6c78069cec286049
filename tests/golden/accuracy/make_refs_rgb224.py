#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Record PyTorch's FP32 predictions of the 197-token RGB model on all Fashion-MNIST test images.

    nice -n 19 /usr/bin/python3 tests/golden/accuracy/make_refs_rgb224.py

Writes fmnist-rgb224-t10k.txt next to this script: comment lines ('#'), then one line per image
in test-set order, "LABEL PRED": the true label and the class models/vit-fmnist-rgb224 (F16
weights as shipped, computed in float32) predicts, its input made as vitrt makes it from the
28x28 image (models/train_rgb224.py's Prep: Pillow-exact bicubic to 256, centre crop 224, gray
to RGB, ImageNet mean/std).  tests/unit/accuracy_rgb224.sh compares vitrt's classes with it.
Images whose two best logits are closer than TIE are near ties, counted in the header.
About 10 minutes on 2 busy cores.
"""

import argparse
import json
import os
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "models"))

import fmnist                      # noqa: E402
import safetensors_io              # noqa: E402
import train_rgb224                # noqa: E402
from vit import VisionTransformer  # noqa: E402

TIE = 1e-3


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=os.path.join(ROOT, "models", "vit-fmnist-rgb224"))
    ap.add_argument("--data", default=fmnist.DEFAULT_DIR)
    ap.add_argument("--out", default=os.path.join(HERE, "fmnist-rgb224-t10k.txt"))
    args = ap.parse_args()
    torch.set_num_threads(2)

    with open(os.path.join(args.model, "config.json")) as f:
        cfg = json.load(f)
    w, _ = safetensors_io.load(os.path.join(args.model, "model.safetensors"))
    a = cfg["model_args"]
    model = VisionTransformer(img_size=224, patch_size=16, in_chans=3, num_classes=10,
                              embed_dim=a["embed_dim"], depth=a["depth"],
                              num_heads=a["num_heads"], eps=1e-6)
    model.load_state_dict({k: torch.from_numpy(v).float() for k, v in w.items()}, strict=True)
    model.eval()

    images, labels = fmnist.load("t10k", args.data)
    prep = train_rgb224.Prep()
    with torch.no_grad():
        logits = torch.cat([model(prep(torch.from_numpy(images[i:i + 100].copy())))
                            for i in range(0, len(images), 100)]).numpy()
    pred = logits.argmax(1)
    top2 = np.sort(logits, 1)[:, -2:]
    ties = np.nonzero(top2[:, 1] - top2[:, 0] < TIE)[0]
    ok = pred == labels

    with open(args.out + ".tmp", "w") as f:
        f.write("# %s on the 10000 Fashion-MNIST test images (t10k) as 3x224x224, float32 "
                "PyTorch\n" % os.path.relpath(args.model, ROOT))
        f.write("# made by tests/golden/accuracy/make_refs_rgb224.py; one line per image: "
                "LABEL PRED\n")
        f.write("# top-1 %d/10000 = %.2f%%, first 2000: %d = %.2f%%; near ties (margin < %g): "
                "%d%s\n" % (ok.sum(), 100.0 * ok.mean(), ok[:2000].sum(), 100.0 * ok[:2000].mean(),
                            TIE, len(ties), "".join(" %d" % i for i in ties)))
        for lab, p in zip(labels, pred):
            f.write("%d %d\n" % (lab, p))
    os.replace(args.out + ".tmp", args.out)
    print("%s: top-1 %.2f%% (first 2000: %.2f%%), %d near ties"
          % (args.out, 100.0 * ok.mean(), 100.0 * ok[:2000].mean(), len(ties)))


if __name__ == "__main__":
    main()
