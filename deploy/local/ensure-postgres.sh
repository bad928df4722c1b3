#!/usr/bin/env bash
# Make sure the tests' PostgreSQL answers on 127.0.0.1:5432 (installed by `make test`): start Debian's cluster if
# not, and give the `postgres` role the password the tests use (`postgres`; a trust setup ignores it).
# A VOXFRAME_TEST_POSTGRES_URL points the tests at a server of your own; then nothing is started here.
set -euo pipefail
[ -z "${VOXFRAME_TEST_POSTGRES_URL:-}" ] || exit 0
. "$(dirname "$0")/lib.sh"
answers 5432 && exit 0
version=$(ls /etc/postgresql | sort -V | tail -1)
echo "voxframe: starting PostgreSQL $version"
$sudo pg_ctlcluster "$version" main start
for _ in $(seq 1 60); do answers 5432 && break; sleep 1; done
answers 5432 || { echo "voxframe: PostgreSQL did not start on 127.0.0.1:5432 within 60 s" >&2; exit 1; }
$sudo su postgres -c "psql -q -c \"ALTER ROLE postgres PASSWORD 'postgres'\""
