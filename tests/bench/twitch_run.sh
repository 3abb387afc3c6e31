#!/bin/bash
# The source benchmark: the real daemon against a mock Twitch
# (mock_twitch_blast) pushing events as fast as the socket allows, or
# paced, over the EventSub WebSocket (channel.cheer notifications) or
# PubSub (bits MESSAGE frames), and one private mosquitto; events/s
# delivered, latency (arrival minus the event's send time), losses and the
# daemon's peak RSS, beside the core benchmark's ceiling (bench_paho, a
# bare paho publisher) measured in the same rounds. See README.md, "The
# Twitch sources".
#
#   tests/bench/twitch_run.sh [-s eventsub|pubsub] [-B BUILD_DIR] [-r REPS]
#       [-0 N_QOS0] [-1 N_QOS1] [-p N_PACED] [-R RATE] [-b BUFFER_MAX]
#       [-k KINDS]
#
# KINDS: any of "ceiling0 unpaced0 ceiling1 unpaced1 paced" (all).
# BUFFER_MAX is the daemon's mqtt.buffer_max (default twice the sink's
# window, as tests/bench/run.sh); "default" keeps its own (100000).
#
# Writes BUILD_DIR/SOURCE-bench-results.json. Exits 1 when a measurement
# failed (a program failed, an event lost at QoS 1), 2 on a usage or setup
# problem; a missed target is reported, never an error.
set -u

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
BUILD=$ROOT/build
REPS=3
N0=200000
N1=100000
NP=10000
RATE=1000
BUFFER=
KINDS="ceiling0 unpaced0 ceiling1 unpaced1 paced"
SOURCE=eventsub
MOSQUITTO=${MOSQUITTO:-/usr/sbin/mosquitto}
MOSQUITTO_PUB=${MOSQUITTO_PUB:-mosquitto_pub}
MOSQUITTO_SUB=${MOSQUITTO_SUB:-mosquitto_sub}
PY=/usr/bin/python3

while getopts "s:B:r:0:1:p:R:b:k:h" opt; do
	case $opt in
	s) SOURCE=$OPTARG ;;
	B) BUILD=$(cd "$OPTARG" && pwd) ;;
	r) REPS=$OPTARG ;;
	0) N0=$OPTARG ;;
	1) N1=$OPTARG ;;
	p) NP=$OPTARG ;;
	R) RATE=$OPTARG ;;
	b) BUFFER=$OPTARG ;;
	k) KINDS=$OPTARG ;;
	*) sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
	esac
done
case $SOURCE in
eventsub) TRANSPORT=websocket ;;
pubsub) TRANSPORT=pubsub ;;
*) echo "twitch_run.sh: -s eventsub or -s pubsub" >&2; exit 2 ;;
esac

BIN=$BUILD/bench
DAEMON=$BUILD/twitch2mqtt
PROG=twitch_run.sh
. "$HERE/lib.sh"
need_built "$(counter_bin "$BIN")" "$BIN/bench_paho" "$BIN/mock_twitch_blast" "$DAEMON"
echo "counter: $(basename "$(counter_bin "$BIN")")"
for c in "$MOSQUITTO_PUB" "$MOSQUITTO_SUB"; do
	command -v "$c" > /dev/null || { echo "$PROG: $c is missing (apt-get install mosquitto-clients)" >&2; exit 2; }
done
sink_window
[ -n "$BUFFER" ] || BUFFER=$((2 * WINDOW))
BUFFER_ENV=()
[ "$BUFFER" = default ] || BUFFER_ENV=(TWITCH2MQTT_MQTT_BUFFER_MAX="$BUFFER")
clean_env
bench_tmp srcbench
start_broker
echo "source: $SOURCE; broker: mosquitto on 127.0.0.1:$PORT; window $WINDOW; buffer_max $BUFFER; $(nproc) cores; $REPS rounds"

FAILED=0
RESULTS=$TMP/runs.jsonl
: > "$RESULTS"
HZ=$(getconf CLK_TCK)
NCPU=$(nproc)

# Starts bench_sub on $1 (topic filter) for $2 events at QoS $3 with
# extra options; waits for its "ready". Sets SUB.
start_sub() {
	local filter=$1 n=$2 qos=$3 dir=$4
	shift 4
	"$(counter_bin "$BIN")" -u "tcp://127.0.0.1:$PORT" -t "$filter" -q "$qos" \
	    -n "$n" -i 3 -T 150 "$@" > "$dir/sub.out" 2> "$dir/sub.err" &
	SUB=$!
	LIVE[$SUB]=1
	wait_ready "$dir/sub.out" "$SUB"
}

# One run; appends {"kind","qos","rate","rep","n","sub","pub","mock",...}
# to $RESULTS. kind: ceiling or the source; rate 0 = unpaced.
measure() {
	local kind=$1 qos=$2 n=$3 rate=$4 rep=$5
	local id="${kind}${qos}r${rate}x${rep}" base="e_${kind}${qos}r${rate}x${rep}"
	local dir=$TMP/$id
	mkdir -p "$dir"
	local broker0 m0 t0 pub_rc=0 mock_rc=0
	broker0=$(cpu_ticks "$BROKER")
	m0=$(machine_ticks)
	t0=$(date +%s.%N)
	echo '{}' > "$dir/mock.out"

	if [ "$kind" = ceiling ]; then
		# exactly tests/bench/run.sh's ceiling
		start_sub "$base/demo/+" "$n" "$qos" "$dir" -m '"source":"demo"' \
		    -c "sub_$id"
		"$BIN/bench_paho" -u "$URL" -n "$n" -q "$qos" -b "$base" \
		    -w "$WINDOW" -c "pub_$id" > "$dir/pub.out" 2> "$dir/pub.err"
		pub_rc=$?
	else
		local wsport mock d
		wsport=$(free_port)
		start_sub "$base/cool_streamer/bits" "$n" "$qos" "$dir" \
		    -k bench_us= -W -c "sub_$id"
		"$BIN/mock_twitch_blast" -p "$wsport" -n "$n" \
		    $([ "$rate" != 0 ] && echo "-r $rate") \
		    $([ "$SOURCE" = pubsub ] && echo "-P") \
		    > "$dir/mock.out" 2> "$dir/mock.err" &
		mock=$!
		LIVE[$mock]=1
		(cd "$dir" && exec env TWITCH2MQTT_MQTT_URL="$URL" \
		    TWITCH2MQTT_MQTT_QOS="$qos" TWITCH2MQTT_MQTT_BASE_TOPIC="$base" \
		    TWITCH2MQTT_MQTT_CLIENT_ID="pub_$id" \
		    TWITCH2MQTT_BRIDGE_STATE_DIR="$dir/state" "${BUFFER_ENV[@]}" \
		    TWITCH2MQTT_TWITCH_CLIENT_ID=benchclient \
		    TWITCH2MQTT_TWITCH_ACCESS_TOKEN=benchtoken \
		    TWITCH2MQTT_TWITCH_API_URL="http://127.0.0.1:$wsport/helix" \
		    TWITCH2MQTT_TWITCH_AUTH_URL="http://127.0.0.1:$wsport/oauth2" \
		    TWITCH2MQTT_TWITCH_EVENTSUB_URL="ws://127.0.0.1:$wsport/ws" \
		    TWITCH2MQTT_TWITCH_PUBSUB_URL="ws://127.0.0.1:$wsport/pubsub" \
		    "$DAEMON") > "$dir/pub.err" 2>&1 &
		d=$!
		LIVE[$d]=1
		# Once the bridge is online, ask it for cool_streamer's bits;
		# the mock starts 200 ms after the subscription is created
		# (EventSub) or the topic LISTENed to (PubSub).
		if "$MOSQUITTO_SUB" -p "$PORT" -t "$base/bridge/state" -C 1 -W 15 \
		    2>/dev/null | grep -q online; then
			"$MOSQUITTO_PUB" -p "$PORT" -q 1 \
			    -t "$base/bridge/request/subscribe" \
			    -m "{\"channel\":\"cool_streamer\",\"events\":[\"bits\"],\"transport\":\"$TRANSPORT\"}"
		else
			echo "  the bridge did not come online" >&2
			kill "$SUB" 2>/dev/null
		fi
		stop_daemon "$d" "$SUB" "$dir/pub.out"
		pub_rc=$?
		kill -TERM "$mock" 2>/dev/null
		reap "$mock"
		mock_rc=$?
	fi
	reap "$SUB"
	local sub_rc=$?
	local broker_cpu m1 t1
	broker_cpu=$(( $(cpu_ticks "$BROKER") - broker0 ))
	m1=$(machine_ticks)
	t1=$(date +%s.%N)
	$PY - "$kind" "$qos" "$rate" "$rep" "$n" "$dir" "$pub_rc" "$sub_rc" \
	    "$mock_rc" "$broker_cpu" "$HZ" "$m0" "$m1" "$t0" "$t1" "$NCPU" \
	    >> "$RESULTS" <<'EOF'
import json, sys
(kind, qos, rate, rep, n, d, pub_rc, sub_rc, mock_rc, bticks, hz, m0, m1,
 t0, t1, ncpu) = sys.argv[1:]
hz = float(hz)
def last_json(path):
    try:
        for line in reversed(open(path).read().splitlines()):
            if line.startswith("{"):
                return json.loads(line)
    except (OSError, ValueError):
        pass
    return None
sub, pub, mock = (last_json(d + "/sub.out"), last_json(d + "/pub.out"),
                  last_json(d + "/mock.out"))
busy0, steal0 = map(int, m0.split())
busy1, steal1 = map(int, m1.split())
wall = float(t1) - float(t0)
ours = int(bticks) / hz + ((sub or {}).get("cpu_s") or 0) + \
    ((pub or {}).get("cpu_total_s") or (pub or {}).get("cpu_s") or 0) + \
    ((mock or {}).get("cpu_s") or 0)
other = max(0.0, (busy1 - busy0) / hz - ours)
print(json.dumps({"kind": kind, "qos": int(qos), "rate": float(rate),
                  "rep": int(rep), "n": int(n), "pub_rc": int(pub_rc),
                  "sub_rc": int(sub_rc), "mock_rc": int(mock_rc),
                  "sub": sub, "pub": pub, "mock": mock,
                  "broker_cpu_s": int(bticks) / hz, "wall_s": round(wall, 3),
                  "other_load": round(other / (wall * int(ncpu)), 3)}))
EOF
	# Judge and print the run: a program failed, or events lost at QoS 1
	# (at QoS 0 a loss is a figure, not a failure).
	if ! tail -n 1 "$RESULTS" | $PY -c '
import json, sys
r = json.loads(sys.stdin.read()); s = r["sub"] or {}
name = ("%s QoS %d" % (r["kind"], r["qos"]) +
        (" %g/s" % r["rate"] if r["rate"] else ""))
lost = r["n"] - s.get("count", 0)
bad = (r["pub_rc"] != 0 or r["mock_rc"] != 0 or not s or
       (lost and (r["qos"] > 0 or r["kind"] == "ceiling")))
if not s:
    print("  FAILED: %s run %d: no subscriber result" % (name, r["rep"]))
else:
    lat = lambda k: "%7.2f ms" % (s[k] / 1e3) if s["lat_n"] else "        -"
    rss = (r["pub"] or {}).get("vmhwm_kib", -1)
    print("  %s%-22s run %d: %7.0f events/s  p50 %s  p99 %s  lost %d%s  other %2.0f%%"
          % ("FAILED " if bad else "", name, r["rep"], s["rate"], lat("p50_us"),
             lat("p99_us"), lost,
             "  RSS %.1f MiB" % (rss / 1024.0) if rss > 0 else "",
             100 * r["other_load"]))
sys.exit(1 if bad else 0)'; then
		FAILED=1
		for f in sub.err pub.err mock.err; do
			[ -s "$dir/$f" ] && tail -n 4 "$dir/$f" | sed "s/^/    $f: /"
		done
	fi
	rm -rf "$dir/state"
}

has() { case " $KINDS " in *" $1 "*) return 0 ;; esac; return 1; }

START=$(date +%s)
for rep in $(seq "$REPS"); do
	has ceiling0 && measure ceiling 0 "$N0" 0 "$rep"
	has unpaced0 && measure "$SOURCE" 0 "$N0" 0 "$rep"
	has ceiling1 && measure ceiling 1 "$N1" 0 "$rep"
	has unpaced1 && measure "$SOURCE" 1 "$N1" 0 "$rep"
	has paced && measure "$SOURCE" 0 "$NP" "$RATE" "$rep"
done
ELAPSED=$(( $(date +%s) - START ))

$PY "$HERE/twitch_report.py" "$SOURCE" "$RESULTS" \
    "$BUILD/$SOURCE-bench-results.json" "$WINDOW" "$BUFFER" "$ELAPSED" \
    "$FAILED" || FAILED=1
if [ "$FAILED" != 0 ]; then
	echo "twitch_run.sh: a measurement failed (see above)" >&2
	exit 1
fi
exit 0
