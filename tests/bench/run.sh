#!/bin/bash
# The twitch2mqtt benchmark: events/s, latency and peak RSS of the bridge's
# pipeline, of the real daemon, and of a bare paho publisher (the ceiling),
# all against one private mosquitto, each received by the same C
# subscriber. See tests/bench/README.md.
#
#   tests/bench/run.sh [-B BUILD_DIR] [-r REPS] [-0 N_QOS0] [-1 N_QOS1]
#                      [-b BUFFER_MAX] [-k KINDS] [-q QOSES]
#
# BUFFER_MAX is mqtt.buffer_max of the pipeline and the daemon (default
# twice the sink's window); "default" keeps the daemon's own (100000).
#
# Writes BUILD_DIR/bench-results.json. Exits 1 when a measurement failed
# (messages lost, a program failed), 2 on a usage or setup problem; a
# missed target is reported, never an error.
set -u

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
BUILD=$ROOT/build
REPS=3
N0=100000
N1=50000
KINDS="ceiling pipeline daemon"
QOSES="0 1"
BUFFER=
MOSQUITTO=${MOSQUITTO:-/usr/sbin/mosquitto}
PY=/usr/bin/python3

while getopts "B:r:0:1:b:k:q:h" opt; do
	case $opt in
	B) BUILD=$(cd "$OPTARG" && pwd) ;;
	r) REPS=$OPTARG ;;
	0) N0=$OPTARG ;;
	1) N1=$OPTARG ;;
	b) BUFFER=$OPTARG ;;
	k) KINDS=$OPTARG ;;
	q) QOSES=$OPTARG ;;
	*) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
	esac
done

BIN=$BUILD/bench
DAEMON=$BUILD/twitch2mqtt
PROG=run.sh
. "$HERE/lib.sh"
need_built "$(counter_bin "$BIN")" "$BIN/bench_paho" "$BIN/bench_pipeline" "$DAEMON"
echo "counter: $(basename "$(counter_bin "$BIN")")"
sink_window
# The bridge holds up to mqtt.buffer_max events (100000 by default, for a
# broker outage). A producer faster than the broker fills whatever buffer
# there is, and peak RSS then measures the buffer, not the pipeline. The
# benchmark bounds it at twice the window: enough to keep the window full.
[ -n "$BUFFER" ] || BUFFER=$((2 * WINDOW))
BUFFER_ENV=()
[ "$BUFFER" = default ] || BUFFER_ENV=(TWITCH2MQTT_MQTT_BUFFER_MAX="$BUFFER")
clean_env
bench_tmp bench
start_broker
echo "broker: mosquitto $("$MOSQUITTO" -h 2>/dev/null | sed -n 's/.*version \([0-9.]*\).*/\1/p' | head -1) on 127.0.0.1:$PORT; window $WINDOW; buffer_max $BUFFER; $(nproc) cores; $REPS runs each"

FAILED=0
RESULTS=$TMP/runs.jsonl
: > "$RESULTS"

HZ=$(getconf CLK_TCK)
NCPU=$(nproc)

# One run: a subscriber, then the publisher of that kind; appends
# {"kind","qos","rep","n","sub":{...},"pub":{...}} to $RESULTS.
measure() {
	local kind=$1 qos=$2 rep=$3 n=$4
	local id="${kind}${qos}r${rep}" base="b_${kind}${qos}r${rep}"
	local dir=$TMP/$id
	mkdir -p "$dir"
	local broker0 m0 t0
	broker0=$(cpu_ticks "$BROKER")
	m0=$(machine_ticks)
	t0=$(date +%s.%N)

	"$(counter_bin "$BIN")" -u "tcp://127.0.0.1:$PORT" -t "$base/demo/+" -q "$qos" \
	    -n "$n" -m '"source":"demo"' -c "sub_$id" -i 5 -T 90 \
	    > "$dir/sub.out" 2> "$dir/sub.err" &
	local sub=$!
	LIVE[$sub]=1
	wait_ready "$dir/sub.out" "$sub"

	local pub_rc=0
	case $kind in
	ceiling)
		"$BIN/bench_paho" -u "$URL" -n "$n" -q "$qos" -b "$base" \
		    -w "$WINDOW" -c "pub_$id" > "$dir/pub.out" 2> "$dir/pub.err"
		pub_rc=$?
		;;
	pipeline)
		(cd "$dir" && env TWITCH2MQTT_MQTT_URL="$URL" \
		    TWITCH2MQTT_MQTT_QOS="$qos" TWITCH2MQTT_MQTT_BASE_TOPIC="$base" \
		    TWITCH2MQTT_MQTT_CLIENT_ID="pub_$id" \
		    TWITCH2MQTT_BRIDGE_STATE_DIR="$dir/state" "${BUFFER_ENV[@]}" \
		    "$BIN/bench_pipeline" -n "$n") > "$dir/pub.out" 2> "$dir/pub.err"
		pub_rc=$?
		;;
	daemon)
		(cd "$dir" && exec env TWITCH2MQTT_MQTT_URL="$URL" \
		    TWITCH2MQTT_MQTT_QOS="$qos" TWITCH2MQTT_MQTT_BASE_TOPIC="$base" \
		    TWITCH2MQTT_MQTT_CLIENT_ID="pub_$id" \
		    TWITCH2MQTT_BRIDGE_STATE_DIR="$dir/state" "${BUFFER_ENV[@]}" \
		    "$DAEMON" --demo --demo-rate 1000000 --demo-count "$n") \
		    > "$dir/pub.err" 2>&1 &
		local d=$!
		LIVE[$d]=1
		# The daemon runs until told to stop: once the subscriber has
		# everything (or gave up).
		stop_daemon "$d" "$sub" "$dir/pub.out"
		pub_rc=$?
		;;
	esac
	reap "$sub"
	local sub_rc=$?
	local broker_cpu m1 t1
	broker_cpu=$(( $(cpu_ticks "$BROKER") - broker0 ))
	m1=$(machine_ticks)
	t1=$(date +%s.%N)
	$PY - "$kind" "$qos" "$rep" "$n" "$dir" "$pub_rc" "$sub_rc" \
	    "$broker_cpu" "$HZ" "$m0" "$m1" "$t0" "$t1" "$NCPU" \
	    >> "$RESULTS" <<'EOF'
import json, sys
(kind, qos, rep, n, d, pub_rc, sub_rc, bticks, hz, m0, m1, t0, t1,
 ncpu) = sys.argv[1:]
hz = float(hz)
def last_json(path):
    try:
        for line in reversed(open(path).read().splitlines()):
            if line.startswith("{"):
                return json.loads(line)
    except (OSError, ValueError):
        pass
    return None
sub, pub = last_json(d + "/sub.out"), last_json(d + "/pub.out")
busy0, steal0 = map(int, m0.split())
busy1, steal1 = map(int, m1.split())
wall = float(t1) - float(t0)
ours = int(bticks) / hz + ((sub or {}).get("cpu_s") or 0) + \
    ((pub or {}).get("cpu_total_s") or (pub or {}).get("cpu_s") or 0)
# Everything else the machine did during the run (other processes), as a
# share of its capacity; and the time the hypervisor took away.
other = max(0.0, (busy1 - busy0) / hz - ours)
print(json.dumps({"kind": kind, "qos": int(qos), "rep": int(rep), "n": int(n),
                  "pub_rc": int(pub_rc), "sub_rc": int(sub_rc),
                  "sub": sub, "pub": pub,
                  "broker_cpu_s": int(bticks) / hz, "wall_s": round(wall, 3),
                  "other_load": round(other / (wall * int(ncpu)), 3),
                  "steal": round((steal1 - steal0) / hz / (wall * int(ncpu)), 3)}))
EOF
	local ok=1
	[ "$sub_rc" = 0 ] && [ "$pub_rc" = 0 ] || ok=0
	if [ $ok = 0 ]; then
		FAILED=1
		echo "  FAILED: $kind QoS $qos run $rep (publisher rc=$pub_rc, subscriber rc=$sub_rc)"
		sed 's/^/    sub: /' "$dir/sub.out" "$dir/sub.err" | tail -3
		sed 's/^/    pub: /' "$dir/pub.out" "$dir/pub.err" | tail -5
	else
		tail -n 1 "$RESULTS" | $PY -c '
import json, sys
r = json.loads(sys.stdin.read()); s = r["sub"]
lat = lambda k: "%6.1f ms" % (s[k] / 1e3) if s["lat_n"] else "       -"
print("  %-8s QoS %d run %d: %7.0f events/s  p50 %s  p99 %s  other load %2.0f%%"
      % (r["kind"], r["qos"], r["rep"], s["rate"], lat("p50_us"),
         lat("p99_us"), 100 * r["other_load"]))' || true
	fi
	rm -rf "$dir/state"
}

START=$(date +%s)
for rep in $(seq "$REPS"); do
	for qos in $QOSES; do
		n=$N0
		[ "$qos" = 0 ] || n=$N1
		for kind in $KINDS; do
			measure "$kind" "$qos" "$rep" "$n"
		done
	done
done
ELAPSED=$(( $(date +%s) - START ))

$PY "$HERE/report.py" "$RESULTS" "$BUILD/bench-results.json" "$WINDOW" \
    "$BUFFER" "$ELAPSED" "$FAILED" || FAILED=1
if [ "$FAILED" != 0 ]; then
	echo "run.sh: a measurement failed (see above)" >&2
	exit 1
fi
exit 0
