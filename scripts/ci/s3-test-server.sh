#!/usr/bin/env bash
# Starts an S3-compatible server on localhost for the checkpoint-storage test: moto's server
# (pinned, from PyPI) in a git-ignored virtual environment, in the background, with an empty
# bucket `pbtnas-test`. Prints its endpoint (http://127.0.0.1:PORT).
# Usage: scripts/ci/s3-test-server.sh [PORT]
set -euo pipefail
cd "$(dirname "$0")/../.."
port=${1:-5123}
venv=third_party/moto-venv
if ! [ -x "$venv/bin/moto_server" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet "moto[server]==5.2.5"
fi
endpoint="http://127.0.0.1:$port"
if ! curl -sf "$endpoint/moto-api/" >/dev/null 2>&1; then
  nohup "$venv/bin/moto_server" -p "$port" > "$venv/server.log" 2>&1 &
  for _ in $(seq 50); do
    curl -sf "$endpoint/moto-api/" >/dev/null 2>&1 && break
    sleep 0.2
  done
fi
curl -sf -X PUT "$endpoint/pbtnas-test" >/dev/null
echo "$endpoint"
