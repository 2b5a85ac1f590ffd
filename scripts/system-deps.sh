#!/usr/bin/env bash
# Debian packages the test suite and the demo need: a browser for page tests, a CJK font for PDF reports,
# pdftoppm to look at rendered PDFs, Mosquitto for MQTT telemetry, PostGIS for the spatial baseline of
# bench/geo_locate_batch.py. Installs what is missing when run as root.
set -euo pipefail
# fonts-wqy-microhei: a TrueType CJK font reportlab can embed (Noto CJK has CFF outlines it cannot use).
PACKAGES=(chromium fonts-noto-cjk fonts-wqy-microhei poppler-utils mosquitto)
# PostGIS for each installed PostgreSQL server version (Debian: postgresql-<ver>-postgis-3).
if [ -d /etc/postgresql ]; then
  for ver in $(ls /etc/postgresql); do
    PACKAGES+=("postgresql-${ver}-postgis-3")
  done
fi
missing=()
for pkg in "${PACKAGES[@]}"; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "缺少系统软件包 / missing Debian packages: ${missing[*]}" >&2
  echo "请运行 / run: sudo apt-get install -y --no-install-recommends ${missing[*]}" >&2
  exit 1
fi
echo "installing ${missing[*]} ..."
export DEBIAN_FRONTEND=noninteractive
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null 2>&1 || {
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}
