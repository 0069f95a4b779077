#!/usr/bin/env bash
# Install the `quarto` stand-in (tools/quarto) as <venv>/bin/quarto, its shebang pointing at that venv's python, so
# nbdev 2's docs commands find it (and never try to install Quarto, see environment.md §7.1). Idempotent.
# Usage: tools/install_quarto_shim.sh [VENV]   (default: the active venv, $VIRTUAL_ENV)
set -euo pipefail
src="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/quarto"
venv="${1:-${VIRTUAL_ENV:-}}"
[ -n "$venv" ] || { echo "install_quarto_shim: no venv given and none active" >&2; exit 1; }
venv="$(cd "$venv" && pwd)"
[ -x "$venv/bin/python" ] || { echo "install_quarto_shim: $venv/bin/python not found" >&2; exit 1; }
"$venv/bin/python" -c "import smalldocs, nbconvert" 2>/dev/null \
  || echo "install_quarto_shim: warning: smalldocs/nbconvert missing in $venv (pip install -e '.[dev]' first)" >&2
tmp="$venv/bin/.quarto.tmp.$$"
{ echo "#!$venv/bin/python"; tail -n +2 "$src"; } > "$tmp"   # replace line 1 (the shebang)
chmod 755 "$tmp"
mv -f "$tmp" "$venv/bin/quarto"                                # atomic replace: safe to rerun
echo "quarto stand-in $("$venv/bin/quarto" --version) -> $venv/bin/quarto"
