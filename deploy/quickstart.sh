#!/usr/bin/env bash
# The README's first command: install the dependencies, build, make sure a
# broker listens on 127.0.0.1:1883 (starting a private mosquitto if none
# does), then run the bridge and show what it publishes. With no Twitch
# credentials configured the bridge runs its demo source (channel "demo").
# Extra arguments go to twitch2mqtt (e.g. -c twitch2mqtt.json).
set -euo pipefail
cd "$(dirname "$0")/.."

bash tests/deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBR_TESTS=OFF >/dev/null
cmake --build build -j"$(nproc 2>/dev/null || echo 2)" >/dev/null
echo "built build/twitch2mqtt"

pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
}
trap cleanup EXIT INT TERM

if ! (exec 3<>/dev/tcp/127.0.0.1/1883) 2>/dev/null; then
  echo "no broker on 127.0.0.1:1883: starting mosquitto for this session"
  /usr/sbin/mosquitto -p 1883 >/dev/null 2>&1 &
  pids+=($!)
  for _ in $(seq 50); do
    (exec 3<>/dev/tcp/127.0.0.1/1883) 2>/dev/null && break
    sleep 0.1
  done
fi

echo "events as they arrive on twitch/# (Ctrl-C stops everything):"
mosquitto_sub -h 127.0.0.1 -p 1883 -t 'twitch/#' -v &
pids+=($!)
args=("$@")
[ ${#args[@]} -eq 0 ] && [ -z "${TWITCH2MQTT_TWITCH_CLIENT_ID:-}" ] &&
  [ ! -f twitch2mqtt.json ] && [ -z "${TWITCH2MQTT_CONFIG:-}" ] && args=(--demo)
TWITCH2MQTT_BRIDGE_STATE_DIR=${TWITCH2MQTT_BRIDGE_STATE_DIR:-./state} \
  ./build/twitch2mqtt "${args[@]}"
