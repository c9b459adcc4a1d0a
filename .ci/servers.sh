#!/usr/bin/env bash
# Installs and starts the real servers the tests probe, each on 127.0.0.1 at
# a free port, and writes their addresses as `export VAR=...` lines to
# .ci/cache/servers.env; `stop` kills every process it started (and its
# children). Used by .ci/run; usable by hand:
#   bash .ci/servers.sh start && . .ci/cache/servers.env && cargo test ...
#   bash .ci/servers.sh stop
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
cache="$root/.ci/cache"
run="$cache/servers"
env_file="$cache/servers.env"
mkdir -p "$cache"

pip() { "$1/bin/pip" install --quiet --disable-pip-version-check "${@:2}"; }

venv() {
  [ -x "$1/bin/python" ] || python3 -m venv "$1"
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# wait_http NAME URL: polls until the URL answers (any HTTP status), 120 s at most.
wait_http() {
  for _ in $(seq 1 240); do
    if curl -s -o /dev/null "$2"; then return 0; fi
    sleep 0.5
  done
  echo "servers: $1 did not come up at $2; its log:" >&2
  tail -n 30 "$run/$1.log" >&2 || true
  return 1
}

# launch NAME DIR CMD...: starts CMD in its own process group, in DIR.
launch() {
  local name=$1 dir=$2
  shift 2
  mkdir -p "$dir"
  (cd "$dir" && exec setsid "$@" >"$run/$name.log" 2>&1) &
  echo $! >"$run/$name.pid"
}

install() {
  # Test tooling and the storage emulators (report consumers are installed
  # by .ci/run into the same venv).
  venv "$cache/venv"
  pip "$cache/venv" 'moto[server]==5.*' 'boto3==1.*' 'gcp-storage-emulator==2026.7.19' 'azure-storage-blob==12.*'
  # MLflow 2.22.5 with its basic-auth app; without the SQLAlchemy pin it crashes.
  venv "$cache/mlflow"
  pip "$cache/mlflow" 'mlflow[auth]==2.22.5' 'sqlalchemy<2.1'
  # BentoML has no built-in auth when self-hosted: the test service adds an
  # API-key middleware when MLPOL_BENTO_KEY is set.
  venv "$cache/bentoml"
  pip "$cache/bentoml" 'bentoml==1.4.*'
  # Azurite (Azure Blob emulator).
  if [ ! -x "$cache/node/node_modules/.bin/azurite-blob" ]; then
    mkdir -p "$cache/node"
    (cd "$cache/node" && npm install --silent --no-audit --no-fund --prefix . 'azurite@3' >/dev/null)
  fi
}

start() {
  stop quiet
  install
  rm -rf "$run" && mkdir -p "$run"
  local p_mlflow p_open p_strong p_s3 p_az p_gcs p_bento p_bento_key strong
  p_mlflow=$(free_port); p_open=$(free_port); p_strong=$(free_port); p_s3=$(free_port); p_az=$(free_port)
  p_gcs=$(free_port); p_bento=$(free_port); p_bento_key=$(free_port)

  # The flask secret is made per run; the admin keeps MLflow 2.x's default
  # password, which is what the default-credential tests detect.
  launch mlflow "$run/mlflow" env MLFLOW_FLASK_SERVER_SECRET_KEY="$(python3 -c 'import secrets; print(secrets.token_hex(16))')" \
    "$cache/mlflow/bin/mlflow" server --app-name basic-auth --host 127.0.0.1 --port "$p_mlflow" --workers 1
  # A third server whose admin password was changed (made per run), for the
  # passing side of the authentication checks.
  strong=$(python3 -c 'import secrets; print(secrets.token_urlsafe(18))')
  mkdir -p "$run/mlflow-strong"
  printf '[mlflow]\ndefault_permission = READ\ndatabase_uri = sqlite:///basic_auth.db\nadmin_username = admin\nadmin_password = %s\nauthorization_function = mlflow.server.auth:authenticate_request_basic_auth\n' \
    "$strong" >"$run/mlflow-strong/auth.ini"
  launch mlflow-strong "$run/mlflow-strong" env MLFLOW_FLASK_SERVER_SECRET_KEY="$(python3 -c 'import secrets; print(secrets.token_hex(16))')" \
    MLFLOW_AUTH_CONFIG_PATH="$run/mlflow-strong/auth.ini" \
    "$cache/mlflow/bin/mlflow" server --app-name basic-auth --host 127.0.0.1 --port "$p_strong" --workers 1
  launch mlflow-open "$run/mlflow-open" \
    "$cache/mlflow/bin/mlflow" server --host 127.0.0.1 --port "$p_open" --workers 1
  launch moto "$run/moto" "$cache/venv/bin/moto_server" -H 127.0.0.1 -p "$p_s3"
  launch azurite "$run/azurite" "$cache/node/node_modules/.bin/azurite-blob" --blobHost 127.0.0.1 \
    --blobPort "$p_az" --location "$run/azurite" --skipApiVersionCheck --disableTelemetry --silent
  launch gcs "$run/gcs" "$cache/venv/bin/gcp-storage-emulator" start --host 127.0.0.1 --port "$p_gcs" --in-memory
  local bento_src="$root/tests/fixtures/bentoml"
  launch bentoml "$run/bentoml" env BENTOML_DO_NOT_TRACK=true BENTOML_HOME="$run/bentoml/home" \
    "$cache/bentoml/bin/bentoml" serve service:Echo --working-dir "$bento_src" --host 127.0.0.1 --port "$p_bento"
  launch bentoml-key "$run/bentoml-key" env BENTOML_DO_NOT_TRACK=true BENTOML_HOME="$run/bentoml-key/home" \
    MLPOL_BENTO_KEY=mlpol-test-api-key \
    "$cache/bentoml/bin/bentoml" serve service:Echo --working-dir "$bento_src" --host 127.0.0.1 --port "$p_bento_key"

  wait_http mlflow "http://127.0.0.1:$p_mlflow/health"
  wait_http mlflow-open "http://127.0.0.1:$p_open/health"
  wait_http mlflow-strong "http://127.0.0.1:$p_strong/health"
  wait_http moto "http://127.0.0.1:$p_s3/"
  wait_http azurite "http://127.0.0.1:$p_az/devstoreaccount1?comp=list"
  wait_http gcs "http://127.0.0.1:$p_gcs/storage/v1/b"
  wait_http bentoml "http://127.0.0.1:$p_bento/healthz"
  wait_http bentoml-key "http://127.0.0.1:$p_bento_key/healthz"

  cat >"$env_file" <<ENV
export MLPOL_TEST_MLFLOW_URL=http://127.0.0.1:$p_mlflow
export MLPOL_TEST_MLFLOW_OPEN_URL=http://127.0.0.1:$p_open
export MLPOL_TEST_MLFLOW_STRONG_URL=http://127.0.0.1:$p_strong
export MLPOL_TEST_MLFLOW_STRONG_USER=admin
export MLPOL_TEST_MLFLOW_STRONG_PASSWORD=$strong
export MLPOL_TEST_S3=http://127.0.0.1:$p_s3
export MLPOL_TEST_AZURITE=http://127.0.0.1:$p_az/devstoreaccount1
export MLPOL_TEST_GCS=http://127.0.0.1:$p_gcs
export MLPOL_TEST_BENTOML_URL=http://127.0.0.1:$p_bento
export MLPOL_TEST_BENTOML_KEY_URL=http://127.0.0.1:$p_bento_key
export MLPOL_TEST_BENTOML_KEY=mlpol-test-api-key
ENV
  echo "servers: up ($env_file)"
}

stop() {
  [ -d "$run" ] || return 0
  for f in "$run"/*.pid; do
    [ -f "$f" ] || continue
    local pid
    pid=$(cat "$f")
    # setsid made each server the leader of its own group: kill the group.
    kill -TERM -- "-$pid" 2>/dev/null || true
    rm -f "$f"
  done
  sleep 1
  rm -f "$env_file"
  [ "${1:-}" = quiet ] || echo "servers: stopped"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  install) install ;;
  *) echo "usage: $0 start|stop|install" >&2; exit 2 ;;
esac
