#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Make the FP32 reference data for vitrt's floating-point forward (tests/golden/fp32/).

    /usr/bin/python3 tests/golden/fp32/make_refs.py [--only tvvit,timmvit,fmnist16]

Writes, next to this script:
  tvvit.safetensors(.json)    random torchvision VisionTransformer, torchvision names
  tvvit.input.f32             [4,3,32,32] inputs, tvvit.logits.f32 [4,10] logits
  timmvit.safetensors(.json)  random timm-named ViT (models/vit.py), timm names
  timmvit.input.f32           [4,1,28,28] inputs, timmvit.logits.f32 [4,10] logits
  fmnist16.input.f32          first 16 Fashion-MNIST test images, normalized, [16,1,28,28]
  fmnist16.logits.f32         the shipped models/vit-fmnist.safetensors on them, [16,10]
All .f32 files are raw little-endian float32, C order, no header.  Logits are computed
in float64 (model.double() on the float32 weights and inputs) and then rounded to float32.
Every logits file is also checked against an independent numpy float64 forward written
here from the timm semantics (torchvision names mapped to timm names), and every
safetensors file is reloaded with models/safetensors_io.py and compared bit for bit.
Needs only Debian packages: python3-torch, python3-torchvision, dataset-fashion-mnist.
"""

import argparse
import json
import math
import os
import re
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "models"))

import fmnist                      # noqa: E402
import safetensors_io              # noqa: E402
from vit import VisionTransformer  # noqa: E402

sys.path.insert(0, HERE)
import timm_ref                    # noqa: E402

EPS = 1e-6
# the random models' sidecars: pixel/255 as it is (the .input.f32 files are inputs already)
NO_NORM = {"mean": [0.0], "std": [1.0]}
NO_NORM3 = {"mean": [0.0] * 3, "std": [1.0] * 3}


# ---------------------------------------------------------------- helpers

def write_f32(name, array):
    """Write a raw little-endian float32 file (temporary + rename)."""
    path = os.path.join(HERE, name)
    a = np.ascontiguousarray(np.asarray(array, dtype="<f4"))
    with open(path + ".tmp", "wb") as f:
        f.write(a.tobytes())
    os.replace(path + ".tmp", path)
    print("  %-22s %-14s %7d bytes" % (name, list(a.shape), os.path.getsize(path)))
    return a


def write_json(name, obj):
    path = os.path.join(HERE, name)
    with open(path + ".tmp", "w") as f:
        json.dump(obj, f)
        f.write("\n")
    os.replace(path + ".tmp", path)


def write_safetensors(name, state, metadata=None):
    path = os.path.join(HERE, name)
    tensors = {k: v.detach().float().contiguous() for k, v in state.items()}
    safetensors_io.save(path, tensors, metadata)
    n = safetensors_io.check_roundtrip(path, tensors)
    print("  %-22s %d tensors  %7d bytes  (round trip ok)" % (name, n, os.path.getsize(path)))


def perturb_(model, gen, scale_weights):
    """Random weights that make every part of the model matter.

    Linear/conv weights normal(0, gain/sqrt(fan_in)) so activations keep their size and
    attention is far from uniform; biases normal(0, 0.1); LayerNorm weights 1 + normal(0,
    0.2), biases normal(0, 0.1) (so neither is 1/0); class token and position embedding
    normal(0, 0.5).
    """
    with torch.no_grad():
        for name, p in model.named_parameters():
            r = torch.randn(p.shape, generator=gen, dtype=torch.float32)
            if re.search(r"(^|\.|fc_)(ln_?\d?|norm\d?|ln)\.weight$", name):
                p.copy_(1.0 + 0.2 * r)
            elif name.endswith(".gamma"):
                p.copy_(0.5 + 0.2 * r)            # LayerScale: far from timm's 1e-5 start
            elif name.endswith("bias"):
                p.copy_(0.1 * r)
            elif name in ("class_token", "cls_token", "dist_token", "pos_embed",
                          "encoder.pos_embedding"):
                p.copy_(0.5 * r)
            else:
                fan_in = p[0].numel()
                p.copy_(r * (scale_weights / math.sqrt(fan_in)))


def logits64(model, x32):
    """float64 forward of a float32 model on float32 inputs (both converted exactly)."""
    m = model.double().eval()
    with torch.no_grad():
        out = m(torch.from_numpy(x32).double()).numpy()
    model.float()
    return out


# ---------------------------------------------- independent numpy float64 forward

_erf = np.frompyfunc(math.erf, 1, 1)


def _layernorm(x, g, b, eps):
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * g + b


def _gelu(x):
    return 0.5 * x * (1.0 + _erf(x / math.sqrt(2.0)).astype(np.float64))


def tv_to_timm(name):
    """torchvision vit_* state_dict name -> timm name (the mapping vitrt implements)."""
    fixed = {"class_token": "cls_token", "conv_proj.weight": "patch_embed.proj.weight",
             "conv_proj.bias": "patch_embed.proj.bias", "encoder.pos_embedding": "pos_embed",
             "encoder.ln.weight": "norm.weight", "encoder.ln.bias": "norm.bias",
             "heads.head.weight": "head.weight", "heads.head.bias": "head.bias"}
    if name in fixed:
        return fixed[name]
    m = re.match(r"encoder\.layers\.encoder_layer_(\d+)\.(.*)$", name)
    if not m:
        raise KeyError(name)
    sub = {"ln_1": "norm1", "ln_2": "norm2", "self_attention.in_proj_weight": "attn.qkv.weight",
           "self_attention.in_proj_bias": "attn.qkv.bias",
           "self_attention.out_proj.weight": "attn.proj.weight",
           "self_attention.out_proj.bias": "attn.proj.bias",
           "mlp.0": "mlp.fc1", "mlp.3": "mlp.fc2"}
    rest = m.group(2)
    for k, v in sub.items():
        if rest == k or rest.startswith(k + "."):
            return "blocks.%s.%s%s" % (m.group(1), v, rest[len(k):])
    raise KeyError(name)


def numpy_forward(w, heads, eps, x, pool="token"):
    """timm ViT forward in float64 numpy; w maps timm names to arrays, x is [B,chans,H,W].

    The variants follow from the names present: cls_token / dist_token (prefix tokens),
    pos_embed without their rows (no_embed_class), ls1/ls2.gamma (LayerScale), no qkv bias,
    fc_norm (then pool is "avg"); @pool "avg" without fc_norm normalizes before the mean.
    """
    w = {k: np.asarray(v, dtype=np.float64) for k, v in w.items()}
    x = np.asarray(x, dtype=np.float64)
    pw = w["patch_embed.proj.weight"]                      # C, chans, p, p
    C, chans, p, _ = pw.shape
    B, _, H, W = x.shape
    gh, gw = H // p, W // p
    patches = x.reshape(B, chans, gh, p, gw, p).transpose(0, 2, 4, 1, 3, 5)
    patches = patches.reshape(B, gh * gw, chans * p * p)   # row-major patch order
    t = patches @ pw.reshape(C, -1).T + w["patch_embed.proj.bias"]
    prefix = [np.broadcast_to(w[n].reshape(1, 1, C), (B, 1, C))
              for n in ("cls_token", "dist_token") if n in w]
    if w["pos_embed"].shape[1] == gh * gw and prefix:      # no_embed_class
        t = np.concatenate(prefix + [t + w["pos_embed"]], axis=1)
    else:
        t = np.concatenate(prefix + [t], axis=1) + w["pos_embed"]
    T, npre = t.shape[1], len(prefix)
    D = C // heads
    depth = len({k.split(".")[1] for k in w if k.startswith("blocks.")})
    for i in range(depth):
        g = lambda n, d=None: w.get("blocks.%d.%s" % (i, n), d)   # noqa: E731
        h = _layernorm(t, g("norm1.weight"), g("norm1.bias"), eps)
        qkv = h @ g("attn.qkv.weight").T + g("attn.qkv.bias", 0.0)
        q, k, v = (qkv[..., j * C:(j + 1) * C].reshape(B, T, heads, D).transpose(0, 2, 1, 3)
                   for j in range(3))
        s = (q * D ** -0.5) @ k.transpose(0, 1, 3, 2)
        s = np.exp(s - s.max(-1, keepdims=True))
        s /= s.sum(-1, keepdims=True)
        a = (s @ v).transpose(0, 2, 1, 3).reshape(B, T, C)
        t = t + (a @ g("attn.proj.weight").T + g("attn.proj.bias")) * g("ls1.gamma", 1.0)
        h = _layernorm(t, g("norm2.weight"), g("norm2.bias"), eps)
        h = _gelu(h @ g("mlp.fc1.weight").T + g("mlp.fc1.bias"))
        t = t + (h @ g("mlp.fc2.weight").T + g("mlp.fc2.bias")) * g("ls2.gamma", 1.0)
    if "fc_norm.weight" in w:
        t = _layernorm(t[:, npre:].mean(1), w["fc_norm.weight"], w["fc_norm.bias"], eps)
    elif pool == "avg":
        t = _layernorm(t, w["norm.weight"], w["norm.bias"], eps)[:, npre:].mean(1)
    else:
        t = _layernorm(t, w["norm.weight"], w["norm.bias"], eps)
        if "dist_token" in w:
            return ((t[:, 0] @ w["head.weight"].T + w["head.bias"]) +
                    (t[:, 1] @ w["head_dist.weight"].T + w["head_dist.bias"])) / 2
        t = t[:, 0]
    return t @ w["head.weight"].T + w["head.bias"]


def crosscheck(tag, ref64, logits32, weights, heads, x, pool="token"):
    """Demand the independent numpy forward agree with torch's float64 forward."""
    np_out = numpy_forward(weights, heads, EPS, x, pool)
    err = np.abs(np_out - ref64).max() / np.abs(ref64).max()
    err32 = np.abs(logits32.astype(np.float64) - ref64).max() / np.abs(ref64).max()
    print("  %s: numpy vs torch float64 max rel err %.2e; stored float32 rounding %.2e"
          % (tag, err, err32))
    if not err < 1e-10:
        raise SystemExit("%s: numpy forward disagrees with torch (%.3e)" % (tag, err))


# ---------------------------------------------------------------- the references

def make_tvvit():
    import torchvision
    print("tvvit: torchvision VisionTransformer, random weights")
    torch.manual_seed(0)
    model = torchvision.models.VisionTransformer(
        image_size=32, patch_size=8, num_layers=2, num_heads=2, hidden_dim=64,
        mlp_dim=128, num_classes=10)
    gen = torch.Generator().manual_seed(1)
    perturb_(model, gen, scale_weights=1.0)
    model.eval()
    x = torch.randn((4, 3, 32, 32), generator=gen).numpy()
    state = model.state_dict()
    write_safetensors("tvvit.safetensors", state, {"format": "pt", "names": "torchvision"})
    write_json("tvvit.safetensors.json", {"heads": 2, "eps": EPS, **NO_NORM3})
    x = write_f32("tvvit.input.f32", x)
    ref = logits64(model, x)
    out = write_f32("tvvit.logits.f32", ref)
    timm_w = {tv_to_timm(k): v.numpy() for k, v in state.items()}
    crosscheck("tvvit", ref, out, timm_w, 2, x)


def make_timmvit():
    print("timmvit: timm-named ViT (models/vit.py), random weights")
    torch.manual_seed(0)
    model = VisionTransformer(img_size=28, patch_size=4, in_chans=1, num_classes=10,
                              embed_dim=48, depth=2, num_heads=3, mlp_ratio=4.0, eps=EPS)
    gen = torch.Generator().manual_seed(2)
    perturb_(model, gen, scale_weights=1.0)
    model.eval()
    x = torch.randn((4, 1, 28, 28), generator=gen).numpy()
    state = model.state_dict()
    write_safetensors("timmvit.safetensors", state, {"format": "pt", "names": "timm"})
    write_json("timmvit.safetensors.json", {"heads": 3, "eps": EPS, **NO_NORM})
    x = write_f32("timmvit.input.f32", x)
    ref = logits64(model, x)
    out = write_f32("timmvit.logits.f32", ref)
    crosscheck("timmvit", ref, out, {k: v.numpy() for k, v in state.items()}, 3, x)


def make_fmnist16(ckpt, data):
    print("fmnist16: shipped model %s on the first 16 test images" % os.path.relpath(ckpt, ROOT))
    weights, _ = safetensors_io.load(ckpt)
    with open(ckpt + ".json") as f:
        side = json.load(f)
    heads = side["heads"]
    C, chans, p, _ = weights["patch_embed.proj.weight"].shape
    T = weights["pos_embed"].shape[1]
    img = int(round(math.sqrt(T - 1))) * p
    depth = len({k.split(".")[1] for k in weights if k.startswith("blocks.")})
    classes = weights["head.weight"].shape[0]
    model = VisionTransformer(img_size=img, patch_size=p, in_chans=chans, num_classes=classes,
                              embed_dim=C, depth=depth, num_heads=heads,
                              eps=side.get("eps", EPS))
    model.load_state_dict({k: torch.from_numpy(v) for k, v in weights.items()}, strict=True)
    images, labels = fmnist.load("t10k", data)
    x = fmnist.normalize(images[:16])
    x = write_f32("fmnist16.input.f32", x)
    ref = logits64(model, x)
    out = write_f32("fmnist16.logits.f32", ref)
    crosscheck("fmnist16", ref, out, weights, heads, x)
    pred = ref.argmax(1)
    print("  labels     %s" % " ".join(str(int(v)) for v in labels[:16]))
    print("  predicted  %s  (%d/16 correct)"
          % (" ".join(str(int(v)) for v in pred), int((pred == labels[:16]).sum())))


# name: timm_ref.VisionTransformer arguments, whether the checkpoint is a model folder
VARIANTS = {
    "deitdist": (dict(img_size=32, patch_size=8, in_chans=3, embed_dim=24, num_heads=2,
                      distilled=True), False),
    "gapvit": (dict(img_size=28, patch_size=14, in_chans=1, embed_dim=24, num_heads=2,
                    global_pool="avg"), False),
    "gapnocls": (dict(img_size=48, patch_size=16, in_chans=1, embed_dim=24, num_heads=2,
                      class_token=False, global_pool="avg", fc_norm=False, qkv_bias=False,
                      init_values=0.1), False),
    "deit3": (dict(img_size=64, patch_size=32, in_chans=1, embed_dim=16, num_heads=2,
                   no_embed_class=True, init_values=0.1, qkv_bias=False), True),
}
FMNIST_LABELS = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                 "Sneaker", "Bag", "Ankle boot"]


def timm_config(args, classes, mean, std, interpolation="bilinear", crop_pct=1.0):
    """config.json as timm's push_to_hub writes it (hub.py save_config_for_hf)."""
    return {
        "architecture": "vit_test_patch%d_%d" % (args["patch_size"], args["img_size"]),
        "num_classes": classes, "num_features": args["embed_dim"],
        "global_pool": args.get("global_pool", "token"),
        "model_args": {"num_heads": args["num_heads"]},
        "label_names": FMNIST_LABELS[:classes] if classes == 10 else None,
        "pretrained_cfg": {
            "tag": "random", "custom_load": False,
            "input_size": [args["in_chans"], args["img_size"], args["img_size"]],
            "fixed_input_size": True, "interpolation": interpolation, "crop_pct": crop_pct,
            "crop_mode": "center", "mean": mean, "std": std, "num_classes": classes,
            "pool_size": None, "first_conv": "patch_embed.proj", "classifier": "head"},
    }


def make_variant(name, args, folder, images=2, classes=10, seed=3, mlp_ratio=2.0):
    """A random timm-named variant, its inputs and float64 logits (file + sidecar or folder)."""
    print("%s: timm %s, random weights" % (name, ", ".join(
        "%s=%s" % kv for kv in args.items() if kv[0] not in ("img_size", "patch_size"))))
    torch.manual_seed(0)
    model = timm_ref.VisionTransformer(num_classes=classes, depth=2, mlp_ratio=mlp_ratio,
                                       eps=EPS, **args)
    gen = torch.Generator().manual_seed(seed)
    perturb_(model, gen, scale_weights=1.0)
    model.eval()
    chans, img = args["in_chans"], args["img_size"]
    x = torch.randn((images, chans, img, img), generator=gen).numpy()
    state = model.state_dict()
    norm = {"mean": [0.0] * chans, "std": [1.0] * chans}
    if folder:
        os.makedirs(os.path.join(HERE, name), exist_ok=True)
        write_safetensors(os.path.join(name, "model.safetensors"), state,
                          {"format": "pt", "names": "timm"})
        write_json(os.path.join(name, "config.json"),
                   timm_config(args, classes, norm["mean"], norm["std"]))
    else:
        write_safetensors(name + ".safetensors", state, {"format": "pt", "names": "timm"})
        write_json(name + ".safetensors.json", {"heads": args["num_heads"], "eps": EPS, **norm})
    x = write_f32(name + ".input.f32", x)
    ref = logits64(model, x)
    out = write_f32(name + ".logits.f32", ref)
    crosscheck(name, ref, out, {k: v.numpy() for k, v in state.items()}, args["num_heads"], x,
               args.get("global_pool", "token"))


def timm_to_tv(name):
    """timm name -> torchvision vit_* name: the inverse of tv_to_timm."""
    fixed = {"cls_token": "class_token", "patch_embed.proj.weight": "conv_proj.weight",
             "patch_embed.proj.bias": "conv_proj.bias", "pos_embed": "encoder.pos_embedding",
             "norm.weight": "encoder.ln.weight", "norm.bias": "encoder.ln.bias",
             "head.weight": "heads.head.weight", "head.bias": "heads.head.bias"}
    if name in fixed:
        return fixed[name]
    m = re.match(r"blocks\.(\d+)\.(.*)$", name)
    sub = {"norm1": "ln_1", "norm2": "ln_2", "attn.qkv.weight": "self_attention.in_proj_weight",
           "attn.qkv.bias": "self_attention.in_proj_bias",
           "attn.proj": "self_attention.out_proj", "mlp.fc1": "mlp.0", "mlp.fc2": "mlp.3"}
    for k, v in sub.items():
        if m.group(2) == k or m.group(2).startswith(k + "."):
            return "encoder.layers.encoder_layer_%s.%s%s" % (m.group(1), v, m.group(2)[len(k):])
    raise KeyError(name)


# Full size (--full DIR, scripts/fp32_fullsize.sh): name, form, timm_ref arguments; S is
# DeiT-S's width (384, 6 heads, 12 blocks), B ViT-B's (768, 12 heads).
S = dict(embed_dim=384, num_heads=6, depth=12)
B = dict(embed_dim=768, num_heads=12, depth=12)
L = dict(embed_dim=1024, num_heads=16, depth=24)
FULL = [
    ("deit_s", "file", dict(img_size=224, patch_size=16, **S)),
    ("deit_s_distilled", "file", dict(img_size=224, patch_size=16, distilled=True, **S)),
    ("deit3_s", "folder", dict(img_size=224, patch_size=16, no_embed_class=True,
                               init_values=1e-1, **S)),
    ("vit_s_gap", "file", dict(img_size=224, patch_size=16, global_pool="avg", **S)),
    ("vit_s_nocls_noqkvb", "file", dict(img_size=224, patch_size=16, class_token=False,
                                         global_pool="avg", fc_norm=False, qkv_bias=False, **S)),
    ("vit_s16_384", "file", dict(img_size=384, patch_size=16, **S)),
    ("vit_s14", "file", dict(img_size=224, patch_size=14, **S)),
    ("vit_s8", "file", dict(img_size=224, patch_size=8, **S)),
    ("tv_vit_b_16", "tv", dict(img_size=224, patch_size=16, **B)),
    ("tv_vit_b_32", "tv", dict(img_size=224, patch_size=32, **B)),
    ("tv_vit_l_16", "tv", dict(img_size=224, patch_size=16, **L)),
]
IMAGENET_MEAN = [0.485, 0.456, 0.406]
IMAGENET_STD = [0.229, 0.224, 0.225]


def make_full(out, only):
    """Full-size random checkpoints, one input each and its float64 logits, in @out."""
    global HERE
    HERE = out
    with open(os.path.join(out, "list.txt"), "w") as lst:
        for name, form, args in FULL:
            if only and name not in only:
                continue
            print("%s: %s" % (name, args))
            torch.manual_seed(0)
            model = timm_ref.VisionTransformer(in_chans=3, num_classes=1000, eps=EPS, **args)
            perturb_(model, torch.Generator().manual_seed(4), scale_weights=1.0)
            model.eval()
            img = args["img_size"]
            x = torch.randn((1, 3, img, img), generator=torch.Generator().manual_seed(5))
            state = model.state_dict()
            norm = {"mean": IMAGENET_MEAN, "std": IMAGENET_STD}
            if form == "folder":
                os.makedirs(os.path.join(out, name), exist_ok=True)
                write_safetensors(os.path.join(name, "model.safetensors"), state)
                cfg = timm_config(dict(in_chans=3, **args), 1000, IMAGENET_MEAN, IMAGENET_STD,
                                  "bicubic", 0.9)
                write_json(os.path.join(name, "config.json"), cfg)
                ckpt, fmt = name, "timm"
            else:
                if form == "tv":
                    state = {timm_to_tv(k): v for k, v in state.items()}
                ckpt, fmt = name + ".safetensors", "torchvision" if form == "tv" else "timm"
                write_safetensors(ckpt, state)
                write_json(ckpt + ".json", {"heads": args["num_heads"], "eps": EPS, **norm})
            x = write_f32(name + ".input.f32", x.numpy())
            write_f32(name + ".logits.f32", logits64(model, x))
            lst.write("%s %s %s\n" % (name, ckpt, fmt))
            lst.flush()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", default=",".join(["tvvit", "timmvit", "fmnist16"] + list(VARIANTS)),
                    help="comma-separated subset of tvvit,timmvit,fmnist16,"
                    + ",".join(VARIANTS))
    ap.add_argument("--ckpt", default=os.path.join(ROOT, "models", "vit-fmnist.safetensors"))
    ap.add_argument("--data", default=fmnist.DEFAULT_DIR)
    ap.add_argument("--full", metavar="DIR",
                    help="write the full-size set (names in FULL; --only selects) to DIR")
    args = ap.parse_args()
    if args.full:
        torch.set_num_threads(os.cpu_count() or 1)
        make_full(args.full, set(args.only.split(",")) if "--only" in sys.argv else None)
        return
    torch.set_num_threads(1)
    which = set(args.only.split(","))
    unknown = which - {"tvvit", "timmvit", "fmnist16"} - set(VARIANTS)
    if unknown:
        raise SystemExit("unknown reference(s): %s" % ", ".join(sorted(unknown)))
    if "tvvit" in which:
        make_tvvit()
    if "timmvit" in which:
        make_timmvit()
    if "fmnist16" in which:
        make_fmnist16(args.ckpt, args.data)
    for name, (vargs, folder) in VARIANTS.items():
        if name in which:
            make_variant(name, vargs, folder)


if __name__ == "__main__":
    main()
