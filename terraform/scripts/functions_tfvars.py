#!/usr/bin/env python3
"""Combine the output of `<function> spec` into functions.auto.tfvars.json.

Usage: functions_tfvars.py --output PATH SPEC.json [SPEC.json ...]

Each SPEC.json holds one FunctionSpec as the function binary prints it. The
result is {"functions": {<name>: <spec>, ...}} with functions sorted by name
and each spec's fields in the order the binary printed them, so that
regenerating an unchanged set of specs rewrites the file byte for byte.
"""

import argparse
import json
import os
import sys
import tempfile


class SpecError(Exception):
    """A spec file that cannot go into the tfvars file."""


def load_spec(path):
    try:
        with open(path, encoding="utf-8") as f:
            spec = json.load(f)
    except (OSError, json.JSONDecodeError) as err:
        raise SpecError(f"{path}: not a readable JSON document: {err}") from err
    if not isinstance(spec, dict):
        raise SpecError(f"{path}: expected a JSON object, found {type(spec).__name__}")
    name = spec.get("name")
    if not isinstance(name, str) or not name:
        raise SpecError(f"{path}: the spec has no string field \"name\"")
    return name, spec


def combine(paths):
    specs = {}
    for path in paths:
        name, spec = load_spec(path)
        if name in specs:
            raise SpecError(f"{path}: a second spec for function {name!r}")
        specs[name] = spec
    fields = {name: sorted(spec) for name, spec in specs.items()}
    if len({tuple(f) for f in fields.values()}) > 1:
        raise SpecError(f"the specs do not share one set of fields: {fields}")
    return {"functions": {name: specs[name] for name in sorted(specs)}}


def write_atomically(path, text):
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".functions-", suffix=".json")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", required=True, help="file to write")
    parser.add_argument("specs", nargs="+", help="one JSON file per function")
    args = parser.parse_args()
    try:
        document = combine(args.specs)
    except SpecError as err:
        print(f"functions_tfvars: {err}", file=sys.stderr)
        return 1
    write_atomically(args.output, json.dumps(document, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
