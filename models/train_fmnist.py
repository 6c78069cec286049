#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Train the shipped Fashion-MNIST ViT on the CPU and export it as timm-named safetensors.

    /usr/bin/python3 models/train_fmnist.py            # writes models/vit-fmnist.safetensors(.json)

Needs only Debian packages: python3-torch, libopenblas0-pthread, dataset-fashion-mnist.
"""

import argparse
import json
import os
import sys
import time

import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import fmnist                      # noqa: E402
import safetensors_io              # noqa: E402
import train_common                # noqa: E402
from vit import VisionTransformer  # noqa: E402


def augment(xb, gen, pad, flip_p):
    """Augmentation of a uint8 batch [B,28,28]: random crop (zero padding pad) and horizontal flip."""
    B, H, W = xb.shape
    if pad == 0 and flip_p == 0:
        return xb
    xp = F.pad(xb, (pad, pad, pad, pad))                    # zero pixels, as torchvision
    oy = torch.randint(0, 2 * pad + 1, (B,), generator=gen)
    ox = torch.randint(0, 2 * pad + 1, (B,), generator=gen)
    rows = (oy[:, None] + torch.arange(H))[:, :, None]
    cols = (ox[:, None] + torch.arange(W))[:, None, :]
    out = xp[torch.arange(B)[:, None, None], rows, cols]
    return train_common.random_flip(out, gen, flip_p)


def to_input(xb_u8):
    x = xb_u8.float().div_(255.0)
    return x.sub_(fmnist.MEAN).div_(fmnist.STD).unsqueeze(1)


@torch.no_grad()
def evaluate(model, images, labels, batch=250):
    model.eval()
    correct = 0
    for i in range(0, images.shape[0], batch):
        logits = model(to_input(images[i:i + batch]))
        correct += (logits.argmax(1) == labels[i:i + batch]).sum().item()
    model.train()
    return 100.0 * correct / images.shape[0]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=fmnist.DEFAULT_DIR)
    ap.add_argument("--out", default=os.path.join(HERE, "vit-fmnist.safetensors"))
    ap.add_argument("--dim", type=int, default=128)
    ap.add_argument("--depth", type=int, default=6)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--patch", type=int, default=7)
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--lr", type=float, default=1.5e-3)
    ap.add_argument("--wd", type=float, default=0.05)
    ap.add_argument("--warmup", type=float, default=0.5, help="warm-up length in epochs")
    ap.add_argument("--smoothing", type=float, default=0.1)
    ap.add_argument("--crop-pad", type=int, default=2,
                    help="random-crop padding in pixels (0: off; 2 = light)")
    ap.add_argument("--flip", type=float, default=0.5,
                    help="horizontal flip probability (0: off; 0.5 = light)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--init", help="start from this checkpoint (a fine-tuning stage) instead of "
                    "a fresh initialization; the architecture options must match it")
    ap.add_argument("--limit", type=int, default=0, help="use only N training images (smoke test)")
    args = ap.parse_args()

    gen = train_common.seeded(args.threads, args.seed)
    tr_x, tr_y, te_x, te_y = train_common.load_fmnist(args.data, args.limit)

    model = VisionTransformer(img_size=28, patch_size=args.patch, in_chans=1,
                              num_classes=10, embed_dim=args.dim, depth=args.depth,
                              num_heads=args.heads, mlp_ratio=4.0, eps=1e-6)
    model.init_pos_sincos()
    if args.init:
        tensors, _ = safetensors_io.load(args.init)
        model.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in tensors.items()})
    nparams = sum(p.numel() for p in model.parameters())
    print("config: dim %d depth %d heads %d patch %d tokens %d params %d; epochs %d batch %d "
          "lr %g wd %g smoothing %g crop-pad %d flip %g seed %d threads %d init %s"
          % (args.dim, args.depth, args.heads, args.patch, model.pos_embed.shape[1], nparams,
             args.epochs, args.batch, args.lr, args.wd, args.smoothing, args.crop_pad,
             args.flip, args.seed, args.threads, args.init or "-"), flush=True)

    opt = train_common.adamw(model, args.lr, args.wd)
    n = tr_x.shape[0]
    steps_per_epoch = n // args.batch               # drop the last partial batch
    total = steps_per_epoch * args.epochs
    warm = max(1, int(args.warmup * steps_per_epoch))
    lr_at = train_common.warmup_cosine(args.lr, warm, train_common.by_steps(warm, total))

    t0 = time.time()
    step = 0
    acc = 0.0
    model.train()
    for epoch in range(args.epochs):
        perm = torch.randperm(n, generator=gen)
        running = 0.0
        for i in range(steps_per_epoch):
            idx = perm[i * args.batch:(i + 1) * args.batch]
            x = to_input(augment(tr_x[idx], gen, args.crop_pad, args.flip))
            running += train_common.train_step(model, opt, lr_at(step), x, tr_y[idx],
                                               args.smoothing)
            step += 1
            if (i + 1) % 100 == 0:
                print("  epoch %d step %d/%d loss %.4f lr %.2e  %.0fs"
                      % (epoch + 1, i + 1, steps_per_epoch, running / 100,
                         lr_at(step - 1), time.time() - t0), flush=True)
                running = 0.0
        acc = evaluate(model, te_x, te_y)
        print("epoch %d/%d: test top-1 %.2f%%  elapsed %.0fs"
              % (epoch + 1, args.epochs, acc, time.time() - t0), flush=True)

    train_s = time.time() - t0
    state = {k: v.detach().float().contiguous() for k, v in model.state_dict().items()}
    meta = {"format": "pt", "arch": "vit", "img_size": "28", "patch_size": str(args.patch),
            "embed_dim": str(args.dim), "depth": str(args.depth), "num_heads": str(args.heads)}
    safetensors_io.save(args.out, state, meta)
    count = safetensors_io.check_roundtrip(args.out, state)
    sidecar = {"heads": args.heads, "eps": 1e-6, "mean": [fmnist.MEAN], "std": [fmnist.STD],
               "labels": fmnist.LABELS, "fp32_test_top1": round(acc, 2)}
    tmp = args.out + ".json.tmp"
    with open(tmp, "w") as f:
        json.dump(sidecar, f, indent=1)
        f.write("\n")
    os.replace(tmp, args.out + ".json")
    print("wrote %s (%d tensors, %d params, %d bytes; round trip ok) and %s.json"
          % (args.out, count, nparams, os.path.getsize(args.out), args.out))
    print("final: test top-1 %.2f%% on %d images, training time %.0fs (%.1f min)"
          % (acc, te_x.shape[0], train_s, train_s / 60), flush=True)


if __name__ == "__main__":
    main()
