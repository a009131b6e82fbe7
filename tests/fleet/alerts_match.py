#!/usr/bin/env python3
"""Every `kvmwatch check` rule has its alert in tools/fleet/kvmwatch-alerts.yml,
at check's default threshold (converted to Prometheus's base units).

usage: alerts_match.py KVMWATCH ALERTS_YML
Prints TAP lines. The rules come from `kvmwatch check --list-rules`, so a
new rule without an alert, or a default moved on one side only, fails.
"""

import re
import subprocess
import sys

# A default of 0 on an at-least rule can never fail: check reports it and
# judges nothing, so an alert would never fire. Listed, not silently left.
NO_ALERT = {"mmio.fast_share": "at-least 0: check reports it, never fails on it"}
TO_SECONDS = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3}


def list_rules(kvmwatch):
    text = subprocess.run([kvmwatch, "check", "--list-rules"], check=True,
                          capture_output=True, text=True).stdout
    rules = {}
    for line in text.splitlines()[1:]:
        m = re.match(r"(\S+)\s+\S+\s+(<=|>=)\s+(\S+)\s+.*\((\S+)\)$", line)
        if m:
            rules[m.group(1)] = (m.group(2), float(m.group(3)), m.group(4))
    return rules


def alerts_by_rule(path):
    """{check rule: [{alert, expr}]}, read from the file's own layout (a
    "- alert:" item, its "expr:" inline or as a "|" block, and a "rule:"
    in its labels), so that no YAML module is needed."""
    found, alert, in_expr = {}, None, False
    with open(path) as f:
        for line in f:
            m = re.match(r"\s*- alert: (\S+)", line)
            if m:
                alert, in_expr = {"alert": m.group(1), "expr": ""}, False
                continue
            if alert is None:
                continue
            m = re.match(r"\s*expr: (.*)", line)
            if m:
                in_expr = m.group(1).strip() == "|"
                alert["expr"] = "" if in_expr else m.group(1)
                continue
            if in_expr and re.match(r"\s{10,}\S", line):
                alert["expr"] += line.strip() + " "
                continue
            in_expr = False
            m = re.search(r"\brule: ([\w.]+)", line)
            if m:
                found.setdefault(m.group(1), []).append(alert)
    return found


def threshold_in(expr, op, value):
    """The comparison that fails check's rule, as the expression has it."""
    if op == ">=":
        # At least 1 of a bool: the alert is its == 0.
        return re.search(r"==\s*0\b", expr) is not None and value == 1
    for m in re.finditer(r">\s*([0-9.eE+-]+)", expr):
        if abs(float(m.group(1)) - value) <= 1e-12 * max(1, value):
            return True
    return False


def main():
    kvmwatch, path = sys.argv[1], sys.argv[2]
    rules, alerts = list_rules(kvmwatch), alerts_by_rule(path)
    n = 0
    for name, (op, value, unit) in sorted(rules.items()):
        n += 1
        if name in NO_ALERT:
            good = name not in alerts
            print(f"{'ok' if good else 'not ok'} {n} - {name}: no alert "
                  f"({NO_ALERT[name]})")
            continue
        want = value * TO_SECONDS.get(unit, 1)
        mine = alerts.get(name, [])
        good = len(mine) == 1 and threshold_in(mine[0]["expr"], op, want)
        print(f"{'ok' if good else 'not ok'} {n} - {name} ({op} {value:g} "
              f"{unit}): alert "
              f"{mine[0]['alert'] if mine else 'missing'} at {want:g}")
    extra = sorted(set(alerts) - set(rules))
    n += 1
    print(f"{'ok' if rules and not extra else 'not ok'} {n} - every alert "
          f"names a check rule ({len(rules)} rules){': ' if extra else ''}"
          f"{', '.join(extra)}")


if __name__ == "__main__":
    main()
