#!/usr/bin/python3
"""Pillow's eval resize + centre crop of a few real photographs, the reference of test_resize.

Run with Debian's Python (python3-pil, python3-skimage):  tests/golden/resize/make_refs.py
It copies the inputs it needs from skimage's sample data into in/ (the larger ones cropped or
re-encoded to keep the repository small), then, for each input and each of bicubic and
bilinear, resizes the shorter side to 256 as torchvision's Resize(256) does on a PIL image
(Image.resize, reducing_gap None), centre crops 224 as CenterCrop(224) and writes ref/*.png.
refs.txt lists every case: input, reference, channels, interpolation, resized width, height.
make check reads only the committed files; Python is not needed there.
"""
import math
import os
import shutil

from PIL import Image
import skimage

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(os.path.dirname(skimage.__file__), "data")
SIZE, CROP_PCT = 224, 0.875
MODES = {"bicubic": Image.BICUBIC, "bilinear": Image.BILINEAR}


def copy_inputs():
    """in/<name>: what the C test decodes and this script resizes (the same bytes)."""
    os.makedirs(os.path.join(HERE, "in"), exist_ok=True)
    out = []
    for name in ("chelsea.png", "coffee.png", "camera.png", "hubble_deep_field.jpg",
                 "green_palette.png", "logo.png"):
        src = os.path.join(DATA, name)
        if os.path.exists(src):
            shutil.copyfile(src, os.path.join(HERE, "in", name))
            out.append(name)
    src = os.path.join(DATA, "astronaut.png")
    if os.path.exists(src):
        # the top 512x400 of the astronaut: a landscape shape and 2/3 of the bytes
        Image.open(src).crop((0, 0, 512, 400)).save(os.path.join(HERE, "in", "astronaut.png"))
        out.append("astronaut.png")
    src = os.path.join(DATA, "chelsea.png")
    if os.path.exists(src):
        # a small crop, so that one case enlarges (the filter does not widen)
        Image.open(src).crop((180, 60, 300, 150)).save(os.path.join(HERE, "in", "small.png"))
        out.append("small.png")
    return out


def resize_crop(img, interp):
    """torchvision Resize(int) + CenterCrop on a PIL image, as timm's eval transform."""
    scale = math.floor(SIZE / CROP_PCT)
    w, h = img.size
    short, long = (w, h) if w <= h else (h, w)
    new_long = int(scale * long / short)
    nw, nh = (scale, new_long) if w <= h else (new_long, scale)
    img = img.resize((nw, nh), MODES[interp], reducing_gap=None)
    top = int(round((nh - SIZE) / 2.0))
    left = int(round((nw - SIZE) / 2.0))
    return img.crop((left, top, left + SIZE, top + SIZE)), nw, nh


def main():
    os.makedirs(os.path.join(HERE, "ref"), exist_ok=True)
    lines = []
    for name in copy_inputs():
        img = Image.open(os.path.join(HERE, "in", name))
        img = img.convert("L" if img.mode in ("L", "I;16") else "RGB")
        chans = 1 if img.mode == "L" else 3
        for interp in MODES:
            out, nw, nh = resize_crop(img, interp)
            ref = "%s_%s.png" % (os.path.splitext(name)[0], interp)
            out.save(os.path.join(HERE, "ref", ref))
            lines.append("in/%s ref/%s %d %s %d %d" % (name, ref, chans, interp, nw, nh))
    with open(os.path.join(HERE, "refs.txt"), "w") as f:
        f.write("# input reference channels interpolation resized-width resized-height\n")
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
