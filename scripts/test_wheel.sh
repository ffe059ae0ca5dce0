#!/usr/bin/env bash
# Builds the wheel, installs it into a clean virtual environment and runs it from another folder
# with no TOKENOMY_* variable and sockets refused: the vocabularies and data must come with it.
set -euo pipefail
cd "$(dirname "$0")/.."
python="${PYTHON:-python3}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

.venv/bin/python -m pip wheel --quiet --no-deps --wheel-dir "$work/dist" .
wheel="$(ls "$work"/dist/tokenomy-*.whl)"
listing="$("$python" -m zipfile -l "$wheel")"
for member in tokenomy/data/encodings/o200k_base.tiktoken tokenomy/data/encodings/SHA256SUMS \
              tokenomy/data/canaries.toml tokenomy/data/models.toml; do
  grep -q "$member" <<<"$listing" || { echo "wheel lacks $member" >&2; exit 1; }
done
"$python" -m venv "$work/venv"
"$work/venv/bin/python" -m pip install --quiet "$wheel"

cd "$work"
printf 'tiktoken is great!' > sample.txt
clean_env=(env -u TOKENOMY_ENCODINGS_DIR -u TOKENOMY_CORPUS_DIR -u TOKENOMY_BACKEND -u TOKENOMY_REGISTRY
           -u TIKTOKEN_CACHE_DIR -u PYTHONPATH)
"${clean_env[@]}" venv/bin/tokenomy --version
"${clean_env[@]}" venv/bin/tokenomy count sample.txt --json > count.json
"${clean_env[@]}" venv/bin/python - <<'PY'
import json, socket

def refuse(*args, **kwargs):
    raise AssertionError("tokenomy opened a network connection")

socket.socket = socket.create_connection = refuse
assert json.load(open("count.json"))[0]["tokens"] == 6, open("count.json").read()

import tokenomy
from tokenomy.encodings import encoding_names, encoding_origin

assert "site-packages" in tokenomy.__file__, tokenomy.__file__
assert tokenomy.count("tiktoken is great!", model="gpt-4o") == 6
for name in encoding_names():
    assert tokenomy.encoding_for(name).count("hello world") == 2, name
    assert encoding_origin(name) == "bundled", (name, encoding_origin(name))
print("wheel OK:", tokenomy.__version__, tokenomy.backend_info()["o200k_base"].backend)
PY
