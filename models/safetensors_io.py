# SPDX-License-Identifier: MIT
"""Minimal safetensors writer and reader (F16/F32/F64 only), no third-party package.

File layout: 8-byte little-endian u64 N, then N bytes of UTF-8 JSON
{"name": {"dtype": "F32", "shape": [...], "data_offsets": [begin, end]}, ...,
 "__metadata__": {str: str}} padded with spaces to a multiple of 8, then the
raw little-endian tensor data; offsets are relative to the start of the data.
Tensors are stored in sorted name order, contiguous, without gaps.
"""

import json
import os
import struct

import numpy as np

_DTYPES = {"F16": np.dtype("<f2"), "F32": np.dtype("<f4"), "F64": np.dtype("<f8")}
_NAMES = {np.dtype("<f2"): "F16", np.dtype("<f4"): "F32", np.dtype("<f8"): "F64"}


def _as_array(t):
    if hasattr(t, "detach"):                     # torch tensor
        t = t.detach().cpu().contiguous().numpy()
    a = np.ascontiguousarray(t)
    dt = a.dtype.newbyteorder("<")
    if dt not in _NAMES:
        raise TypeError("unsupported dtype %s" % a.dtype)
    return a.astype(dt, copy=False)


def save(path, tensors, metadata=None):
    """Write {name: tensor} to path (temporary file + rename)."""
    header = {}
    blobs = []
    offset = 0
    for name in sorted(tensors):
        if name == "__metadata__":
            raise ValueError("reserved tensor name")
        a = _as_array(tensors[name])
        raw = a.tobytes()
        header[name] = {"dtype": _NAMES[a.dtype], "shape": list(a.shape),
                        "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    hjson = json.dumps(header, separators=(",", ":")).encode("utf-8")
    hjson += b" " * (-len(hjson) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(hjson)))
        f.write(hjson)
        for raw in blobs:
            f.write(raw)
    os.replace(tmp, path)


def load(path):
    """Read path, checking every size, offset and dtype; return ({name: ndarray}, metadata)."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 8:
        raise ValueError("%s: shorter than the 8-byte header length" % path)
    (n,) = struct.unpack("<Q", data[:8])
    if n > len(data) - 8:
        raise ValueError("%s: header length %d exceeds file size %d" % (path, n, len(data)))
    header = json.loads(data[8:8 + n].decode("utf-8"))
    if not isinstance(header, dict):
        raise ValueError("%s: header is not a JSON object" % path)
    body = memoryview(data)[8 + n:]
    meta = header.pop("__metadata__", {}) or {}
    out = {}
    spans = []
    for name, info in header.items():
        dt = _DTYPES.get(info.get("dtype"))
        if dt is None:
            raise ValueError("%s: tensor %s: unsupported dtype %r" % (path, name, info.get("dtype")))
        shape = info["shape"]
        begin, end = info["data_offsets"]
        count = 1
        for s in shape:
            if not isinstance(s, int) or s < 0:
                raise ValueError("%s: tensor %s: bad shape %r" % (path, name, shape))
            count *= s
        if not (0 <= begin <= end <= len(body)):
            raise ValueError("%s: tensor %s: offsets %r outside data (%d bytes)"
                             % (path, name, [begin, end], len(body)))
        if end - begin != count * dt.itemsize:
            raise ValueError("%s: tensor %s: %d bytes for shape %r"
                             % (path, name, end - begin, shape))
        out[name] = np.frombuffer(body[begin:end], dtype=dt).reshape(shape).copy()
        spans.append((begin, end))
    spans.sort()
    pos = 0
    for begin, end in spans:
        if begin != pos:
            raise ValueError("%s: data has a gap or overlap at offset %d" % (path, begin))
        pos = end
    if pos != len(body):
        raise ValueError("%s: %d trailing bytes after the tensors" % (path, len(body) - pos))
    return out, meta


def check_roundtrip(path, tensors):
    """Reload path and demand bit-equality with tensors; return the count."""
    got, _ = load(path)
    if set(got) != set(tensors):
        raise AssertionError("%s: names differ: %s" % (path, set(got) ^ set(tensors)))
    for name, t in tensors.items():
        a = _as_array(t)
        if got[name].shape != a.shape or got[name].tobytes() != a.tobytes():
            raise AssertionError("%s: tensor %s differs after reload" % (path, name))
    return len(got)
