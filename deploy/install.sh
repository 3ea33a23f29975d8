#!/bin/sh
# Install kiosk as an appliance on 64-bit Raspberry Pi OS Lite (Bookworm). Run as root from a
# checkout of the project:   sudo sh deploy/install.sh [--id DEVICE_ID] [--name "NAME"] [--no-start]
# Safe to run again (upgrade): it never overwrites /etc/kiosk/config.yaml. Steps: docs/deploy.md.
set -eu

SRC=$(cd "$(dirname "$0")/.." && pwd)
PREFIX=/opt/kiosk
STATE=/var/lib/kiosk
ETC=/etc/kiosk
DEVICE_ID=""
DEVICE_NAME=""
START=yes

say() { printf '\n==> %s\n' "$*"; }
die() { printf 'install.sh: %s\n' "$*" >&2; exit 1; }

while [ $# -gt 0 ]; do
    case "$1" in
        --id) DEVICE_ID=$2; shift 2 ;;
        --name) DEVICE_NAME=$2; shift 2 ;;
        --no-start) START=no; shift ;;
        -h|--help) sed -n '2,4p' "$0"; exit 0 ;;
        *) die "unknown option $1 (try --help)" ;;
    esac
done

[ "$(id -u)" = 0 ] || die "run me as root: sudo sh $0"
if [ ! -f "$SRC/setup.py" ] || [ ! -d "$SRC/kiosk" ]; then die "$SRC is not a kiosk checkout"; fi
[ "$(uname -m)" = aarch64 ] || echo "warning: $(uname -m) is not aarch64 (64-bit Raspberry Pi OS is expected)" >&2

if [ -z "$DEVICE_ID" ]; then
    DEVICE_ID=$(hostname | tr 'A-Z_.' 'a-z--' | tr -cd 'a-z0-9-')
fi
echo "$DEVICE_ID" | grep -Eq '^[a-z0-9-]+$' || die "--id must use only a-z, 0-9 and '-'"
[ -n "$DEVICE_NAME" ] || DEVICE_NAME="Bảng tin $DEVICE_ID"
case "$DEVICE_NAME" in
    *[\\\"\|\&]*) die "--name must not contain \\ \" | or &" ;;
esac

say "Packages"
apt-get update
DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
    python3 python3-venv fonts-noto-core fonts-dejavu-core espeak-ng \
    libgbm1 libdrm2 libegl1 libgles2 iproute2 ca-certificates

say "User kiosk (groups video, render, input, audio)"
for group in video render input audio; do
    getent group "$group" >/dev/null || groupadd --system "$group"
done
if ! id kiosk >/dev/null 2>&1; then
    useradd --system --home-dir "$STATE" --no-create-home --shell /usr/sbin/nologin kiosk
fi
usermod -a -G video,render,input,audio kiosk

say "Program in $PREFIX/venv"
[ -x "$PREFIX/venv/bin/python" ] || python3 -m venv "$PREFIX/venv"
"$PREFIX/venv/bin/pip" install --quiet --upgrade pip
"$PREFIX/venv/bin/pip" install --quiet --upgrade "$SRC"
if [ -d "$SRC/docs" ]; then
    mkdir -p "$PREFIX/docs" && cp -r "$SRC/docs/." "$PREFIX/docs/"
fi
if [ -d "$SRC/demo" ]; then
    rm -rf "$PREFIX/demo" && cp -r "$SRC/demo" "$PREFIX/demo"
fi
ln -sf "$PREFIX/venv/bin/kiosk" /usr/local/bin/kiosk

say "Folders: $STATE (cache, owned by kiosk), $ETC (config, readable by all; secrets 0640 root:kiosk)"
install -d -o kiosk -g kiosk -m 0750 "$STATE" "$STATE/cache"
install -d -o root -g root -m 0755 "$ETC"  # the config holds no secret: kiosk status works without sudo
if [ ! -f "$ETC/config.yaml" ]; then
    # Start from the shipped, commented config; point it at the demo content and the state folder.
    sed -e "s|^  id: .*|  id: $DEVICE_ID|" \
        -e "s|^  name: .*|  name: \"$DEVICE_NAME\"|" \
        -e "s|^  path: demo\$|  path: $PREFIX/demo|" \
        -e "s|^  path: media_cache\$|  path: $STATE/cache|" \
        "$SRC/config.yaml" > "$ETC/config.yaml"
    chown root:root "$ETC/config.yaml"
    chmod 0644 "$ETC/config.yaml"
    echo "wrote $ETC/config.yaml: edit device.name and source before putting the board in service"
else
    echo "kept the existing $ETC/config.yaml"
fi
"$PREFIX/venv/bin/kiosk" check-config -c "$ETC/config.yaml" || die "fix $ETC/config.yaml (the lines above say where), then run me again"

say "Screen: no console blanking, no cursor (cmdline.txt)"
CMDLINE=/boot/firmware/cmdline.txt
[ -f "$CMDLINE" ] || CMDLINE=/boot/cmdline.txt
if [ -f "$CMDLINE" ]; then
    for word in consoleblank=0 vt.global_cursor_default=0; do
        grep -qw "$word" "$CMDLINE" || sed -i "1 s|\$| $word|" "$CMDLINE"  # one line: append, never a new line
    done
    echo "$CMDLINE: $(cat "$CMDLINE")"
else
    echo "warning: no cmdline.txt found; add consoleblank=0 to the kernel command line by hand" >&2
fi

say "Journal in RAM only (no log writes on the SD card)"
mkdir -p /etc/systemd/journald.conf.d
cat > /etc/systemd/journald.conf.d/kiosk.conf <<'CONF'
# Installed by kiosk deploy/install.sh: keep logs in RAM, bounded, to spare the SD card.
[Journal]
Storage=volatile
RuntimeMaxUse=32M
CONF

say "Hardware watchdog: the board reboots if the system hangs"
mkdir -p /etc/systemd/system.conf.d
cat > /etc/systemd/system.conf.d/kiosk-watchdog.conf <<'CONF'
# Installed by kiosk deploy/install.sh. The Raspberry Pi's watchdog allows at most 15 s.
[Manager]
RuntimeWatchdogSec=15
RebootWatchdogSec=2min
CONF
CONFIG_TXT=/boot/firmware/config.txt
[ -f "$CONFIG_TXT" ] || CONFIG_TXT=/boot/config.txt
if [ -f "$CONFIG_TXT" ] && ! grep -q '^dtparam=watchdog=on' "$CONFIG_TXT"; then
    printf '\n# kiosk: hardware watchdog\ndtparam=watchdog=on\n' >> "$CONFIG_TXT"
fi

say "Service kiosk.service"
install -m 0644 "$SRC/systemd/kiosk.service" /etc/systemd/system/kiosk.service
systemctl mask getty@tty1.service  # tty1 belongs to the player; use tty2 (Ctrl+Alt+F2) or SSH
systemctl daemon-reload
systemctl enable kiosk.service
if [ "$START" = yes ]; then
    systemctl restart kiosk.service
    sleep 5
    systemctl --no-pager --lines=0 status kiosk.service || true
fi

say "Done. Reboot once so the kernel and watchdog settings take effect:  sudo reboot"
echo "Then check:  kiosk status    systemctl status kiosk    journalctl -u kiosk -n 50"
