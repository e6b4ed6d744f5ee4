#!/usr/bin/python3
"""vppsim control socket: newline-delimited JSON, one reply line per request.

    request  {"cmd": "as-weight", "prefix": "198.19.0.10/32", ...}
    reply    {"ok": true, ...}  or  {"ok": false, "error": "..."}

`Control` is the client tests use; `Commands` is the server side (run by
server.py in its selector loop).  See README.md for every command.

Command line:  control.py CTL_SOCKET CMD [key=value ...]   (values are JSON
if they parse as JSON, else strings), e.g.
    control.py /tmp/ctl.sock as-weight prefix=198.19.0.10/32 protocol=6 \
        port=80 address=198.18.1.2 weight=7
"""
import builtins
import ipaddress
import itertools
import json
import socket
import sys

import journal as jm
import lb as lbm
import stats as sm
from journal import LB_WRITES
from wire import HDR, LB_V12_ONLY, parse_addr, parse_prefix


class Control:
    """Client of a vppsim control socket.  call() reconnects transparently
    when the server has closed the connection."""

    def __init__(self, path, timeout=10.0):
        self.path = path
        self.timeout = timeout
        self.sock = None
        self.rbuf = b""

    def connect(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(self.timeout)
        try:
            s.connect(self.path)
        except OSError:
            s.close()
            raise
        self.sock, self.rbuf = s, b""

    def close(self):
        if self.sock is not None:
            self.sock.close()
        self.sock, self.rbuf = None, b""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _line(self):
        if b"\n" not in self.rbuf:
            parts = [self.rbuf]          # a big reply: no quadratic joins
            while True:
                d = self.sock.recv(1 << 20)
                if not d:
                    self.rbuf = b"".join(parts)
                    raise EOFError("vppsim closed the control connection")
                parts.append(d)
                if b"\n" in d:
                    break
            self.rbuf = b"".join(parts)
        line, _, self.rbuf = self.rbuf.partition(b"\n")
        return line

    def call(self, cmd, **kw):
        """Send one command, return the reply dict; RuntimeError if the reply
        has ok false."""
        req = dict(kw, cmd=cmd)
        data = json.dumps(req).encode() + b"\n"
        for attempt in (0, 1):
            if self.sock is None:
                self.connect()
            try:
                self.sock.sendall(data)
                line = self._line()
                break
            except (BrokenPipeError, ConnectionResetError, EOFError):
                # the server closed an idle connection: the request was
                # not handled, so sending it again is safe
                self.close()
                if attempt:
                    raise
        reply = json.loads(line)
        if not reply.get("ok"):
            raise RuntimeError("vppsim: %s" % reply.get("error"))
        return reply


# --- server side -----------------------------------------------------------
ENCAPS = {"gre4": 0, "gre6": 1, "l3dsr": 2, "nat4": 3, "nat6": 4}
SRV_TYPES = {"clusterip": 0, "nodeport": 1}
HANDSHAKE_MODES = ("ok", "silent", "refuse", "close")


class CommandError(Exception):
    pass


def _names(names):
    if names is None:
        return []
    if isinstance(names, str):
        names = names.split(",")
    return [n for n in names if n]


def _bool(x):
    if isinstance(x, str):
        return x.lower() in ("1", "true", "yes", "on")
    return bool(x)


class Commands:
    """The control commands; each c_<name> gets the request's arguments as
    keyword arguments and returns the extra reply fields."""

    def __init__(self, server):
        self.srv = server

    def handle(self, line):
        try:
            req = json.loads(line)
            if not isinstance(req, dict) or not isinstance(req.get("cmd"),
                                                           str):
                raise CommandError("a request is a JSON object with cmd")
            cmd = req.pop("cmd")
            fn = getattr(self, "c_" + cmd.replace("-", "_"), None)
            if fn is None:
                raise CommandError("unknown command %r" % cmd)
            try:
                out = fn(**req)
            except TypeError as e:        # missing / unknown arguments
                raise CommandError("%s: %s" % (cmd, str(e).split(") ", 1)[-1]))
            res = {"ok": True}
            res.update(out or {})
            return res
        except CommandError as e:
            return {"ok": False, "error": str(e)}
        except Exception as e:            # bad values: report, stay up
            return {"ok": False, "error": "%s: %s" % (type(e).__name__, e)}

    # --- helpers -----------------------------------------------------------
    @property
    def lb(self):
        return self.srv.lb

    @staticmethod
    def key(prefix, protocol, port):
        """VIP identity as the API handlers see it: port 0 forces protocol
        255 (PROTOCOL.md 5.3)."""
        ip46, plen46 = parse_prefix(prefix)
        port = int(port)
        protocol = 255 if port == 0 else int(protocol)
        if not 0 <= port <= 0xffff or not 0 <= protocol <= 255:
            raise CommandError("bad protocol/port")
        return (ip46, plen46, protocol, port)

    @staticmethod
    def weight(w):
        w = int(w)
        if not 0 <= w <= 255:    # a u8 on the wire
            raise CommandError("weight is 0..255")
        return w

    def done(self, rv):
        self.srv.changed()
        return {"retval": rv}

    # --- introspection -----------------------------------------------------
    def c_state(self):
        return {"state": self.srv.state_dict()}

    def c_received(self):
        return {"received": dict(self.srv.received),
                "ignored": dict(self.srv.ignored)}

    def c_journal(self, since=None, limit=None, names=None):
        """Received LB writes with seq > since (all kept ones without),
        oldest first; at most `limit`; only those `names` if given."""
        srv = self.srv
        jr = srv.journal
        first = srv.jseq - len(jr) + 1   # seq of jr[0]
        skip = 0
        if since is not None:
            skip = min(len(jr), max(0, int(since) - first + 1))
        if limit is not None and int(limit) < 0:
            raise CommandError("limit >= 0")
        want = set(_names(names)) if names is not None else None
        out = []
        seq = first + skip
        for raw in itertools.islice(jr, skip, None):
            if limit is not None and len(out) >= int(limit):
                break
            if want is None or raw[2] in want:
                out.append(jm.entry(seq, raw))
            seq += 1
        return {"journal": out, "last": srv.jseq, "first": first,
                "more": seq <= srv.jseq}

    def c_journal_clear(self):
        n = len(self.srv.journal)
        self.srv.journal.clear()
        return {"cleared": n, "last": self.srv.jseq}

    def c_nft(self):
        """The nftables mirror (--nft-netns): what it applied, whether it is
        in step with the LB state (`synced`), errors."""
        return {"nft": self.srv.nft_status()}

    def c_clients(self):
        regs = sorted(self.srv.regs.items())
        return {"clients": sorted(c.name for _, c in regs),
                "registrations": [{"name": c.name, "index": h}
                                  for h, c in regs]}

    # --- drift: LB changes behind the client's back ------------------------
    def c_vip_add(self, prefix, protocol=255, port=0, encap=None,
                  src_ip_sticky=False, new_flows_table_length=1024, dscp=0,
                  srv_type="clusterip", target_port=0, node_port=0):
        k = self.key(prefix, protocol, port)
        if encap is None:
            encap = "gre4" if k[0][:12] == bytes(12) else "gre6"
        if encap not in ENCAPS:
            raise CommandError("encap is one of %s" % "|".join(ENCAPS))
        if srv_type not in SRV_TYPES:
            raise CommandError("srv_type is clusterip|nodeport")
        try:
            rv = self.lb.add_vip(
                *k, ENCAPS[encap], dscp=int(dscp),
                srv_type=SRV_TYPES[srv_type], target_port=int(target_port),
                node_port=int(node_port),
                new_length=int(new_flows_table_length),
                src_ip_sticky=_bool(src_ip_sticky))
        except lbm.Fatal as e:
            raise CommandError("refused, it would take VPP down: %s" % e)
        return self.done(rv)

    def c_vip_del(self, prefix, protocol=255, port=0):
        return self.done(self.lb.del_vip(self.key(prefix, protocol, port)))

    def c_as_add(self, prefix, address, protocol=255, port=0, weight=100,
                 flush=False):
        is4, ip46 = parse_addr(address)
        return self.done(self.lb.add_as(self.key(prefix, protocol, port),
                                        ip46, is4, self.weight(weight),
                                        _bool(flush)))

    def c_as_del(self, prefix, address, protocol=255, port=0, flush=False):
        _, ip46 = parse_addr(address)
        return self.done(self.lb.del_as(self.key(prefix, protocol, port),
                                        ip46, _bool(flush)))

    def c_as_weight(self, prefix, address, weight, protocol=255, port=0,
                    flush=False):
        _, ip46 = parse_addr(address)
        return self.done(self.lb.set_weight(self.key(prefix, protocol, port),
                                            ip46, self.weight(weight),
                                            _bool(flush)))

    def c_conf(self, ip4_src_address=None, ip6_src_address=None,
               sticky_buckets_per_core=None, flow_timeout=None):
        """Like the CLI `lb conf`: what is not given is kept."""
        ip4 = (ipaddress.IPv4Address(ip4_src_address).packed
               if ip4_src_address is not None else self.lb.ip4_src)
        ip6 = (ipaddress.IPv6Address(ip6_src_address).packed
               if ip6_src_address is not None else self.lb.ip6_src)
        b = lbm.KEEP if sticky_buckets_per_core is None \
            else int(sticky_buckets_per_core)
        t = lbm.KEEP if flow_timeout is None else int(flow_timeout)
        if b == 0:
            raise CommandError("refused: sticky_buckets_per_core 0 would "
                               "take VPP down")
        return self.done(self.lb.conf(ip4, ip6, b, t))

    def c_flush_vip(self, prefix, protocol=255, port=0):
        return self.done(self.lb.flush_vip(self.key(prefix, protocol, port)))

    def c_gc(self, min_age=0):
        """Garbage collection now, on every VIP; by default also ASes removed
        less than gc-min-age ago (no refcounts here, PROTOCOL.md 5.4)."""
        ases, vips = self.lb.gc(force=True, min_age=float(min_age))
        self.srv.changed()
        return {"ases": ases, "vips": vips}

    # --- the stats segment: traffic, reading it back, faults ---------------
    def _stats_target(self, prefix, protocol, port, index):
        """-> (VIP index, route stats_index or None, VIP or None)."""
        if prefix is not None:
            k = self.key(prefix, protocol, port)
            v = self.lb.lookup(k)
            if v is None:
                raise CommandError("no VIP %s protocol %d port %d" % (
                    prefix, k[2], k[3]))
            return v.index, self.srv.route_index(k[0], k[1]), v
        if index is None:
            raise CommandError("give prefix (protocol, port) or index")
        index = int(index)
        if not 0 <= index < 1 << 24:
            raise CommandError("index is 0..2^24-1")
        v = self.lb.vips.get(index)
        route = None if v is None or v.deleted else \
            self.srv.route_index(v.ip46, v.plen46)
        return index, route, v

    def _stats_view(self, index, route, v):
        seg = self.srv.seg
        out = {"index": index, "counters": seg.lb_totals(index),
               "route_index": route, "packets": 0, "bytes": 0}
        if route is not None:
            out["packets"], out["bytes"] = seg.total(sm.ROUTE_TO, route)
        if v is not None:
            out.update(prefix=v.prefix_str(), protocol=v.protocol,
                       port=v.port, deleted=v.deleted)
        return out

    def c_counters(self, prefix=None, protocol=255, port=0, index=None,
                   existing=0, first=0, untracked=0, noserver=0, packets=0,
                   bytes=0, thread=0):   # noqa: A002 (the contract)
        """Traffic: add to a VIP's four LB counters (thread `thread`) and
        to /net/route/to at its FIB entry's stats_index. Reply: the new
        totals (as counters-get)."""
        index, route, v = self._stats_target(prefix, protocol, port, index)
        seg = self.srv.seg
        thread = int(thread)
        if not 0 <= thread < seg.threads:
            raise CommandError("thread is 0..%d" % (seg.threads - 1))
        lb = [int(existing), int(first), int(untracked), int(noserver)]
        rt = [int(packets), int(bytes)]
        if min(lb + rt) < 0:
            raise CommandError("increments are >= 0")
        if any(lb):
            if seg.counter_len(sm.LB_COUNTERS[0]) <= index:
                raise CommandError("no LB counter for VIP index %d (the "
                                   "vectors grow as VIPs are added)" % index)
            for name, x in zip(sm.LB_COUNTERS, lb):
                seg.add(name, thread, index, x)
        if any(rt):
            if route is None or seg.counter_len(sm.ROUTE_TO) <= route:
                raise CommandError("no /net/route/to entry for this VIP")
            seg.add(sm.ROUTE_TO, thread, route, *rt)
        return self._stats_view(index, route, v)

    def c_route_counters(self, prefix, packets=0, bytes=0,  # noqa: A002
                         thread=0):
        """Traffic to a prefix: add to /net/route/to at the stats_index of
        the FIB entry the LB plugin installed for it (shared by every VIP
        of the prefix). Reply: prefix, route_index, packets, bytes."""
        ip46, plen = parse_prefix(prefix)
        route = self.srv.route_index(ip46, plen)
        seg = self.srv.seg
        if route is None:
            raise CommandError("no route for %s (no VIP on that prefix)"
                               % prefix)
        thread = int(thread)
        if not 0 <= thread < seg.threads:
            raise CommandError("thread is 0..%d" % (seg.threads - 1))
        rt = [int(packets), int(bytes)]
        if min(rt) < 0:
            raise CommandError("increments are >= 0")
        seg.add(sm.ROUTE_TO, thread, route, *rt)
        p, b = seg.total(sm.ROUTE_TO, route)
        return {"prefix": prefix, "route_index": route, "packets": p,
                "bytes": b}

    def c_counters_get(self, prefix=None, protocol=255, port=0, index=None):
        """One VIP's totals, or (without arguments) every VIP in the pool."""
        seg = self.srv.seg
        head = {"epoch": seg.epoch, "heartbeat": seg.scalar(sm.HEARTBEAT),
                "threads": seg.threads, "in_progress": seg.get(24)}
        if prefix is None and index is None:
            head["vips"] = [
                self._stats_view(v.index, self.srv.route_index(v.ip46,
                                                               v.plen46), v)
                for v in self.lb.all_vips()]
            return head
        head.update(self._stats_view(*self._stats_target(prefix, protocol,
                                                         port, index)))
        return head

    def c_stats_fault(self, busy=None, heartbeat=None):
        """busy: hold in_progress at 1 (VPP stuck mid-update); heartbeat
        false: /sys/heartbeat stops (a hung VPP). Reply: both settings."""
        if busy is not None:
            self.srv.seg.set_busy(_bool(busy))
        if heartbeat is not None:
            self.srv.heartbeat_running = _bool(heartbeat)
        return {"busy": self.srv.seg.busy,
                "heartbeat": self.srv.heartbeat_running}

    # --- connection faults -------------------------------------------------
    def c_bucket_model(self, model=None):
        """The bucket counts reported: "maglev" (VPP's) or "equal" (a fault:
        an even split ignoring weights).  Survives restart.  Reply
        `model`."""
        if model is not None:
            try:
                self.lb.set_bucket_model(model)
            except ValueError as e:
                raise CommandError(str(e))
            self.srv.bucket_model = model
            self.srv.changed()
        return {"model": self.srv.bucket_model}

    def c_restart(self, down=0.5):
        down = float(down)
        if down < 0:
            raise CommandError("down >= 0")
        self.srv.restart(down)
        return {"down": down, "generation": self.srv.generation}

    def c_cut(self):
        n = len(self.srv.conns)
        self.srv.stats["cuts"] += 1
        self.srv.cut()
        return {"closed": n}

    def c_delay(self, seconds, names=None):
        seconds = float(seconds)
        if seconds < 0:
            raise CommandError("seconds >= 0")
        names = _names(names)
        srv = self.srv
        if seconds == 0:
            if names:
                for n in names:
                    srv.delays.pop(n, None)
            else:
                srv.delays.clear()
                srv.delay_all = 0.0
        elif names:
            for n in names:
                srv.delays[n] = seconds
        else:
            srv.delay_all = seconds
        return {"delays": dict(srv.delays), "all": srv.delay_all}

    def c_drop(self, names=None, count=None):
        names = _names(names)
        srv = self.srv
        if count is not None and int(count) == 0:
            if names:
                for n in names:
                    srv.drops.pop(n, None)
            else:
                srv.drops.clear()
        else:
            if not names:
                raise CommandError("drop needs names (or count=0 to clear)")
            if count is not None and int(count) < 0:
                raise CommandError("count >= 0")
            for n in names:
                srv.drops[n] = None if count is None else int(count)
        return {"drops": dict(srv.drops)}

    def c_fail(self, names, retval, count=None, prefix=None, port=None,
               address=None, is_del=None):
        """The next `count` (default: all until cleared) requests of those
        names that match the filters are answered `retval`, not applied."""
        names = _names(names)
        if not names:
            raise CommandError("fail needs names")
        bad = [n for n in names if n not in LB_WRITES]
        if bad:
            raise CommandError("fail: %s not one of %s" % (
                ",".join(bad), ",".join(sorted(LB_WRITES))))
        if count is not None:
            count = int(count)
            if count < 1:
                raise CommandError("count >= 1 (fail-clear clears)")
        if port is not None:
            port = int(port)
            if not 0 <= port <= 0xffff:
                raise CommandError("bad port")
        r = jm.FailRule(names, int(retval), count, prefix=prefix, port=port,
                        address=address,
                        is_del=None if is_del is None else _bool(is_del))
        srv = self.srv
        srv.fails.append(r)
        srv.fail_names |= r.names
        return {"fails": [x.as_json() for x in srv.fails]}

    def c_fail_clear(self, names=None):
        """Every rule, or those that target any of `names`."""
        srv = self.srv
        names = set(_names(names))
        before = len(srv.fails)
        srv.fails = [r for r in srv.fails if names and not r.names & names]
        srv.fail_names = set().union(*(r.names for r in srv.fails))
        return {"cleared": before - len(srv.fails),
                "fails": [x.as_json() for x in srv.fails]}

    def c_fails(self):
        return {"fails": [x.as_json() for x in self.srv.fails]}

    def c_handshake(self, mode):
        if mode not in HANDSHAKE_MODES:
            raise CommandError("mode is one of %s" % "|".join(
                HANDSHAKE_MODES))
        self.srv.handshake = mode
        return {"mode": mode}

    def c_table(self, missing=None, bad_crc=None, old_lb=False):
        miss = _names(missing)
        if _bool(old_lb):
            miss += LB_V12_ONLY
        self.srv.set_table(miss, _names(bad_crc))
        return {"entries": len(self.srv.table.entries)}

    def c_garbage(self, bytes, raw=False):   # noqa: A002 (the contract)
        data = builtins.bytes.fromhex(bytes)
        if not _bool(raw):
            data = HDR.pack(0, len(data), 0) + data
        targets = list(self.srv.regs.values())
        for c in targets:
            self.srv.send_bytes(c, data)
        return {"sent": len(targets), "bytes": len(data)}

    def c_stop(self):
        self.srv.running = False
        return {}


def main(argv):
    if len(argv) < 3:
        sys.exit(__doc__)
    kw = {}
    for kv in argv[3:]:
        k, _, v = kv.partition("=")
        try:
            kw[k] = json.loads(v)
        except ValueError:
            kw[k] = v
    try:
        print(json.dumps(Control(argv[1]).call(argv[2], **kw), indent=1))
    except RuntimeError as e:
        sys.exit(str(e))


if __name__ == "__main__":
    main(sys.argv)
