#!/usr/bin/env bash
# Builds the images `make test-compose` runs, from Debian packages only (nothing is pulled from a registry).
# They are STAND-INS FOR THE TEST, not what a home runs: a Python base (debootstrap + docker import) for the
# project's Dockerfile, RabbitMQ 3.10, Prometheus 2.42 and Mosquitto 2.0.11 from Debian instead of the compose file's
# rabbitmq:4.x, prom/prometheus:v3.x and eclipse-mosquitto:2.0.x. Grafana has no Debian package: the test leaves it
# out.
# Cached between runs: the base is made only when its tag is missing, the rest by Docker's layer cache. One build at
# a time on a machine: make test starts one in the background, and the compose test's own waits for it, then finds
# every layer cached.
# Usage: build-images.sh   (prints the image names as KEY=VALUE lines for the test's .env)
set -euo pipefail
exec 9>"${TMPDIR:-/tmp}/voxframe-build-images.lock"
flock 9
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
base=voxframe-testing/python:3.11-bookworm
export DOCKER_BUILDKIT=0  # the classic builder: BuildKit would pull its dockerfile frontend from Docker Hub

if ! docker image inspect "$base" >/dev/null 2>&1; then
  rootfs=$(mktemp -d)
  trap 'rm -rf "$rootfs"' EXIT
  echo "build-images: debootstrap bookworm into $rootfs (about a minute)" >&2
  debootstrap --variant=minbase --include=python3,python3-venv,python-is-python3,ca-certificates \
    bookworm "$rootfs" http://deb.debian.org/debian >/dev/null
  # This machine's outbound HTTPS may pass a proxy with its own CA: the image trusts what the host trusts.
  cp /etc/ssl/certs/ca-certificates.crt "$rootfs/etc/ssl/certs/ca-certificates.crt"
  printf '[global]\ncert = /etc/ssl/certs/ca-certificates.crt\n' >"$rootfs/etc/pip.conf"
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
  tar -C "$rootfs" -c . | docker import -c 'CMD ["python3"]' - "$base" >/dev/null
fi

build() { docker build -q --network host --build-arg "BASE=$base" "$@" >/dev/null; }
build -t voxframe-testing/rabbitmq:3.10 "$here/rabbitmq"
build -t voxframe-testing/prometheus:2.42 "$here/prometheus"
build -t voxframe-testing/mosquitto:2.0 "$here/mosquitto"
docker build -q --network host --build-arg "PYTHON_IMAGE=$base" -f "$root/deploy/docker/Dockerfile" \
  -t voxframe-testing/voxframe:local "$root" >/dev/null
echo "VOXFRAME_IMAGE=voxframe-testing/voxframe:local"
echo "RABBITMQ_IMAGE=voxframe-testing/rabbitmq:3.10"
echo "PROMETHEUS_IMAGE=voxframe-testing/prometheus:2.42"
echo "MOSQUITTO_IMAGE=voxframe-testing/mosquitto:2.0"
