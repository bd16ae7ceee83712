#!/usr/bin/env bash
# Snakemake runs this once in the new environment, from its working directory (envs/README.md says why the
# env file itself cannot): install this checkout's reglab, editable (jobs run the code as it is now) and
# without dependencies (the env file pins them all).
set -euo pipefail
root="${REGLAB_ROOT:-$PWD}"
if ! grep -qs '^name = "reglab"$' "$root/pyproject.toml"; then
  echo "post-deploy: $root is not a reglab checkout; run snakemake from one or set REGLAB_ROOT" >&2
  exit 1
fi
python -m pip install --no-deps --no-input -e "$root"
