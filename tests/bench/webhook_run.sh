#!/bin/bash
# The webhook load benchmark: the real daemon's EventSub webhook endpoint
# under wrk, counted on MQTT. See tests/bench/README.md, "Webhooks".
#
#   tests/bench/webhook_run.sh [-B BUILD_DIR] [-r REPS] [-n N] [-d SECONDS]
#                              [-c CONNECTIONS] [-t THREADS] [-q QOS]
#                              [-b BUFFER_MAX] [-R RATE_PER_CONN] [-C]
#
# Starts a private mosquitto and twitch2mqtt (http.listen, webhook.secret,
# QoS 1, mqtt.buffer_max default unless -b), pre-signs N unique
# channel.cheer notifications (unique message ids, one fresh timestamp),
# runs `wrk -tT -cC -dD --latency -s webhook.lua` cycling through them
# (each id sent once), counts the distinct ids arriving on twitch/+/bits
# with bench_idsub, and reports requests/s, p50/p99 latency, non-2xx
# answers and losses: ids answered 2xx by the daemon that never arrived
# on MQTT. -C also measures the broker's ceiling (bench_paho at the same
# QoS, as tests/bench/run.sh does) for a ratio.
#
# Writes BUILD_DIR/bench-webhook.json. Exits 1 when a measurement failed
# or an acknowledged event was lost, 2 on a usage or setup problem; a
# missed rate or latency target is reported, never an error.
set -u

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
BUILD=$ROOT/build
REPS=3
N=600000
DUR=20
CONNS=32
THREADS=2
QOS=1
BUFFER=
CEILING=0
MOSQUITTO=${MOSQUITTO:-/usr/sbin/mosquitto}
PY=/usr/bin/python3
SECRET=s3cr3tvalue123

while getopts "B:r:n:d:c:t:q:b:Ch" opt; do
	case $opt in
	B) BUILD=$(cd "$OPTARG" && pwd) ;;
	r) REPS=$OPTARG ;;
	n) N=$OPTARG ;;
	d) DUR=$OPTARG ;;
	c) CONNS=$OPTARG ;;
	t) THREADS=$OPTARG ;;
	q) QOS=$OPTARG ;;
	b) BUFFER=$OPTARG ;;
	C) CEILING=1 ;;
	*) sed -n '2,23p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
	esac
done

DAEMON=$BUILD/twitch2mqtt
IDSUB=$BUILD/bench/bench_idsub
PROG=webhook_run.sh
. "$HERE/lib.sh"
need_built "$DAEMON" "$IDSUB"
if ! command -v wrk >/dev/null; then
	echo "$PROG: wrk is missing (apt-get install -y wrk)" >&2
	exit 2
fi
clean_env
bench_tmp whbench
# Events the daemon queued for MQTT so far: received minus dropped
# (duplicate, invalid, buffer full). Every 2xx answer means queued, so
# queued minus what arrived on MQTT is exactly what was lost.
queued() {
	$PY - "$1" <<'EOF'
import sys, urllib.request
t = urllib.request.urlopen("http://127.0.0.1:%s/metrics" % sys.argv[1], timeout=10).read().decode()
rx = dr = 0
for line in t.splitlines():
    if line.startswith("twitch2mqtt_events_received_total{"):
        rx += float(line.rsplit(" ", 1)[1])
    elif line.startswith("twitch2mqtt_events_dropped_total{") and "publish_failed" not in line:
        dr += float(line.rsplit(" ", 1)[1])
print(int(rx - dr))
EOF
}
HZ=$(getconf CLK_TCK)

# ---- broker ----
start_broker

# ---- daemon ----
HPORT=$(free_port)
BUFFER_ENV=()
[ -z "$BUFFER" ] || BUFFER_ENV=(TWITCH2MQTT_MQTT_BUFFER_MAX="$BUFFER")
# Twitch credentials that lead nowhere (port 9): they only keep the demo
# source off; nothing here calls Twitch.
(cd "$TMP" && exec env TWITCH2MQTT_MQTT_URL="$URL" \
    TWITCH2MQTT_MQTT_QOS="$QOS" TWITCH2MQTT_MQTT_CLIENT_ID=bench-webhook \
    TWITCH2MQTT_BRIDGE_STATE_DIR="$TMP/state" "${BUFFER_ENV[@]}" \
    TWITCH2MQTT_HTTP_LISTEN="127.0.0.1:$HPORT" \
    TWITCH2MQTT_WEBHOOK_SECRET="$SECRET" \
    TWITCH2MQTT_WEBHOOK_PUBLIC_URL="http://127.0.0.1:$HPORT/webhook" \
    TWITCH2MQTT_TWITCH_CLIENT_ID=benchclient \
    TWITCH2MQTT_TWITCH_CLIENT_SECRET=benchsecret \
    TWITCH2MQTT_TWITCH_API_URL=http://127.0.0.1:9/helix \
    TWITCH2MQTT_TWITCH_AUTH_URL=http://127.0.0.1:9/oauth2 \
    TWITCH2MQTT_HOMEASSISTANT_DISCOVERY=false \
    "$DAEMON") > "$TMP/daemon.log" 2>&1 &
DPID=$!
LIVE[$DPID]=1
if ! wait_port "$HPORT"; then
	echo "webhook_run.sh: the daemon did not listen on $HPORT:" >&2
	tail -20 "$TMP/daemon.log" >&2
	exit 2
fi
for _ in $(seq 100); do
	grep -q "mqtt: connected" "$TMP/daemon.log" && break
	sleep 0.05
done
echo "mosquitto on 127.0.0.1:$PORT, twitch2mqtt (pid $DPID) on 127.0.0.1:$HPORT, QoS $QOS, buffer_max ${BUFFER:-default}; wrk -t$THREADS -c$CONNS -d${DUR}s; $(nproc) cores; $REPS runs"

FAILED=0
RESULTS=$TMP/runs.jsonl
: > "$RESULTS"

# ---- the ceiling (optional): bare paho at the same QoS ----
if [ "$CEILING" = 1 ]; then
	sink_window
	for rep in $(seq "$REPS"); do
		"$(counter_bin "$BUILD/bench")" -u "tcp://127.0.0.1:$PORT" -t "ceil$rep/demo/+" \
		    -q "$QOS" -n 50000 -m '"source":"demo"' -c "ceilsub$rep" -i 5 -T 60 \
		    > "$TMP/ceil$rep.out" 2>&1 &
		s=$!
		LIVE[$s]=1
		wait_ready "$TMP/ceil$rep.out" "$s"
		"$BUILD/bench/bench_paho" -u "$URL" -n 50000 -q "$QOS" -b "ceil$rep" \
		    -w "$WINDOW" -c "ceilpub$rep" > /dev/null 2>&1
		reap "$s"
		tail -n 1 "$TMP/ceil$rep.out" | sed 's/^/CEILING /' >> "$RESULTS"
		tail -n 1 "$TMP/ceil$rep.out" | $PY -c 'import json,sys; r=json.loads(sys.stdin.read()); print("  ceiling  run %s: %7.0f events/s (bare paho, QoS %s)" % (sys.argv[1], r["rate"], sys.argv[2]))' "$rep" "$QOS" || true
	done
fi

for rep in $(seq "$REPS"); do
	dir=$TMP/run$rep
	mkdir -p "$dir"
	# Pre-signed requests: unique ids, one fresh timestamp, the body
	# unique too (the id is in the message); HMAC over id+ts+body.
	$PY - "$dir" "$N" "$SECRET" "$rep" <<'EOF'
import hashlib, hmac, json, sys, time
d, n, secret, rep = sys.argv[1], int(sys.argv[2]), sys.argv[3].encode(), sys.argv[4]
ns = time.time_ns()
ts = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ns // 10**9)) + ".%09dZ" % (ns % 10**9)
body = {"subscription": {"id": "bench-sub", "status": "enabled", "type": "channel.cheer",
        "version": "1", "condition": {"broadcaster_user_id": "1337"},
        "transport": {"method": "webhook", "callback": "http://127.0.0.1/webhook"},
        "created_at": ts, "cost": 0},
        "event": {"user_id": "9001", "user_login": "happy_viewer", "user_name": "Happy_Viewer",
                  "broadcaster_user_id": "1337", "broadcaster_user_login": "cool_streamer",
                  "broadcaster_user_name": "Cool_Streamer", "is_anonymous": False,
                  "message": "@@ID@@", "bits": 100}}
pre, suf = json.dumps(body, separators=(",", ":")).split("@@ID@@")
with open(d + "/meta.txt", "w") as f:
    f.write(ts + "\n" + pre + "\n" + suf + "\n")
tsb, preb, sufb = ts.encode(), pre.encode(), suf.encode()
with open(d + "/reqs.txt", "w") as f:
    out = []
    for i in range(n):
        mid = ("bench-%s-%08d" % (rep, i)).encode()
        sig = hmac.new(secret, mid + tsb + preb + mid + sufb, hashlib.sha256).hexdigest()
        out.append("%s\tsha256=%s\n" % (mid.decode(), sig))
    f.write("".join(out))
EOF
	"$IDSUB" -u "tcp://127.0.0.1:$PORT" -t "twitch/+/bits" -q "$QOS" \
	    -o "$dir/ids.txt" -i 4 -T $((DUR + 60)) -c "idsub$rep" \
	    > "$dir/sub.out" 2> "$dir/sub.err" &
	sub=$!
	LIVE[$sub]=1
	wait_ready "$dir/sub.out" "$sub"
	q0=$(queued "$HPORT")
	d0=$(cpu_ticks "$DPID"); b0=$(cpu_ticks "$BROKER")
	wrk -t"$THREADS" -c"$CONNS" -d"${DUR}s" --latency -s "$HERE/webhook.lua" \
	    "http://127.0.0.1:$HPORT/webhook" -- "$dir/reqs.txt" "$dir/meta.txt" \
	    "$THREADS" > "$dir/wrk.out" 2>&1
	wrk_rc=$?
	d1=$(cpu_ticks "$DPID"); b1=$(cpu_ticks "$BROKER")
	reap "$sub"
	sub_rc=$?
	hwm=$(sed -n 's/^VmHWM:[[:space:]]*\([0-9]*\).*/\1/p' "/proc/$DPID/status" 2>/dev/null)
	q1=$(queued "$HPORT")
	$PY - "$dir" "$rep" "$THREADS" "$wrk_rc" "$sub_rc" "$((d1 - d0))" \
	    "$((b1 - b0))" "$HZ" "${hwm:--1}" "$((q1 - q0))" >> "$RESULTS" <<'EOF'
import json, sys
d, rep, nt, wrk_rc, sub_rc, dt, bt, hz, hwm, queued = sys.argv[1:]
nt = int(nt)
w = None
for line in open(d + "/wrk.out"):
    if line.startswith("WRKJSON "):
        w = json.loads(line[8:])
sub = None
for line in open(d + "/sub.out"):
    if line.startswith("{"):
        sub = json.loads(line)
ids = [l.split("\t", 1)[0] for l in open(d + "/reqs.txt")]
sent = set()
if w:
    for k, cnt in enumerate(w["sent"]):
        mine = ids[k::nt]
        for j in range(cnt):
            sent.add(mine[j % len(mine)])
got = [l.rstrip("\n") for l in open(d + "/ids.txt")]
got_set = set(got)
recv_sent = len(sent & got_set)
missing = len(sent - got_set)
in_flight = (sum(w["sent"]) - w["requests"]) if w else 0
acked = w["status_2xx"] if w else 0
reused = (sum(w["sent"]) - len(sent)) if w else 0
r = {"rep": int(rep), "wrk_rc": int(wrk_rc), "sub_rc": int(sub_rc), "wrk": w,
     "sub": sub, "sent_ids": len(sent), "reused": reused,
     "received": len(got), "received_distinct": len(got_set),
     "received_sent_ids": recv_sent, "duplicates": len(got) - len(got_set),
     "foreign": len(got_set - sent), "missing": missing, "in_flight_at_end": in_flight,
     # every 2xx means queued: queued and not on MQTT is exactly what was
     # lost (an id sent but never queued was cut off when wrk stopped)
     "queued": int(queued), "lost": max(0, int(queued) - recv_sent),
     "daemon_cpu_s": int(dt) / float(hz), "broker_cpu_s": int(bt) / float(hz),
     "daemon_vmhwm_kib": int(hwm)}
if w:
    r["acked_rate"] = acked / w["duration_s"] if w["duration_s"] else 0
    r["daemon_cpu_us_per_req"] = 1e6 * r["daemon_cpu_s"] / max(w["requests"], 1)
print(json.dumps(r))
EOF
	tail -n 1 "$RESULTS" | $PY -c '
import json, sys
r = json.loads(sys.stdin.read()); w = r["wrk"] or {}
print("  webhook  run %d: %7.0f req/s (2xx %d, 503 %d, other %d, socket errors %d)  p50 %.2f ms  p99 %.2f ms  sent %d  queued %d  on MQTT %d  lost %d  daemon %.0f us/req  RSS peak %.1f MiB"
      % (r["rep"], w.get("rps", 0), w.get("status_2xx", 0), w.get("status_503", 0),
         w.get("status_other", 0), sum(w.get(k, 0) for k in ("err_connect", "err_read", "err_write", "err_timeout")),
         w.get("lat_p50_us", 0) / 1e3, w.get("lat_p99_us", 0) / 1e3,
         r["sent_ids"], r["queued"], r["received_sent_ids"], r["lost"],
         r.get("daemon_cpu_us_per_req", 0), r["daemon_vmhwm_kib"] / 1024.0))' || FAILED=1
	if [ "$wrk_rc" != 0 ] || ! grep -q '^WRKJSON' "$dir/wrk.out"; then
		echo "  FAILED: wrk rc=$wrk_rc"; tail -5 "$dir/wrk.out"; FAILED=1
	fi
	rm -f "$dir/reqs.txt"
done

$PY - "$RESULTS" "$BUILD/bench-webhook.json" "$QOS" "$THREADS" "$CONNS" "$DUR" <<'EOF' || FAILED=1
import json, statistics, sys
path, out, qos, t, c, dur = sys.argv[1:]
runs, ceil = [], []
for line in open(path):
    if line.startswith("CEILING "):
        ceil.append(json.loads(line[8:])["rate"])
    elif line.strip():
        runs.append(json.loads(line))
ok = [r for r in runs if r["wrk"]]
med = lambda xs: statistics.median(xs) if xs else 0
rps = med([r["wrk"]["rps"] for r in ok])
acked = med([r.get("acked_rate", 0) for r in ok])
p50 = med([r["wrk"]["lat_p50_us"] for r in ok]) / 1e3
p99 = med([r["wrk"]["lat_p99_us"] for r in ok]) / 1e3
non2xx = sum(r["wrk"]["status_503"] + r["wrk"]["status_other"] for r in ok)
lost = [r["lost"] for r in ok]
print()
print("webhook   QoS %s  wrk -t%s -c%s -d%ss, %d runs (medians)" % (qos, t, c, dur, len(ok)))
print("  requests/s %.0f   2xx/s %.0f   p50 %.2f ms   p99 %.2f ms   non-2xx %d   lost %s"
      % (rps, acked, p50, p99, non2xx, lost))
if ceil:
    print("  broker ceiling (bare paho, QoS %s) %.0f events/s: webhook 2xx/s = %.0f%% of it"
          % (qos, med(ceil), 100 * acked / med(ceil)))
res = {"qos": int(qos), "threads": int(t), "connections": int(c), "duration_s": int(dur),
       "runs": runs, "ceiling_rates": ceil, "median_rps": rps, "median_acked_rps": acked,
       "median_p50_ms": p50, "median_p99_ms": p99, "non_2xx": non2xx, "lost": lost}
json.dump(res, open(out, "w"), indent=1)
v = lambda b: "met" if b else "MISSED"
print("target >= 10000 notifications/s sustained:  %6.0f  %s" % (acked, v(acked >= 10000)))
print("target p99 < 10 ms:                          %6.2f  %s" % (p99, v(p99 < 10)))
print("target zero loss at QoS %s:                   %6s  %s" % (qos, sum(lost), v(sum(lost) == 0)))
print("results: %s" % out)
sys.exit(1 if sum(lost) or len(ok) != len(runs) else 0)
EOF
if [ "$FAILED" != 0 ]; then
	echo "webhook_run.sh: a measurement failed or an acknowledged event was lost" >&2
	tail -5 "$TMP/daemon.log" >&2
	exit 1
fi
exit 0
