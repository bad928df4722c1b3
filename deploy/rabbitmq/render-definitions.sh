#!/bin/sh
# Writes the broker's definitions (vhost, users, permissions, topic permissions, policies) from the environment, then
# starts RabbitMQ. Compose cannot template a file, and a definitions file imported at boot stops the
# node from creating guest/guest, so the credentials in .env are the only way in.
# Usage: render-definitions.sh [--render-only OUT] | [rabbitmq-server ...]
set -eu

here=$(dirname "$0")
out=/var/lib/rabbitmq/voxframe-definitions.json
render_only=
if [ "${1:-}" = "--render-only" ]; then
  out=$2
  render_only=1
  shift 2
fi

fail() { echo "render-definitions: $*" >&2; exit 64; }

# One broker user per role, `$VOXFRAME_RABBITMQ_USER-<role>`, each with its own password (SECURITY.md, "The broker").
roles="CAPTURE TRANSCRIBER PROMPTER GENERATOR DISPLAY"
passwords=RABBITMQ_ADMIN_PASSWORD
for role in $roles; do passwords="$passwords VOXFRAME_RABBITMQ_${role}_PASSWORD"; done

# URL-safe characters only: the same values go unescaped into VOXFRAME_AMQP_URL and into JSON.
for var in RABBITMQ_ADMIN_USER VOXFRAME_RABBITMQ_USER VOXFRAME_RABBITMQ_VHOST VOXFRAME_NAMESPACE $passwords; do
  eval "value=\${$var:-}"
  case "$value" in
    "") fail "$var is not set (run deploy/docker/init-env.sh, or copy .env.example to .env and fill it in)" ;;
    *[!A-Za-z0-9._~-]*) fail "$var may hold only letters, digits and . _ ~ -" ;;
  esac
done
case "$RABBITMQ_ADMIN_USER" in
  "$VOXFRAME_RABBITMQ_USER"-*) fail "the admin user must not be named like a worker user ($VOXFRAME_RABBITMQ_USER-<role>)" ;;
esac
for var in $passwords; do
  eval "value=\${$var}"
  case "$value" in change-me*) echo "render-definitions: WARNING: $var is still the example value" >&2 ;; esac
  [ ${#value} -ge 12 ] || echo "render-definitions: WARNING: $var is shorter than 12 characters" >&2
done

# A dot in the namespace is literal in the regexes: `\\.` in JSON, doubled again for sed's replacement.
ns_re=$(printf '%s' "$VOXFRAME_NAMESPACE" | sed 's/\./\\\\\\\\./g')
umask 077
sed -e "s|@VHOST@|$VOXFRAME_RABBITMQ_VHOST|g" \
    -e "s|@ADMIN_USER@|$RABBITMQ_ADMIN_USER|g" \
    -e "s|@ADMIN_PASSWORD@|$RABBITMQ_ADMIN_PASSWORD|g" \
    -e "s|@USER@|$VOXFRAME_RABBITMQ_USER|g" \
    -e "s|@CAPTURE_PASSWORD@|$VOXFRAME_RABBITMQ_CAPTURE_PASSWORD|g" \
    -e "s|@TRANSCRIBER_PASSWORD@|$VOXFRAME_RABBITMQ_TRANSCRIBER_PASSWORD|g" \
    -e "s|@PROMPTER_PASSWORD@|$VOXFRAME_RABBITMQ_PROMPTER_PASSWORD|g" \
    -e "s|@GENERATOR_PASSWORD@|$VOXFRAME_RABBITMQ_GENERATOR_PASSWORD|g" \
    -e "s|@DISPLAY_PASSWORD@|$VOXFRAME_RABBITMQ_DISPLAY_PASSWORD|g" \
    -e "s|@NS_RE@|$ns_re|g" \
    -e "s|@NS@|$VOXFRAME_NAMESPACE|g" \
    "$here/definitions.template.json" > "$out.tmp"
mv "$out.tmp" "$out"
if [ -z "$render_only" ] && [ "$(id -u)" = 0 ]; then
  chown rabbitmq:rabbitmq "$out"
fi
echo "render-definitions: wrote $out" >&2

[ -n "$render_only" ] || exec docker-entrypoint.sh "$@"
