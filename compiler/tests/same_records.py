#!/usr/bin/env python3
"""Compares two .kcovdf_layout sections (llvm-objcopy --dump-section).

usage: same_records.py OLD NEW

Prints the records (pc and JSON) only one of them has, and exits non-zero
if there are any.
"""
import struct
import sys


def records(path):
    data = open(path, "rb").read()
    out = []
    off = 0
    while off + 16 <= len(data):
        pc, n, ver = struct.unpack_from("<QII", data, off)
        if pc == 0 and n == 0 and ver == 0:
            off += 8
            continue
        out.append("%#x v%d %s" % (pc, ver,
                                   data[off + 16:off + 16 + n].decode()))
        off += 16 + (n + 7) // 8 * 8
    return out


def main():
    old, new = records(sys.argv[1]), records(sys.argv[2])
    for r in sorted(set(old) - set(new)):
        print("only in %s: %s" % (sys.argv[1], r))
    for r in sorted(set(new) - set(old)):
        print("only in %s: %s" % (sys.argv[2], r))
    same = old == new
    print("%d records, %s" % (len(new), "the same" if same else "different"))
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
