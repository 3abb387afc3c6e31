#!/usr/bin/env bash
# Installs what building and testing twitch2mqtt needs, from Debian 12's
# packages only. Does nothing when everything is there already.
set -euo pipefail

PACKAGES=(build-essential cmake pkg-config clang
  libwebsockets-dev libpaho-mqtt-dev libjansson-dev libcurl4-openssl-dev
  libssl-dev libcmocka-dev
  mosquitto mosquitto-clients
  python3 python3-paho-mqtt python3-websockets python3-aiohttp
  docker-compose systemd wrk curl)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
    missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "installing: ${missing[*]}"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
  "${missing[@]}"
