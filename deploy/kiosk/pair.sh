#!/bin/sh
# Pair a Chromium profile with a Voxframe display: open the one-time pairing link headless in that profile (its
# page posts it back, the display sets the frame's cookie there and redirects to the frame); print the frame's URL.
#   pair.sh http://HOST:PORT/pair/CODE PROFILE_DIR
set -eu
PAIR_URL=$1
PROFILE=$2
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
# the link's page posts it back (its script), then the frame shows: http://HOST:PORT/frame/ROOM
ORIGIN=$(printf '%s' "$PAIR_URL" | sed -E 's#^(https?://[^/]+)/.*#\1#')
DOM=$("$CHROMIUM" --headless --no-sandbox --disable-gpu --password-store=basic --user-data-dir="$PROFILE" --dump-dom "$PAIR_URL")
ROOM=$(printf '%s' "$DOM" | sed -nE 's#.*<title>Voxframe [^A-Za-z0-9_-]+ ?([A-Za-z0-9_-]{1,64})</title>.*#\1#p' | head -n 1)
if [ -z "$ROOM" ]; then
  echo "pair.sh: the display did not pair this screen (the link is used or expired: make a new one)" >&2
  exit 1
fi
printf '%s/frame/%s\n' "$ORIGIN" "$ROOM"
