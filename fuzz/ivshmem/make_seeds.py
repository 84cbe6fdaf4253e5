#!/usr/bin/env python3
"""Writes the seed corpus for fuzz_server_messages (run from this directory).

Each record is a control byte and an 8-byte little-endian value; see the target's comment.
"""
import struct

EVENTFD, MEMFD, PIPE, TWO = 1 | 0 << 1, 1 | 1 << 1, 1 | 2 << 1, 1 | 3 << 1


def rec(value, ctl=0):
    return bytes([ctl]) + struct.pack('<q', value)


def handshake(own, peers=(), vectors=2):
    out = rec(0) + rec(own) + rec(-1, MEMFD)
    for p in peers:
        out += b''.join(rec(p, EVENTFD) for _ in range(vectors))
    out += b''.join(rec(own, EVENTFD) for _ in range(vectors))
    return out


SEEDS = {
    'valid-first-client': b'\x01' + handshake(0),
    'valid-with-peers': b'\x01' + handshake(3, peers=(0, 1, 2)),
    'valid-connect-disconnect': b'\x02' + handshake(1, peers=(0,)) + rec(5, EVENTFD) * 2 + rec(5) + rec(0),
    'peer-before-shm': b'\x01' + rec(0) + rec(4) + rec(2, EVENTFD) + rec(-1, MEMFD) + rec(4, EVENTFD),
    'wrong-version': b'\x00' + rec(1),
    'version-with-fd': b'\x00' + rec(0, EVENTFD),
    'id-with-fd': b'\x00' + rec(0) + rec(0, EVENTFD),
    'huge-id': b'\x00' + rec(0) + rec(65536),
    'negative-id': b'\x00' + rec(0) + rec(-5),
    'shm-without-fd': b'\x00' + rec(0) + rec(0) + rec(-1),
    'shm-is-pipe': b'\x00' + rec(0) + rec(0) + rec(-1, PIPE),
    'second-shm': b'\x00' + handshake(0) + rec(-1, MEMFD),
    'two-fds': b'\x00' + handshake(0) + rec(1, TWO),
    'extra-vectors': b'\x00' + handshake(0, vectors=1) + rec(1, EVENTFD) * 6,
    'own-id-gone': b'\x00' + handshake(2) + rec(2),
    'unknown-peer-gone': b'\x00' + handshake(2) + rec(9),
    'invalid-message': b'\x00' + handshake(0) + rec(-2) + rec(70000, EVENTFD),
    'split-messages': b'\x01' + rec(0, 3 << 3) + rec(0, 5 << 3) + rec(-1, MEMFD | 1 << 3),
    'shm-split-without-fd': b'\x01' + rec(0) + rec(0) + rec(-1, 4 << 3),
    'truncated': b'\x00' + rec(0) + rec(1)[:5],
    'eof-early': b'\x00' + rec(0, 0x40) + rec(0),
}

for name, data in SEEDS.items():
    with open('corpus/' + name, 'wb') as f:
        f.write(data)
