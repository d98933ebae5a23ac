#!/usr/bin/env python3
"""Compares two .kcovdf_layout sections (llvm-objcopy --dump-section).

usage: same_records.py OLD NEW

Prints the records (pc, version and JSON) only one of them has, and exits
non-zero if the two differ.
"""
import sys

sys.dont_write_bytecode = True  # no __pycache__ beside the sources
from check_layout import section_records  # noqa: E402


def records(path):
    return ["%#x v%d %s" % (pc, ver, text.decode())
            for _, pc, ver, text in section_records(open(path, "rb").read())
            if pc is not None]


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
