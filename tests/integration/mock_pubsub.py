"""
A mock legacy Twitch PubSub server (shared/twitch/pubsub.md sections 1-2)
on 127.0.0.1:<free port>, on a background thread, for the PubSub tests.

Every connection is a PsConn: the frames it received (parsed), its
LISTENed topics, PINGs, when it closed. The server answers
LISTEN with RESPONSE (nonce echoed; "" or an error), PING with PONG,
refuses more than 50 topics per connection, and checks tokens with
token_ok(token) (against a MockTwitch's access table when given one, so
that invalidate_access() makes LISTEN answer ERR_BADAUTH).

Controls: send(topic, inner) (a MESSAGE to every connection holding the
topic; inner is a dict or a string, serialized into data.message),
send_raw(conn, text), reconnect(conn) (a RECONNECT frame), drop(conn)
(TCP abort), set_pong(on), fail_listen(error, times, prefix=None),
set response_delay (seconds before a RESPONSE), wait(...), wait_topics(...).
"""

import asyncio
import json
import threading
import time

from aiohttp import web, WSMsgType


class PsConn:
    def __init__(self, seq):
        self.seq = seq
        self.ws = None
        self.closed = None
        self.frames = []        # (monotonic, dict or raw text)
        self.topics = set()     # LISTENed successfully
        self.pings = []
        self.responses = []     # (nonce, error)

    def listens(self):
        return [f for _, f in self.frames
                if isinstance(f, dict) and f.get("type") == "LISTEN"]

    def unlistens(self):
        return [f for _, f in self.frames
                if isinstance(f, dict) and f.get("type") == "UNLISTEN"]

    def __repr__(self):
        return "<PsConn %d topics=%d closed=%s>" % (
            self.seq, len(self.topics), self.closed is not None)


class MockPubSub:
    def __init__(self, twitch=None):
        self.host = "127.0.0.1"
        self.port = 0
        self.twitch = twitch
        self.lock = threading.RLock()
        self.conns = []
        self.pong = True
        self.response_delay = 0.0   # seconds before answering a LISTEN
        self.failures = []      # [error, times, prefix]
        self._seq = 0
        self._loop = None
        self._thread = None
        self._runner = None
        self._started = threading.Event()

    @property
    def url(self):
        return "ws://%s:%d/" % (self.host, self.port)

    # --------------------------------------------------------- lifecycle
    def start(self):
        self._thread = threading.Thread(target=self._run, daemon=True,
                                        name="mock-pubsub")
        self._thread.start()
        if not self._started.wait(10):
            raise AssertionError("mock PubSub did not start")
        return self

    def _run(self):
        loop = asyncio.new_event_loop()
        self._loop = loop
        asyncio.set_event_loop(loop)
        app = web.Application()
        app.router.add_get("/{tail:.*}", self._handler)
        self._runner = web.AppRunner(app, handle_signals=False,
                                     access_log=None)
        loop.run_until_complete(self._runner.setup())
        site = web.TCPSite(self._runner, self.host, self.port,
                           shutdown_timeout=1)
        loop.run_until_complete(site.start())
        self.port = self._runner.addresses[0][1]
        self._started.set()
        try:
            loop.run_forever()
        finally:
            for c in list(self.conns):
                if c.ws is not None and c.closed is None:
                    tr = c.ws._req.transport if c.ws._req else None
                    if tr is not None:
                        tr.abort()
            loop.run_until_complete(self._runner.cleanup())
            loop.close()

    def shutdown(self):
        if self._loop is not None and self._loop.is_running():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
        self._loop = None

    def _call(self, coro, timeout=10):
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(
            timeout)

    # ------------------------------------------------------------ server
    def token_ok(self, token):
        if self.twitch is not None:
            with self.twitch.lock:
                info = self.twitch.access.get(token)
                return info is not None and info["valid"] and \
                    info["kind"] == "user"
        return True

    def _failure(self, topics):
        with self.lock:
            for f in self.failures:
                err, times, prefix = f
                if times == 0:
                    continue
                if prefix and not any(t.startswith(prefix) for t in topics):
                    continue
                f[1] = times - 1
                return err
        return ""

    async def _handler(self, request):
        ws = web.WebSocketResponse(autoping=True, max_msg_size=0)
        await ws.prepare(request)
        with self.lock:
            self._seq += 1
            c = PsConn(self._seq)
            c.ws = ws
            self.conns.append(c)
        try:
            async for msg in ws:
                if msg.type != WSMsgType.TEXT:
                    continue
                await self._frame(c, msg.data)
        finally:
            c.closed = time.monotonic()
        return ws

    async def _frame(self, c, text):
        try:
            f = json.loads(text)
        except ValueError:
            f = None
        with self.lock:
            c.frames.append((time.monotonic(), f if f is not None else text))
        if not isinstance(f, dict):
            return
        typ = f.get("type")
        if typ == "PING":
            c.pings.append(time.monotonic())
            if self.pong:
                await c.ws.send_str('{"type":"PONG"}')
        elif typ == "LISTEN":
            await self._listen(c, f)
        elif typ == "UNLISTEN":
            topics = (f.get("data") or {}).get("topics") or []
            with self.lock:
                for t in topics:
                    c.topics.discard(t)
            await c.ws.send_str(json.dumps({"type": "RESPONSE", "nonce":
                                            f.get("nonce"), "error": ""}))

    async def _listen(self, c, f):
        d = f.get("data") or {}
        topics = d.get("topics") or []
        err = ""
        if not f.get("nonce") or not isinstance(topics, list):
            err = "ERR_BADMESSAGE"
        elif len(c.topics | set(topics)) > 50:
            err = "ERR_BADMESSAGE"
        elif not self.token_ok(d.get("auth_token")):
            err = "ERR_BADAUTH"
        else:
            err = self._failure(topics)
        if self.response_delay:
            await asyncio.sleep(self.response_delay)
        with self.lock:
            c.responses.append((f.get("nonce"), err))
            if not err:
                c.topics.update(topics)
        await c.ws.send_str(json.dumps({"type": "RESPONSE", "nonce":
                                        f.get("nonce"), "error": err}))

    # ---------------------------------------------------------- controls
    def set_pong(self, on):
        self.pong = on

    def fail_listen(self, error, times=1, prefix=None):
        with self.lock:
            self.failures.append([error, times, prefix])

    def live(self):
        with self.lock:
            return [c for c in self.conns if c.closed is None]

    def holding(self, topic):
        with self.lock:
            return [c for c in self.conns
                    if c.closed is None and topic in c.topics]

    def send(self, topic, inner, conns=None):
        """A MESSAGE on topic to every live connection holding it (or to
        conns); returns how many got it."""
        msg = inner if isinstance(inner, str) else json.dumps(inner)
        text = json.dumps({"type": "MESSAGE", "data": {"topic": topic,
                                                       "message": msg}})
        targets = conns if conns is not None else self.holding(topic)
        for c in targets:
            self.send_raw(c, text)
        return len(targets)

    def send_burst(self, topic, inners):
        """MESSAGEs on topic, one per inner document, back to back in one
        go to the (first) live connection holding it, as fast as the socket
        takes them (backpressure tests). Returns how many were sent."""
        targets = self.holding(topic)
        if not targets:
            return 0
        texts = [json.dumps({"type": "MESSAGE", "data": {
            "topic": topic, "message": json.dumps(i)}}) for i in inners]

        async def go():
            c = targets[0]
            for t in texts:
                await c.ws.send_str(t)
            return len(texts)
        return self._call(go(), timeout=120)

    def send_raw(self, c, text):
        async def go():
            if c.closed is None and not c.ws.closed:
                try:
                    await c.ws.send_str(text)
                except ConnectionResetError:
                    pass        # closing: the frame is lost, as on Twitch
        self._call(go())

    def reconnect(self, c):
        self.send_raw(c, '{"type":"RECONNECT"}')

    def drop(self, c):
        async def go():
            tr = c.ws._req.transport if c.ws._req else None
            if tr is not None:
                tr.abort()
        self._call(go())

    def wait(self, pred, timeout=15, desc="condition"):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                r = pred()
            if r:
                return r
            time.sleep(0.02)
        raise AssertionError("mock PubSub: no %s within %ss (conns: %s)"
                             % (desc, timeout, self.conns))

    def wait_topics(self, topics, timeout=15):
        """Waits until every topic is held by a live connection."""
        return self.wait(lambda: all(self.holding(t) for t in topics),
                         timeout, "LISTEN of %s" % sorted(topics)[:5])
