# SPDX-License-Identifier: MIT
"""What the Fashion-MNIST trainers (train_fmnist.py, train_rgb224.py) share: the dataset as
tensors, the seeds, timm's AdamW parameter groups, the warm-up + cosine learning rate, the
random horizontal flip and one optimizer step.  Each trainer keeps its own loop around them
(epochs with a test score after each; or steps with checkpoints and a wall-clock budget).
"""

import math

import numpy as np
import torch
import torch.nn.functional as F

import fmnist


def load_fmnist(data, limit=0):
    """Training and test images (uint8 [N,28,28]) and labels (int64) as torch tensors;
    @limit: only the first N training images (0: all)."""
    tr_x, tr_y = fmnist.load("train", data)
    te_x, te_y = fmnist.load("t10k", data)
    if limit:
        tr_x, tr_y = tr_x[:limit], tr_y[:limit]
    return (torch.from_numpy(tr_x.copy()), torch.from_numpy(tr_y.astype(np.int64)),
            torch.from_numpy(te_x.copy()), torch.from_numpy(te_y.astype(np.int64)))


def seeded(threads, seed):
    """Set torch's threads and global seed; return the generator of shuffles and augmentation."""
    torch.set_num_threads(threads)
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)


def adamw(model, lr, wd):
    """AdamW with no weight decay on biases, LayerNorm parameters, cls_token and pos_embed
    (as timm)."""
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        (no_decay if p.ndim <= 1 or name in ("cls_token", "pos_embed") else decay).append(p)
    return torch.optim.AdamW([{"params": decay, "weight_decay": wd},
                              {"params": no_decay, "weight_decay": 0.0}],
                             lr=lr, betas=(0.9, 0.999))


def warmup_cosine(lr, warm, progress):
    """lr_at(step): @lr * (step + 1) / @warm for the first @warm steps, then a cosine from @lr
    down to 1e-6 as progress(step) goes from 0 to 1."""
    def lr_at(step):
        if step < warm:
            return lr * (step + 1) / warm
        return 1e-6 + (lr - 1e-6) * 0.5 * (1.0 + math.cos(math.pi * progress(step)))
    return lr_at


def by_steps(warm, total):
    """progress(step) for warmup_cosine: the steps after warm-up, of those up to @total."""
    return lambda step: (step - warm) / max(1, total - warm)


def random_flip(xb, gen, p):
    """Each image of the batch [B,H,W] mirrored left-right with probability @p (B draws of
    @gen, even for p = 0)."""
    flip = torch.rand(xb.shape[0], generator=gen) < p
    return torch.where(flip[:, None, None], xb.flip(-1), xb)


def train_step(model, opt, lr, x, y, smoothing, bf16=False):
    """One optimizer step at learning rate @lr on inputs @x, labels @y: cross-entropy with
    label smoothing, the forward under bf16 autocast when @bf16.  Returns the loss."""
    for g in opt.param_groups:
        g["lr"] = lr
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        logits = model(x)
    loss = F.cross_entropy(logits.float(), y, label_smoothing=smoothing)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    return loss.item()
