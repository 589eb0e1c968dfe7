#!/usr/bin/env python3
"""Helpers of the --json tests.

  json_check.py get FILE PATH     print the value at PATH (a.b[0].c) of the one JSON document
                                  in FILE: strings bare, everything else as JSON; exit 1 when
                                  FILE is not exactly one document or PATH is absent
  json_check.py validate SCHEMA FILE...
                                  validate every FILE against the JSON Schema; exit 77 when
                                  the jsonschema package is missing
"""
import json
import re
import sys


def load(path):
    with open(path, encoding="utf-8") as f:
        text = f.read()
    # exactly one document (json.loads refuses trailing text), ending in one newline
    if not text.endswith("\n") or text.count("\n") != 1:
        raise ValueError(f"{path}: not one line ending in a newline")
    return json.loads(text)


def get(doc, path):
    for part in re.findall(r"[^.\[\]]+|\[\d+\]", path):
        if part.startswith("["):
            doc = doc[int(part[1:-1])]
        else:
            doc = doc[part]
    return doc


def main(argv):
    if argv[1] == "get":
        try:
            value = get(load(argv[2]), argv[3])
        except (ValueError, KeyError, IndexError, TypeError) as e:
            print(f"json_check: {argv[2]}: {argv[3]}: {e!r}", file=sys.stderr)
            return 1
        print(value if isinstance(value, str) else json.dumps(value))
        return 0
    if argv[1] == "validate":
        try:
            import jsonschema
        except ImportError:
            print("SKIP: python3-jsonschema is not installed")
            return 77
        with open(argv[2], encoding="utf-8") as f:
            schema = json.load(f)
        jsonschema.Draft202012Validator.check_schema(schema)
        validator = jsonschema.Draft202012Validator(schema)
        bad = 0
        for path in argv[3:]:
            errors = list(validator.iter_errors(load(path)))
            for e in errors[:5]:
                print(f"{path}: {'/'.join(map(str, e.absolute_path))}: {e.message}")
            bad += bool(errors)
        print(f"{len(argv) - 3 - bad} of {len(argv) - 3} documents valid")
        return 1 if bad else 0
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
