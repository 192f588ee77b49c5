#!/usr/bin/env bash
# Prints the path of a python3 that has the template tools: cfn-lint (the
# linter `sam validate --lint` runs), aws-sam-translator (the SAM transform),
# moto[server] (moto_server) and boto3. The system python3 when it has them
# all; otherwise a virtualenv in .cache/venv, created and filled by pip at the
# pinned versions below on first use. Messages go to stderr; a missing tool
# is installed or reported, never skipped.
set -euo pipefail
cd "$(dirname "$0")/.."

PINS=(cfn-lint==1.51.0 aws-sam-translator==1.110.0 'moto[server]==5.2.1' boto3)
CHECK='import cfnlint.runner, samtranslator.translator.transform, moto.server, boto3, flask, flask_cors'
VENV=.cache/venv

for py in "${PYTHON:-python3}" "$VENV/bin/python3"; do
  if [ -x "$(command -v "$py" 2>/dev/null)" ] && "$py" -c "$CHECK" 2>/dev/null; then
    command -v "$py"
    exit 0
  fi
done

command -v python3 >/dev/null || { echo "python3 is missing: apt-get install -y python3 python3-venv" >&2; exit 1; }
echo "installing ${PINS[*]} into $VENV (the system python3 lacks them)" >&2
python3 -m venv "$VENV" >&2 || { echo "python3 -m venv failed: apt-get install -y python3-venv" >&2; exit 1; }
"$VENV/bin/pip" install -q "${PINS[@]}" >&2 || { echo "pip install ${PINS[*]} failed: see above" >&2; exit 1; }
"$VENV/bin/python3" -c "$CHECK" >&2 || { echo "$VENV still lacks a tool: $CHECK" >&2; exit 1; }
echo "$PWD/$VENV/bin/python3"
