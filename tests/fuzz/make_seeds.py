#!/usr/bin/python3
# Parts of the fuzzers' seed corpora, run by make_seeds.sh (made once; the committed corpora
# are used):
#   make_seeds.py ckpt OUT   a tiny timm ViT and OUT.json (1 channel, 28x28, patch 7, dim 16,
#                            1 head, depth 1, MLP 32, 10 classes; weights from a fixed LCG),
#                            16 KB instead of the goldens' 240 KB
#   make_seeds.py desc DIR   descriptor + memory image inputs of fuzz_model and fuzz_submit
#   make_seeds.py vdesc DIR  the same for each vector opcode (fuzz_submit), in place and copied
#   make_seeds.py pics DIR   DIR/rgb.ppm (20x12) and DIR/gray.pgm (9x14) for cjpeg, and
#                            DIR/rgba16.png (12x10, 16-bit RGBA)
import json, os, struct, sys, zlib

C, P, G, M, K = 16, 7, 4, 32, 10
T = G * G + 1
seed = 12345


def rnd(n, scale):
    global seed
    out = []
    for _ in range(n):
        seed = (seed * 1103515245 + 12345) & 0x7fffffff
        out.append((seed / 0x7fffffff * 2 - 1) * scale)
    return out


def ones(n):
    return [1.0] * n


shapes = {
    "patch_embed.proj.weight": ([C, 1, P, P], 0.15), "patch_embed.proj.bias": ([C], 0.1),
    "cls_token": ([1, 1, C], 0.5), "pos_embed": ([1, T, C], 0.5),
    "blocks.0.norm1.weight": ([C], None), "blocks.0.norm1.bias": ([C], 0.1),
    "blocks.0.attn.qkv.weight": ([3 * C, C], 0.3), "blocks.0.attn.qkv.bias": ([3 * C], 0.1),
    "blocks.0.attn.proj.weight": ([C, C], 0.3), "blocks.0.attn.proj.bias": ([C], 0.1),
    "blocks.0.norm2.weight": ([C], None), "blocks.0.norm2.bias": ([C], 0.1),
    "blocks.0.mlp.fc1.weight": ([M, C], 0.3), "blocks.0.mlp.fc1.bias": ([M], 0.1),
    "blocks.0.mlp.fc2.weight": ([C, M], 0.2), "blocks.0.mlp.fc2.bias": ([C], 0.1),
    "norm.weight": ([C], None), "norm.bias": ([C], 0.1),
    "head.weight": ([K, C], 0.3), "head.bias": ([K], 0.1),
}


def ckpt(out):
    hdr, data = {"__metadata__": {"format": "pt", "names": "timm"}}, b""
    for name in sorted(shapes):
        shape, scale = shapes[name]
        n = 1
        for d in shape:
            n *= d
        raw = struct.pack("<%df" % n, *(ones(n) if scale is None else rnd(n, scale)))
        hdr[name] = {"dtype": "F32", "shape": shape,
                     "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    h = json.dumps(hdr, separators=(",", ":")).encode()
    open(out, "wb").write(struct.pack("<Q", len(h)) + h + data)
    open(out + ".json", "w").write('{"heads": 1, "eps": 1e-06, "mean": [0.0], "std": [1.0]}\n')


# Types: s8 0, u8 1, s4 2, u4 3, s16 4, s32 5.  Flags: B_TRANS 1, BIAS 2, REQUANT 4.
def row_bytes(t, cols):
    return (cols + 1) // 2 if t in (2, 3) else cols * (2 if t == 4 else 4 if t == 5 else 1)


def desc(out_dir, name, seq, m, n, k, ta, tb, tc, flags, c_zero=0, gap=0, c_at=None):
    """A descriptor with its operands packed one after another (rows gap bytes apart)."""
    at, addr, stride = 0, {}, {}
    bt = flags & 1
    for op, rows, rb in (("a", m, row_bytes(ta, k)), ("b", n if bt else k,
                         row_bytes(tb, k if bt else n)), ("c", m, row_bytes(tc, n)),
                         ("bias", 1 if flags & 2 else 0, 4 * n),
                         ("rq", 1 if flags & 4 else 0, 8 * n)):
        stride[op] = rb + gap if op in "abc" else 0
        addr[op] = at if rows else 0
        at += rows * stride[op]
    if c_at is not None:
        addr["c"] = c_at
    mem = bytearray(b for b in (int((x + 1) * 127.5) & 0xff for x in rnd(at, 1.0)))
    for i in range(n if flags & 4 else 0):
        mult, shift = int(rnd(1, 2 ** 20)[0]), 8 + i % 20
        mem[addr["rq"] + 8 * i:addr["rq"] + 8 * i + 8] = struct.pack("<iI", mult, shift)
    d = struct.pack("<IIQIIII5Q3Qi7I", 1, flags, seq, m, n, k, ta | tb << 4 | tc << 8,
                    addr["a"], addr["b"], addr["c"], addr["bias"], addr["rq"],
                    stride["a"], stride["b"], stride["c"], c_zero, *[0] * 7)
    assert len(d) == 128
    open(os.path.join(out_dir, name), "wb").write(d + bytes(mem))


def descs(out_dir):
    desc(out_dir, "s8s8s32", 0, 2, 3, 4, 0, 0, 5, 0)
    desc(out_dir, "trans-bias-rq-s8", 1, 3, 5, 7, 0, 1, 0, 7, c_zero=-3)
    desc(out_dir, "s4u4s16-gaps", 3, 4, 17, 9, 2, 3, 4, 4, gap=3)
    desc(out_dir, "u8s8-bias-9x3", 5, 17, 20, 33, 1, 0, 5, 2)
    desc(out_dir, "u4-64x64", 7, 1, 65, 70, 3, 2, 3, 5, c_zero=2)
    desc(out_dir, "overlap", 0, 4, 4, 4, 0, 0, 5, 0, c_at=8)


# Vector ops (hw/include/vitsa_hw_vec.h): name, opcode, m, n, parameter words and the (rows,
# row bytes) of in0, in1 and out (None: unused).  The Shiftmax and GELU words are what
# vitsa_shiftmax_params(0.04, 64) and vitsa_gelu_params(0.03) give, the dyadics those of
# vitsa_dyadic_from_ratio for the usual scales.
SM = [-1594 & 0xffffffff, 16, 5, 64, 6]
GELU = [-1249 & 0xffffffff, 23, 18, 6, 1610612736, 44]


def vops(m=3, n=10):
    s8, s16, s32 = (m, n), (m, 2 * n), (m, 4 * n)
    return [
        ("input", 0x10, 4, 48, [3, 8, 4], (1, 192), (1, 768), (4, 48)),
        ("embed", 0x11, m, n, [1], (m - 1, 2 * n), s16, s16),
        ("layernorm", 0x12, m, n, [1304785888, 53], s16, None, s8),
        ("layernorm-s4", 0x13, m, 7, [1304785888, 53], (m, 14), None, (m, 4)),
        ("shiftmax", 0x14, m, n, SM, s8, None, s8),
        ("shiftmax16", 0x15, m, n, SM + [n + 6], s8, None, (m, 2 * n + 6)),
        ("gelu", 0x16, m, n, GELU, s8, None, s8),
        ("gelu-u4", 0x17, m, 9, GELU + [2], (m, 9), None, (m, 5)),
        ("add", 0x18, m, n, [1610612736, 31, 1342177280, 30], s16, s16, s16),
        ("mean", 0x19, m, n, [], s16, None, (1, 2 * n)),
        ("join16", 0x1a, m, n, [1073741824, 45], s32, s32, s8),
    ]


def vdesc(out_dir):
    """Each vector op with its operands one after another, rows 4 bytes apart; seq 1 maps."""
    for name, op, m, n, params, *opnds in vops():
        at, addr, stride = 8, [0, 0, 0], [0, 0, 0]
        for i, o in enumerate(opnds):
            if o:
                addr[i], stride[i] = at, o[1] + 4
                at = (at + o[0] * stride[i] + 4 + 7) & ~7
        mem = bytes(int((x + 1) * 127.5) & 0xff for x in rnd(at, 1.0))
        for seq, how in ((0, "copied"), (1, "mapped")):
            d = struct.pack("<IIQIIII5Q3Qi7I", op, 0, seq, m, n, 0, 0, *addr, 0, 0, *stride, 0,
                            *(params + [0] * (7 - len(params))))
            assert len(d) == 128
            open(os.path.join(out_dir, "vec-%s-%s" % (name, how)), "wb").write(d + mem)


def png_chunk(kind, data):
    return (struct.pack(">I", len(data)) + kind + data +
            struct.pack(">I", zlib.crc32(kind + data) & 0xffffffff))


def pics(out_dir):
    w, h = 20, 12
    pix = bytes(int((x + 1) * 127.5) & 0xff for x in rnd(w * h * 3, 1.0))
    open(os.path.join(out_dir, "rgb.ppm"), "wb").write(b"P6 %d %d 255\n" % (w, h) + pix)
    w, h = 9, 14
    open(os.path.join(out_dir, "gray.pgm"), "wb").write(b"P5 %d %d 255\n" % (w, h) +
                                                         bytes((x * 7) & 0xff for x in range(w * h)))
    w, h = 12, 10
    rows = b"".join(b"\0" + b"".join(struct.pack(">4H", x * 5000, y * 6000, (x + y) * 2000,
                                                   65535 - x * 100) for x in range(w))
                    for y in range(h))
    png = (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 16, 6, 0, 0, 0)) +
           png_chunk(b"IDAT", zlib.compress(rows, 9)) + png_chunk(b"IEND", b""))
    open(os.path.join(out_dir, "rgba16.png"), "wb").write(png)


{"ckpt": ckpt, "desc": descs, "vdesc": vdesc, "pics": pics}[sys.argv[1]](sys.argv[2])
