"""vppsim socket server: framing, registrations, message dispatch, timers.

One selector loop, no threads: the API socket, its connections, the control
socket (control.py) and a timer queue (delayed replies, the lazy state file,
periodic GC, the end of a restart's down time).
"""
import collections
import heapq
import ipaddress
import json
import os
import random
import selectors
import socket
import struct
import sys
import time

import lb as lbm
import nft as nftm
import stats as sm
from control import Commands
from journal import LB_WRITES
from wire import (HDR, HDR_LEN, MAX_DATA_LEN, MAX_ID, REQ_SIZE, Layout,
                  MsgTable, addr_to_ip46, cstr, frame, fstr, ip46_str,
                  ip46_to_addr, mask46)

SOCKCLNT_CREATE_REPLY = 16       # fixed memclnt id (PROTOCOL.md 1.3)
STATE_MIN_INTERVAL = 0.05        # at most one state file write per 50 ms
NFT_MIN_INTERVAL = 0.05          # at most one nft mirror update per 50 ms
ID_STRIDE = 64                   # --id-base without --seed: shift per restart
RECV_CHUNK = 1 << 18
JOURNAL_MAX = 1000000            # entries kept by the journal (the newest)


class Conn:
    """An API connection; `table` is the message table it was given at its
    handshake (a registered client keeps its ids across `table` changes)."""

    def __init__(self, sock):
        self.sock = sock
        self.rbuf = bytearray()
        self.outq = collections.deque()   # [release time, bytearray]
        self.handle = None       # registration index | 0x80000000
        self.name = ""
        self.table = None
        self.closing = False     # close once the output is flushed
        self.closed = False
        self.want_write = False
        self.wake_at = None      # a timer is set to flush delayed output


class CtlConn:
    def __init__(self, sock):
        self.sock = sock
        self.rbuf = bytearray()
        self.wbuf = bytearray()
        self.closed = False
        self.want_write = False


class Server:
    def __init__(self, path, control=None, version="26.10-rc0~374-gb575ec2c5",
                 missing=(), bad_crc=(), pad=0, id_base=None, seed=None,
                 state_file=None, on_fatal="exit", gc_period=60.0,
                 gc_min_age=10.0, verbose=False, journal_max=JOURNAL_MAX,
                 stats_socket=None, stats_threads=2,
                 stats_size=sm.DEFAULT_SIZE, stats_interval=1.0,
                 nft_netns=None, nft_table=nftm.TABLE, bucket_model="maglev"):
        self.path = path
        self.stats_path = stats_socket
        self.stats_threads = stats_threads
        self.stats_size = stats_size
        self.stats_interval = stats_interval
        self.heartbeat_running = True    # control stats-fault
        self.seg = sm.Segment(stats_size, stats_threads)
        self.control_path = control
        self.version = version
        self.pad = pad
        self.id_base = id_base
        # --id-base alone: fixed layout; otherwise random (reproducible with
        # --seed) module order, gaps and, without --id-base, first id.
        self.rng = (None if id_base is not None and seed is None
                    else random.Random(seed))
        self.missing = list(missing)
        self.bad_crc = [b for b in bad_crc if b]
        self.generation = 0
        self.layout = self.new_layout(None)
        self.table = MsgTable(self.layout, self.missing, self.bad_crc)
        self.gc_period = gc_period
        self.gc_min_age = gc_min_age
        self.bucket_model = bucket_model
        self.lb = lbm.LB(gc_period, gc_min_age, self.vip_added,
                         self.route_added, bucket_model)
        self.state_file = state_file
        self.on_fatal = on_fatal
        self.verbose = verbose
        self.fatal = []
        self.conns = set()       # every API connection
        self.regs = {}           # handle -> Conn
        self.next_reg = 1
        self.stats = {"dropped": 0, "handled": 0, "clients_total": 0,
                      "restarts": 0, "cuts": 0, "stats_connects": 0}
        self.received = collections.Counter()   # across restarts
        self.ignored = collections.Counter()    # eaten by the `drop` command
        # test knobs (control.py); they survive restarts
        self.delays = {}         # request name -> seconds
        self.delay_all = 0.0
        self.drops = {}          # request name -> remaining count or None
        self.handshake = "ok"
        self.fails = []          # control `fail` rules, in order
        self.fail_names = set()  # names any rule targets (fast check)
        # the journal of received LB writes, across restarts: raw entries
        # (time, generation, name, body, retval, fault), decoded only when
        # asked for; entry i has seq jseq - len(journal) + 1 + i
        self.journal = collections.deque(maxlen=max(0, journal_max))
        self.jseq = 0
        self.answered = None     # retval of the last reply() (journal)
        self.sel = selectors.DefaultSelector()
        self.timers = []         # heap of (when, seq, fn)
        self.timer_seq = 0
        self.lsock = None
        self.ssock = None        # the stats socket
        self.csock = None
        self.running = True
        self.pending = set()     # connections with new output
        self.cur_release = 0.0   # release time for replies being queued
        self.dirty = False
        self.write_at = None     # a state-file write is scheduled
        self.next_write_ok = 0.0
        self.commands = Commands(self)
        # the nftables mirror (nft.py): None without --nft-netns
        self.nft = (nftm.Mirror(nft_netns, nft_table, log=self.warn)
                    if nft_netns else None)
        self.nft_at = None       # a mirror update is scheduled
        self.nft_next_ok = 0.0
        self.handlers = {n[2:]: getattr(self, n) for n in dir(self)
                         if n.startswith("m_")}

    def wakeup_fd(self):
        """A non-blocking fd for signal.set_wakeup_fd: a signal wakes the
        selector so SIGTERM stops the loop at once."""
        r, w = socket.socketpair()
        r.setblocking(False)
        w.setblocking(False)
        self.wake_pair = (r, w)

        def drain(ev):
            try:
                r.recv(4096)
            except OSError:
                pass
        self.sel.register(r, selectors.EVENT_READ, drain)
        return w.fileno()

    @staticmethod
    def warn(*a):
        print("vppsim:", *a, file=sys.stderr, flush=True)

    def log(self, *a):
        if self.verbose:
            print("vppsim:", *a, file=sys.stderr, flush=True)

    # --- message table per run ---------------------------------------------
    def new_layout(self, prev):
        """A layout for this generation whose implemented dynamic ids all
        differ from the previous one's (a restarted VPP, PROTOCOL.md 1.3)."""
        old = prev.dynamic_ids() if prev else {}
        for attempt in range(1000):
            base = None
            if self.id_base is not None:
                # room for the fillers of a random layout too (<= 240)
                span = Layout(None, self.id_base, self.pad).span + 240
                room = max(1, MAX_ID - span - self.id_base + 1)
                base = self.id_base + (self.generation + attempt) \
                    * ID_STRIDE % room
            lay = Layout(self.rng, base, self.pad)
            new = lay.dynamic_ids()
            if not any(old.get(n) == i for n, i in new.items()):
                return lay
        return lay

    def set_table(self, missing, bad_crc):
        """What the next handshakes advertise (control `table`)."""
        self.missing, self.bad_crc = list(missing), list(bad_crc)
        self.table = MsgTable(self.layout, self.missing, self.bad_crc)

    # --- timers ------------------------------------------------------------
    def add_timer(self, when, fn):
        self.timer_seq += 1
        heapq.heappush(self.timers, (when, self.timer_seq, fn))

    def run_timers(self):
        now = time.monotonic()
        while self.timers and self.timers[0][0] <= now:
            _, _, fn = heapq.heappop(self.timers)
            fn()

    def next_timeout(self):
        if not self.timers:
            return 1.0
        return min(1.0, max(0.0, self.timers[0][0] - time.monotonic()))

    def gc_tick(self):
        """VPP's GC process: every gc_period (PROTOCOL.md 5.4)."""
        if any(self.lb.gc()):
            self.changed()
        self.add_timer(time.monotonic() + self.gc_period, self.gc_tick)

    # --- state -------------------------------------------------------------
    def state_dict(self):
        st = self.lb.as_json()
        st["clients"] = sorted(c.name for c in self.regs.values())
        st["fatal"] = self.fatal
        st["stats"] = dict(self.stats)
        st["version"] = self.version
        st["generation"] = self.generation
        st["api_listening"] = self.lsock is not None
        st["stats_listening"] = self.ssock is not None
        return st

    def changed(self):
        """Schedule a (lazy) state file write: at most every 50 ms, and
        never more than ~20% of the time for huge states."""
        self.dirty = True
        if self.state_file and self.write_at is None:
            self.write_at = max(time.monotonic(), self.next_write_ok)
            self.add_timer(self.write_at, self.write_state)
        if self.nft is not None and self.nft_at is None:
            self.nft_at = max(time.monotonic(), self.nft_next_ok)
            self.add_timer(self.nft_at, self.nft_sync)

    # --- the nftables mirror (nft.py) ----------------------------------------
    def start_nft(self):
        """The mirror's empty table, synchronously (RuntimeError if nft
        cannot run there), and its worker thread."""
        if self.nft is not None:
            self.nft.start()
            print("vppsim: nft mirror: table inet %s in netns %s"
                  % (self.nft.table, self.nft.netns), flush=True)

    def nft_sync(self):
        """Hand the worker a snapshot of the mirrored VIPs (cheap: it
        builds the tables and runs nft in its own thread)."""
        self.nft_at = None
        self.nft_next_ok = time.monotonic() + NFT_MIN_INTERVAL
        self.nft.submit(*nftm.snapshot(self.lb))

    def nft_status(self):
        if self.nft is None:
            return {"enabled": False}
        st = self.nft.status()
        st["enabled"] = True
        st["synced"] = (self.nft_at is None and not st["busy"]
                        and st["applied"] == st["submitted"])
        return st

    def write_state(self):
        self.write_at = None
        self.dirty = False
        if not self.state_file:
            return
        t = time.monotonic()
        tmp = self.state_file + ".tmp"
        with open(tmp, "w") as f:
            json.dump(self.state_dict(), f, sort_keys=True)
        os.replace(tmp, self.state_file)
        end = time.monotonic()
        self.next_write_ok = end + max(STATE_MIN_INTERVAL, 4 * (end - t))

    # --- listening sockets -------------------------------------------------
    @staticmethod
    def unlink(path):
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass

    def bind(self, path, mode, kind=socket.SOCK_STREAM):
        """Listening before the path appears: bound under a temporary name
        and renamed, so a client that sees the path never gets
        ECONNREFUSED."""
        self.unlink(path)
        tmp = "%s.%d.tmp" % (path, os.getpid())
        if len(os.fsencode(tmp)) > 107:  # sun_path: no room, bind in place
            tmp = path
        self.unlink(tmp)
        s = socket.socket(socket.AF_UNIX, kind)
        old = os.umask(0o777 & ~mode)
        try:
            s.bind(tmp)
        finally:
            os.umask(old)
        s.listen(64)
        s.setblocking(False)
        if tmp != path:
            os.replace(tmp, path)
        return s

    def start_api(self):
        if self.lsock is not None:
            return
        self.lsock = self.bind(self.path, 0o770)   # group-writable, as VPP
        self.sel.register(self.lsock, selectors.EVENT_READ, self.accept_api)
        self.changed()
        print("vppsim: listening on %s" % self.path, flush=True)

    def stop_api(self):
        if self.lsock is None:
            return
        self.sel.unregister(self.lsock)
        self.lsock.close()
        self.lsock = None
        self.unlink(self.path)

    # --- the stats segment and its socket (stats.py, PROTOCOL.md 8) --------
    def start_stats(self):
        if self.ssock is not None or not self.stats_path:
            return
        self.ssock = self.bind(self.stats_path, 0o770, socket.SOCK_SEQPACKET)
        self.sel.register(self.ssock, selectors.EVENT_READ, self.accept_stats)
        print("vppsim: stats socket on %s" % self.stats_path, flush=True)

    def stop_stats(self):
        if self.ssock is None:
            return
        self.sel.unregister(self.ssock)
        self.ssock.close()
        self.ssock = None
        self.unlink(self.stats_path)

    def accept_stats(self, ev):
        """As VPP: one empty message carrying the segment's memfd, then
        the connection is closed; the client sends nothing."""
        try:
            s, _ = self.ssock.accept()
        except OSError:
            return
        try:
            socket.send_fds(s, [b""], [self.seg.fd])
            self.stats["stats_connects"] += 1
        except OSError as e:
            self.log("stats socket: %s" % e)
        finally:
            s.close()

    def stats_tick(self):
        """VPP's stats collector bumps /sys/heartbeat every interval."""
        if self.heartbeat_running:
            self.seg.heartbeat()
        self.add_timer(time.monotonic() + self.stats_interval,
                       self.stats_tick)

    def vip_added(self, v):
        try:
            self.seg.vip_added(v.index)
        except sm.SegmentFull as e:
            print("vppsim: %s: no counters for VIP %d" % (e, v.index),
                  file=sys.stderr, flush=True)

    def route_added(self, stats_index):
        try:
            self.seg.route_added(stats_index)
        except sm.SegmentFull as e:
            print("vppsim: %s: no route counter at %d" % (e, stats_index),
                  file=sys.stderr, flush=True)

    def route_index(self, ip46, plen46):
        """The stats_index (load-balance index) of the FIB entry the LB
        plugin installed for this VIP prefix, None if there is none (no
        active VIP on it)."""
        return self.lb.route(ip46, plen46)

    def serve(self):
        self.start_api()
        self.start_stats()
        if self.control_path:
            self.csock = self.bind(self.control_path, 0o600)
            self.sel.register(self.csock, selectors.EVENT_READ,
                              self.accept_ctl)
        self.write_state()
        self.add_timer(time.monotonic() + self.gc_period, self.gc_tick)
        self.add_timer(time.monotonic() + self.stats_interval, self.stats_tick)
        try:
            while self.running:
                for key, ev in self.sel.select(self.next_timeout()):
                    key.data(ev)
                    if not self.running:
                        break
                self.run_timers()
                self.flush_pending()
        finally:
            self.shutdown()

    def shutdown(self):
        self.flush_pending()
        for c in list(self.conns):
            self.close(c)
        self.stop_api()
        self.stop_stats()
        for key in list(self.sel.get_map().values()):
            k = getattr(key.data, "ctl", None)
            if k is not None:
                self.flush_ctl(k)
                self.close_ctl(k)
        if self.csock is not None:
            self.sel.unregister(self.csock)
            self.csock.close()
            self.unlink(self.control_path)
        self.write_state()
        self.seg.close()
        if self.nft is not None:
            self.nft.stop()

    # --- API connections ---------------------------------------------------
    def accept_api(self, ev):
        try:
            s, _ = self.lsock.accept()
        except OSError:
            return
        s.setblocking(False)
        c = Conn(s)
        self.conns.add(c)
        self.sel.register(s, selectors.EVENT_READ,
                          lambda ev: self.on_api(c, ev))

    def on_api(self, c, ev):
        if ev & selectors.EVENT_READ and not c.closed:
            self.on_read(c)
        if ev & selectors.EVENT_WRITE and not c.closed:
            self.flush(c)

    def close(self, c):
        if c.closed:
            return
        c.closed = True
        try:
            self.sel.unregister(c.sock)
        except (KeyError, ValueError):
            pass
        c.sock.close()
        c.outq.clear()
        self.conns.discard(c)
        self.pending.discard(c)
        if c.handle is not None and self.regs.get(c.handle) is c:
            del self.regs[c.handle]   # EOF tears the registration down (1.7)
            self.changed()

    def cut(self):
        """Close every API connection (registered or not)."""
        for c in list(self.conns):
            self.close(c)

    def restart(self, down):
        """Like a VPP restart: connections and socket gone, LB state back to
        start-up defaults, new dynamic ids when it listens again."""
        self.cut()
        self.stop_api()
        self.stop_stats()
        # a new segment; clients' mappings of the old one stay, frozen
        self.seg.close()
        self.seg = sm.Segment(self.stats_size, self.stats_threads)
        self.lb = lbm.LB(self.gc_period, self.gc_min_age, self.vip_added,
                         self.route_added, self.bucket_model)
        self.regs.clear()
        self.next_reg = 1
        self.generation += 1
        self.stats["restarts"] += 1
        self.layout = self.new_layout(self.layout)
        self.table = MsgTable(self.layout, self.missing, self.bad_crc)
        self.changed()
        gen = self.generation

        def up():
            if gen == self.generation:
                self.start_api()
                self.start_stats()
        self.add_timer(time.monotonic() + max(0.0, down), up)

    def on_read(self, c):
        try:
            data = c.sock.recv(RECV_CHUNK)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:
            self.close(c)
            return
        c.rbuf += data
        buf, off, n = c.rbuf, 0, len(c.rbuf)
        # VPP keeps partial data per connection and handles the frames of a
        # connection strictly in order (PROTOCOL.md 1.1, 1.6)
        while n - off >= HDR_LEN and not c.closing and not c.closed:
            _, dlen, _ = HDR.unpack_from(buf, off)
            if dlen == 0 or dlen > MAX_DATA_LEN:
                self.log("bad data_len %d, closing" % dlen)
                self.close(c)
                return
            if n - off < HDR_LEN + dlen:
                break
            body = bytes(buf[off + HDR_LEN:off + HDR_LEN + dlen])
            off += HDR_LEN + dlen
            try:
                self.dispatch(c, body)
            except lbm.Fatal as e:
                self.fatal.append(str(e))
                self.changed()
                print("vppsim: FATAL: %s" % e, file=sys.stderr, flush=True)
                if self.on_fatal == "exit":
                    self.running = False
                    return
        if not c.closed:
            del buf[:off]

    # --- output ------------------------------------------------------------
    def send_bytes(self, c, data, release=0.0):
        """Queue bytes in order; a delayed reply holds back what follows."""
        if c is None or c.closed:
            return
        q = c.outq
        if q and q[-1][0] >= release:
            q[-1][1] += data
        else:
            q.append([release, bytearray(data)])
        self.pending.add(c)

    def send(self, c, body):
        self.send_bytes(c, frame(body), self.cur_release)

    def flush_pending(self):
        pend, self.pending = self.pending, set()
        for c in pend:
            self.flush(c)

    def set_write(self, c, on):
        if c.want_write != on and not c.closed:
            c.want_write = on
            self.sel.modify(c.sock, selectors.EVENT_READ
                            | (selectors.EVENT_WRITE if on else 0),
                            self.sel.get_key(c.sock).data)

    def flush(self, c):
        if c.closed:
            return
        now = time.monotonic()
        q = c.outq
        while q and q[0][0] <= now:
            buf = q[0][1]
            try:
                n = c.sock.send(buf)
            except (BlockingIOError, InterruptedError):
                n = 0
            except OSError:
                self.close(c)
                return
            del buf[:n]
            if buf:
                break
            q.popleft()
        if q and q[0][0] <= now:
            self.set_write(c, True)
            return
        self.set_write(c, False)
        if q:
            if c.wake_at is None or q[0][0] < c.wake_at:
                c.wake_at = q[0][0]
                self.add_timer(c.wake_at, lambda: self.wake(c))
        elif c.closing:
            self.close(c)

    def wake(self, c):
        c.wake_at = None
        self.flush(c)

    # --- control connections -----------------------------------------------
    def accept_ctl(self, ev):
        try:
            s, _ = self.csock.accept()
        except OSError:
            return
        s.setblocking(False)
        k = CtlConn(s)

        def on_event(ev):
            self.on_ctl(k, ev)
        on_event.ctl = k
        self.sel.register(s, selectors.EVENT_READ, on_event)

    def close_ctl(self, k):
        if not k.closed:
            k.closed = True
            self.sel.unregister(k.sock)
            k.sock.close()

    def on_ctl(self, k, ev):
        if ev & selectors.EVENT_WRITE:
            self.flush_ctl(k)
        if not ev & selectors.EVENT_READ or k.closed:
            return
        try:
            data = k.sock.recv(65536)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:
            self.close_ctl(k)
            return
        k.rbuf += data
        while b"\n" in k.rbuf and self.running:
            line, _, rest = bytes(k.rbuf).partition(b"\n")
            k.rbuf = bytearray(rest)
            if line.strip():
                reply = self.commands.handle(line)
                k.wbuf += json.dumps(reply).encode() + b"\n"
        self.flush_ctl(k)

    def flush_ctl(self, k):
        try:
            while k.wbuf:
                n = k.sock.send(k.wbuf)
                del k.wbuf[:n]
        except (BlockingIOError, InterruptedError):
            pass
        except OSError:
            self.close_ctl(k)
            return
        on = bool(k.wbuf)
        if on != k.want_write and not k.closed:
            k.want_write = on
            self.sel.modify(k.sock, selectors.EVENT_READ
                            | (selectors.EVENT_WRITE if on else 0),
                            self.sel.get_key(k.sock).data)

    # --- dispatch ----------------------------------------------------------
    def drop_rule(self, name):
        """Control `drop`: True if this request is to be ignored."""
        if name not in self.drops:
            return False
        left = self.drops[name]
        if left is not None:
            if left <= 1:
                del self.drops[name]
            else:
                self.drops[name] = left - 1
        return True

    def jappend(self, name, body, retval, fault):
        self.jseq += 1
        self.journal.append((time.monotonic(), self.generation, name, body,
                             retval, fault))

    def fail_rule(self, name, body):
        """Control `fail`: the first rule that matches this request (its
        count is used up), or None."""
        for r in self.fails:
            if name in r.names and r.matches(name, body):
                r.hits += 1
                if r.count is not None:
                    r.count -= 1
                    if r.count <= 0:
                        self.fails.remove(r)
                        self.fail_names = set().union(
                            *(x.names for x in self.fails))
                return r
        return None

    def dispatch(self, c, body):
        if len(body) < 2:
            self.stats["dropped"] += 1
            return
        mid = struct.unpack_from(">H", body)[0]
        name = (c.table or self.table).name_of.get(mid)
        fn = self.handlers.get(name)
        if fn is None:
            # no handler for msg id: logged by VPP, no reply (1.6)
            self.log("drop msg id %d (%s) len %d" % (mid, name, len(body)))
            self.stats["dropped"] += 1
            return
        self.received[name] += 1
        write = name in LB_WRITES
        if self.drop_rule(name):
            self.ignored[name] += 1
            self.stats["dropped"] += 1
            if write:
                self.jappend(name, body, None, "drop")
            return
        if len(body) < REQ_SIZE.get(name, 1 << 30):
            self.log("truncated %s: %d bytes" % (name, len(body)))
            self.stats["dropped"] += 1
            if write:
                self.jappend(name, body, None, "truncated")
            return
        self.stats["handled"] += 1
        delay = self.delays.get(name, self.delay_all)
        self.cur_release = time.monotonic() + delay if delay > 0 else 0.0
        try:
            if name == "sockclnt_create":
                fn(c, body)
                return
            # the reply goes to the registration named by client_index,
            # nowhere if there is none (PROTOCOL.md 1.5)
            cidx, ctx = struct.unpack_from(">II", body, 2)
            if not write:
                fn(self.regs.get(cidx), cidx, ctx, body)
                return
            self.answered = None
            fault = None
            try:
                rule = (self.fail_rule(name, body)
                        if name in self.fail_names else None)
                if rule is not None:      # answered, not applied
                    fault = "fail"
                    self.reply(self.regs.get(cidx), name + "_reply", ctx,
                               rule.retval)
                else:
                    fn(self.regs.get(cidx), cidx, ctx, body)
            finally:                      # jappend(), inlined
                self.jseq += 1
                self.journal.append((time.monotonic(), self.generation,
                                     name, body, self.answered, fault))
        finally:
            self.cur_release = 0.0

    @staticmethod
    def rid(dest, name):
        return dest.table.id_of.get(name, 0) if dest and dest.table else 0

    def reply(self, dest, name, ctx, retval=0, payload=b""):
        self.answered = retval
        if dest is None:
            return
        self.send(dest, struct.pack(">HIi", self.rid(dest, name), ctx, retval)
                  + payload)

    # memclnt
    def m_sockclnt_create(self, c, body):
        ctx = struct.unpack_from(">I", body, 2)[0]
        mode = self.handshake
        if mode == "close":
            self.close(c)
            return
        if mode == "silent":
            return
        if mode == "refuse":
            self.send(c, struct.pack(">HIIiIH", SOCKCLNT_CREATE_REPLY, 0, ctx,
                                     -1, 0, 0))
            return
        if c.handle is None:
            c.handle = 0x80000000 | self.next_reg
            self.next_reg += 1
            self.regs[c.handle] = c
            self.stats["clients_total"] += 1
        c.name = cstr(body[6:70])
        c.table = self.table
        # client_index is not filled in (0); index is the handle (1.4)
        self.send(c, struct.pack(">HIIiIH", SOCKCLNT_CREATE_REPLY, 0, ctx, 0,
                                 c.handle, len(c.table.entries))
                  + c.table.pack_table())
        self.changed()

    def m_sockclnt_delete(self, dest, cidx, ctx, body):
        # response is 1 on success, -1 for an unknown index (1.8)
        idx = struct.unpack_from(">I", body, 10)[0]
        target = self.regs.get(idx)
        if target is None:
            self.reply(dest, "sockclnt_delete_reply", ctx, -1)
            return
        self.reply(target, "sockclnt_delete_reply", ctx, 1)
        del self.regs[idx]
        target.closing = True
        self.pending.add(target)
        self.changed()

    def m_control_ping(self, dest, cidx, ctx, body):
        self.reply(dest, "control_ping_reply", ctx, 0,
                   struct.pack(">II", cidx, os.getpid()))

    def m_memclnt_keepalive(self, dest, cidx, ctx, body):
        self.reply(dest, "memclnt_keepalive_reply", ctx, 0)

    def m_get_first_msg_id(self, dest, cidx, ctx, body):
        mod = cstr(body[10:74]).rsplit("_", 1)[0]
        first = self.table.first_id(mod)
        self.reply(dest, "get_first_msg_id_reply", ctx,
                   0 if first is not None else -6,
                   struct.pack(">H", 0xffff if first is None else first))

    # vpe / vlib / ip
    def m_show_version(self, dest, cidx, ctx, body):
        self.reply(dest, "show_version_reply", ctx, 0,
                   fstr("vpe", 32) + fstr(self.version, 32)
                   + fstr("2026-08-22T00:00:00", 32)
                   + fstr("/vppsim", 256))

    def m_cli_inband(self, dest, cidx, ctx, body):
        n = struct.unpack_from(">I", body, 10)[0]
        if len(body) < 14 + n:   # declared string past the frame: dropped
            self.stats["dropped"] += 1
            return
        cmd = " ".join(body[14:14 + n].decode("utf-8", "replace").split())
        rv, out = self.cli(cmd)
        data = out.encode()
        self.reply(dest, "cli_inband_reply", ctx, rv,
                   struct.pack(">I", len(data)) + data)

    def cli(self, cmd):
        """-> (retval, output) for the few commands vppsim knows."""
        if cmd in ("show version", "show version verbose"):
            return 0, "vpp v%s built by vppsim\n" % self.version
        if cmd == "show lb vips":
            # every VIP in the pool but the placeholder, deleted ones too
            # (" removed") until GC frees them: lb_show_vips_command_fn
            return 0, "".join(format_vip(v) + "\n"
                              for v in self.lb.all_vips())
        if cmd == "show lb vips verbose":
            return 0, "".join(
                format_vip_detailed(v, self.seg.lb_totals(v.index)) + "\n"
                for v in self.lb.all_vips())
        if cmd == "show lb":
            # format_lb_main: pool_elts of the VIP pool (placeholder VIP 0
            # and deleted VIPs included) and of the AS pool minus its
            # placeholder; no "core N" lines (sticky tables are created by
            # the first packet)
            return 0, ("lb_main ip4-src-address: %s \n"
                       " ip6-src-address: %s \n"
                       " #vips: %u\n"
                       " #ass: %u\n" % (
                           ".".join(str(b) for b in self.lb.ip4_src),
                           ipaddress.IPv6Address(self.lb.ip6_src),
                           1 + len(self.lb.vips),
                           sum(len(v.ases) for v in self.lb.vips.values())))
        return -1, "unknown input `%s'\n" % cmd

    def m_ip_route_lookup(self, dest, cidx, ctx, body):
        """PROTOCOL.md 6: the only routes modelled are the FIB entries the
        LB plugin installs for VIP prefixes, in table 0; `exact` is taken
        as 1.  Found: retval 0, the entry's table, stats_index and prefix
        (host bits masked), n_paths 0 (the LB's entries forward to its own
        DPO, no path).  Another table or no entry: -6
        (VNET_API_ERROR_NO_SUCH_ENTRY) and the route all zero, as VPP
        builds the reply zeroed."""
        table_id = struct.unpack_from(">I", body, 10)[0]
        is4, ip46 = addr_to_ip46(body[15], body[16:32])
        plen = min(128, body[32] + (96 if is4 else 0))
        idx = self.route_index(ip46, plen) if table_id == 0 else None
        if idx is None:
            self.reply(dest, "ip_route_lookup_reply", ctx, -6, bytes(27))
            return
        masked = mask46(ip46, plen)
        un = masked[12:] + bytes(12) if is4 else masked
        self.reply(dest, "ip_route_lookup_reply", ctx, 0,
                   struct.pack(">IIB", 0, idx, 0 if is4 else 1) + un
                   + bytes([plen - 96 if is4 else plen, 0]))

    # --- LB ----------------------------------------------------------------
    @staticmethod
    def vip_key(body, off=10):
        """pfx(18) protocol(1) port(2) at off -> (ip46, plen46, proto,
        port)."""
        af = body[off]
        if af not in (0, 1):
            raise lbm.Fatal("address family %d: VPP reads uninitialised "
                            "memory" % af)
        is4, ip46 = addr_to_ip46(af, body[off + 1:off + 17])
        plen = body[off + 17] + (96 if is4 else 0)
        proto = body[off + 18]
        port = struct.unpack_from(">H", body, off + 19)[0]
        if port == 0:
            proto = 255          # VPP forces all-port VIPs to 255 (5.3)
        return (ip46, min(plen, 128), proto, port)

    @staticmethod
    def as_addr(body, off=31):
        af = body[off]
        if af not in (0, 1):
            raise lbm.Fatal("AS address family %d: undefined in VPP" % af)
        return addr_to_ip46(af, body[off + 1:off + 17])

    def m_lb_conf(self, dest, cidx, ctx, body):
        b, t = struct.unpack_from(">II", body, 30)
        try:
            rv = self.lb.conf(body[10:14], body[14:30], b, t)
        except lbm.Fatal:
            self.reply(dest, "lb_conf_reply", ctx, 0)
            self.changed()
            raise
        self.reply(dest, "lb_conf_reply", ctx, rv)
        self.changed()

    def m_lb_conf_get(self, dest, cidx, ctx, body):
        self.reply(dest, "lb_conf_get_reply", ctx, 0,
                   self.lb.ip4_src + self.lb.ip6_src
                   + struct.pack(">II", self.lb.sticky_buckets,
                                 self.lb.flow_timeout))

    def _vip(self, dest, ctx, body, v2):
        name = "lb_add_del_vip_v2_reply" if v2 else "lb_add_del_vip_reply"
        key = self.vip_key(body)
        is_del = body[49] if v2 else body[48]
        if is_del:
            rv = self.lb.del_vip(key)
        else:
            encap, dscp = struct.unpack_from(">IB", body, 31)
            tport, nport, nlen = struct.unpack_from(">HHI", body, 40)
            rv = self.lb.add_vip(
                *key, encap, dscp=dscp, srv_type=body[36],  # u8 copy quirk
                target_port=tport, node_port=nport, new_length=nlen,
                src_ip_sticky=bool(body[48]) if v2 else False)
        self.reply(dest, name, ctx, rv)
        self.changed()

    def m_lb_add_del_vip(self, dest, cidx, ctx, body):
        self._vip(dest, ctx, body, False)

    def m_lb_add_del_vip_v2(self, dest, cidx, ctx, body):
        self._vip(dest, ctx, body, True)

    def _as(self, dest, ctx, body, v2):
        name = "lb_add_del_as_v2_reply" if v2 else "lb_add_del_as_reply"
        key = self.vip_key(body)
        is4, ip46 = self.as_addr(body)
        weight, is_del, flush = (body[48], body[49], body[50]) if v2 else \
            (100, body[48], body[49])
        if is_del:
            rv = self.lb.del_as(key, ip46, bool(flush))
        else:
            rv = self.lb.add_as(key, ip46, is4, weight, bool(flush))
        self.reply(dest, name, ctx, rv)
        self.changed()

    def m_lb_add_del_as(self, dest, cidx, ctx, body):
        self._as(dest, ctx, body, False)

    def m_lb_add_del_as_v2(self, dest, cidx, ctx, body):
        self._as(dest, ctx, body, True)

    def m_lb_as_set_weight(self, dest, cidx, ctx, body):
        key = self.vip_key(body)
        _, ip46 = self.as_addr(body)
        rv = self.lb.set_weight(key, ip46, body[48], bool(body[49]))
        self.reply(dest, "lb_as_set_weight_reply", ctx, rv)
        self.changed()

    def m_lb_flush_vip(self, dest, cidx, ctx, body):
        rv = self.lb.flush_vip(self.vip_key(body))
        self.reply(dest, "lb_flush_vip_reply", ctx, rv)
        self.changed()

    def m_lb_add_del_intf_nat4(self, dest, cidx, ctx, body):
        sw = struct.unpack_from(">I", body, 11)[0]
        self.reply(dest, "lb_add_del_intf_nat4_reply", ctx,
                   0 if sw < 64 else -2)

    def m_lb_add_del_intf_nat6(self, dest, cidx, ctx, body):
        sw = struct.unpack_from(">I", body, 11)[0]
        self.reply(dest, "lb_add_del_intf_nat6_reply", ctx,
                   0 if sw < 64 else -2)

    @staticmethod
    def vip_wire(v):
        """struct lb_vip (21 bytes): pfx, protocol, port."""
        return (ip46_to_addr(v.ip46) + struct.pack(">BBH", v.plen, v.protocol,
                                                   v.port))

    def m_lb_vip_dump(self, dest, cidx, ctx, body):
        if dest is None:
            return
        did = self.rid(dest, "lb_vip_details")
        for v in self.lb.active_vips():   # request filters are ignored
            self.send(dest, struct.pack(">HI", did, ctx) + self.vip_wire(v)
                      + struct.pack(">IB", v.encap, v.dscp)
                      # quirks: srv_type as u8 in the first byte of the u32,
                      # target_port little-endian; length truncated to u16
                      + struct.pack("<I", v.srv_type)
                      + struct.pack("<H", v.target_port)
                      + struct.pack(">H", v.new_length & 0xffff))

    def _as_dump(self, dest, ctx, body, v2):
        if dest is None:
            return
        did = self.rid(dest, "lb_as_v2_details" if v2 else "lb_as_details")
        proto = body[28]
        port = struct.unpack_from(">H", body, 29)[0]
        head = struct.pack(">HI", did, ctx)
        for v in self.lb.dump_as_vips(body[11:27], proto, port):
            v.update_buckets()
            vw = head + self.vip_wire(v)
            for a in v.ases:
                msg = (vw + ip46_to_addr(a.ip46)
                       + struct.pack(">BI", a.flags, a.in_use_since))
                if v2:
                    msg += struct.pack(">BI", a.weight, a.num_buckets)
                self.send(dest, msg)

    def m_lb_as_dump(self, dest, cidx, ctx, body):
        self._as_dump(dest, ctx, body, False)

    def m_lb_as_v2_dump(self, dest, cidx, ctx, body):
        self._as_dump(dest, ctx, body, True)


# --- CLI output, as src/plugins/lb/lb.c formats it -------------------------
VIP_COUNTERS = sm.LB_COUNTERS


def swap16(x):
    """ntohs() on a little-endian VPP."""
    return ((x & 0xff) << 8) | (x >> 8)


def nat_part(v):
    """The NAT fields as format_lb_vip(_detailed) prints them:
    ntohs(vip->port) of a port stored in host order (so byte-swapped on
    x86-64: 80 -> 20480) and ntohs(target_port) of one stored in network
    order (so as configured)."""
    return "type:%s port:%u target_port:%u" % (
        "clusterip" if v.srv_type == lbm.CLUSTERIP else "nodeport",
        swap16(v.port), v.target_port)


def format_vip(v):
    """format_lb_vip: the `show lb vips` line (without the final newline
    that vlib_cli_output's "%U\\n" adds)."""
    s = "%s %s new_size:%u #as:%u%s" % (v.type_str(), v.prefix_str(),
                                        v.new_length, len(v.ases),
                                        " removed" if v.deleted else "")
    if v.port:
        s += "  protocol:%u port:%u " % (v.protocol, v.port)
    if v.encap == lbm.L3DSR:
        s += "  dscp:%u" % v.dscp
    elif v.encap in (lbm.NAT4, lbm.NAT6):
        s += " " + nat_part(v)
    return s


def format_vip_detailed(v, counters=None):
    """format_lb_vip_detailed (`show lb vips verbose`): counters is the
    stats segment's {existing, first, untracked, noserver} of the VIP
    (summed over threads, as vlib_get_simple_counter does); flow refcounts
    are 0: no packets here."""
    v.update_buckets()
    s = " %s [%u] %s%s%s\n" % (v.type_str(), v.index, v.prefix_str(),
                               " src_ip_sticky" if v.src_ip_sticky else "",
                               " removed" if v.deleted else "")
    s += "  new_size:%u\n" % v.new_length
    if v.port:
        s += "  protocol:%u port:%u\n" % (v.protocol, v.port)
    if v.encap == lbm.L3DSR:
        s += "  dscp:%u\n" % v.dscp
    elif v.encap in (lbm.NAT4, lbm.NAT6):
        s += "  " + nat_part(v)          # no newline in VPP
    s += "  counters:\n"
    for name, key in zip(VIP_COUNTERS, sm.LB_KEYS):
        s += "    %s: %u\n" % (name, (counters or {}).get(key, 0))
    s += "  #as:%u\n" % len(v.ases)
    for a in v.ases:
        s += "    %s weight:%u buckets:%u flows:%u dpo:%u %s\n" % (
            ip46_str(a.ip46), a.weight, a.num_buckets, 0, a.dpo,
            "used" if a.active else " removed")
    return s
