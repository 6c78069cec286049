#!/usr/bin/env python3
"""Golden vectors for the vitsa GEMM, computed independently of the C code.

Writes tests/golden/gemm.txt: per case a descriptor, an initial memory image and the expected
bytes of C.  The arithmetic is Documentation/hw/vitsa.rst's, in Python integers (true floor
division, explicit wrap-around).  Run: /usr/bin/python3 tests/golden/gen_gemm.py
"""
import random
import sys

TYPES = {  # code: (bits, min, max)
    's8': (0, 8, -128, 127), 'u8': (1, 8, 0, 255), 's4': (2, 4, -8, 7), 'u4': (3, 4, 0, 15),
    's16': (4, 16, -32768, 32767), 's32': (5, 32, -2**31, 2**31 - 1),
}
B_TRANS, BIAS, REQUANT = 1, 2, 4


def row_bytes(t, cols):
    return (cols * TYPES[t][1] + 7) // 8


def pack_row(t, vals):
    bits = TYPES[t][1]
    out = bytearray(row_bytes(t, len(vals)))
    for i, v in enumerate(vals):
        u = v & ((1 << bits) - 1)
        if bits == 4:
            out[i // 2] |= u << (4 * (i % 2))
        else:
            out[i * bits // 8:(i + 1) * bits // 8] = u.to_bytes(bits // 8, 'little')
    return bytes(out)


def wrap32(x):
    return ((x + 2**31) % 2**32) - 2**31


def rshift_round(x, s):
    return x if s == 0 else (x + (1 << (s - 1))) // (1 << s)


def rand_vals(rng, t, n):
    lo, hi = TYPES[t][2], TYPES[t][3]
    return [rng.randint(lo, hi) for _ in range(n)]


def case(rng, name, m, n, k, ta, tb, tc, flags, pad=(0, 0, 0), A=None, B=None, bias=None,
         rq=None, c_zero=0):
    bt = bool(flags & B_TRANS)
    A = A or [rand_vals(rng, ta, k) for _ in range(m)]
    if B is None:  # logical K x N
        B = [rand_vals(rng, tb, n) for _ in range(k)]
    stored_b = [[B[kk][nn] for kk in range(k)] for nn in range(n)] if bt else B
    a_stride = row_bytes(ta, k) + pad[0]
    b_stride = row_bytes(tb, k if bt else n) + pad[1]
    c_stride = row_bytes(tc, n) + pad[2]
    mem = bytearray()

    def place(blob):
        off = len(mem)
        mem.extend(blob)
        mem.extend(b'\xa5' * ((-len(mem)) % 8))  # poison between regions
        return off

    def matrix(t, rows, stride):
        return b''.join(pack_row(t, r) + b'\x5a' * (stride - row_bytes(t, len(r))) for r in rows)

    a_addr = place(matrix(ta, A, a_stride))
    b_addr = place(matrix(tb, stored_b, b_stride))
    bias_addr = rq_addr = 0
    if flags & BIAS:
        bias = bias or [rng.randint(-2**31, 2**31 - 1) for _ in range(n)]
        bias_addr = place(b''.join(v.to_bytes(4, 'little', signed=True) for v in bias))
    if flags & REQUANT:
        rq = rq or [(rng.randint(1, 2**31 - 1), rng.randint(20, 40)) for _ in range(n)]
        rq_addr = place(b''.join(mv.to_bytes(4, 'little', signed=True) + sh.to_bytes(4, 'little')
                                 for mv, sh in rq))
    c_len = (m - 1) * c_stride + row_bytes(tc, n)
    c_addr = place(b'\xee' * c_len)
    expect = bytearray(mem[c_addr:c_addr + c_len])
    for mm in range(m):
        out = []
        for nn in range(n):
            acc = wrap32(sum(A[mm][kk] * B[kk][nn] for kk in range(k)))
            if flags & BIAS:
                acc = wrap32(acc + bias[nn])
            if flags & REQUANT:
                q = rshift_round(acc * rq[nn][0], rq[nn][1]) + c_zero
                acc = min(max(q, TYPES[tc][2]), TYPES[tc][3])
            out.append(acc)
        expect[mm * c_stride:mm * c_stride + row_bytes(tc, n)] = pack_row(tc, out)
    types = TYPES[ta][0] | TYPES[tb][0] << 4 | TYPES[tc][0] << 8
    return (f"case {name}\n"
            f"desc {m} {n} {k} {flags} {types} {a_addr} {b_addr} {c_addr} {bias_addr} {rq_addr} "
            f"{a_stride} {b_stride} {c_stride} {c_zero}\n"
            f"mem {mem.hex()}\nexpect {expect.hex()}\nend\n")


def hand_cases(rng):
    out = []
    # 1x1x1 rounding ties: acc*mult/2^shift = +-2.5, +-3.5 and the exact +-0.5 cases.
    for acc, want in ((5, 3), (-5, -2), (7, 4), (-7, -3), (1, 1), (-1, 0)):
        assert rshift_round(acc, 1) == want
        out.append(case(rng, f"tie_{acc}", 1, 1, 1, 's8', 's8', 's8', REQUANT,
                        A=[[acc]], B=[[1]], rq=[(1, 1)]))
    # saturation both ways, u8 with a zero point, s4 and u4 limits, s16.
    out.append(case(rng, "sat_s8", 1, 2, 1, 's8', 's8', 's8', REQUANT, A=[[127]], B=[[127, -128]],
                    rq=[(1, 0), (1, 0)]))
    out.append(case(rng, "sat_u8_zp", 1, 2, 2, 's8', 's8', 'u8', REQUANT, A=[[100, -3]],
                    B=[[1, -2], [1, 5]], rq=[(3, 2), (3, 2)], c_zero=128))
    out.append(case(rng, "sat_s4", 1, 3, 1, 's4', 's4', 's4', REQUANT, A=[[-8]],
                    B=[[-8, 7, 1]], rq=[(1, 0), (1, 0), (1, 0)]))
    out.append(case(rng, "sat_u4", 1, 3, 1, 'u4', 'u4', 'u4', REQUANT, A=[[15]],
                    B=[[15, 0, 1]], rq=[(1, 4), (1, 0), (1, 0)]))
    out.append(case(rng, "s16_out", 2, 3, 3, 's8', 'u8', 's16', REQUANT | BIAS))
    # int32 wrap-around through the bias, both directions.
    out.append(case(rng, "wrap_pos", 1, 1, 2, 'u8', 'u8', 's32', BIAS, A=[[255, 255]],
                    B=[[255], [255]], bias=[2**31 - 1]))
    out.append(case(rng, "wrap_neg", 1, 1, 1, 's8', 'u8', 's32', BIAS, A=[[-128]], B=[[255]],
                    bias=[-2**31]))
    # largest shift and the most negative products.
    out.append(case(rng, "shift62", 1, 2, 1, 's8', 's8', 's8', REQUANT | BIAS, A=[[-128]],
                    B=[[-128, 127]], bias=[-2**31 + 16384, 0], rq=[(-2**31, 62), (2**31 - 1, 62)]))
    return out


def random_cases(rng, count):
    out = []
    ops = ['s8', 'u8', 's4', 'u4']
    for i in range(count):
        ta, tb = rng.choice(ops), rng.choice(ops)
        flags = rng.choice([0, B_TRANS]) | rng.choice([0, BIAS]) | rng.choice([0, REQUANT])
        tc = rng.choice(['s8', 'u8', 's4', 'u4', 's16']) if flags & REQUANT else 's32'
        m, n, k = rng.randint(1, 37), rng.randint(1, 37), rng.randint(1, 70)
        pad = (rng.choice([0, 3]), rng.choice([0, 5]), rng.choice([0, 2]))
        cz = rng.randint(-20, 20) if flags & REQUANT else 0
        out.append(case(rng, f"rand{i}", m, n, k, ta, tb, tc, flags, pad=pad, c_zero=cz))
    return out


def main():
    rng = random.Random(20261122)
    text = "# generated by tests/golden/gen_gemm.py; do not edit\n"
    text += "".join(hand_cases(rng) + random_cases(rng, 40))
    path = sys.argv[1] if len(sys.argv) > 1 else "tests/golden/gemm.txt"
    with open(path, "w") as f:
        f.write(text)


if __name__ == "__main__":
    main()
