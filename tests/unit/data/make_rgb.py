#!/usr/bin/python3
# A 3-channel copy of a 1-channel safetensors ViT: the patch weights, a third on each channel
# (a gray image gives the same logits).  Made once; the CLI tests use the committed output:
#   tests/unit/data/make_rgb.py tests/golden/fp32/timmvit.safetensors \
#       tests/unit/data/timmvit-rgb.safetensors
import json, struct, sys
src = open(sys.argv[1], "rb").read()
hlen = struct.unpack("<Q", src[:8])[0]
hdr, data = json.loads(src[8:8 + hlen]), src[8 + hlen:]
out = b""
for name, t in sorted((k, v) for k, v in hdr.items() if k != "__metadata__"):
    b, e = t["data_offsets"]
    raw = data[b:e]
    if name == "patch_embed.proj.weight":
        c, k = t["shape"][0], t["shape"][2] * t["shape"][3]
        w = struct.unpack("<%df" % (c * k), raw)
        raw = b"".join(struct.pack("<%df" % k, *[x / 3 for x in w[i * k:(i + 1) * k]]) * 3
                       for i in range(c))
        t["shape"][1] = 3
    t["data_offsets"] = [len(out), len(out) + len(raw)]
    out += raw
h = json.dumps(hdr).encode()
open(sys.argv[2], "wb").write(struct.pack("<Q", len(h)) + h + out)
