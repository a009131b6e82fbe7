#!/usr/bin/env python3
"""A strict parser of the Prometheus text exposition format (0.0.4), for
the tests of `kvmwatch export`. Stricter than Prometheus itself where the
format says "must": every rule it checks is listed in parse().

    python3 tests/promparse.py FILE     # exit 0 when well formed, else 1
                                        # with one line per error

Library use: parse(text) -> (families, errors).
"""

import math
import re
import sys

NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABEL = r"[a-zA-Z_][a-zA-Z0-9_]*"
NAME_RE = re.compile(NAME + r"$")
LABEL_RE = re.compile(LABEL + r"$")
TYPES = ("counter", "gauge", "histogram", "summary", "untyped")


class Family:
    def __init__(self, name):
        self.name = name
        self.help = None
        self.type = None
        self.samples = []  # (sample name, labels dict, value)


def parse_value(text):
    if text in ("+Inf", "Inf"):
        return math.inf
    if text == "-Inf":
        return -math.inf
    if text == "NaN":
        return math.nan
    if not re.fullmatch(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?", text):
        raise ValueError(f"bad value {text!r}")
    return float(text)


def parse_labels(text, pos, errors, where):
    """text[pos] == '{'; returns (labels, position after '}')."""
    labels = {}
    pos += 1
    while True:
        if pos < len(text) and text[pos] == "}":
            return labels, pos + 1
        m = re.compile(LABEL).match(text, pos)
        if not m:
            raise ValueError(f"bad label name at column {pos + 1}")
        key = m.group(0)
        pos = m.end()
        if text[pos:pos + 2] != '="':
            raise ValueError(f"label {key}: expected =\"")
        pos += 2
        value = []
        while True:
            if pos >= len(text):
                raise ValueError(f"label {key}: unterminated value")
            c = text[pos]
            if c == "\\":
                nxt = text[pos + 1:pos + 2]
                if nxt not in ("\\", '"', "n"):
                    raise ValueError(f"label {key}: bad escape \\{nxt}")
                value.append({"\\": "\\", '"': '"', "n": "\n"}[nxt])
                pos += 2
            elif c == '"':
                pos += 1
                break
            elif c == "\n":
                raise ValueError(f"label {key}: raw newline in value")
            else:
                value.append(c)
                pos += 1
        if key in labels:
            raise ValueError(f"label {key} given twice")
        if key.startswith("__"):
            raise ValueError(f"label {key}: names starting __ are reserved")
        labels[key] = "".join(value)
        if pos < len(text) and text[pos] == ",":
            pos += 1
            continue
        if pos < len(text) and text[pos] == "}":
            return labels, pos + 1
        raise ValueError(f"label {key}: expected , or }}")


def family_of(sample, families):
    """The family a sample name belongs to (histogram suffixes)."""
    if sample in families:
        return sample
    for suffix in ("_bucket", "_sum", "_count"):
        if sample.endswith(suffix) and sample[:-len(suffix)] in families:
            return sample[:-len(suffix)]
    return sample


def parse(text):
    """Checks: UTF-8 text ending in a newline; HELP/TYPE syntax; at most
    one HELP and TYPE per family, before its samples; a family's samples
    together (no family appears twice); valid metric and label names;
    label values escaped; values are numbers; no duplicate series; counter
    names end in _total and values are >= 0; histograms: _bucket with le,
    buckets ascending by le and cumulative (non-decreasing), a +Inf bucket
    equal to _count, a _sum, per label set."""
    errors = []
    families = {}
    order = []
    seen_series = set()
    closed = set()
    current = None
    if text and not text.endswith("\n"):
        errors.append("the exposition does not end with a newline")
    for n, line in enumerate(text.split("\n")[:-1] if text.endswith("\n")
                             else text.split("\n"), 1):
        where = f"line {n}"
        if line == "":
            continue
        if line.startswith("#"):
            parts = line.split(" ", 3)
            if len(parts) >= 3 and parts[1] in ("HELP", "TYPE"):
                name = parts[2]
                if not NAME_RE.match(name):
                    errors.append(f"{where}: bad metric name {name!r}")
                    continue
                if name in closed:
                    errors.append(f"{where}: {name}: family appears twice")
                fam = families.get(name)
                if fam is None:
                    fam = families[name] = Family(name)
                    order.append(name)
                if current and current != name:
                    closed.add(current)
                current = name
                if fam.samples:
                    errors.append(f"{where}: {name}: {parts[1]} after samples")
                if parts[1] == "HELP":
                    if fam.help is not None:
                        errors.append(f"{where}: {name}: second HELP")
                    fam.help = parts[3] if len(parts) > 3 else ""
                    if re.search(r"\\[^\\n]", fam.help):
                        errors.append(f"{where}: {name}: bad escape in HELP")
                else:
                    t = parts[3] if len(parts) > 3 else ""
                    if fam.type is not None:
                        errors.append(f"{where}: {name}: second TYPE")
                    if t not in TYPES:
                        errors.append(f"{where}: {name}: bad type {t!r}")
                    fam.type = t
            continue
        m = re.compile(NAME).match(line)
        if not m:
            errors.append(f"{where}: bad sample line {line!r}")
            continue
        sample = m.group(0)
        pos = m.end()
        labels = {}
        try:
            if pos < len(line) and line[pos] == "{":
                labels, pos = parse_labels(line, pos, errors, where)
            if line[pos:pos + 1] != " ":
                raise ValueError("expected a space before the value")
            rest = line[pos + 1:].split(" ")
            if len(rest) not in (1, 2):
                raise ValueError("expected value [timestamp]")
            value = parse_value(rest[0])
            if len(rest) == 2 and not re.fullmatch(r"-?\d+", rest[1]):
                raise ValueError(f"bad timestamp {rest[1]!r}")
        except (ValueError, IndexError) as e:
            errors.append(f"{where}: {e}: {line!r}")
            continue
        fname = family_of(sample, families)
        if fname != current:
            if fname in closed or (fname in families and
                                   families[fname].samples):
                errors.append(f"{where}: {fname}: samples not together")
            if current:
                closed.add(current)
            current = fname
        fam = families.get(fname)
        if fam is None:
            fam = families[fname] = Family(fname)
            order.append(fname)
        key = (sample, tuple(sorted(labels.items())))
        if key in seen_series:
            errors.append(f"{where}: duplicate series {sample}{labels}")
        seen_series.add(key)
        fam.samples.append((sample, labels, value))
    for name in order:
        check_family(families[name], errors)
    return [families[n] for n in order], errors


def check_family(fam, errors):
    t = fam.type or "untyped"
    if t == "counter":
        if not fam.name.endswith("_total"):
            errors.append(f"{fam.name}: a counter's name ends in _total")
        for s, labels, v in fam.samples:
            if s != fam.name:
                errors.append(f"{fam.name}: counter sample named {s}")
            if not v >= 0:
                errors.append(f"{fam.name}{labels}: counter value {v} < 0")
    elif t == "gauge":
        for s, _, _ in fam.samples:
            if s != fam.name:
                errors.append(f"{fam.name}: gauge sample named {s}")
    elif t == "histogram":
        series = {}
        for s, labels, v in fam.samples:
            base = {k: x for k, x in labels.items() if k != "le"}
            key = tuple(sorted(base.items()))
            h = series.setdefault(key, {"buckets": [], "sum": None,
                                        "count": None})
            if s == fam.name + "_bucket":
                if "le" not in labels:
                    errors.append(f"{fam.name}{base}: bucket without le")
                    continue
                try:
                    le = parse_value(labels["le"])
                except ValueError:
                    errors.append(f"{fam.name}{base}: bad le "
                                  f"{labels['le']!r}")
                    continue
                h["buckets"].append((le, v))
            elif s == fam.name + "_sum":
                h["sum"] = v
            elif s == fam.name + "_count":
                h["count"] = v
            else:
                errors.append(f"{fam.name}: histogram sample named {s}")
        for key, h in series.items():
            who = f"{fam.name}{dict(key)}"
            b = h["buckets"]
            if not b or b[-1][0] != math.inf:
                errors.append(f"{who}: no +Inf bucket last")
            if [x for x, _ in b] != sorted(x for x, _ in b) or \
                    len({x for x, _ in b}) != len(b):
                errors.append(f"{who}: buckets not in ascending le order")
            if any(b[i][1] > b[i + 1][1] for i in range(len(b) - 1)):
                errors.append(f"{who}: bucket counts not cumulative")
            if h["count"] is None or h["sum"] is None:
                errors.append(f"{who}: _count or _sum missing")
            elif b and b[-1][1] != h["count"]:
                errors.append(f"{who}: +Inf bucket {b[-1][1]} != "
                              f"_count {h['count']}")


def main(argv):
    if len(argv) != 2:
        print("usage: promparse.py FILE", file=sys.stderr)
        return 2
    with open(argv[1], encoding="utf-8") as f:
        text = f.read()
    families, errors = parse(text)
    for e in errors:
        print(e)
    if not errors:
        print(f"{len(families)} families, "
              f"{sum(len(f.samples) for f in families)} samples: well formed")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
