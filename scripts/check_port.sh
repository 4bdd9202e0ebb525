#!/usr/bin/env bash
# Usage: check_port.sh HOST PORT VARIABLE TARGET, e.g. check_port.sh 127.0.0.1 8000 API_PORT run.
# Stops, before anything starts, when HOST:PORT is taken: a server started there would die at bind while
# the chat talked to whatever already listens on it.
set -euo pipefail
host=$1 port=$2 variable=$3 target=$4
VENV=${VENV:-.venv}

# Bound as uvicorn and Streamlit bind (SO_REUSEADDR), so only a port in use fails, not one in TIME_WAIT.
"$VENV/bin/python" - "$host" "$port" <<'PY' && exit 0
import errno, socket, sys

host, port = sys.argv[1], int(sys.argv[2])
try:
    for family, kind, proto, _, address in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM):
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind(address)
except OSError as exc:
    if exc.errno == errno.EADDRINUSE:
        sys.exit(1)
    print(f"error: cannot listen on {host}:{port}: {exc}", file=sys.stderr)
    sys.exit(2)
PY
status=$?
if [ "$status" -eq 1 ]; then
  echo "error: port $port on $host is already in use ($variable). Stop what listens there, or choose" \
    "another port: make $target $variable=$((port + 10))" >&2
fi
exit "$status"
