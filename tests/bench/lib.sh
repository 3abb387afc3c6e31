# What the benchmark runners (run.sh, twitch_run.sh, webhook_run.sh)
# share: their checks, their scratch directory and children, free ports,
# and the private broker. Sourced, after the runner set PROG (its name in
# messages), PY and MOSQUITTO.

# Exits 2 unless every file given is an executable.
need_built() {
	for f in "$@"; do
		if [ ! -x "$f" ]; then
			echo "$PROG: $f is missing; build first:" >&2
			echo "  cmake -S . -B build && cmake --build build -j2" >&2
			exit 2
		fi
	done
	[ -x "$MOSQUITTO" ] || { echo "$PROG: no mosquitto at $MOSQUITTO" >&2; exit 2; }
	[ -x "$PY" ] || PY=python3
}

# Nothing of the caller's configuration may leak into the runs.
clean_env() {
	for v in $(env | sed -n 's/^\(TWITCH2MQTT_[A-Za-z0-9_]*\)=.*/\1/p'); do
		unset "$v"
	done
}

# The sink's in-flight window, so the ceiling uses the same. Sets WINDOW.
sink_window() {
	WINDOW=$(sed -n 's/^#define WINDOW \([0-9][0-9]*\).*/\1/p' \
	    "$ROOT/bridge/sink_mqtt_int.h")
	WINDOW=${WINDOW:-1024}
}

# A scratch directory ($TMP), removed at exit unless KEEP_TMP is set, and
# the processes started here and not yet reaped (LIVE): only these are
# ever killed.
bench_tmp() {
	TMP=$(mktemp -d "/tmp/t2m-$1.XXXXXX")
	chmod 755 "$TMP"
	declare -gA LIVE=()
	trap bench_cleanup EXIT
	trap 'exit 2' INT TERM
}
bench_cleanup() {
	for p in "${!LIVE[@]}"; do
		kill "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	if [ -n "${KEEP_TMP:-}" ]; then echo "kept $TMP" >&2; else rm -rf "$TMP"; fi
}
reap() { wait "$1"; local rc=$?; unset "LIVE[$1]"; return $rc; }

free_port() {
	$PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
wait_port() {
	for _ in $(seq 200); do
		(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
		sleep 0.05
	done
	return 1
}
# Waits (up to 5 s) for a line starting with "ready" in the file $1,
# giving up early once the process $2 is gone.
wait_ready() {
	for _ in $(seq 250); do
		grep -q '^ready' "$1" 2>/dev/null && return 0
		kill -0 "$2" 2>/dev/null || return 1
		sleep 0.02
	done
	return 1
}
# CPU time (user + system) of a running process, in clock ticks.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }
# Busy and stolen ticks of the whole machine: what else ran meanwhile.
machine_ticks() { awk '/^cpu /{print $2+$3+$4+$7+$8, $9; exit}' /proc/stat; }

# The private mosquitto. No broker-side throttling or dropping for anyone:
# unlimited in-flight and queued messages per client (the defaults, 20
# and 1000, would drop QoS 0 and queue-overflow messages once the
# subscriber lags). Sets PORT, BROKER and URL.
start_broker() {
	PORT=$(free_port)
	cat > "$TMP/mosquitto.conf" <<EOC
listener $PORT 127.0.0.1
allow_anonymous true
max_inflight_messages 0
max_queued_messages 0
EOC
	"$MOSQUITTO" -c "$TMP/mosquitto.conf" > "$TMP/mosquitto.log" 2>&1 &
	BROKER=$!
	LIVE[$BROKER]=1
	if ! wait_port "$PORT" || ! kill -0 "$BROKER" 2>/dev/null; then
		echo "$PROG: mosquitto did not start:" >&2
		cat "$TMP/mosquitto.log" >&2
		exit 2
	fi
	URL=mqtt://127.0.0.1:$PORT
}

# Waits while the subscriber $2 and the daemon $1 both run, then reads the
# daemon's peak RSS and CPU time (its whole life) and stops it with
# SIGTERM; writes {"vmhwm_kib","cpu_s"} to $3 and returns its exit status.
stop_daemon() {
	local d=$1 sub=$2 out=$3 hwm=-1 ticks=-1 rc
	while kill -0 "$sub" 2>/dev/null && kill -0 "$d" 2>/dev/null; do
		sleep 0.05
	done
	if [ -r "/proc/$d/status" ]; then
		hwm=$(sed -n 's/^VmHWM:[[:space:]]*\([0-9]*\).*/\1/p' "/proc/$d/status")
		ticks=$(cpu_ticks "$d")
	fi
	kill -TERM "$d" 2>/dev/null
	reap "$d"
	rc=$?
	echo "{\"vmhwm_kib\":${hwm:--1},\"cpu_s\":$(awk -v t="$ticks" -v hz="$(getconf CLK_TCK)" 'BEGIN{printf "%.3f", t/hz}')}" > "$out"
	return $rc
}

# The counting subscriber in build dir $1: bench_sub (MQTT of its own,
# the default) or, with BENCH_SUB=paho, bench_sub_paho (paho's
# synchronous client, the counter until 2026-11-22: 7.5 us of CPU a
# message more, for figures comparable with older ones).
counter_bin() {
	case ${BENCH_SUB:-own} in
	paho) echo "$1/bench_sub_paho" ;;
	*) echo "$1/bench_sub" ;;
	esac
}
