#!/bin/sh
# A Raspberry Pi (or any Debian) screen as a Voxframe frame, in one command:
#   sudo deploy/kiosk/install.sh 'http://frame-host:8080/pair/CODE'
# (the pairing link the dashboard's Frames card shows, as a link or QR code; opened here once, within 15 minutes).
# It installs cage and Chromium, makes the voxframe-kiosk user, pairs the screen (the link's cookie goes into the
# kiosk's Chromium profile), writes /etc/voxframe/kiosk.env with the frame's URL, and starts the kiosk on tty1.
set -eu

PAIR_URL=${1:?usage: install.sh http://HOST:PORT/pair/CODE, the pairing link of the dashboard}
case "$PAIR_URL" in
  http://*/pair/* | https://*/pair/*) ;;
  *) echo "install.sh: '$PAIR_URL' is no pairing link (http://HOST:PORT/pair/CODE)" >&2; exit 2 ;;
esac
HERE=$(cd "$(dirname "$0")" && pwd)
PROFILE=/var/lib/voxframe-kiosk/profile

apt-get install -y --no-install-recommends cage chromium util-linux
id voxframe-kiosk >/dev/null 2>&1 || useradd --system --create-home --home-dir /var/lib/voxframe-kiosk \
  --groups video,render,input --shell /usr/sbin/nologin voxframe-kiosk
install -d -o voxframe-kiosk -g voxframe-kiosk -m 0700 "$PROFILE"

# Pair: open the link once in the kiosk's own profile; the display answers with the frame's page and its cookie.
FRAME_URL=$(sudo -u voxframe-kiosk "$HERE/pair.sh" "$PAIR_URL" "$PROFILE")

install -d -m 0755 /etc/voxframe
printf 'VOXFRAME_FRAME_URL=%s\n' "$FRAME_URL" > /etc/voxframe/kiosk.env
install -m 0644 "$HERE/voxframe-kiosk.service" /etc/systemd/system/voxframe-kiosk.service
systemctl daemon-reload
systemctl set-default graphical.target
systemctl enable --now voxframe-kiosk.service
echo "This screen is a frame: $FRAME_URL"
