"""vppsim socket server: framing, registrations, message dispatch."""
import json
import os
import selectors
import socket
import struct
import sys
import time

import lb as lbm
from wire import (HDR, HDR_LEN, MAX_DATA_LEN, REQ_SIZE, MsgTable, addr_to_ip46,
                  cstr, frame, fstr, ip46_is_ip4, ip46_str, ip46_to_addr)


class Conn:
    def __init__(self, sock):
        self.sock = sock
        self.rbuf = bytearray()
        self.wbuf = bytearray()
        self.handle = None       # registration index | 0x80000000
        self.name = ""
        self.closing = False     # close once wbuf is flushed


class Server:
    def __init__(self, path, version="26.10-rc0~374-gb575ec2c5", missing=(),
                 bad_crc=(), pad=0, id_base=29, state_file=None,
                 on_fatal="exit", gc_period=60.0, gc_min_age=10.0,
                 verbose=False):
        self.path = path
        self.version = version
        self.table = MsgTable(id_base, missing, bad_crc, pad)
        self.lb = lbm.LB(gc_period, gc_min_age)
        self.state_file = state_file
        self.on_fatal = on_fatal
        self.verbose = verbose
        self.fatal = []
        self.regs = {}           # handle -> Conn
        self.next_reg = 1
        self.stats = {"dropped": 0, "handled": 0, "clients_total": 0}
        self.sel = selectors.DefaultSelector()
        self.gc_period = gc_period
        self.next_gc = time.monotonic() + gc_period
        self.running = True
        self.pending = []
        self.dirty = False

    def log(self, *a):
        if self.verbose:
            print("vppsim:", *a, file=sys.stderr, flush=True)

    # --- state dump --------------------------------------------------------
    def write_state(self):
        self.dirty = False
        if not self.state_file:
            return
        st = self.lb.as_json()
        st["clients"] = sorted(c.name for c in self.regs.values())
        st["fatal"] = self.fatal
        st["stats"] = self.stats
        st["version"] = self.version
        tmp = self.state_file + ".tmp"
        with open(tmp, "w") as f:
            json.dump(st, f, indent=1, sort_keys=True)
        os.replace(tmp, self.state_file)

    # --- socket loop -------------------------------------------------------
    def serve(self):
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass
        ls = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        ls.bind(self.path)
        ls.listen(64)
        ls.setblocking(False)
        self.sel.register(ls, selectors.EVENT_READ, None)
        self.write_state()
        print("vppsim: listening on %s" % self.path, flush=True)
        try:
            while self.running:
                tmo = max(0.0, self.next_gc - time.monotonic())
                for key, ev in self.sel.select(min(tmo, 1.0)):
                    if key.data is None:
                        self.accept(ls)
                        continue
                    c = key.data
                    if ev & selectors.EVENT_READ:
                        self.on_read(c)
                    if ev & selectors.EVENT_WRITE and c.sock.fileno() >= 0:
                        self.flush(c)
                if time.monotonic() >= self.next_gc:
                    self.next_gc = time.monotonic() + self.gc_period
                    if self.lb.gc():
                        self.write_state()
        finally:
            for c in list(self.regs.values()):
                c.sock.close()
            ls.close()
            try:
                os.unlink(self.path)
            except OSError:
                pass

    def accept(self, ls):
        try:
            s, _ = ls.accept()
        except OSError:
            return
        s.setblocking(False)
        c = Conn(s)
        self.sel.register(s, selectors.EVENT_READ, c)

    def close(self, c):
        try:
            self.sel.unregister(c.sock)
        except (KeyError, ValueError):
            pass
        c.sock.close()
        if c.handle is not None and self.regs.get(c.handle) is c:
            del self.regs[c.handle]
            self.write_state()

    def on_read(self, c):
        try:
            data = c.sock.recv(65536)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:
            self.close(c)
            return
        c.rbuf += data
        while (len(c.rbuf) >= HDR_LEN and not c.closing
               and c.sock.fileno() >= 0):
            _, dlen, _ = HDR.unpack_from(c.rbuf)
            if dlen == 0 or dlen > MAX_DATA_LEN:
                self.log("bad data_len %d, closing" % dlen)
                self.close(c)
                return
            if len(c.rbuf) < HDR_LEN + dlen:
                break
            body = bytes(c.rbuf[HDR_LEN:HDR_LEN + dlen])
            del c.rbuf[:HDR_LEN + dlen]
            try:
                self.dispatch(c, body)
                self.after_dispatch()
            except lbm.Fatal as e:
                self.fatal.append(str(e))
                self.dirty = True
                self.after_dispatch()
                print("vppsim: FATAL: %s" % e, file=sys.stderr, flush=True)
                if self.on_fatal == "exit":
                    self.running = False
                    return

    def after_dispatch(self):
        if self.dirty:
            self.write_state()
        pend, self.pending = self.pending, []
        for d in pend:
            if d.sock.fileno() >= 0 and d.wbuf:
                self.flush(d)

    def send(self, c, body):
        if c is None or c.sock.fileno() < 0:
            return
        c.wbuf += frame(body)
        self.pending.append(c)   # flushed after the state file is written

    def flush(self, c):
        try:
            while c.wbuf:
                n = c.sock.send(c.wbuf)
                del c.wbuf[:n]
        except (BlockingIOError, InterruptedError):
            pass
        except OSError:
            self.close(c)
            return
        if c.wbuf:
            self.sel.modify(c.sock, selectors.EVENT_READ | selectors.EVENT_WRITE,
                            c)
        elif c.closing:
            self.close(c)
        else:
            try:
                self.sel.modify(c.sock, selectors.EVENT_READ, c)
            except (KeyError, ValueError):
                pass

    # --- dispatch ----------------------------------------------------------
    def dispatch(self, c, body):
        if len(body) < 2:
            self.stats["dropped"] += 1
            return
        mid = struct.unpack_from(">H", body)[0]
        name = self.table.name_of.get(mid)
        fn = getattr(self, "m_" + name, None) if name else None
        if fn is None or len(body) < REQ_SIZE.get(name, 1 << 30):
            self.log("drop msg id %d (%s) len %d" % (mid, name, len(body)))
            self.stats["dropped"] += 1
            return
        self.stats["handled"] += 1
        if name == "sockclnt_create":
            fn(c, body)
            return
        cidx, ctx = struct.unpack_from(">II", body, 2)
        fn(self.regs.get(cidx), cidx, ctx, body)

    def rid(self, name):
        return self.table.id_of.get(name, 0)

    def reply(self, dest, name, ctx, retval=0, payload=b""):
        self.send(dest, struct.pack(">HIi", self.rid(name), ctx, retval)
                  + payload)

    # memclnt
    def m_sockclnt_create(self, c, body):
        ctx = struct.unpack_from(">I", body, 2)[0]
        if c.handle is None:
            c.handle = 0x80000000 | self.next_reg
            self.next_reg += 1
            self.regs[c.handle] = c
            self.stats["clients_total"] += 1
        c.name = cstr(body[6:70])
        ents = self.table.entries
        self.send(c, struct.pack(">HIIiIH", self.rid("sockclnt_create_reply"),
                                 0, ctx, 0, c.handle, len(ents))
                  + self.table.pack_table())
        self.changed()

    def m_sockclnt_delete(self, dest, cidx, ctx, body):
        idx = struct.unpack_from(">I", body, 10)[0]
        target = self.regs.get(idx)
        if target is None:
            self.reply(dest, "sockclnt_delete_reply", ctx, -1)
            return
        self.reply(target, "sockclnt_delete_reply", ctx, 1)
        del self.regs[idx]
        target.closing = True
        self.changed()

    def m_control_ping(self, dest, cidx, ctx, body):
        self.reply(dest, "control_ping_reply", ctx, 0,
                   struct.pack(">II", cidx, os.getpid()))

    def m_memclnt_keepalive(self, dest, cidx, ctx, body):
        self.reply(dest, "memclnt_keepalive_reply", ctx, 0)

    def m_get_first_msg_id(self, dest, cidx, ctx, body):
        mod = cstr(body[10:74]).split("_")[0]
        ids = [self.table.id_of[n] for m, msgs in
               __import__("wire").DYNAMIC if m == mod
               for n, _ in msgs if n in self.table.id_of]
        self.reply(dest, "get_first_msg_id_reply", ctx, 0 if ids else -6,
                   struct.pack(">H", min(ids) if ids else 0xffff))

    # vpe / vlib / ip
    def m_show_version(self, dest, cidx, ctx, body):
        self.reply(dest, "show_version_reply", ctx, 0,
                   fstr("vpe", 32) + fstr(self.version, 32)
                   + fstr("2026-08-22T00:00:00", 32)
                   + fstr("/vppsim", 256))

    def m_cli_inband(self, dest, cidx, ctx, body):
        n = struct.unpack_from(">I", body, 10)[0]
        if len(body) < 14 + n:
            self.stats["dropped"] += 1
            return
        cmd = " ".join(body[14:14 + n].decode("utf-8", "replace").split())
        rv, out = 0, ""
        if cmd in ("show version", "show version verbose"):
            out = "vpp v%s built by vppsim\n" % self.version
        elif cmd.startswith("show lb vips"):
            out = self.cli_vips("verbose" in cmd)
        elif cmd == "show lb":
            out = ("lb_main ip4-src-address: %s ip6-src-address: %s "
                   "#vips: %d\n" % (
                       ".".join(str(b) for b in self.lb.ip4_src),
                       ip46_str(self.lb.ip6_src), len(self.lb.active_vips())))
        else:
            rv, out = -1, "unknown input `%s'\n" % cmd
        data = out.encode()
        self.reply(dest, "cli_inband_reply", ctx, rv,
                   struct.pack(">I", len(data)) + data)

    def cli_vips(self, verbose):
        lines = []
        for v in self.lb.active_vips():
            j = v.as_json()
            fam = "ip4" if ip46_is_ip4(v.ip46) else "ip6"
            lines.append(" %s-%s [%d] %s%s" % (
                fam, j["encap"], v.index, j["prefix"],
                "" if not v.port else " protocol:%d port:%d" % (
                    v.protocol, v.port)))
            if verbose:
                for a in j["ases"]:
                    lines.append("    %s weight:%d buckets:%d flows:0 %s" % (
                        a["address"], a["weight"], a["num_buckets"],
                        "used" if a["flags"] & 1 else "removed"))
        return "\n".join(lines) + ("\n" if lines else "")

    def m_ip_route_lookup(self, dest, cidx, ctx, body):
        is4, ip46 = addr_to_ip46(body[15], body[16:32])
        plen = body[32] + (96 if is4 else 0)
        for v in self.lb.active_vips():
            if v.ip46 == lbm.mask46(ip46, plen) and v.plen46 == plen:
                self.reply(dest, "ip_route_lookup_reply", ctx, 0,
                           struct.pack(">II", 0, 1000 + v.index)
                           + body[15:33] + b"\0")
                return
        self.reply(dest, "ip_route_lookup_reply", ctx, -6,
                   bytes(8) + body[15:33] + b"\0")

    # --- LB ----------------------------------------------------------------
    def changed(self):
        self.dirty = True

    @staticmethod
    def vip_key(body, off=10):
        """pfx(18) protocol(1) port(2) at off -> (ip46, plen46, proto, port)."""
        af = body[off]
        if af not in (0, 1):
            raise lbm.Fatal("address family %d: VPP reads uninitialised "
                            "memory" % af)
        is4, ip46 = addr_to_ip46(af, body[off + 1:off + 17])
        plen = body[off + 17] + (96 if is4 else 0)
        proto = body[off + 18]
        port = struct.unpack_from(">H", body, off + 19)[0]
        if port == 0:
            proto = 255          # VPP forces all-port VIPs to 255
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
        plen = v.plen46 - 96 if ip46_is_ip4(v.ip46) else v.plen46
        return (ip46_to_addr(v.ip46) + struct.pack(">BBH", plen, v.protocol,
                                                   v.port))

    def m_lb_vip_dump(self, dest, cidx, ctx, body):
        did = self.rid("lb_vip_details")
        for v in self.lb.active_vips():   # request filters are ignored
            self.send(dest, struct.pack(">HI", did, ctx) + self.vip_wire(v)
                      + struct.pack(">IB", v.encap, v.dscp)
                      # quirks: srv_type as u8 in the first byte of the u32,
                      # target_port little-endian; length truncated to u16
                      + struct.pack("<I", v.srv_type)
                      + struct.pack("<H", v.target_port)
                      + struct.pack(">H", v.new_length & 0xffff))

    def _as_dump(self, dest, ctx, body, v2):
        did = self.rid("lb_as_v2_details" if v2 else "lb_as_details")
        proto = body[28]
        port = struct.unpack_from(">H", body, 29)[0]
        for v in self.lb.dump_as_vips(body[11:27], proto, port):
            buckets, _ = v.buckets()
            for a in v.ases:
                msg = (struct.pack(">HI", did, ctx) + self.vip_wire(v)
                       + ip46_to_addr(a.ip46)
                       + struct.pack(">BI", a.flags, a.in_use_since))
                if v2:
                    msg += struct.pack(">BI", a.weight, buckets[id(a)])
                self.send(dest, msg)

    def m_lb_as_dump(self, dest, cidx, ctx, body):
        self._as_dump(dest, ctx, body, False)

    def m_lb_as_v2_dump(self, dest, cidx, ctx, body):
        self._as_dump(dest, ctx, body, True)
