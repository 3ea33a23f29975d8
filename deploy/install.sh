#!/bin/sh
# Install kiosk as an appliance on 64-bit Raspberry Pi OS Lite. Run as root from a checkout of the
# project:   sudo sh deploy/install.sh [--id DEVICE_ID] [--name "NAME"] [--no-start]
# or, with no network, from a bundle made by deploy/bundle.sh:   sudo sh install.sh --offline FILE.tar
# Safe to run again (upgrade): it never overwrites /etc/kiosk/config.yaml. Steps: docs/deploy.md.
# --venv-only [--prefix DIR]: only install the program into DIR/venv (no user, service or settings).
set -eu

SRC=$(cd "$(dirname "$0")/.." && pwd)
PREFIX=/opt/kiosk
OFFLINE=""
VENV_ONLY=no
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
        --offline) OFFLINE=$2; shift 2 ;;
        --venv-only) VENV_ONLY=yes; shift ;;
        --prefix) PREFIX=$2; shift 2 ;;
        -h|--help) sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) die "unknown option $1 (try --help)" ;;
    esac
done

if [ -n "$OFFLINE" ]; then
    # The bundle holds the project and its wheels: unpack it and install from it, never from the network.
    [ -f "$OFFLINE" ] || die "--offline: $OFFLINE is not a file (make one with deploy/bundle.sh)"
    UNPACK=$(mktemp -d)
    trap 'rm -rf "$UNPACK"' EXIT
    tar xf "$OFFLINE" -C "$UNPACK" || die "--offline: $OFFLINE is not a kiosk bundle (tar cannot read it)"
    SRC=$(find "$UNPACK" -mindepth 1 -maxdepth 1 -type d -name 'kiosk-*' | head -n 1)
    if [ -z "$SRC" ] || [ ! -d "$SRC/wheels" ]; then die "--offline: $OFFLINE holds no kiosk-*/wheels folder"; fi
    (cd "$SRC/wheels" && sha256sum --quiet -c SHA256SUMS) || die "--offline: $OFFLINE is damaged (checksums)"
    echo "bundle: $(cat "$SRC/BUNDLE")"
fi

# The program, in a venv of its own. Offline, pip and every wheel come from the bundle; where Debian's
# python3-venv (ensurepip) is missing, the venv is made without pip and pip runs from its own wheel.
install_venv() {
    if [ ! -x "$PREFIX/venv/bin/python" ]; then
        mkdir -p "$PREFIX"
        python3 -m venv "$PREFIX/venv" 2>/dev/null || { rm -rf "$PREFIX/venv"; python3 -m venv --without-pip "$PREFIX/venv"; }
    fi
    if [ -n "$OFFLINE" ]; then
        pip_wheel=$(find "$SRC/wheels" -name 'pip-*.whl' | head -n 1)
        "$PREFIX/venv/bin/python" "$pip_wheel/pip" install --quiet --disable-pip-version-check --no-index \
            --find-links "$SRC/wheels" --upgrade pip
        "$PREFIX/venv/bin/pip" install --quiet --disable-pip-version-check --no-index \
            --find-links "$SRC/wheels" --upgrade kiosk
    else
        "$PREFIX/venv/bin/pip" install --quiet --upgrade pip
        "$PREFIX/venv/bin/pip" install --quiet --upgrade "$SRC"
    fi
}

if [ "$VENV_ONLY" = yes ]; then
    install_venv
    echo "installed: $("$PREFIX/venv/bin/kiosk" --version) in $PREFIX/venv"
    exit 0
fi

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
PACKAGES="python3 python3-venv fonts-noto-core fonts-dejavu-core fontconfig espeak-ng libgbm1 libdrm2 libegl1 libgles2 iproute2 ca-certificates"
if [ -z "$OFFLINE" ]; then
    apt-get update
    # shellcheck disable=SC2086 # a list of package names
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $PACKAGES
else
    if ls "$SRC"/debs/*.deb >/dev/null 2>&1; then
        dpkg -i --skip-same-version "$SRC"/debs/*.deb || die "the Debian packages of the bundle did not install"
    fi
    missing=""
    for package in $PACKAGES; do
        dpkg -s "$package" >/dev/null 2>&1 || missing="$missing $package"
    done
    if [ -n "$missing" ]; then
        echo "warning: not installed, and no network to fetch them:$missing" >&2
        echo "  fonts-noto-core or fonts-dejavu-core is needed (Vietnamese letters); espeak-ng only for speech." >&2
        echo "  Put their .deb files (apt-get download ... on a board with network) in the bundle's debs/ folder." >&2
    fi
fi

say "User kiosk (groups video, render, input, audio)"
for group in video render input audio; do
    getent group "$group" >/dev/null || groupadd --system "$group"
done
if ! id kiosk >/dev/null 2>&1; then
    useradd --system --home-dir "$STATE" --no-create-home --shell /usr/sbin/nologin kiosk
fi
usermod -a -G video,render,input,audio kiosk

say "Program in $PREFIX/venv"
install_venv
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
    # Start from the shipped, commented config; point it at the demo content and the state folder; a board
    # speaks Vietnamese to its technician (ui.language: vi).
    sed -e "s|^  id: .*|  id: $DEVICE_ID|" \
        -e "s|^  name: .*|  name: \"$DEVICE_NAME\"|" \
        -e "s|^  path: demo\$|  path: $PREFIX/demo|" \
        -e "s|^  path: media_cache\$|  path: $STATE/cache|" \
        -e "s|^  # language: vi\$|  language: vi|" \
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
