#!/bin/sh
# Writes Mosquitto's password file and ACL from the environment (.env, as init-env.sh made it), then starts it.
# Two users: voxframe-display (the display's bridge: its own topics and the discovery prefix) and homeassistant
# (Home Assistant's MQTT integration: everything, as a home's hub may use the broker for its other devices too).
# Usage: start.sh [--render-only DIR]
set -eu

here=$(dirname "$0")
dir=/mosquitto/data
render_only=
if [ "${1:-}" = "--render-only" ]; then
  dir=$2
  render_only=1
  shift 2
fi

fail() { echo "mosquitto start: $*" >&2; exit 64; }

for var in VOXFRAME_MQTT_DISPLAY_PASSWORD VOXFRAME_MQTT_HOMEASSISTANT_PASSWORD VOXFRAME_NAMESPACE \
           VOXFRAME_MQTT_DISCOVERY_PREFIX; do
  eval "value=\${$var:-}"
  case "$value" in
    "") fail "$var is not set (run deploy/docker/init-env.sh)" ;;
    *[!A-Za-z0-9._~-]*) fail "$var may hold only letters, digits and . _ ~ -" ;;
    change-me*) echo "mosquitto start: WARNING: $var is still the example value" >&2 ;;
  esac
done

umask 077
mosquitto_passwd -c -b "$dir/voxframe-passwd.tmp" voxframe-display "$VOXFRAME_MQTT_DISPLAY_PASSWORD"
mosquitto_passwd -b "$dir/voxframe-passwd.tmp" homeassistant "$VOXFRAME_MQTT_HOMEASSISTANT_PASSWORD"
cat >"$dir/voxframe-acl.tmp" <<ACL
user voxframe-display
topic readwrite $VOXFRAME_NAMESPACE/#
topic readwrite $VOXFRAME_MQTT_DISCOVERY_PREFIX/#
topic read \$SYS/#

user homeassistant
topic readwrite #
topic read \$SYS/#
ACL
for file in voxframe-passwd voxframe-acl; do
  mv "$dir/$file.tmp" "$dir/$file"
  if [ -z "$render_only" ] && [ "$(id -u)" = 0 ]; then
    chown mosquitto:mosquitto "$dir/$file"
  fi
done
echo "mosquitto start: wrote $dir/voxframe-passwd and $dir/voxframe-acl" >&2

[ -n "$render_only" ] || exec mosquitto -c "$here/mosquitto.conf"
