#!/usr/bin/env bash
# Start the installed app's REAL window (xcb, not offscreen) under Xvfb on a library of the sample
# photos, and take a screenshot of the whole X screen. Needs xvfb (xvfb-run) and imagemagick (import).
#
#   bash packaging/linux/xvfb-screenshot.sh [APP] [OUT.png]     (APP defaults to /usr/bin/photosim)
set -euo pipefail
APP=${1:-/usr/bin/photosim}
OUT=${2:-dist/xvfb-window.png}
HERE=$(cd "$(dirname "$0")/../.." && pwd)
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$(dirname "$OUT")" "$WORK/home" "$WORK/photos"
cp "$HERE"/resources/samples/*.jpg "$HERE"/resources/samples/*.heic "$WORK/photos/"
export HOME=$WORK/home
# Index first with the installed command line, so the window opens on a full library.
"$APP" index "$WORK/photos" --data-dir "$WORK/data"
cat > "$WORK/run.sh" <<INNER
#!/usr/bin/env bash
set -u
start=\$(date +%s.%N)
QT_QPA_PLATFORM=xcb "$APP" --data-dir "$WORK/data" &
pid=\$!
# Wait for the window to be mapped (xwininfo is in x11-utils), then let thumbnails arrive.
for _ in \$(seq 100); do
    if command -v xwininfo >/dev/null && xwininfo -root -tree 2>/dev/null | grep -q '"photosim"'; then
        echo "window mapped \$(echo "\$(date +%s.%N) - \$start" | bc) s after launch"; break
    fi
    sleep 0.1
done
sleep 6
import -window root "$OUT"
kill \$pid
wait \$pid || true
INNER
chmod +x "$WORK/run.sh"
xvfb-run -a -s "-screen 0 1440x900x24" "$WORK/run.sh"
echo "screenshot: $OUT"
