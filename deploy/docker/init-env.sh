#!/bin/sh
# Writes .env from .env.example with a fresh random password in place of every `change-me-*` value,
# so `docker compose up` never runs with example credentials. An existing file is never overwritten: it only
# gets the `change-me-*` settings it lacks (a new release's broker users, say), each with a fresh password.
# Usage: sh deploy/docker/init-env.sh [OUT]   (default: .env next to docker-compose.yml)
set -eu

root=$(cd "$(dirname "$0")/../.." && pwd)
out=${1:-$root/.env}

secret() { LC_ALL=C tr -dc 'A-Za-z0-9' </dev/urandom | head -c 24; }

umask 077
if [ -e "$out" ]; then
  added=
  [ -z "$(tail -c 1 "$out")" ] || echo >>"$out"  # a last line without its newline stays whole
  while IFS= read -r line || [ -n "$line" ]; do
    case "$line" in
      *=change-me*)
        key=${line%%=*}
        grep -q "^$key=" "$out" || { printf '%s=%s\n' "$key" "$(secret)" >>"$out"; added="$added $key"; } ;;
    esac
  done <"$root/.env.example"
  echo "init-env: $out exists; ${added:+added$added, }nothing else changed" >&2
  exit 0
fi
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
