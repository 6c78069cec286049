#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Train a 197-token RGB ViT (DeiT-T widths at 224, patch 16) on Fashion-MNIST made 224x224 RGB.

    nice -n 19 /usr/bin/python3 models/train_rgb224.py --out models/vit-fmnist-rgb224

(the shipped model was trained in two stages on busy cores: models/README.md).  Each 28x28
gray image becomes, bit for bit, what vitrt makes of it as a PNG file for a 3x224 model:
resize to 256x256 (floor(224 / crop_pct)) with Pillow's fixed-point bicubic, centre crop 224,
gray copied to R, G and B, then (pixel / 255 - mean[c]) / std[c] with ImageNet's mean/std.
Writes a timm-style folder, model.safetensors (F16, 3.9 MB; training itself is FP32 with bf16
autocast) + config.json, every --save-every steps, so a stopped run leaves a model.  Needs only
Debian packages: python3-torch, libopenblas0-pthread, dataset-fashion-mnist.
"""

import argparse
import json
import math
import os
import sys
import time

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import fmnist                      # noqa: E402
import safetensors_io              # noqa: E402
import train_common                # noqa: E402
from vit import VisionTransformer  # noqa: E402

SIZE, CROP_PCT, INTERP = 224, 0.875, "bicubic"
MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)
BITS = 22                          # Pillow's and vitrt_resize.c's weight fraction bits


def _bicubic(x):
    a, x = -0.5, abs(x)
    if x < 1.0:
        return ((a + 2.0) * x - (a + 3.0)) * x * x + 1.0
    if x < 2.0:
        return (((x - 5.0) * x + 8.0) * x - 4.0) * a
    return 0.0


def _bilinear(x):
    return max(0.0, 1.0 - abs(x))


def resize_matrix(n_in, n_out, interp=INTERP):
    """Pillow's fixed-point taps (as vitrt_resize.c) as an [n_out, n_in] float64 matrix."""
    weight, support = (_bicubic, 2.0) if interp == "bicubic" else (_bilinear, 1.0)
    scale = n_in / n_out
    fscale = max(scale, 1.0)
    support *= fscale
    m = torch.zeros(n_out, n_in, dtype=torch.float64)
    for o in range(n_out):
        center = (o + 0.5) * scale
        lo = max(int(center - support + 0.5), 0)
        hi = min(int(center + support + 0.5), n_in)
        w = [weight((j - center + 0.5) / fscale) for j in range(lo, hi)]
        s = sum(w)
        for j, v in zip(range(lo, hi), w):
            f = (v / s if s else v) * (1 << BITS)
            m[o, j] = int(f - 0.5) if v < 0 else int(f + 0.5)   # C's truncating cast
    return m


class Prep:
    """uint8 [B,28,28] -> the model's float input [B,3,224,224], as vitrt makes it."""

    def __init__(self, n_in=28):
        big = int(math.floor(SIZE / CROP_PCT))
        d = big - SIZE                                       # torchvision's centre offset
        off = (d // 2 + 1) if (d & 1) and ((d // 2) & 1) else d // 2
        m = resize_matrix(n_in, big)[off:off + SIZE]         # cropping = dropping outputs
        self.mt = m.t().contiguous()                         # [28, 224]
        self.m = m
        self.mean = torch.tensor(MEAN).view(1, 3, 1, 1)
        self.std = torch.tensor(STD).view(1, 3, 1, 1)

    def pixels(self, xb_u8):
        """The u8 image vitrt feeds (one plane; the three are copies), as float64 0..255."""
        half = float(1 << (BITS - 1))
        # Horizontal pass first, u8 in between, as Pillow; integer sums exact in float64.
        t = torch.floor((xb_u8.double() @ self.mt + half) / (1 << BITS)).clamp_(0, 255)
        return torch.floor((self.m @ t + half) / (1 << BITS)).clamp_(0, 255)

    def __call__(self, xb_u8):
        p = self.pixels(xb_u8).float().div_(255.0).unsqueeze(1)
        return (p - self.mean) / self.std


@torch.no_grad()
def predict(model, prep, images, batch=100):
    model.eval()
    out = [model(prep(images[i:i + batch])).argmax(1) for i in range(0, images.shape[0], batch)]
    model.train()
    return torch.cat(out)


def save(model, args, path, acc, note):
    """The timm folder: model.safetensors + config.json (temporary files, then rename)."""
    os.makedirs(path, exist_ok=True)
    state = {k: v.detach().half().contiguous() for k, v in model.state_dict().items()}
    safetensors_io.save(os.path.join(path, "model.safetensors"), state, {"format": "pt"})
    cfg = {"architecture": "vit_tiny_patch16_224", "num_classes": 10, "global_pool": "token",
           "model_args": {"embed_dim": args.dim, "depth": args.depth, "num_heads": args.heads,
                          "patch_size": 16, "img_size": SIZE},
           "pretrained_cfg": {"input_size": [3, SIZE, SIZE], "interpolation": INTERP,
                              "crop_pct": CROP_PCT, "crop_mode": "center",
                              "mean": list(MEAN), "std": list(STD), "num_classes": 10},
           "label_names": fmnist.LABELS,
           "vitsa_training": {"fp32_test_top1": acc, "note": note}}
    tmp = os.path.join(path, "config.json.tmp")
    with open(tmp, "w") as f:
        json.dump(cfg, f, indent=1)
        f.write("\n")
    os.replace(tmp, os.path.join(path, "config.json"))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=fmnist.DEFAULT_DIR)
    ap.add_argument("--out", default=os.path.join(HERE, "vit-fmnist-rgb224"))
    ap.add_argument("--dim", type=int, default=192)
    ap.add_argument("--depth", type=int, default=4)
    ap.add_argument("--heads", type=int, default=3)
    ap.add_argument("--epochs", type=float, default=2.5)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--bf16", type=int, default=1,
                    help="bf16 autocast for training (2x on AVX512-BF16); weights and eval FP32")
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--wd", type=float, default=0.05)
    ap.add_argument("--warmup", type=float, default=0.1, help="warm-up length in epochs")
    ap.add_argument("--stop-after", type=int, default=0,
                    help="stop after N steps, the schedule still that of --epochs")
    ap.add_argument("--minutes", type=float, default=0,
                    help="a wall-clock budget: the cosine follows elapsed time and training "
                    "stops when it is spent (--epochs is then only a cap); for shared CPUs")
    ap.add_argument("--smoothing", type=float, default=0.1)
    ap.add_argument("--flip", type=float, default=0.0, help="horizontal flip probability")
    ap.add_argument("--save-every", type=int, default=150, help="checkpoint every N steps")
    ap.add_argument("--eval-n", type=int, default=500, help="test images scored at each "
                    "checkpoint (all 10,000: tests/golden/accuracy/make_refs_rgb224.py)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--init", help="start from this folder's model.safetensors")
    args = ap.parse_args()

    gen = train_common.seeded(args.threads, args.seed)
    tr_x, tr_y, te_x, te_y = train_common.load_fmnist(args.data)
    prep = Prep()

    model = VisionTransformer(img_size=SIZE, patch_size=16, in_chans=3, num_classes=10,
                              embed_dim=args.dim, depth=args.depth, num_heads=args.heads,
                              mlp_ratio=4.0, eps=1e-6)
    model.init_pos_sincos()
    if args.init:
        tensors, _ = safetensors_io.load(os.path.join(args.init, "model.safetensors"))
        model.load_state_dict({k: torch.from_numpy(v).float() for k, v in tensors.items()})
    print("config: %s tokens %d params %d" % (vars(args), model.pos_embed.shape[1],
                                              sum(p.numel() for p in model.parameters())),
          flush=True)

    opt = train_common.adamw(model, args.lr, args.wd)
    n = tr_x.shape[0]
    per_epoch = n // args.batch
    total = int(args.epochs * per_epoch)
    warm = max(1, int(args.warmup * per_epoch))
    by_steps = train_common.by_steps(warm, total)

    def progress(step):
        """How far along the cosine: by steps, or by wall-clock time under --minutes."""
        if args.minutes:
            return min(1.0, (time.time() - t0) / (60.0 * args.minutes))
        return by_steps(step)

    lr_at = train_common.warmup_cosine(args.lr, warm, progress)

    def checkpoint(step):
        k = args.eval_n
        pred = predict(model, prep, te_x[:k])
        acc = round(100.0 * (pred == te_y[:k]).float().mean().item(), 2)
        note = "step %d/%d (%.2f epochs), top-1 on the first %d test images" % (
            step, total, step / per_epoch, k)
        save(model, args, args.out, acc, note)
        print("checkpoint: %s: %.2f%%  %.0fs" % (note, acc, time.time() - t0), flush=True)

    t0 = time.time()
    running, step = 0.0, 0
    model.train()
    stop = min(total, args.stop_after or total)
    while step < stop and progress(step) < 1.0:
        perm = torch.randperm(n, generator=gen)
        for i in range(per_epoch):
            if step == stop or progress(step) >= 1.0:
                break
            idx = perm[i * args.batch:(i + 1) * args.batch]
            xb = train_common.random_flip(tr_x[idx], gen, args.flip)
            running += train_common.train_step(model, opt, lr_at(step), prep(xb), tr_y[idx],
                                               args.smoothing, bool(args.bf16))
            step += 1
            if step % 50 == 0:
                print("  step %d/%d loss %.4f lr %.2e  %.0fs"
                      % (step, total, running / 50, lr_at(step - 1), time.time() - t0),
                      flush=True)
                running = 0.0
            if step % args.save_every == 0:
                checkpoint(step)
    if step % args.save_every:
        checkpoint(step)
    print("final: %d steps in %.0fs (%.1f min)" % (step, time.time() - t0,
                                                   (time.time() - t0) / 60), flush=True)


if __name__ == "__main__":
    main()
