#!/usr/bin/env bash
# Install the quarto stand-in into the active venv's bin/ (idempotent); nbdev 2's docs commands must find a `quarto`.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
[ -n "${VIRTUAL_ENV:-}" ] || { echo "activate the venv first" >&2; exit 1; }
{ echo "#!$VIRTUAL_ENV/bin/python"; tail -n +2 "$here/quarto"; } > "$VIRTUAL_ENV/bin/quarto"
chmod +x "$VIRTUAL_ENV/bin/quarto"
echo "quarto stand-in: $("$VIRTUAL_ENV/bin/quarto" --version) at $VIRTUAL_ENV/bin/quarto"
