#!/usr/bin/env bash
# Make sure the tests' PostgreSQL answers on 127.0.0.1:5432 (installed by `make test`): start Debian's cluster if
# not, and give the `postgres` role the password the tests use (`postgres`; a trust setup ignores it).
# A VOXFRAME_TEST_POSTGRES_URL points the tests at a server of your own; then nothing is started here.
set -euo pipefail
[ -z "${VOXFRAME_TEST_POSTGRES_URL:-}" ] || exit 0
answers() { timeout 2 bash -c 'exec 3<>/dev/tcp/127.0.0.1/5432' 2>/dev/null; }
answers && exit 0
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
version=$(ls /etc/postgresql | sort -V | tail -1)
echo "voxframe: starting PostgreSQL $version"
$sudo pg_ctlcluster "$version" main start
for _ in $(seq 1 60); do answers && break; sleep 1; done
answers || { echo "voxframe: PostgreSQL did not start on 127.0.0.1:5432 within 60 s" >&2; exit 1; }
$sudo su postgres -c "psql -q -c \"ALTER ROLE postgres PASSWORD 'postgres'\""
