#!/usr/bin/env python3
"""Counts test cases from meson's testlog.json: each Check program reports
"Checks: N, Failures: F, Errors: E"; a program that crashed or printed no summary counts as one
failure (or one pass when it exited 0). Prints "passed failed label"."""
import json
import re
import sys

SUMMARY = re.compile(r'Checks: (\d+), Failures: (\d+), Errors: (\d+)')


def main():
    path, label = sys.argv[1], sys.argv[2]
    passed = failed = 0
    with open(path, encoding='utf-8', errors='replace') as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            t = json.loads(line)
            out = (t.get('stdout') or '') + (t.get('stderr') or '')
            ok = t.get('result') == 'OK'
            found = SUMMARY.findall(out)
            if found:
                n, fl, er = (int(x) for x in found[-1])
                passed += n - fl - er
                failed += fl + er
                if not ok and fl + er == 0:
                    failed += 1  # the program itself failed (sanitizer, crash at exit)
            elif ok:
                passed += 1
            else:
                failed += 1
    print(passed, failed, label)


if __name__ == '__main__':
    main()
