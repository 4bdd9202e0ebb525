#!/usr/bin/env bash
# Start the API in the background and the chat in the foreground; Ctrl-C stops both.
set -euo pipefail
HOST=${HOST:-127.0.0.1}
API_PORT=${API_PORT:-8000}
UI_PORT=${UI_PORT:-8501}
VENV=${VENV:-.venv}
API="http://${HOST}:${API_PORT}"

"$VENV/bin/python" -m server --host "$HOST" --port "$API_PORT" &
server_pid=$!
trap 'kill $server_pid 2>/dev/null || true' EXIT INT TERM

for _ in $(seq 1 120); do
  if "$VENV/bin/python" -c "import httpx,sys; sys.exit(httpx.get('$API/health').status_code != 200)" 2>/dev/null; then
    break
  fi
  if ! kill -0 "$server_pid" 2>/dev/null; then echo "the API failed to start" >&2; exit 1; fi
  sleep 0.5
done

echo
echo "  API:  $API   (docs: $API/docs)"
echo "  Chat: http://${HOST}:${UI_PORT}"
echo

API_URL="$API" "$VENV/bin/streamlit" run ui/app.py \
  --server.address "$HOST" --server.port "$UI_PORT" --server.headless true
