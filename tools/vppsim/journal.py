"""vppsim journal of received LB writes, and the `fail` rules.

The server appends raw entries (time, generation, name, body, retval,
fault) as requests arrive; nothing is decoded then.  `entry()` turns one
into the JSON-friendly dict the control command `journal` returns, decoding
the request body from the layouts in LAYOUTS.md.
"""
import ipaddress
import struct

import lb as lbm
from wire import addr_to_ip46, mask46, parse_addr, parse_prefix

# the LB requests that change state: journalled, and what `fail` may target
# (their replies are {id, context, retval} only)
LB_WRITES = frozenset([
    "lb_conf", "lb_add_del_vip", "lb_add_del_vip_v2", "lb_add_del_as",
    "lb_add_del_as_v2", "lb_as_set_weight", "lb_flush_vip",
    "lb_add_del_intf_nat4", "lb_add_del_intf_nat6"])


def _addr(body, off):
    """vl_api_address_t at off -> text ("198.18.1.2", "2001:db8::1");
    an address family other than 0/1 as "af<N>:<hex of the union>"."""
    af = body[off]
    if af == 0:
        return str(ipaddress.IPv4Address(bytes(body[off + 1:off + 5])))
    if af == 1:
        return str(ipaddress.IPv6Address(bytes(body[off + 1:off + 17])))
    return "af%d:%s" % (af, bytes(body[off + 1:off + 17]).hex())


def _prefix(body, off=10):
    """vl_api_prefix_t at off, as sent (host bits not masked)."""
    return "%s/%d" % (_addr(body, off), body[off + 17])


def _vip(body):
    """pfx, protocol, port at 10 (every LB write but lb_conf / intf)."""
    return {"prefix": _prefix(body), "protocol": body[28],
            "port": struct.unpack_from(">H", body, 29)[0]}


def _encap(e):
    return lbm.ENCAP_NAMES[e] if 0 <= e < len(lbm.ENCAP_NAMES) else e


def _vip_add_del(body, v2):
    f = _vip(body)
    encap, dscp, srv, tport, nport, nlen = struct.unpack_from(
        ">IBIHHI", body, 31)
    f.update(encap=_encap(encap), dscp=dscp, type=srv, target_port=tport,
             node_port=nport, new_flows_table_length=nlen)
    if v2:
        f["src_ip_sticky"] = bool(body[48])
    f["is_del"] = bool(body[49] if v2 else body[48])
    return f


def _as_add_del(body, v2):
    f = _vip(body)
    f["as_address"] = _addr(body, 31)
    if v2:
        f["weight"] = body[48]
    o = 49 if v2 else 48
    f["is_del"] = bool(body[o])
    f["is_flush"] = bool(body[o + 1])
    return f


def _set_weight(body):
    f = _vip(body)
    f.update(as_address=_addr(body, 31), weight=body[48],
             is_flush=bool(body[49]))
    return f


def _conf(body):
    b, t = struct.unpack_from(">II", body, 30)
    return {"ip4_src_address": str(ipaddress.IPv4Address(bytes(body[10:14]))),
            "ip6_src_address": str(ipaddress.IPv6Address(bytes(body[14:30]))),
            "sticky_buckets_per_core": b, "flow_timeout": t}


def _intf(body):
    return {"is_add": bool(body[10]),
            "sw_if_index": struct.unpack_from(">I", body, 11)[0]}


DECODE = {
    "lb_conf": _conf,
    "lb_add_del_vip": lambda b: _vip_add_del(b, False),
    "lb_add_del_vip_v2": lambda b: _vip_add_del(b, True),
    "lb_add_del_as": lambda b: _as_add_del(b, False),
    "lb_add_del_as_v2": lambda b: _as_add_del(b, True),
    "lb_as_set_weight": _set_weight,
    "lb_flush_vip": _vip,
    "lb_add_del_intf_nat4": _intf,
    "lb_add_del_intf_nat6": _intf,
}


def entry(seq, raw):
    """A raw journal tuple -> the dict `journal` returns."""
    t, gen, name, body, retval, fault = raw
    cidx, ctx = struct.unpack_from(">II", body, 2) if len(body) >= 10 \
        else (None, None)
    fields = {} if fault == "truncated" else DECODE[name](body)
    return {"seq": seq, "time": t, "generation": gen, "client": cidx,
            "context": ctx, "name": name, "fields": fields,
            "retval": retval, "fault": fault}


# --- `fail` rules ------------------------------------------------------------
# offset of is_del per message (the others have none)
IS_DEL_AT = {"lb_add_del_vip": 48, "lb_add_del_vip_v2": 49,
             "lb_add_del_as": 48, "lb_add_del_as_v2": 49}
HAS_AS = {"lb_add_del_as", "lb_add_del_as_v2", "lb_as_set_weight"}
HAS_VIP = HAS_AS | {"lb_add_del_vip", "lb_add_del_vip_v2", "lb_flush_vip"}


class FailRule:
    """Answer matching requests with `retval` without applying them.
    Filters (None: any): prefix (the VIP prefix, host bits masked on both
    sides), port, address (the AS address), is_del."""

    def __init__(self, names, retval, count=None, prefix=None, port=None,
                 address=None, is_del=None):
        self.names = frozenset(names)
        self.retval = int(retval)
        self.count = count
        self.prefix_text = prefix
        self.prefix = None
        if prefix is not None:
            ip46, plen = parse_prefix(prefix)
            self.prefix = (mask46(ip46, plen), plen)
        self.port = port
        self.address_text = address
        self.address = parse_addr(address)[1] if address is not None \
            else None
        self.is_del = is_del
        self.hits = 0

    def matches(self, name, body):
        if self.prefix is not None or self.port is not None:
            if name not in HAS_VIP or body[10] not in (0, 1):
                return False
            if self.port is not None and \
                    struct.unpack_from(">H", body, 29)[0] != self.port:
                return False
            if self.prefix is not None:
                is4, ip46 = addr_to_ip46(body[10], body[11:27])
                plen = min(128, body[27] + (96 if is4 else 0))
                if (mask46(ip46, plen), plen) != self.prefix:
                    return False
        if self.address is not None:
            if name not in HAS_AS or body[31] not in (0, 1):
                return False
            if addr_to_ip46(body[31], body[32:48])[1] != self.address:
                return False
        if self.is_del is not None:
            at = IS_DEL_AT.get(name)
            if at is None or bool(body[at]) != self.is_del:
                return False
        return True

    def as_json(self):
        return {"names": sorted(self.names), "retval": self.retval,
                "count": self.count, "prefix": self.prefix_text,
                "port": self.port, "address": self.address_text,
                "is_del": self.is_del, "hits": self.hits}
