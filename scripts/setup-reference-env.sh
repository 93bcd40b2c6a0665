#!/usr/bin/env bash
# Creates (idempotently) the Python reference environment used only by the fixture and
# benchmark scripts in scripts/. `swift build` / `swift test` never need it: fixtures are
# committed files.
#
#   bash scripts/setup-reference-env.sh          # create or update .venv-reference/
#   PYTHON=python3.11 bash scripts/setup-reference-env.sh
#
# The environment lives in .venv-reference/ at the repository root (git-ignored via `.venv*/`).
# Packages come from plain PyPI; the scripts use them on the CPU only.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv-reference"
PYTHON="${PYTHON:-python3}"
PACKAGES=(torch transformers diffusers safetensors tiktoken numpy dashscope)

echo "[setup-reference-env] repository: $ROOT"
echo "[setup-reference-env] base python: $(command -v "$PYTHON") ($("$PYTHON" --version 2>&1))"

if [[ -x "$VENV/bin/python" ]]; then
    echo "[setup-reference-env] virtual environment exists: $VENV (reusing it)"
else
    echo "[setup-reference-env] creating virtual environment: $PYTHON -m venv $VENV"
    "$PYTHON" -m venv "$VENV"
fi

PY="$VENV/bin/python"

echo "[setup-reference-env] upgrading pip"
"$PY" -m pip install --upgrade pip

echo "[setup-reference-env] installing: ${PACKAGES[*]}"
"$PY" -m pip install "${PACKAGES[@]}"

echo "[setup-reference-env] installed versions:"
"$PY" - <<'EOF'
import importlib
for name in ["torch", "transformers", "diffusers", "safetensors", "tiktoken", "numpy"]:
    try:
        mod = importlib.import_module(name)
        print(f"  {name:13s} {getattr(mod, '__version__', '?')}")
    except Exception as exc:  # report, do not hide
        print(f"  {name:13s} IMPORT FAILED: {exc!r}")
EOF

echo "[setup-reference-env] done. Use: $PY scripts/make_tensor_fixtures.py"
