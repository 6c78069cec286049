# SPDX-License-Identifier: MIT
"""Random DeiT-shaped checkpoints, their ONNX exports and a 224x224 calibration set for `make bench`.

    bench_vit.py model NAME DIR   DIR/NAME.safetensors (+ .json sidecar) and DIR/NAME.onnx
    bench_vit.py calib DIR [N]    DIR/train-{images-idx3,labels-idx1}-ubyte: N Fashion-MNIST
                                  training images upscaled 8x to 224x224 (vitrt quantize reads
                                  grey IDX images at the model's size and feeds them to all three
                                  channels)

The weights are random (timm's init from vit.py: trunc normal std 0.02, zero biases) with a
fixed seed per model, so every run and every machine benchmarks the same numbers.  Only the
shapes matter for speed: 224x224 RGB, patch 16, depth 12, MLP 4x, 1000 classes.
"""

import json
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fmnist                      # noqa: E402
import safetensors_io              # noqa: E402
from vit import VisionTransformer  # noqa: E402

SHAPES = {"deit-t": (192, 3), "deit-s": (384, 6), "deit-b": (768, 12)}   # dim, heads
SEEDS = {"deit-t": 1, "deit-s": 2, "deit-b": 3}
MEAN = [0.485, 0.456, 0.406]       # ImageNet's, as DeiT uses
STD = [0.229, 0.224, 0.225]
OPSET = 17                         # LayerNormalization is an op; onnxruntime-node runs it


def make_model(name):
    dim, heads = SHAPES[name]
    torch.manual_seed(SEEDS[name])
    return VisionTransformer(img_size=224, patch_size=16, in_chans=3, num_classes=1000,
                             embed_dim=dim, depth=12, num_heads=heads, mlp_ratio=4.0,
                             eps=1e-6).eval()


def write_json(path, obj):
    with open(path + ".tmp", "w") as f:
        json.dump(obj, f, indent=1)
        f.write("\n")
    os.replace(path + ".tmp", path)


def cmd_model(name, out):
    model = make_model(name)
    dim, heads = SHAPES[name]
    ckpt = os.path.join(out, name + ".safetensors")
    state = {k: v.detach().float().contiguous() for k, v in model.state_dict().items()}
    meta = {"format": "pt", "arch": "vit", "img_size": "224", "patch_size": "16",
            "embed_dim": str(dim), "depth": "12", "num_heads": str(heads)}
    safetensors_io.save(ckpt, state, meta)
    write_json(ckpt + ".json", {"heads": heads, "eps": 1e-6, "mean": MEAN, "std": STD,
                                "note": "random weights (seed %d) for make bench" % SEEDS[name]})

    onnx = os.path.join(out, name + ".onnx")
    x = torch.randn(1, 3, 224, 224)
    with torch.no_grad():
        torch.onnx.export(model, x, onnx + ".tmp", opset_version=OPSET,
                          input_names=["pixels"], output_names=["logits"],
                          dynamic_axes={"pixels": {0: "batch"}, "logits": {0: "batch"}})
    os.replace(onnx + ".tmp", onnx)
    params = sum(v.numel() for v in state.values())
    print("bench_vit: %s: %.1f M parameters -> %s, %s" % (name, params / 1e6, ckpt, onnx))


def write_idx(path, a):
    with open(path + ".tmp", "wb") as f:
        f.write(bytes([0, 0, 0x08, a.ndim]))
        f.write(np.array(a.shape, dtype=">u4").tobytes())
        f.write(np.ascontiguousarray(a, dtype=np.uint8).tobytes())
    os.replace(path + ".tmp", path)


def cmd_calib(out, count):
    images, labels = fmnist.load("train")
    big = images[:count].repeat(8, axis=1).repeat(8, axis=2)      # 28 * 8 = 224
    write_idx(os.path.join(out, "train-labels-idx1-ubyte"), labels[:count])
    write_idx(os.path.join(out, "train-images-idx3-ubyte"), big)
    print("bench_vit: %d calibration images of 224x224 in %s" % (count, out))


def main(argv):
    if len(argv) == 3 and argv[0] == "model" and argv[1] in SHAPES:
        os.makedirs(argv[2], exist_ok=True)
        cmd_model(argv[1], argv[2])
    elif len(argv) in (2, 3) and argv[0] == "calib":
        os.makedirs(argv[1], exist_ok=True)
        cmd_calib(argv[1], int(argv[2]) if len(argv) == 3 else 16)
    else:
        sys.exit("usage: bench_vit.py model {%s} DIR | calib DIR [N]" % ",".join(SHAPES))


if __name__ == "__main__":
    main(sys.argv[1:])
