#!/usr/bin/env python3
"""Sum what every test tier of `make check` left in the tally folder into one line:
    N passed, N failed, N skipped
    tools/tally.py DIR [--status RC] [TIER...]
Each tier writes DIR/TIER.txt (lines "pass NAME", "fail NAME", "skip NAME") or DIR/TIER.xml
(pytest's --junitxml). A TIER named on the command line that left nothing did not run: it
counts as one failure. RC is make's exit status: a failure no tier counted (a build step) counts
as one too. One line per tier goes before the total, which is the last line."""
import os
import sys
import xml.etree.ElementTree as ET


def count_txt(path):
    n = {"pass": 0, "fail": 0, "skip": 0}
    failed = []
    with open(path, errors="replace") as f:
        for line in f:
            word, _, name = line.strip().partition(" ")
            if word in n:
                n[word] += 1
                if word == "fail":
                    failed.append(name)
    return n["pass"], n["fail"], n["skip"], failed


def count_xml(path):
    root = ET.parse(path).getroot()
    suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
    p = f = s = 0
    failed = []
    for suite in suites:
        for case in suite.iter("testcase"):
            name = f"{case.get('classname', '')}::{case.get('name', '')}"
            if case.find("failure") is not None or case.find("error") is not None:
                f += 1
                failed.append(name)
            elif case.find("skipped") is not None:
                s += 1
            else:
                p += 1
    return p, f, s, failed


def main(argv):
    top, status, want = argv[0], 0, []
    rest = argv[1:]
    while rest:
        a = rest.pop(0)
        if a == "--status":
            status = int(rest.pop(0))
        else:
            want.append(a)
    seen = {}
    for name in sorted(os.listdir(top)) if os.path.isdir(top) else []:
        tier, ext = os.path.splitext(name)
        path = os.path.join(top, name)
        try:
            if ext == ".txt":
                seen[tier] = count_txt(path)
            elif ext == ".xml":
                seen[tier] = count_xml(path)
        except (OSError, ET.ParseError) as e:
            seen[tier] = (0, 1, 0, [f"unreadable tally {name}: {e}"])
    for tier in want:
        if tier not in seen:
            seen[tier] = (0, 1, 0, ["did not run"])
    total = [0, 0, 0]
    for tier in sorted(seen):
        p, f, s, failed = seen[tier]
        total = [total[0] + p, total[1] + f, total[2] + s]
        print(f"tally: {tier}: {p} passed, {f} failed, {s} skipped" +
              (f" ({', '.join(failed[:5])}{', ...' if len(failed) > 5 else ''})" if failed else ""))
    if status and not total[1]:
        print(f"tally: make check failed (exit status {status}) outside the tests counted")
        total[1] = 1
    print(f"{total[0]} passed, {total[1]} failed, {total[2]} skipped")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
