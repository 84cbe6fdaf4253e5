#!/usr/bin/env python3
"""Writes the seed corpus for fuzz_vmdk (run from this directory).

Small images of every subformat the engine reads, built by hand with tiny grains
(8 sectors) and tables (8 entries) so that each seed is a few KiB. A text descriptor's
extent files are the bytes after its first NUL (see fuzz_vmdk.c).
"""
import struct
import zlib

S = 512


def header(version=1, flags=3, capacity=64, grain=8, desc=(1, 1), gtes=8, rgd=2, gd=4,
           overhead=8, compress=0):
    h = struct.pack('<4sIIQQQQIQQQB4sH', b'KDMV', version, flags, capacity, grain, desc[0],
                    desc[1], gtes, rgd, gd, overhead, 0, b'\n \r\n', compress)
    return h.ljust(S, b'\0')


def desc(create_type, extents, extra=''):
    text = ('# Disk DescriptorFile\nversion=1\nCID=12345678\nparentCID=ffffffff\n'
            'createType="%s"\n%s\n# Extent description\n%s\n\n# The Disk Data Base\n#DDB\n'
            'ddb.adapterType = "ide"\nddb.geometry.cylinders = "1"\n' % (create_type, extra,
                                                                            '\n'.join(extents)))
    return text.encode()


def sector(data):
    return data.ljust((len(data) + S - 1) // S * S, b'\0')


def le32s(values):
    return b''.join(struct.pack('<I', v) for v in values)


def sparse(embedded=b'', version=1, flags=3, grains=(0, 3), fill=b'\x11', gte_override=None):
    """capacity 64 sectors = 8 grains of 4 KiB, one 8-entry table.
    0 header, 1 descriptor, 2 RGD, 3 RGT, 4 GD, 5 GT, grains from 8."""
    gt = [0] * 8
    data = b''
    for n, g in enumerate(grains):
        gt[g] = 8 + 8 * n
        data += (fill * 4096)
    if gte_override:
        for k, v in gte_override.items():
            gt[k] = v
    img = header(version=version, flags=flags)
    img += sector(embedded).ljust(S, b'\0')
    img += sector(le32s([3])) + sector(le32s(gt))
    img += sector(le32s([5])) + sector(le32s(gt))
    img = img.ljust(8 * S, b'\0')
    return img + data


def marker(val, typ):
    return struct.pack('<QII', val, 0, typ).ljust(S, b'\0')


def grain_marker(lba, payload):
    z = zlib.compress(payload)
    return sector(struct.pack('<QI', lba, len(z)) + z)


def stream_footer_layout():
    """VMware's layout: grains, GT marker + GT, GD marker + GD, footer, EOS."""
    d = desc('streamOptimized', ['RW 64 SPARSE "s.vmdk"'])
    img = bytearray(header(version=3, flags=0x30001, rgd=0, gd=0xffffffffffffffff,
                           overhead=2, compress=1, desc=(1, 1)))
    img += sector(d[:S])
    gt = [0] * 8
    for lba, fill in ((0, b'\x22'), (16, b'\x33')):
        gt[lba // 8] = len(img) // S
        img += grain_marker(lba, fill * 4096)
    img += marker(1, 1)
    gt_at = len(img) // S
    img += sector(le32s(gt))
    img += marker(1, 2)
    gd_at = len(img) // S
    img += sector(le32s([gt_at]))
    img += marker(1, 4)  # unknown metadata marker with one sector of payload
    img += bytes(S)
    img += marker(1, 3)
    img += header(version=3, flags=0x30001, rgd=0, gd=gd_at, overhead=2, compress=1)
    img += marker(0, 0)
    return bytes(img)


def stream_qemu_layout():
    """QEMU's layout: RGD/GD/tables up front, compressed grains appended."""
    gt = [0] * 8
    grains = b''
    for n, lba in enumerate((0, 40)):
        gt[lba // 8] = 8 + len(grains) // S
        grains += grain_marker(lba, bytes([n + 1]) * 4096)
    img = header(version=3, flags=0x30003, compress=1)
    img += sector(desc('streamOptimized', ['RW 64 SPARSE "q.vmdk"']))[:S]
    img += sector(le32s([3])) + sector(le32s(gt)) + sector(le32s([5])) + sector(le32s(gt))
    return img.ljust(8 * S, b'\0') + grains


def cowd():
    """A COWD (vmfsSparse) extent: 64 sectors, grain 1 sector, GD at 4."""
    h = struct.pack('<4sIIIIIII', b'COWD', 1, 3, 64, 1, 4, 1, 4 + 1 + 32)
    h = h.ljust(2048, b'\0')
    gd = sector(le32s([5]))
    gt = [0] * 4096
    gt[0] = 37
    gt[3] = 38
    table = le32s(gt)
    return h + gd + table + b'\x44' * S + b'\x55' * S


def sesparse():
    """seSparse: 16 MiB, regions as in tests/test_vmdk_sesparse.c, two grains."""
    f = bytearray(87 * S)
    struct.pack_into('<QQQQQQ', f, 0, 0xcafebabe, 0x0000000200000001, 32768, 8, 64, 0)
    regions = [(1, 1), (2, 1), (3, 1), (4, 1), (5, 64), (69, 1), (70, 1), (71, 16)]
    for i, (off, size) in enumerate(regions):
        struct.pack_into('<QQ', f, 80 + 16 * i, off, size)
    struct.pack_into('<Q', f, S, 0xcafecafe)
    struct.pack_into('<Q', f, 4 * S, 0x1000000000000000)
    struct.pack_into('<QQQQ', f, 5 * S, 0x3000000000000000, 0x2000000000000000,
                     0x1000000000000000, 0x3001000000000000)
    f[71 * S:71 * S + 4096] = b'\x71' * 4096
    f[79 * S:79 * S + 4096] = b'\x72' * 4096
    return bytes(f)


SEEDS = {
    'monolithic-sparse': sparse(desc('monolithicSparse', ['RW 64 SPARSE "m.vmdk"'])),
    'zeroed-grain-v2': sparse(desc('monolithicSparse', ['RW 64 SPARSE "z.vmdk"']), version=2,
                              flags=7, gte_override={5: 1}),
    'gde-zero': sparse(b'').replace(le32s([5]) + bytes(S - 4), bytes(S), 1),
    'stream-vmware': stream_footer_layout(),
    'stream-qemu': stream_qemu_layout(),
    'monolithic-flat': desc('monolithicFlat', ['RW 16 FLAT "f-flat.vmdk" 0']) + b'\0' +
                       b'\x66' * 8192,
    'two-gb-flat': desc('twoGbMaxExtentFlat', ['RW 8 FLAT "f-f001.vmdk" 0',
                                                'RW 8 FLAT "f-f002.vmdk" 0']) + b'\0' +
                   b'\x77' * 4096,
    'two-gb-sparse': desc('twoGbMaxExtentSparse', ['RW 64 SPARSE "s-s001.vmdk"',
                                                    'RW 64 SPARSE "s-s002.vmdk"']) + b'\0' +
                     sparse(b''),
    'vmfs': desc('vmfs', ['RW 16 VMFS "v-flat.vmdk"']) + b'\0' + b'\x12' * 8192,
    'mixed-access': desc('monolithicFlat', ['RW 8 FLAT "a.vmdk" 0', 'RDONLY 8 FLAT "b.vmdk" 8',
                                             'NOACCESS 8 FLAT "c.vmdk" 0', 'RW 8 ZERO']) +
                    b'\0' + b'\x34' * 8192,
    'crlf-loose': desc('monolithicFlat', ['RW 16 FLAT "x y.vmdk" 0']).replace(
        b'\n', b'\r\n').replace(b'createType=', b'CREATETYPE = ') + b'\0' + b'\x56' * 8192,
    'backing-hint': sparse(desc('monolithicSparse', ['RW 64 SPARSE "c.vmdk"'],
                                'parentFileNameHint="parent.vmdk"')),
    'vmfs-sparse': desc('vmfsSparse', ['RW 64 VMFSSPARSE "d-delta.vmdk"']) + b'\0' + cowd(),
    'cowd-direct': cowd(),
    'sesparse': desc('seSparse', ['RW 32768 SESPARSE "se-sesparse.vmdk"']) + b'\0' + sesparse(),
    'haiku-descriptor': header(capacity=0, desc=(1, 1), overhead=0, gd=0, rgd=0) +
                        sector(desc('monolithicFlat', ['RW 16 FLAT "h.vmdk" 0'])),
    'afl9-header': struct.pack('<4sIIQQQQIQQQ', b'KDMV', 1, 3, 2233785398448881665, 128,
                               251658241, 0, 506, 71, 0x2800000000000000, 0).ljust(S, b'\0'),
}

if __name__ == '__main__':
    for name, data in SEEDS.items():
        with open('corpus/' + name, 'wb') as f:
            f.write(data)
