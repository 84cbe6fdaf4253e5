#!/usr/bin/env python3
"""make_mixed.py FILE SIZE_MIB: a raw disk image of mixed content for the VMDK benchmarks.

Per 64 KiB block, deterministically: 40% random bytes (incompressible), 30% zeros (left as
holes), 30% a repeated text line (very compressible) -- roughly what an OS disk holds.
"""
import os
import random
import sys

path, mib = sys.argv[1], int(sys.argv[2])
rng = random.Random(1)
block = 65536
text = (b'tessera vmdk benchmark: the quick brown fox jumps over the lazy dog. ' * 1000)[:block]
with open(path, 'wb') as f:
    for i in range(mib * 1024 * 1024 // block):
        kind = rng.random()
        if kind < 0.4:
            f.write(os.urandom(block))
        elif kind < 0.7:
            f.seek(block, os.SEEK_CUR)
        else:
            f.write(text)
    f.truncate(mib * 1024 * 1024)
