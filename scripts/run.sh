#!/usr/bin/env bash
# Ingest, then start the API in the background and the chat in the foreground; Ctrl-C stops both.
# Arguments go to `python -m ingest`.
set -euo pipefail
HOST=${HOST:-127.0.0.1}
API_PORT=${API_PORT:-8000}
UI_PORT=${UI_PORT:-8501}
VENV=${VENV:-.venv}
export VENV
API="http://${HOST}:${API_PORT}"
here=$(dirname "$0")

# Both ports first: nothing is ingested or started when either is taken.
bash "$here/check_port.sh" "$HOST" "$API_PORT" API_PORT run
bash "$here/check_port.sh" "$HOST" "$UI_PORT" UI_PORT run

"$VENV/bin/python" -m ingest "$@"

api_log=$(mktemp "${TMPDIR:-/tmp}/docqa-api.XXXXXX")
"$VENV/bin/python" -m server --host "$HOST" --port "$API_PORT" > >(tee "$api_log" >&2) 2>&1 &
server_pid=$!
trap 'kill $server_pid 2>/dev/null || true; rm -f "$api_log"' EXIT
trap 'exit 130' INT TERM

failed() {
  echo >&2
  echo "error: $1; the end of its log:" >&2
  sleep 0.5 # tee may still be writing the last lines
  tail -n 20 "$api_log" | sed 's/^/  | /' >&2
  exit 1
}

healthy=false
deadline=$((SECONDS + 120))
while ((SECONDS < deadline)); do
  if ! kill -0 "$server_pid" 2>/dev/null; then
    status=0
    wait "$server_pid" || status=$?
    failed "the API stopped during start-up (exit status $status)"
  fi
  if "$VENV/bin/python" -c "import httpx,sys; sys.exit(httpx.get('$API/health').status_code != 200)" 2>/dev/null; then
    healthy=true
    break
  fi
  sleep 0.5
done
# The answer must be our API's: one that died at bind leaves another process answering on the port.
if ! $healthy || ! kill -0 "$server_pid" 2>/dev/null; then
  failed "the API did not start at $API within 120 s"
fi

echo
echo "  API:  $API   (docs: $API/docs)"
echo "  Chat: http://${HOST}:${UI_PORT}"
echo

API_URL="$API" "$VENV/bin/streamlit" run ui/app.py \
  --server.address "$HOST" --server.port "$UI_PORT" --server.headless true
