"""vppsim journal of received LB writes.

The server appends raw entries (time, generation, name, body, retval,
fault) as requests arrive; nothing is decoded then.  `entry()` turns one
into the JSON-friendly dict the control command `journal` returns, decoding
the request body from the layouts in LAYOUTS.md.
"""
import ipaddress
import struct

import lb as lbm

# the LB requests that change state: journalled
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
