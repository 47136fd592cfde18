#!/usr/bin/env bash
# Score the local summarizer against sumy's TextRank, LexRank and Luhn (and a
# Lead baseline) with ROUGE on the meetings in data/. Extra arguments go to
# evaluate.py, e.g. `eval/summarize/run.sh --words 150,250`.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
venv="$here/.venv-eval"
target="${CARGO_TARGET_DIR:-$root/target}"

if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
fi
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
if ! "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$here/requirements.txt" \
    2>"$log"; then
    cat "$log" >&2
    exit 1
fi

cargo build --quiet --manifest-path "$root/Cargo.toml" -p summarize --example summarize_text
"$venv/bin/python" "$here/evaluate.py" --bin "$target/debug/examples/summarize_text" "$@"
