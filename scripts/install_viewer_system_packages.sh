#!/usr/bin/env bash
# The system libraries the napari plug-in's headless tests need on Debian/Ubuntu: Xvfb (a
# virtual screen, started by pytest-xvfb), Mesa's OpenGL (napari draws with it) and the X/xcb
# libraries Qt 6 loads. Run as root; installs only what is missing. Without them the viewer
# tests skip with a message and the rest of the suite runs.
set -euo pipefail
packages=(xvfb libgl1 libegl1 libgl1-mesa-dri libglib2.0-0 libfontconfig1 libdbus-1-3
          libxkbcommon0 libxkbcommon-x11-0 libxcb-cursor0 libxcb-icccm4 libxcb-image0
          libxcb-keysyms1 libxcb-randr0 libxcb-render-util0 libxcb-shape0 libxcb-xinerama0
          libxcb-xkb1 libxcb-xfixes0 libxcb-sync1 libxcb-shm0)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if (( ${#missing[@]} == 0 )); then
  echo "viewer system packages: all present"
  exit 0
fi
echo "viewer system packages: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get install -y -q --no-install-recommends "${missing[@]}" > /dev/null \
  || { apt-get update -q > /dev/null && apt-get install -y -q --no-install-recommends "${missing[@]}" > /dev/null; }
