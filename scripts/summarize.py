#!/usr/bin/env python3
"""Counts the results of meson's test runs in the build folders it is given and prints,
last, "N passed, N failed".

A meson test counts once: OK and EXPECTEDFAIL as passed, SKIP as neither, anything else as
failed. A test that runs pytest with --junitxml=FILE (test/meson.build's python suite)
counts each pytest case instead, when FILE is there: passed, skipped (neither) or failed
(a failure or an error); a pytest run that fails without its report counts as one
failure. A build folder without a test log counts as one failure (its build failed).

Before the count it names every failed test, with the end of what it printed, so that
the last lines of a CI log say what failed."""
import json
import os
import sys
import xml.etree.ElementTree as ET

TAIL_LINES = 25


def junit_counts(path):
    """(passed, failed) over a pytest junit report's test cases; None if unreadable."""
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError):
        return None
    passed = failed = 0
    for case in root.iter('testcase'):
        kinds = {child.tag for child in case}
        if kinds & {'failure', 'error'}:
            failed += 1
        elif 'skipped' not in kinds:
            passed += 1
    return passed, failed


def junit_of(test):
    for arg in test.get('command', []):
        if arg.startswith('--junitxml='):
            return arg.split('=', 1)[1]
    return None


def main(dirs):
    passed = failed = 0
    failures = []
    for d in dirs:
        log = os.path.join(d, 'meson-logs', 'testlog.json')
        if not os.path.exists(log):
            failed += 1
            failures.append((d, 'the build (no test log)', ''))
            continue
        with open(log, encoding='utf-8') as f:
            tests = [json.loads(line) for line in f if line.strip()]
        for test in tests:
            result = test.get('result', '')
            junit = junit_of(test)
            counts = junit_counts(junit) if junit and result != 'SKIP' else None
            if counts is not None:
                passed += counts[0]
                failed += counts[1]
                ok = counts[1] == 0 and result == 'OK'
                if counts[1] == 0 and result != 'OK':
                    failed += 1  # pytest itself failed after its cases (or was killed)
            elif result in ('OK', 'EXPECTEDFAIL'):
                passed += 1
                ok = True
            elif result == 'SKIP':
                ok = True
            else:
                failed += 1
                ok = False
            if not ok:
                failures.append((d, f"{test.get('name', '?')} ({result})",
                                 test.get('stdout', '') or ''))
    for d, what, out in failures:
        print(f'FAILED in {d}: {what}')
        for line in out.rstrip('\n').split('\n')[-TAIL_LINES:]:
            if line:
                print(f'  | {line}')
    print(f'{passed} passed, {failed} failed')


if __name__ == '__main__':
    main(sys.argv[1:])
