#!/usr/bin/env bash
# Prints the path of a Python 3.10 interpreter (Rasa 3.6 runs on 3.8-3.10 only), or explains what to install.
set -euo pipefail
if command -v python3.10 >/dev/null 2>&1 && python3.10 -c 'import sys; assert sys.version_info[:2] == (3, 10)' 2>/dev/null; then
  command -v python3.10
  exit 0
fi
roots=()
if command -v pyenv >/dev/null 2>&1; then roots+=("$(pyenv root)"); fi
roots+=("${PYENV_ROOT:-}" "$HOME/.pyenv")
for root in "${roots[@]}"; do
  [ -n "$root" ] || continue
  for candidate in $(ls -d "$root"/versions/3.10.* 2>/dev/null | sort -V -r); do
    if [ -x "$candidate/bin/python" ]; then
      echo "$candidate/bin/python"
      exit 0
    fi
  done
done
echo "Hemu needs Python 3.10 (Rasa 3.6 does not run on 3.11+). Install it, e.g. 'pyenv install 3.10' or your" >&2
echo "system's python3.10 package, so that 'python3.10' is on PATH, then run make again." >&2
exit 1
