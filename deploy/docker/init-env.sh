#!/bin/sh
# Writes .env from .env.example with a fresh random password in place of every `change-me-*` value,
# so `docker compose up` never runs with example credentials. Refuses to overwrite an existing file.
# Usage: sh deploy/docker/init-env.sh [OUT]   (default: .env next to docker-compose.yml)
set -eu

root=$(cd "$(dirname "$0")/../.." && pwd)
out=${1:-$root/.env}
if [ -e "$out" ]; then
  echo "init-env: $out exists; edit it or remove it first" >&2
  exit 1
fi

secret() { LC_ALL=C tr -dc 'A-Za-z0-9' </dev/urandom | head -c 24; }

umask 077
while IFS= read -r line || [ -n "$line" ]; do
  case "$line" in
    *=change-me*) printf '%s=%s\n' "${line%%=*}" "$(secret)" ;;
    *) printf '%s\n' "$line" ;;
  esac
done <"$root/.env.example" >"$out"
echo "init-env: wrote $out (passwords are random; read them there)" >&2
token=$(sed -n 's/^VOXFRAME_DISPLAY_TOKEN=//p' "$out")
port=$(sed -n 's/^VOXFRAME_DISPLAY_HOST_PORT=//p' "$out")
echo "init-env: after 'docker compose up', open the dashboard once at http://localhost:${port:-8080}/?token=$token" >&2
