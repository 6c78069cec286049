#!/usr/bin/env python3
"""Writes the PNG fixtures of tests/unit/vitrt_cli.sh: 8-bit gray gradients, 28x28 (the
Fashion-MNIST models' size) and 32x32 (a wrong size), and a 16385x16384 header with no pixels
(one column past the reader's 2^28-pixel limit).  Run: /usr/bin/python3 tests/unit/data/make_pngs.py"""
import struct
import zlib


def png(path, w, h, pixels=True):
    raw = b''.join(b'\x00' + bytes(((x * 7 + y * 3) & 255) for x in range(w)) for y in range(h)) \
        if pixels else b''

    def chunk(kind, data):
        crc = zlib.crc32(kind + data) & 0xffffffff
        return struct.pack('>I', len(data)) + kind + data + struct.pack('>I', crc)

    ihdr = struct.pack('>IIBBBBB', w, h, 8, 0, 0, 0, 0)
    with open(path, 'wb') as f:
        f.write(b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', ihdr) + chunk(b'IDAT', zlib.compress(raw)) +
                chunk(b'IEND', b''))


png('tests/unit/data/gray28.png', 28, 28)
png('tests/unit/data/gray32.png', 32, 32)
png('tests/unit/data/png-16385x16384.png', 16385, 16384, pixels=False)
