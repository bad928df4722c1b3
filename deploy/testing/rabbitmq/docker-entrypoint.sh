#!/bin/sh
# One Erlang cookie for the server (user rabbitmq) and for root, who runs the health check's rabbitmq-diagnostics:
# without the same cookie the CLI is refused. What the official image's entrypoint does, in short.
set -eu
cookie=/var/lib/rabbitmq/.erlang.cookie
if [ ! -s "$cookie" ]; then
  LC_ALL=C tr -dc 'A-Z' </dev/urandom | head -c 20 >"$cookie"
fi
chown rabbitmq:rabbitmq /var/lib/rabbitmq "$cookie"
chmod 400 "$cookie"
cp "$cookie" /root/.erlang.cookie
chmod 400 /root/.erlang.cookie
exec "$@"
