#!/usr/bin/env python3
"""Checks a layout dump (docs/layout.md) against a recorded trace.

usage: check_layout.py LAYOUT_DIR SECTION TRACE EXCLUDED_NAME...

Every line must parse as JSON with the documented keys. SECTION is the
linked binary's .kcovdf_layout section (llvm-objcopy --dump-section): its
records bind each layout to a function address. For every distinct call the
instrumented binary made, the record at the call's pc must give the same
arg_size/ret_size and as many fields as num_fields, and every record must be
a line of the dump.
"""
import json
import os
import struct
import sys

passed = failed = 0


def check(cond, msg):
    global passed, failed
    if cond:
        passed += 1
    else:
        failed += 1
        print("FAIL layout: " + msg)


def valid_fields(fields):
    return isinstance(fields, list) and all(
        isinstance(f, dict) and isinstance(f.get("name"), str)
        and isinstance(f.get("off"), int) and isinstance(f.get("size"), int)
        and f["size"] > 0 for f in fields)


def valid_value(v):
    """An argument's or return's fields, and when the table was capped the
    struct's own count of fields, which is more than the table holds."""
    capped = v.get("capped")
    return valid_fields(v.get("fields")) and (
        capped is None or (isinstance(capped, int)
                           and capped > len(v["fields"]) > 0))


def shape(rec):
    ret = rec.get("ret")
    return ([(a["idx"], a["size"], len(a["fields"])) for a in rec["args"]],
            ret and (ret["size"], len(ret["fields"])))


def section_records(data):
    """Yields (offset, pc, version, JSON text) for each record of a
    .kcovdf_layout dump, skipping the zero padding between them; then
    (offset, None, None, None) where they end."""
    off = 0
    while off + 16 <= len(data):
        pc, n, ver = struct.unpack_from("<QII", data, off)
        if pc == 0 and n == 0 and ver == 0:
            off += 8
            continue
        yield off, pc, ver, data[off + 16:off + 16 + n]
        off += 16 + (n + 7) // 8 * 8
    yield off, None, None, None


def read_section(path):
    """pc -> layout record, from the .kcovdf_layout records."""
    data = open(path, "rb").read()
    out = {}
    for off, pc, ver, text in section_records(data):
        if pc is None:
            check(off == len(data) or not data[off:].strip(b"\0"),
                  "section ends with a torn record")
            break
        check(ver == 1 and text, "section record at %#x: version %d length %d"
              % (off, ver, len(text)))
        rec = json.loads(text)
        check(pc not in out, "two records at pc %#x" % pc)
        out[pc] = rec
    return out


def main():
    layout_dir, section_path, trace_path = sys.argv[1:4]
    excluded = sys.argv[4:]
    layout = {}
    dumped = set()  # every line of the dump, canonical
    names = sorted(os.listdir(layout_dir))
    check(names and all(n.endswith(".jsonl") for n in names),
          "layout dir holds %r" % names)
    for name in names:
        with open(os.path.join(layout_dir, name)) as f:
            for lineno, line in enumerate(f, 1):
                line = line.strip()
                if not line or line.startswith("#"):
                    continue
                where = "%s:%d" % (name, lineno)
                try:
                    rec = json.loads(line)
                except ValueError as e:
                    check(False, "%s: %s" % (where, e))
                    continue
                ok = (isinstance(rec.get("func"), str)
                      and isinstance(rec.get("file"), str)
                      and isinstance(rec.get("static"), bool)
                      and isinstance(rec.get("args"), list)
                      and all(isinstance(a.get("idx"), int)
                              and isinstance(a.get("size"), int)
                              and valid_value(a)
                              for a in rec["args"])
                      and (rec.get("ret") is None
                           or (isinstance(rec["ret"].get("size"), int)
                               and valid_value(rec["ret"]))))
                check(ok, "%s: malformed record %s" % (where, line))
                # A weak definition and the strong one that overrides it
                # share a name; their shapes must agree.
                old = layout.get(rec.get("func"))
                check(old is None or shape(old) == shape(rec),
                      "%s: %s listed twice with different shapes"
                      % (where, rec.get("func")))
                layout[rec.get("func")] = rec
                dumped.add(json.dumps(rec, sort_keys=True))

    by_pc = read_section(section_path)
    for pc, rec in by_pc.items():
        check(json.dumps(rec, sort_keys=True) in dumped,
              "section record of %s at %#x is not in the dump"
              % (rec.get("func"), pc))

    seen = set()
    with open(trace_path) as f:
        for line in f:
            kind, pc, idx, size, nf = line.split()
            key = (kind, int(pc, 16), int(idx), int(size), int(nf))
            if key in seen:
                continue
            seen.add(key)
            rec = by_pc.get(key[1])
            if not rec:
                check(False, "call %s has no layout record at its pc"
                      % line.strip())
                continue
            func = rec["func"]
            if kind == "E":
                args = [a for a in rec["args"] if a["idx"] == key[2]]
                check(len(args) == 1 and args[0]["size"] == key[3]
                      and len(args[0]["fields"]) == key[4],
                      "%s arg %d: layout %r, trace size %d fields %d"
                      % (func, key[2], args, key[3], key[4]))
                if key[3] == 0 and args:
                    check(args[0].get("marker") is True,
                          "%s: marker not flagged" % func)
            else:
                ret = rec.get("ret")
                check(ret is not None and ret["size"] == key[3]
                      and len(ret["fields"]) == key[4],
                      "%s ret: layout %r, trace size %d fields %d"
                      % (func, ret, key[3], key[4]))
    check(len(seen) > 50, "only %d distinct calls traced" % len(seen))
    for name in excluded:
        check(name not in layout, "excluded %s is in the layout" % name)
    # The kernel clamps a size above 255 to 255; the layout must say so,
    # and only then.
    for rec in layout.values():
        for v in rec["args"] + ([rec["ret"]] if rec.get("ret") else []):
            check(v.get("clamped", False) is (v["size"] > 255),
                  "%s: size %d, clamped %r" % (rec["func"], v["size"],
                                               v.get("clamped")))
    for name, v in (("bv_huge", "args"), ("rv_huge", "ret")):
        rec = layout.get(name)
        val = rec and (rec["args"][0] if v == "args" else rec["ret"])
        check(val and val["size"] == 296 and val.get("clamped") is True,
              "%s: the 296-byte struct is not flagged clamped: %r"
              % (name, val))
    for name in ("st_add", "sc_u8"):
        check(name in layout and layout[name]["static"] == (name == "st_add"),
              "%s: static flag wrong" % name)
    print("%d passed, %d failed" % (passed, failed))
    return failed != 0


if __name__ == "__main__":
    sys.exit(main())
