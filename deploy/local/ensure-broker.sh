#!/usr/bin/env bash
# Make sure the tests' RabbitMQ answers on 127.0.0.1:5672: start the local one (installed by `make test`) if not.
# A VOXFRAME_TEST_AMQP_URL points the tests at a broker of your own; then nothing is started here.
set -euo pipefail
[ -z "${VOXFRAME_TEST_AMQP_URL:-}" ] || exit 0
. "$(dirname "$0")/lib.sh"
answers 5672 && exit 0
echo "voxframe: starting RabbitMQ (rabbitmq-server -detached)"
$sudo rabbitmq-server -detached
for _ in $(seq 1 60); do answers 5672 && break; sleep 1; done
answers 5672 || { echo "voxframe: RabbitMQ did not start on 127.0.0.1:5672 within 60 s" >&2; exit 1; }
$sudo rabbitmqctl -q await_startup
