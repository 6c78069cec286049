# SPDX-License-Identifier: MIT
"""Fashion-MNIST IDX reader (plain or gzipped) and the model's input normalization."""

import gzip
import os
import struct

import numpy as np

DEFAULT_DIR = "/usr/share/datasets/fashion-mnist"
MEAN = 0.2860
STD = 0.3530
LABELS = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
          "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]


def _open(path):
    if os.path.exists(path):
        return open(path, "rb")
    if os.path.exists(path + ".gz"):
        return gzip.open(path + ".gz", "rb")
    raise FileNotFoundError("%s(.gz) not found" % path)


def read_idx(path):
    """Read an unsigned-byte IDX file (magic 0x0000080N) into a numpy array."""
    with _open(path) as f:
        data = f.read()
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] != 0x08:
        raise ValueError("%s: not an unsigned-byte IDX file" % path)
    ndim = data[3]
    if len(data) < 4 + 4 * ndim:
        raise ValueError("%s: truncated IDX header" % path)
    dims = struct.unpack(">%dI" % ndim, data[4:4 + 4 * ndim])
    count = int(np.prod(dims)) if dims else 1
    body = data[4 + 4 * ndim:]
    if len(body) != count:
        raise ValueError("%s: %d data bytes, header says %d" % (path, len(body), count))
    return np.frombuffer(body, dtype=np.uint8).reshape(dims)


def load(split, root=DEFAULT_DIR):
    """Return (images uint8 [N,28,28], labels uint8 [N]) for split 'train' or 't10k'."""
    images = read_idx(os.path.join(root, "%s-images-idx3-ubyte" % split))
    labels = read_idx(os.path.join(root, "%s-labels-idx1-ubyte" % split))
    if images.shape[0] != labels.shape[0]:
        raise ValueError("%s: %d images but %d labels" % (split, images.shape[0], labels.shape[0]))
    return images, labels


def normalize(images_u8):
    """uint8 [N,28,28] -> float32 [N,1,28,28]: (pixel/255 - MEAN) / STD."""
    x = images_u8.astype(np.float32) / np.float32(255.0)
    x = (x - np.float32(MEAN)) / np.float32(STD)
    return x[:, None, :, :]
