#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""The (path, label) list torchvision's ImageFolder makes of imagefolder_tree.txt.

Run by hand (Debian's python3-torchvision), not by make check:
    tests/unit/data/imagefolder_order.py >tests/unit/data/imagefolder_order.txt
The tree is made in a temporary folder with empty files (torchvision lists by name only),
without the "loop" links (with them, os.walk goes round each loop until the system refuses
a path of 40 symlinks, and two loops make that 2^40 folders), and listed with vitrt's
extensions (PNG and JPEG).
"""
import os
import tempfile

import torchvision
from torchvision.datasets import DatasetFolder

HERE = os.path.dirname(os.path.abspath(__file__))
EXTENSIONS = (".png", ".jpg", ".jpeg")


def build(root, lines):
    for line in lines:
        words = line.split()
        if not words or words[0].startswith("#") or words[0] == "loop":
            continue
        path = os.path.join(root, words[1])
        os.makedirs(os.path.dirname(path), exist_ok=True)
        if words[0] == "file":
            open(path, "w").close()
        else:
            os.symlink(words[2], path)


def samples(root):
    ds = DatasetFolder(root, loader=lambda p: None, extensions=EXTENSIONS)
    return [(os.path.relpath(p, root), label) for p, label in ds.samples]


def main():
    with open(os.path.join(HERE, "imagefolder_tree.txt")) as f:
        lines = f.read().splitlines()
    with tempfile.TemporaryDirectory() as tmp:
        build(tmp, lines)
        order = samples(tmp)
    print(f"# torchvision {torchvision.__version__} DatasetFolder(extensions={EXTENSIONS}) "
          "on imagefolder_tree.txt without its loops: path, label")
    for path, label in order:
        print(path, label)


if __name__ == "__main__":
    main()
