#!/usr/bin/env bash
# setup.sh — the project's two set-up-and-go commands (see README):
#   ./setup.sh run    install everything, then start the kiosk with simulated devices
#   ./setup.sh test   install everything, then run the test suite (what .ci/run calls)
#   ./setup.sh install  install everything, run nothing (a technician's laptop: kiosk flash)
# Idempotent: packages, the venv and Python dependencies are only installed when missing
# or when pyproject.toml changed, so a second run is quick.
set -euo pipefail
cd "$(dirname "$0")"
here=$(pwd)

# Debian packages the project needs at run and test time.
APT_PACKAGES=(python3 python3-venv python3-dev gcc mosquitto sqlite3 ca-certificates procps
              socat fonts-noto-cjk libzbar0)

# git: `kiosk version` names the commit it runs from, and the image build packs the app
# with `git archive` and dates the build by the last commit.
APT_PACKAGES+=(git)

# Shopper UI: what Kivy's SDL2 wheel opens at run time on a minimal Debian 12 (GL/EGL/GLES
# and the Mesa drivers, X11 and XInput2 for touch, libmtdev for multitouch, GBM/DRM for a
# display without X), xclip for its clipboard, Xvfb for the UI tests and a headless demo,
# and Noto Sans CJK: one font family that has Latin, Chinese, Korean and the won sign.
APT_PACKAGES+=(xvfb xauth xclip fonts-noto-cjk libgl1 libegl1 libgles2 libgl1-mesa-dri libgbm1
               libdrm2 libmtdev1 libx11-6 libxext6 libxcursor1 libxi6 libxrandr2 libxss1
               libxfixes3)
# The produce picker's tiles: an item with no store photo shows its colour emoji from Noto
# Color Emoji, drawn to a PNG with Pillow (kiosk/ui/picker_art.py)
APT_PACKAGES+=(fonts-noto-color-emoji)

# Card payments: pcscd and the vsmartcard virtual reader driver (vpcd) the virtual EMV card
# plugs into; pyscard has no wheel, so swig and the PC/SC headers to build it.
APT_PACKAGES+=(pcscd vsmartcard-vpcd libpcsclite1 libpcsclite-dev swig)
# vpcd listens on every interface: the simulated reader's pcscd runs in a network namespace
# of its own with only loopback up (`unshare --net` + `ip link set lo up`)
APT_PACKAGES+=(iproute2)

# Voice: PortAudio for the microphone, espeak-ng for spoken prompts (and the test speech),
# sox to resample and mix noise into test speech.
APT_PACKAGES+=(libportaudio2 espeak-ng sox)

# GS1 tests: zint renders GS1 DataBar Expanded, GS1-128, GS1 DataMatrix and Digital Link QR
# codes as camera frames (a generator none of the decoders ships: tests/gs1)
APT_PACKAGES+=(zint)

# Fleet health (tests/metrics): the real Prometheus server scrapes kiosk-metrics on real
# lanes with the shipped alerting rules (config/prometheus); promtool checks the rules;
# faketime runs one exporter minutes ahead (a reversal owed for over 5 minutes, now)
APT_PACKAGES+=(prometheus faketime)

# Unit files: systemd-analyze verifies every unit in systemd/ (tests/systemd); a container
# or chroot without systemd running gets the tool from the package all the same.
APT_PACKAGES+=(systemd)

# E-receipt page tests (tests/wallet/ereceipt): headless Chromium and its WebDriver, driven
# by selenium at a phone's viewport, with axe-core (vendored) for the accessibility check.
APT_PACKAGES+=(chromium chromium-driver)

# Flashing and provisioning (kiosk flash / kiosk provision and tests/flash): bmaptool, the
# FAT boot partition without mounting (mtools), mkfs.vfat, sfdisk, mkfs.ext4, losetup/mount.
APT_PACKAGES+=(bmap-tools mtools dosfstools fdisk e2fsprogs util-linux mount tzdata)
# zstd: the image build's .img.zst (bmaptool and `kiosk flash --check` decompress it)
APT_PACKAGES+=(zstd)
# The store back office (kiosk backoffice, tests/backoffice, kiosk bench sync): PostgreSQL 15's
# server binaries for a private cluster (kiosk/backoffice/cluster.py; the Debian package's own
# cluster is never used) and psql/pg_dump.
APT_PACKAGES+=(postgresql postgresql-client)

# installed without dependencies (see install_python_env); pinned to the ONNX model measured
SILERO_VAD="silero-vad==6.2.3"

log() { printf 'setup: %s\n' "$*" >&2; }

install_system_packages() {
  local missing=()
  for p in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    [ "$(id -u)" = 0 ] || { log "needs root to install: ${missing[*]}"; exit 1; }
    log "installing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
}

install_python_env() {
  local stamp=.venv/.installed extras=$1 want
  want="$(sha256sum pyproject.toml | cut -c1-16)-$extras"
  if [ ! -x .venv/bin/python ]; then
    log "creating .venv"
    /usr/bin/python3 -m venv .venv
  fi
  if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    log "installing Python dependencies ($extras)"
    .venv/bin/python -m pip install -q --upgrade pip
    .venv/bin/python -m pip install -q -e ".[$extras]"
    # the trained VAD's ONNX model ships in silero-vad, whose own code needs PyTorch: only
    # the model file is used (onnxruntime runs it), so the package comes without its deps
    .venv/bin/python -m pip install -q --no-deps "$SILERO_VAD"
    echo "$want" > "$stamp"
  fi
}

cmd=${1:-}
case "$cmd" in
  run)
    install_system_packages
    install_python_env test
    shift
    # --backoffice: a local back office (PostgreSQL under the state dir) the lane syncs to
    exec "$here/.venv/bin/kiosk" run --backoffice "$@"
    ;;
  install)
    install_system_packages
    install_python_env test
    echo "installed: $here/.venv/bin/kiosk"
    ;;
  test)
    install_system_packages
    install_python_env test
    shift
    .venv/bin/ruff check kiosk drivers voice tests
    .venv/bin/lint-imports  # the layer contracts in pyproject.toml [tool.importlinter]
    # in parallel, one worker per CPU this may run on (pytest-xdist; worksteal evens out the
    # long tests); `./setup.sh test -n 0` runs serially (later options win)
    exec .venv/bin/python -m pytest -q -n "$(nproc)" --dist worksteal "$@"
    ;;
  *)
    echo "usage: $0 run|test|install" >&2
    exit 2
    ;;
esac
