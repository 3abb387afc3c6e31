"""
Integration-test harness for twitch2mqtt.

Drives the real binary ($BUILD_ROOT/twitch2mqtt) against a real mosquitto
(/usr/sbin/mosquitto) on loopback, and observes what arrives on MQTT with
paho-mqtt 1.6 (Debian's python3-paho-mqtt). Run the scripts with Debian's
/usr/bin/python3.

Everything started here is killed on teardown (and at interpreter exit), and
every wait is a poll with a deadline, never a fixed sleep.
"""

import atexit
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import uuid

import paho.mqtt.client as paho
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_DIR = os.environ.get("BR_SOURCE_DIR") or os.path.abspath(
    os.path.join(HERE, "..", ".."))
BUILD_ROOT = os.path.abspath(os.environ.get("BUILD_ROOT") or
                             os.path.join(SOURCE_DIR, "build"))
BINARY = os.path.join(BUILD_ROOT, "twitch2mqtt")
MOSQUITTO = os.environ.get("MOSQUITTO", "/usr/sbin/mosquitto")
KEEP_TMP = bool(os.environ.get("ITEST_KEEP_TMP"))
BASE = "twitch"

# RFC 3339 UTC with milliseconds and Z, as the contract's example.
TIME_MS_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
# Any RFC 3339 time (Twitch's own, e.g. followed_at, may carry other precisions).
RFC3339_RE = re.compile(
    r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$")

COMMON_KEYS = ["id", "type", "event_type", "source", "time", "test",
               "channel", "user"]
DEFAULT_EVENTS = ["bits", "channel_points", "subscription", "follow", "raid",
                  "stream"]
ACTIONS = ["subscribe", "unsubscribe", "subscriptions", "health", "simulate"]

_live_procs = []
_live_lock = threading.Lock()


def _track(proc):
    with _live_lock:
        _live_procs.append(proc)


def _kill_all():
    with _live_lock:
        procs = list(_live_procs)
    for p in procs:
        if p.poll() is None:
            try:
                p.kill()
                p.wait(5)
            except Exception:
                pass


atexit.register(_kill_all)


_reserved_ports = []


def free_port():
    """A TCP port on 127.0.0.1 for a server this test starts later; no
    other process gets it while this one runs.

    A port that is merely free when asked can be taken before our server
    binds it: under load, tests running in parallel picked the same port
    for a broker and a bridge's HTTP listener, and the bridge exited on
    EADDRINUSE. So the port stays bound here, by a socket that never
    listens: the kernel then gives it to no bind(0) or connect() of any
    process, while mosquitto, twitch2mqtt (lws) and aiohttp, which all
    set SO_REUSEADDR, can still listen on it. (A server without
    SO_REUSEADDR cannot use such a port.)"""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", 0))
    _reserved_ports.append(s)
    return s.getsockname()[1]


def port_open(port, host="127.0.0.1"):
    try:
        with socket.create_connection((host, port), timeout=0.2):
            return True
    except OSError:
        return False


def wait_until(pred, timeout, interval=0.05, desc="condition"):
    """Poll pred() until it returns a truthy value; return it, or raise
    AssertionError naming desc after timeout seconds."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() >= deadline:
            raise AssertionError("timed out after %.1fs waiting for %s"
                                 % (timeout, desc))
        time.sleep(interval)


def mktemp(prefix="t2m-"):
    return tempfile.mkdtemp(prefix=prefix)


def unique(prefix):
    """A unique, login-safe name (lowercase [a-z0-9_], <= 25 chars)."""
    return (prefix + "_" + uuid.uuid4().hex)[:25]


# ----------------------------------------------------------------- broker

class Broker:
    """A mosquitto on 127.0.0.1:<port> with a generated configuration.

    stop()/start()/restart() keep the same port (and persistence db), so a
    client configured with that port sees 'the broker went away and came
    back'."""

    def __init__(self, port=None, persistence=False, extra_conf=(),
                 tmpdir=None):
        self.port = port or free_port()
        self.tmpdir = tmpdir or mktemp("t2m-broker-")
        self._own_tmp = tmpdir is None
        self.persistence = persistence
        self.conf_path = os.path.join(self.tmpdir, "mosquitto.conf")
        self.log_path = os.path.join(self.tmpdir, "mosquitto.log")
        lines = ["listener %d 127.0.0.1" % self.port,
                 "allow_anonymous true"]
        if os.geteuid() == 0:
            # Started as root, mosquitto drops to user 'mosquitto', which
            # cannot write its persistence db into our 0700 temp dir.
            lines.append("user root")
        if persistence:
            lines += ["persistence true",
                      "persistence_location %s/" % self.tmpdir,
                      "autosave_interval 1"]
        lines += list(extra_conf)
        with open(self.conf_path, "w") as f:
            f.write("\n".join(lines) + "\n")
        self.proc = None
        self._logf = None
        self.url = "mqtt://127.0.0.1:%d" % self.port

    def start(self, timeout=10):
        assert self.proc is None or self.proc.poll() is not None, \
            "broker already running"
        # A restart can race the old socket's release; retry briefly.
        deadline = time.monotonic() + timeout
        while True:
            self._logf = open(self.log_path, "ab")
            self.proc = subprocess.Popen(
                [MOSQUITTO, "-c", self.conf_path], stdout=self._logf,
                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
            _track(self.proc)
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    break
                if port_open(self.port):
                    return self
                time.sleep(0.02)
            if self.proc.poll() is None:
                self.kill()
                raise AssertionError("mosquitto did not accept on port %d "
                                     "within %ss" % (self.port, timeout))
            self._logf.close()
            if time.monotonic() >= deadline:
                raise AssertionError("mosquitto exited with %s:\n%s" % (
                    self.proc.returncode, self.log_text()[-2000:]))
            time.sleep(0.2)

    def stop(self, timeout=10):
        """Graceful stop (SIGTERM; mosquitto saves its db when persistent)."""
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        if self._logf:
            self._logf.close()
            self._logf = None
        wait_until(lambda: not port_open(self.port), 5,
                   desc="broker port %d to close" % self.port)

    def restart(self, timeout=10):
        self.stop()
        return self.start(timeout)

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)
        if self._logf:
            self._logf.close()
            self._logf = None

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def log_text(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def close(self):
        self.kill()
        if self._own_tmp and not KEEP_TMP:
            shutil.rmtree(self.tmpdir, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.close()


# ----------------------------------------------------------------- bridge

def clean_env():
    """The inherited environment minus every TWITCH2MQTT_* variable."""
    return {k: v for k, v in os.environ.items()
            if not k.startswith("TWITCH2MQTT_")}


def run_cli(args, env=None, cwd=None, timeout=15, input=None):
    """Runs the binary to completion (CLI checks); returns CompletedProcess
    with text stdout/stderr. env adds to a TWITCH2MQTT_*-free environment.
    cwd defaults to a fresh empty directory so ./twitch2mqtt.json and
    ./state of the caller never leak in."""
    if not os.path.exists(BINARY):
        raise AssertionError("binary not built: %s" % BINARY)
    e = clean_env()
    e.update(env or {})
    tmp = None
    if cwd is None:
        tmp = cwd = mktemp("t2m-cli-")
    try:
        return subprocess.run([BINARY] + list(args), env=e, cwd=cwd,
                              capture_output=True, text=True,
                              timeout=timeout, input=input)
    finally:
        if tmp and not KEEP_TMP:
            shutil.rmtree(tmp, ignore_errors=True)


class Bridge:
    """One twitch2mqtt process.

    broker: a Broker (or None: give TWITCH2MQTT_MQTT_URL in env yourself).
    args:   extra command-line arguments (e.g. ["--demo"]).
    env:    extra environment (added after the defaults, so it wins).
    config: a dict written as JSON to <tmp>/config.json and passed with -c.
    state_dir: reuse a state dir (e.g. across a restart); default fresh.
    """

    def __init__(self, broker=None, args=(), env=None, config=None,
                 state_dir=None, client_id=None, tmpdir=None):
        self.tmpdir = tmpdir or mktemp("t2m-bridge-")
        self._own_tmp = tmpdir is None
        self.broker = broker
        self.args = list(args)
        self.extra_env = dict(env or {})
        self.state_dir = state_dir or os.path.join(self.tmpdir, "state")
        self.client_id = client_id or unique("itest")
        self.config_path = None
        if config is not None:
            self.write_config(config)
        self.log_path = os.path.join(self.tmpdir, "bridge.log")
        self.out_path = os.path.join(self.tmpdir, "bridge.out")
        self.proc = None
        self._logs = []
        self.returncode = None

    def write_config(self, config):
        """(Re)writes the config file; text is written verbatim."""
        self.config_path = os.path.join(self.tmpdir, "config.json")
        with open(self.config_path, "w") as f:
            if isinstance(config, str):
                f.write(config)
            else:
                json.dump(config, f, indent=2)
        return self.config_path

    def env(self):
        e = clean_env()
        if self.broker is not None:
            e["TWITCH2MQTT_MQTT_URL"] = self.broker.url
        e["TWITCH2MQTT_BRIDGE_STATE_DIR"] = self.state_dir
        e["TWITCH2MQTT_MQTT_CLIENT_ID"] = self.client_id
        e.update(self.extra_env)
        return e

    def argv(self):
        a = [BINARY]
        if self.config_path:
            a += ["-c", self.config_path]
        return a + self.args

    def start(self):
        if not os.path.exists(BINARY):
            raise AssertionError("binary not built: %s" % BINARY)
        assert self.proc is None or self.proc.poll() is not None
        logf = open(self.log_path, "ab")
        outf = open(self.out_path, "ab")
        try:
            self.proc = subprocess.Popen(
                self.argv(), env=self.env(), cwd=self.tmpdir,
                stdout=outf, stderr=logf, stdin=subprocess.DEVNULL)
        finally:
            logf.close()
            outf.close()
        _track(self.proc)
        self.returncode = None
        return self

    @property
    def pid(self):
        return self.proc.pid

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def terminate(self, sig=signal.SIGTERM):
        self.proc.send_signal(sig)

    def wait_exit(self, timeout):
        """Waits for the process to end; returns its exit code, or raises
        AssertionError (and kills it) when it outlives timeout."""
        try:
            self.returncode = self.proc.wait(timeout)
            return self.returncode
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
            raise AssertionError("twitch2mqtt did not exit within %.1fs "
                                 "(killed)" % timeout)

    def stop(self, sig=signal.SIGTERM, timeout=10):
        """SIGTERM and wait; returns the exit code."""
        if not self.alive():
            return self.proc.returncode if self.proc else None
        self.terminate(sig)
        return self.wait_exit(timeout)

    def kill(self):
        if self.alive():
            self.proc.kill()
            self.proc.wait(5)

    def log_text(self):
        """stderr (the log) followed by stdout."""
        out = []
        for p in (self.log_path, self.out_path):
            try:
                with open(p, "rb") as f:
                    out.append(f.read().decode("utf-8", "replace"))
            except OSError:
                pass
        return "".join(out)

    def wait_log(self, pattern, timeout, start=0):
        """Waits for a regex in the log text from offset start; returns the
        match."""
        rx = re.compile(pattern)
        return wait_until(lambda: rx.search(self.log_text(), start),
                          timeout, desc="log line matching %r" % pattern)

    def state_files(self):
        """Every regular file below the state dir: [(path, mode, bytes)]."""
        res = []
        for root, _dirs, files in os.walk(self.state_dir):
            for n in files:
                p = os.path.join(root, n)
                try:
                    st = os.stat(p)
                    with open(p, "rb") as f:
                        data = f.read()
                except OSError:
                    continue
                res.append((p, st.st_mode & 0o777, data))
        return res

    def close(self):
        self.kill()
        if self._own_tmp and not KEEP_TMP:
            shutil.rmtree(self.tmpdir, ignore_errors=True)


# ------------------------------------------------------------------- mqtt

class Msg:
    __slots__ = ("topic", "payload", "retain", "qos", "properties", "at",
                 "seq")

    def __init__(self, topic, payload, retain, qos, properties, seq):
        self.topic = topic
        self.payload = payload
        self.retain = retain
        self.qos = qos
        self.properties = properties
        self.at = time.monotonic()
        self.seq = seq

    @property
    def text(self):
        return self.payload.decode("utf-8", "replace")

    def json(self):
        return json.loads(self.payload.decode("utf-8"))

    def try_json(self):
        try:
            return json.loads(self.payload.decode("utf-8"))
        except (ValueError, UnicodeDecodeError):
            return None

    def __repr__(self):
        t = self.text
        if len(t) > 300:
            t = t[:300] + "..."
        return "<Msg %s%s %s>" % (self.topic, " (retained)" if self.retain
                                  else "", t)


_AUTO = object()


class Mqtt:
    """A paho client that subscribes to topics (default '#') and collects
    every message, thread-safely.

    version: 5 or 3 (3.1.1). For a persistent session: clean=False and,
    with v5, session_expiry seconds; give a fixed client_id."""

    def __init__(self, broker_or_port, topics=("#",), version=5, qos=1,
                 client_id=None, clean=True, session_expiry=None,
                 connect=True, timeout=10):
        self.port = getattr(broker_or_port, "port", broker_or_port)
        self.topics = list(topics)
        self.version = version
        self.qos = qos
        self.client_id = client_id or unique("itest_sub")
        self.msgs = []
        self.cond = threading.Condition()
        self.connects = 0
        self.connected = False
        self._seq = 0
        self._subacks = 0
        proto = paho.MQTTv5 if version == 5 else paho.MQTTv311
        if version == 5:
            self.c = paho.Client(client_id=self.client_id, protocol=proto)
        else:
            self.c = paho.Client(client_id=self.client_id, protocol=proto,
                                 clean_session=clean)
        self.clean = clean
        self.session_expiry = session_expiry
        self.c.reconnect_delay_set(0.2, 1)
        self.c.max_inflight_messages_set(100)
        self.c.max_queued_messages_set(0)
        self.c.on_connect = self._on_connect
        self.c.on_disconnect = self._on_disconnect
        self.c.on_message = self._on_message
        self.c.on_subscribe = self._on_subscribe
        if connect:
            self.connect(timeout)

    # paho callbacks run on paho's network thread
    def _on_connect(self, c, userdata, flags, rc, properties=None):
        rcv = rc.value if hasattr(rc, "value") else rc
        if rcv != 0:
            return
        for t in self.topics:
            c.subscribe(t, self.qos)
        with self.cond:
            self.connects += 1
            self.connected = True
            self.cond.notify_all()

    def _on_disconnect(self, c, userdata, rc, properties=None):
        with self.cond:
            self.connected = False
            self.cond.notify_all()

    def _on_subscribe(self, c, userdata, mid, granted, properties=None):
        with self.cond:
            self._subacks += 1
            self.cond.notify_all()

    def _on_message(self, c, userdata, m):
        props = getattr(m, "properties", None)
        with self.cond:
            self._seq += 1
            self.msgs.append(Msg(m.topic, bytes(m.payload), bool(m.retain),
                                 m.qos, props, self._seq))
            self.cond.notify_all()

    def connect(self, timeout=10):
        if self.version == 5:
            props = None
            if self.session_expiry is not None:
                props = Properties(PacketTypes.CONNECT)
                props.SessionExpiryInterval = self.session_expiry
            clean = (paho.MQTT_CLEAN_START_FIRST_ONLY if self.clean
                     else False)
            self.c.connect("127.0.0.1", self.port, keepalive=30,
                           clean_start=clean, properties=props)
        else:
            self.c.connect("127.0.0.1", self.port, keepalive=30)
        self.c.loop_start()
        want = len(self.topics)
        with self.cond:
            ok = self.cond.wait_for(
                lambda: self.connected and self._subacks >= want, timeout)
        if not ok:
            raise AssertionError("MQTT client could not connect/subscribe "
                                 "to 127.0.0.1:%d" % self.port)
        return self

    def wait_connected(self, min_connects=1, timeout=10):
        """Waits until connected with at least min_connects connects so far
        (use connects+1 to wait for a reconnect) and subscriptions acked."""
        with self.cond:
            ok = self.cond.wait_for(
                lambda: self.connected and self.connects >= min_connects
                and self._subacks >= min_connects * len(self.topics),
                timeout)
        if not ok:
            raise AssertionError("MQTT client did not (re)connect within "
                                 "%ss" % timeout)

    def close(self):
        try:
            self.c.disconnect()
        except Exception:
            pass
        self.c.loop_stop()

    # ---- looking at what arrived
    def snapshot(self, since=0):
        with self.cond:
            return [m for m in self.msgs if m.seq > since]

    def mark(self):
        """The sequence number of the last message so far (for since=)."""
        with self.cond:
            return self._seq

    def find(self, pred, since=0):
        return [m for m in self.snapshot(since) if pred(m)]

    def on_topic(self, topic, since=0):
        return self.find(lambda m: m.topic == topic, since)

    def wait_for(self, pred, timeout=10, since=0, desc=None):
        """The first message after seq 'since' satisfying pred; raises
        AssertionError after timeout (listing what did arrive on similar
        topics, to make failures readable)."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                for m in self.msgs:
                    if m.seq > since and _safe(pred, m):
                        return m
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self.cond.wait(min(left, 0.5))
            seen = [m for m in self.msgs if m.seq > since]
        raise AssertionError(
            "timed out after %.1fs waiting for %s; %d messages seen, last: %s"
            % (timeout, desc or "a matching message", len(seen),
               "\n  ".join(repr(m) for m in seen[-8:])))

    def wait_topic(self, topic, timeout=10, since=0, pred=None):
        return self.wait_for(
            lambda m: m.topic == topic and (pred is None or pred(m)),
            timeout, since, desc="a message on %s" % topic)

    def wait_count(self, pred, n, timeout, since=0, desc=None):
        """Waits until at least n messages satisfy pred; returns them."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                got = [m for m in self.msgs if m.seq > since and
                       _safe(pred, m)]
                if len(got) >= n:
                    return got
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(
                        "timed out after %.1fs waiting for %d x %s; got %d"
                        % (timeout, n, desc or "matching message", len(got)))
                self.cond.wait(min(left, 0.5))

    # ---- publishing
    def publish(self, topic, payload, qos=1, retain=False, props=None,
                timeout=5):
        if isinstance(payload, (dict, list)):
            payload = json.dumps(payload)
        info = self.c.publish(topic, payload, qos=qos, retain=retain,
                              properties=props)
        if qos > 0:
            info.wait_for_publish(timeout)
            if not info.is_published():
                raise AssertionError("publish to %s not acknowledged" % topic)
        return info

    def clear_retained(self, topic):
        self.publish(topic, b"", qos=1, retain=True)

    def request(self, action, payload=None, props=None, timeout=10,
                transaction=_AUTO, base=BASE, raw=False):
        """Publishes a request to <base>/bridge/request/<action> and returns
        the parsed answer from <base>/bridge/response/<action>.

        payload: dict (JSON-encoded) or str/bytes (sent as is).
        transaction: _AUTO adds a unique string transaction to a dict
        payload that has none and matches on it; None sends none and takes
        the first answer on the topic after the publish; any other value is
        set as the transaction and matched.
        raw=True returns the Msg instead of the parsed JSON."""
        if payload is None:
            payload = {}
        want = _AUTO
        if isinstance(payload, dict):
            payload = dict(payload)
            if transaction is _AUTO:
                if "transaction" in payload:
                    want = payload["transaction"]
                else:
                    want = payload["transaction"] = "tx-" + uuid.uuid4().hex
            elif transaction is not None:
                want = payload["transaction"] = transaction
            payload = json.dumps(payload)
        elif transaction not in (_AUTO, None):
            want = transaction
        topic = "%s/bridge/response/%s" % (base, action)
        since = self.mark()
        self.publish("%s/bridge/request/%s" % (base, action), payload,
                     props=props)

        def match(m):
            if m.topic != topic:
                return False
            if want is _AUTO:
                return True
            d = m.try_json()
            return isinstance(d, dict) and d.get("transaction") == want
        m = self.wait_for(match, timeout, since,
                          desc="answer on %s (transaction %r)" % (topic,
                          None if want is _AUTO else want))
        if raw:
            return m
        try:
            return m.json()
        except ValueError:
            raise AssertionError("answer on %s is not JSON: %r" % (topic,
                                                                   m.payload))

    def wait_bridge(self, timeout=15, base=BASE):
        """Waits until a bridge answers requests: sends health requests
        (side-effect free) until one is answered. A request published
        before the bridge has subscribed is lost, so call this after
        starting a bridge and before the first real request."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            try:
                return self.request("health", {}, timeout=min(1.0, max(left,
                                                                  0.1)),
                                    base=base)
            except AssertionError:
                if time.monotonic() >= deadline:
                    raise AssertionError("the bridge answered no health "
                                         "request within %ss" % timeout)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _safe(pred, m):
    try:
        return pred(m)
    except Exception:
        return False


def response_props(topic, correlation):
    p = Properties(PacketTypes.PUBLISH)
    p.ResponseTopic = topic
    p.CorrelationData = correlation
    return p


def retained(port, topic, timeout=5, version=5):
    """The retained message on topic as a fresh subscriber sees it, or None
    when none arrives within timeout."""
    with Mqtt(port, topics=[topic], version=version) as m:
        try:
            return m.wait_for(lambda x: x.topic == topic and x.retain,
                              timeout, desc="retained %s" % topic)
        except AssertionError:
            return None


def is_event(m, channel=None, base=BASE):
    """True for an event message: <base>/<channel>/<type> carrying a JSON
    object with an id and a type."""
    parts = m.topic.split("/")
    if len(parts) < 3 or parts[0] != base or parts[1] == "bridge":
        return False
    if channel is not None and parts[1] != channel:
        return False
    if parts[2] in ("state", "availability"):
        return False
    d = m.try_json()
    return isinstance(d, dict) and "id" in d and "type" in d


def slug(title):
    """CONTRACT 4: lower-case, runs of non [a-z0-9] -> '_', trimmed,
    'reward' if empty."""
    s = re.sub(r"[^a-z0-9]+", "_", title.lower()).strip("_")
    return s or "reward"


def find_key(obj, key):
    """True when key occurs anywhere in nested dicts/lists."""
    if isinstance(obj, dict):
        return key in obj or any(find_key(v, key) for v in obj.values())
    if isinstance(obj, list):
        return any(find_key(v, key) for v in obj)
    return False


# ------------------------------------------------------------- test case

class BridgeTestCase(unittest.TestCase):
    """Cleans up brokers, bridges and clients made with its helpers, and
    prints the bridge log when a test fails."""

    maxDiff = None

    def setUp(self):
        self._bridges = []

    def broker(self, **kw):
        b = Broker(**kw).start()
        self.addCleanup(b.close)
        return b

    def bridge(self, broker, start=True, **kw):
        br = Bridge(broker, **kw)
        self._bridges.append(br)
        self.addCleanup(br.close)
        if start:
            br.start()
        return br

    def mqtt(self, broker, **kw):
        m = Mqtt(broker, **kw)
        self.addCleanup(m.close)
        return m

    def _failed(self):
        # tearDown runs in a fresh part of the outcome; ask the result.
        outcome = getattr(self, "_outcome", None)
        result = getattr(outcome, "result", None)
        if result is None:
            return False
        for test, _tb in list(result.failures) + list(result.errors):
            if test is self or getattr(test, "test_case", None) is self:
                return True
        return False

    def tearDown(self):
        failed = self._failed()
        if failed or os.environ.get("ITEST_VERBOSE"):
            for br in self._bridges:
                t = br.log_text()
                sys.stderr.write("\n----- twitch2mqtt log (%s, rc=%s) -----\n"
                                 "%s\n-----\n" % (
                                     br.log_path,
                                     br.proc.poll() if br.proc else None,
                                     t[-6000:]))


def main():
    unittest.main(verbosity=2)
