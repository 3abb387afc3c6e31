#!/usr/bin/python3
"""
The PubSub source under load: the real daemon, subscribed to one bits
topic over transport pubsub, against a mock PubSub edge that blasts
MESSAGE frames, received by bench_sub from a private mosquitto.

  tests/bench/bench_pubsub.py [-B build] [-n 200000] [-r 1000] [-R 3]

Two measurements per QoS, each repeated -R times:
- rate: N frames as fast as the socket takes them (written in chunks
  of 512); events/s as bench_sub counts them, first to last.
- latency: frames paced at -r per second for 5 s; p50/p99 from the
  blaster's CLOCK_MONOTONIC when it wrote the frame (carried in the
  cheer's chat_message, which the event keeps as "message") to
  bench_sub's at arrival: websocket, parse, normalize, dedupe, JSON,
  paho, mosquitto, subscriber.
Peak RSS is the daemon's VmHWM after the run. Prints a table and writes
build/bench-pubsub.json. Targets: >= 50000 events/s at QoS 0, p99 < 2 ms
at 1000/s.
"""

import argparse
import asyncio
import base64
import hashlib
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
import mock_twitch as mt          # noqa: E402

TOPIC = "channel-bits-events-v2.1337"
GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def template():
    """A MESSAGE frame with %(id)s and %(us)d holes (digits need no
    escaping in either JSON layer)."""
    inner = json.dumps({"data": {
        "user_name": "pixelfox", "channel_name": "cool_streamer",
        "user_id": "41522301", "channel_id": "1337",
        "time": "2024-11-02T19:04:11.512394871Z", "chat_message": "@US@",
        "bits_used": 100, "total_bits_used": 1600, "is_anonymous": False,
        "context": "cheer", "badge_entitlement": None},
        "version": "1.0", "message_type": "bits_event",
        "message_id": "@ID@", "is_anonymous": False})
    outer = json.dumps({"type": "MESSAGE", "data": {"topic": TOPIC,
                                                    "message": inner}})
    return outer.replace("%", "%%").replace("@US@", "%(us)d").replace(
        "@ID@", "%(id)s")


def ws_frame(payload):
    n = len(payload)
    if n < 126:
        head = bytes([0x81, n])
    elif n < 65536:
        head = bytes([0x81, 126]) + n.to_bytes(2, "big")
    else:
        head = bytes([0x81, 127]) + n.to_bytes(8, "big")
    return head + payload


class Blaster:
    """A minimal PubSub edge: websocket handshake, RESPONSE to LISTEN,
    PONG to PING, and MESSAGE frames on demand."""

    def __init__(self):
        self.port = free_port()
        self.writer = None
        self.listened = threading.Event()
        self.tpl = template()
        self.loop = None
        self.seq = 0

    def start(self):
        started = threading.Event()

        def run():
            self.loop = asyncio.new_event_loop()
            srv = self.loop.run_until_complete(asyncio.start_server(
                self.conn, "127.0.0.1", self.port))
            started.set()
            self.loop.run_forever()
            srv.close()
        threading.Thread(target=run, daemon=True).start()
        started.wait(5)
        return self

    async def conn(self, reader, writer):
        head = await reader.readuntil(b"\r\n\r\n")
        key = [ln.split(b":", 1)[1].strip() for ln in head.split(b"\r\n")
               if ln.lower().startswith(b"sec-websocket-key:")][0]
        acc = base64.b64encode(hashlib.sha1(key + GUID).digest())
        writer.write(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: "
                     b"websocket\r\nConnection: Upgrade\r\n"
                     b"Sec-WebSocket-Accept: " + acc + b"\r\n\r\n")
        self.writer = writer
        try:
            while True:
                b0, b1 = await reader.readexactly(2)
                n = b1 & 0x7f
                if n == 126:
                    n = int.from_bytes(await reader.readexactly(2), "big")
                elif n == 127:
                    n = int.from_bytes(await reader.readexactly(8), "big")
                mask = await reader.readexactly(4) if b1 & 0x80 else None
                data = bytearray(await reader.readexactly(n))
                if mask:
                    for i in range(n):
                        data[i] ^= mask[i % 4]
                if b0 & 0x0f == 8:
                    return
                if b0 & 0x0f != 1:
                    continue
                f = json.loads(data)
                if f.get("type") == "PING":
                    writer.write(ws_frame(b'{"type":"PONG"}'))
                elif f.get("type") == "LISTEN":
                    writer.write(ws_frame(json.dumps({
                        "type": "RESPONSE", "nonce": f["nonce"],
                        "error": ""}).encode()))
                    self.listened.set()
        except (asyncio.IncompleteReadError, ConnectionError):
            return

    def frame(self):
        self.seq += 1
        return ws_frame((self.tpl % {"id": "b%d-%d" % (os.getpid(),
                                                       self.seq),
                                     "us": time.monotonic_ns() // 1000}
                         ).encode())

    async def _blast(self, n, rate):
        w = self.writer
        if rate is None:
            sent = 0
            while sent < n:
                k = min(512, n - sent)
                w.write(b"".join(self.frame() for _ in range(k)))
                sent += k
                await w.drain()
            return
        t0 = time.monotonic()
        for i in range(n):
            delay = t0 + i / rate - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            w.write(self.frame())
        await w.drain()

    def blast(self, n, rate=None):
        return asyncio.run_coroutine_threadsafe(self._blast(n, rate),
                                                self.loop)


def broker(tmp, mosq):
    port = free_port()
    conf = os.path.join(tmp, "mosquitto.conf")
    with open(conf, "w") as f:
        f.write("listener %d 127.0.0.1\nallow_anonymous true\n"
                "max_inflight_messages 0\nmax_queued_messages 0\n" % port)
    p = subprocess.Popen([mosq, "-c", conf], stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), 0.1).close()
            return p, port
        except OSError:
            time.sleep(0.05)
    raise SystemExit("mosquitto did not start")


def one_run(args, url, mock, qos, n, rate, tmp, idx):
    bl = Blaster().start()
    state = os.path.join(tmp, "state%d" % idx)
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("TWITCH2MQTT_")}
    env.update(mock.env())
    env.update({
        "TWITCH2MQTT_MQTT_URL": url, "TWITCH2MQTT_MQTT_QOS": str(qos),
        "TWITCH2MQTT_MQTT_BASE_TOPIC": "bench",
        "TWITCH2MQTT_MQTT_CLIENT_ID": "pub_ps%d" % idx,
        "TWITCH2MQTT_BRIDGE_STATE_DIR": state,
        "TWITCH2MQTT_MQTT_BUFFER_MAX": "2048",
        "TWITCH2MQTT_HOMEASSISTANT_DISCOVERY": "false",
        "TWITCH2MQTT_TWITCH_PUBSUB_URL": "ws://127.0.0.1:%d/" % bl.port,
        "TWITCH2MQTT_CHANNELS": json.dumps([{
            "channel": "cool_streamer", "channel_id": "1337",
            "transport": "pubsub", "events": ["bits"]}]),
    })
    log = open(os.path.join(tmp, "daemon%d.log" % idx), "w")
    d = subprocess.Popen([os.path.join(args.build, "twitch2mqtt")],
                         env=env, stdout=log, stderr=log)
    try:
        if not bl.listened.wait(15):
            raise SystemExit("the daemon did not LISTEN (see %s)" % log.name)
        sub = subprocess.Popen([
            os.path.join(args.build, "bench", "bench_sub"), "-u", url,
            "-t", "bench/cool_streamer/bits", "-n", str(n), "-q", str(qos),
            "-k", '"message":"', "-i", "10", "-T", "120",
            "-c", "sub_ps%d" % idx], stdout=subprocess.PIPE, text=True)
        assert sub.stdout.readline().strip() == "ready"
        bl.blast(n, rate).result(300)
        out, _ = sub.communicate(timeout=300)
        res = json.loads(out.strip().splitlines()[-1])
        with open("/proc/%d/status" % d.pid) as f:
            hwm = [int(ln.split()[1]) for ln in f
                   if ln.startswith("VmHWM:")][0]
        res["peak_rss_kib"] = hwm
        return res
    finally:
        d.terminate()
        d.wait(10)
        log.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-B", "--build", default=os.path.join(HERE, "..", "..",
                                                          "build"))
    ap.add_argument("-n", type=int, default=200000)
    ap.add_argument("-r", type=int, default=1000)
    ap.add_argument("-R", type=int, default=3)
    ap.add_argument("-q", default="0 1")
    args = ap.parse_args()
    args.build = os.path.abspath(args.build)
    tmp = tempfile.mkdtemp(prefix="t2m-bench-ps-")
    mosq, port = broker(tmp, os.environ.get("MOSQUITTO",
                                            "/usr/sbin/mosquitto"))
    mock = mt.MockTwitch().start()
    url = "tcp://127.0.0.1:%d" % port
    results = []
    idx = 0
    try:
        for qos in [int(q) for q in args.q.split()]:
            for kind, n, rate in (("rate", args.n, None),
                                  ("latency", args.r * 5, args.r)):
                for rep in range(args.R):
                    idx += 1
                    r = one_run(args, url, mock, qos, n, rate, tmp, idx)
                    r.update({"kind": kind, "qos": qos, "rep": rep,
                              "sent_rate": rate})
                    results.append(r)
                    print("%-8s qos %d run %d: %8.0f events/s  p50 %6d us  "
                          "p99 %6d us  peak RSS %6.1f MiB  (%d/%d)" % (
                              kind, qos, rep + 1, r["rate"], r["p50_us"],
                              r["p99_us"], r["peak_rss_kib"] / 1024,
                              r["count"], n), flush=True)
    finally:
        mock.shutdown()
        mosq.terminate()
    with open(os.path.join(args.build, "bench-pubsub.json"), "w") as f:
        json.dump(results, f, indent=1)

    def med(kind, qos, key):
        v = sorted(r[key] for r in results if r["kind"] == kind and
                   r["qos"] == qos)
        return v[len(v) // 2] if v else None
    print("\nmedians:")
    for qos in [int(q) for q in args.q.split()]:
        print("  qos %d: %.0f events/s, peak RSS %.1f MiB; at %d/s p50 %d "
              "us, p99 %d us" % (qos, med("rate", qos, "rate"),
                                 med("rate", qos, "peak_rss_kib") / 1024,
                                 args.r, med("latency", qos, "p50_us"),
                                 med("latency", qos, "p99_us")))
    if 0 in [int(q) for q in args.q.split()]:
        ok_rate = med("rate", 0, "rate") >= 50000
        ok_lat = med("latency", 0, "p99_us") < 2000
        print("targets: >= 50000 events/s at QoS 0: %s; p99 < 2 ms at "
              "%d/s: %s" % ("met" if ok_rate else "MISSED", args.r,
                            "met" if ok_lat else "MISSED"))


if __name__ == "__main__":
    main()
