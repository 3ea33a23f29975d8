#!/bin/sh
# Build one file that installs kiosk on a board with no network: the project and every wheel it needs.
#   sh deploy/bundle.sh [-o FILE] [--arch aarch64|x86_64] [--python "3.13 3.11"] [--debs DIR]
# Defaults: 64-bit Raspberry Pi OS (aarch64), for the Python of the current release (Trixie, 3.13) and
# of the previous one (Bookworm, 3.11). Needs the network (PyPI) on the machine that builds it; the
# board then runs:   sudo sh install.sh --offline kiosk-VERSION-aarch64.tar   (docs/deploy.md).
# --debs DIR: also carry the .deb files in DIR (fonts, espeak-ng for the board), installed first.
set -eu

SRC=$(cd "$(dirname "$0")/.." && pwd)
ARCH=aarch64
PYTHONS="3.13 3.11"
OUT=""
DEBS=""
PY=${PYTHON:-python3}

die() { printf 'bundle.sh: %s\n' "$*" >&2; exit 1; }

while [ $# -gt 0 ]; do
    case "$1" in
        -o|--out) OUT=$2; shift 2 ;;
        --arch) ARCH=$2; shift 2 ;;
        --python) PYTHONS=$2; shift 2 ;;
        --debs) DEBS=$2; shift 2 ;;
        -h|--help) sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) die "unknown option $1 (try --help)" ;;
    esac
done
case "$ARCH" in aarch64|x86_64) ;; *) die "--arch must be aarch64 or x86_64, got $ARCH" ;; esac
VERSION=$(sed -n 's/^__version__ = "\(.*\)"/\1/p' "$SRC/kiosk/version.py")
[ -n "$OUT" ] || OUT="$PWD/kiosk-$VERSION-$ARCH.tar"

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
ROOT="$WORK/kiosk-$VERSION"
mkdir -p "$ROOT/wheels"

# The project as the install script expects it (config.yaml, systemd/, docs/, demo/, deploy/), without
# the working tree's own state: the files git tracks when this is a checkout, else the tree as it is.
if git -C "$SRC" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    git -C "$SRC" ls-files -z | (cd "$SRC" && xargs -0 tar cf -) | tar xf - -C "$ROOT"
else
    (cd "$SRC" && tar cf - --exclude=.venv --exclude=media_cache --exclude=.git .) | tar xf - -C "$ROOT"
fi

# The kiosk wheel, built from a copy of those files (the build leaves its own files behind).
cp -r "$ROOT" "$WORK/build-src"
"$PY" -m pip wheel --quiet --disable-pip-version-check --no-deps -w "$ROOT/wheels" "$WORK/build-src" \
    >"$WORK/wheel.log" 2>&1 || { cat "$WORK/wheel.log" >&2; die "cannot build the kiosk wheel"; }
KIOSK_WHEEL=$(ls "$ROOT"/wheels/kiosk-*.whl)

# Every glibc a current or previous Raspberry Pi OS may have (Bookworm 2.36, Trixie 2.41).
PLATFORMS="--platform manylinux2014_$ARCH"
n=17
while [ $n -le 41 ]; do
    PLATFORMS="$PLATFORMS --platform manylinux_2_${n}_$ARCH"
    n=$((n + 1))
done
for version in $PYTHONS; do
    # shellcheck disable=SC2086 # PLATFORMS is a list of options
    "$PY" -m pip download --quiet --disable-pip-version-check --only-binary=:all: $PLATFORMS \
        --implementation cp --python-version "$version" -d "$ROOT/wheels" "$KIOSK_WHEEL" pip 2>&1 \
        | grep -v "^WARNING: Location" >&2 || true
    # pip download exits 0 only when every requirement was found: check what it left.
    # shellcheck disable=SC2086
    "$PY" -m pip install --quiet --disable-pip-version-check --dry-run --ignore-installed --no-index \
        --find-links "$ROOT/wheels" --only-binary=:all: $PLATFORMS --implementation cp \
        --python-version "$version" --target "$WORK/resolve-$version" "$KIOSK_WHEEL" \
        || die "the wheels for Python $version on $ARCH are incomplete (see above)"
done

if [ -n "$DEBS" ]; then
    ls "$DEBS"/*.deb >/dev/null 2>&1 || die "--debs: no .deb files in $DEBS"
    mkdir -p "$ROOT/debs" && cp "$DEBS"/*.deb "$ROOT/debs/"
fi
(cd "$ROOT/wheels" && sha256sum ./*.whl > SHA256SUMS)
printf 'kiosk %s for %s, Python %s; built %s\n' "$VERSION" "$ARCH" "$PYTHONS" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
    > "$ROOT/BUNDLE"
tar cf "$OUT" -C "$WORK" "kiosk-$VERSION"
echo "$OUT: kiosk $VERSION for $ARCH (Python $PYTHONS), $(find "$ROOT/wheels" -name '*.whl' | wc -l) wheels, $(du -h "$OUT" | cut -f1)"
