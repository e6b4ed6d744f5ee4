"""vppsim wire helpers: socket framing, message table, field packing.

Written from /work/shared/vpp/{PROTOCOL,LAYOUTS}.md and CRCS.txt only.
All API integers are big-endian; structs are packed.
"""
import ipaddress
import struct

HDR = struct.Struct(">QII")          # q (ignored), data_len (BE), gc mark
HDR_LEN = 16
MAX_DATA_LEN = 64 << 20              # guard against a desynchronised stream

# name_crc table (CRCS.txt, VPP master b575ec2c56d). Fixed memclnt ids given.
MEMCLNT = [
    ("get_first_msg_id", "ebf79a66", 10),
    ("get_first_msg_id_reply", "7d337472", 11),
    ("api_versions", "51077d14", 12),
    ("api_versions_reply", "5f0d99d6", 13),
    ("sockclnt_create", "455fb9c4", 15),
    ("sockclnt_create_reply", "35166268", 16),
    ("sockclnt_delete", "8ac76db6", 17),
    ("sockclnt_delete_reply", "8f38b1ee", 18),
    ("memclnt_keepalive", "51077d14", 21),
    ("memclnt_keepalive_reply", "e8d4e804", 22),
    ("control_ping", "51077d14", 23),
    ("control_ping_reply", "f6b0b8ca", 24),
]
# (module, [(name, crc)]) in "load order"; ids are assigned dynamically.
DYNAMIC = [
    ("vpe", [("show_version", "51077d14"), ("show_version_reply", "c919bde1")]),
    ("vlib", [("cli_inband", "f8377302"), ("cli_inband_reply", "05879051")]),
    ("ip", [("ip_route_lookup", "710d6471"),
            ("ip_route_lookup_reply", "5d8febcb")]),
    ("lb", [
        ("lb_conf", "56cd3261"), ("lb_conf_reply", "e8d4e804"),
        ("lb_conf_get", "51077d14"), ("lb_conf_get_reply", "923427ac"),
        ("lb_add_del_vip", "6fa569c7"), ("lb_add_del_vip_reply", "e8d4e804"),
        ("lb_add_del_vip_v2", "7c520e0f"),
        ("lb_add_del_vip_v2_reply", "e8d4e804"),
        ("lb_add_del_as", "35d72500"), ("lb_add_del_as_reply", "e8d4e804"),
        ("lb_add_del_as_v2", "2f1d3b0e"),
        ("lb_add_del_as_v2_reply", "e8d4e804"),
        ("lb_as_set_weight", "2d89bdbd"),
        ("lb_as_set_weight_reply", "e8d4e804"),
        ("lb_flush_vip", "1063f819"), ("lb_flush_vip_reply", "e8d4e804"),
        ("lb_vip_dump", "56110cb7"), ("lb_vip_details", "1329ec9b"),
        ("lb_as_dump", "1063f819"), ("lb_as_details", "8d24c29e"),
        ("lb_as_v2_dump", "1063f819"), ("lb_as_v2_details", "90064aae"),
        ("lb_add_del_intf_nat4", "47d6e753"),
        ("lb_add_del_intf_nat4_reply", "e8d4e804"),
        ("lb_add_del_intf_nat6", "47d6e753"),
        ("lb_add_del_intf_nat6_reply", "e8d4e804"),
    ]),
]
# Messages that lb.api 1.1.0 (VPP <= 26.06) does not have.
LB_V12_ONLY = ["lb_conf_get", "lb_add_del_as_v2", "lb_as_set_weight",
               "lb_as_v2_dump"]

# Fixed request sizes (minimum body length; shorter bodies are dropped).
REQ_SIZE = {
    "sockclnt_create": 70, "sockclnt_delete": 14, "control_ping": 10,
    "memclnt_keepalive": 10, "get_first_msg_id": 74, "api_versions": 10,
    "show_version": 10, "cli_inband": 14, "ip_route_lookup": 33,
    "lb_conf": 38, "lb_conf_get": 10, "lb_add_del_vip": 49,
    "lb_add_del_vip_v2": 50, "lb_add_del_as": 50, "lb_add_del_as_v2": 51,
    "lb_as_set_weight": 50, "lb_flush_vip": 31, "lb_vip_dump": 33,
    "lb_as_dump": 31, "lb_as_v2_dump": 31, "lb_add_del_intf_nat4": 15,
    "lb_add_del_intf_nat6": 15,
}


def expand_names(names):
    """--missing X also drops X_reply, and X_details for X_dump."""
    out = set()
    for n in names:
        n = n.strip()
        if not n:
            continue
        out.add(n)
        if n.endswith("_dump"):
            out.add(n[:-5] + "_details")
        elif not n.endswith(("_reply", "_details")):
            out.add(n + "_reply")
    return out


# Plugins that have nothing to do with us but take ids between ours, as in a
# real VPP whose table holds every loaded plugin (PROTOCOL.md 1.3/1.4).
FILLER_MODULES = ["acl", "nat44_ed", "dhcp", "memif", "ikev2", "wireguard",
                  "flowprobe", "cnat", "arping", "urpf"]
FIRST_DYNAMIC_ID = 29
MAX_ID = 0xffff


class Layout:
    """The id every message gets in one VPP run (start or restart).

    Dynamic ids are assigned per module in load order from a first dynamic
    id; memclnt's are fixed (PROTOCOL.md 1.3).  Deterministic mode (an
    explicit id_base and no rng): modules vpe, vlib, ip, [pad], lb with no
    gaps from id_base.  Random mode: the first id is 29 plus a random
    offset (or id_base if given), the module order is shuffled and filler
    plugins of random size sit between the modules.
    """

    def __init__(self, rng=None, id_base=None, pad=0):
        self.ids = [(n, c, i) for n, c, i in MEMCLNT]   # (name, crc, id)
        self.module_of = {}
        mods = [(m, list(msgs)) for m, msgs in DYNAMIC]
        if rng is not None:
            rng.shuffle(mods)
            fill = []
            for m in rng.sample(FILLER_MODULES, rng.randint(2, 6)):
                fill.append((m, [("%s_msg_%d" % (m, k),
                                  "%08x" % rng.getrandbits(32))
                                 for k in range(rng.randint(1, 40))]))
            for f in fill:
                mods.insert(rng.randint(0, len(mods)), f)
        if pad:                  # other plugins load before lb: a big gap
            at = [m for m, _ in mods].index("lb")
            mods.insert(at, ("plugin", [("plugin_filler_%d" % i,
                                         "%08x" % (0x1000 + i))
                                        for i in range(pad)]))
        if id_base is None:
            id_base = FIRST_DYNAMIC_ID + (rng.randrange(0, 400) if rng
                                          else 0)
        total = sum(len(msgs) for _, msgs in mods)
        if id_base < FIRST_DYNAMIC_ID or id_base + total - 1 > MAX_ID:
            raise ValueError("dynamic ids %d..%d out of range" % (
                id_base, id_base + total - 1))
        nxt = id_base
        for mod, msgs in mods:
            for n, c in msgs:
                self.ids.append((n, c, nxt))
                self.module_of[n] = mod
                nxt += 1
        self.id_base = id_base
        self.span = total

    def id_map(self):
        return {n: i for n, _, i in self.ids}

    def dynamic_ids(self):
        """name -> id of the messages vppsim implements (not the fillers)."""
        mine = {n for _, msgs in DYNAMIC for n, _ in msgs}
        return {n: i for n, _, i in self.ids if n in mine}


class MsgTable:
    """name <-> id, plus the advertised name_crc table, for one layout and
    one choice of missing / wrong-CRC messages."""

    def __init__(self, layout, missing=(), bad_crc=()):
        self.layout = layout
        self.id_of = {}          # name -> id (only for advertised messages)
        self.name_of = {}        # id -> name
        self.entries = []        # (id, "name_crc")
        missing = expand_names(missing)
        bad = set(n.strip() for n in bad_crc if n.strip())
        for name, crc, mid in layout.ids:
            if name in missing:
                continue
            if name in bad:
                crc = "%08x" % (int(crc, 16) ^ 0xdeadbeef)
            self.id_of[name] = mid
            self.name_of[mid] = name
            self.entries.append((mid, "%s_%s" % (name, crc)))
        # hash order in VPP: arbitrary but deterministic here
        self.entries.sort(key=lambda e: (hash_order(e[1]), e[0]))
        self._packed = None

    def first_id(self, module):
        ids = [i for n, i in self.id_of.items()
               if self.layout.module_of.get(n) == module]
        return min(ids) if ids else None

    def pack_table(self):
        if self._packed is None:
            self._packed = b"".join(struct.pack(">H64s", mid,
                                                nc.encode()[:63])
                                    for mid, nc in self.entries)
        return self._packed


def hash_order(s):
    h = 2166136261
    for b in s.encode():
        h = ((h ^ b) * 16777619) & 0xffffffff
    return h


def frame(body):
    return HDR.pack(0x7f00deadbeef0000, len(body), 0) + body


def cstr(raw):
    """Bounded C string read."""
    return raw.split(b"\0", 1)[0].decode("utf-8", "replace")


def fstr(s, n):
    """Fixed string field: at most n-1 chars, NUL padded."""
    return s.encode()[:n - 1].ljust(n, b"\0")


# --- addresses --------------------------------------------------------------
def addr_to_ip46(af, un):
    """vl_api_address_t (af, 16-byte union) -> (is_ip4, 16-byte ip46)."""
    if af == 0:
        return True, bytes(12) + un[:4]
    return False, bytes(un[:16])


def ip46_to_addr(ip46):
    """VPP output rule: first 96 bits zero -> reported as IPv4."""
    if ip46[:12] == bytes(12):
        return struct.pack("B", 0) + ip46[12:] + bytes(12)
    return struct.pack("B", 1) + ip46


def ip46_is_ip4(ip46):
    return ip46[:12] == bytes(12)


def mask46(ip46, plen):
    plen = max(0, min(128, plen))
    v = int.from_bytes(ip46, "big")
    m = ((1 << 128) - 1) ^ ((1 << (128 - plen)) - 1) if plen else 0
    return (v & m).to_bytes(16, "big")


def ip46_str(ip46):
    """format_ip46_address with IP46_TYPE_ANY: IPv4-mapped -> dotted quad.
    Python's IPv6 text form (RFC 5952: longest run of 2+ zero groups) is
    the one VPP prints as well."""
    if ip46_is_ip4(ip46):
        return str(ipaddress.IPv4Address(ip46[12:]))
    return str(ipaddress.IPv6Address(ip46))


def parse_addr(text):
    """"198.18.1.2" / "2001:db8::1" -> (is_ip4, 16-byte ip46)."""
    a = ipaddress.ip_address(text)
    if a.version == 4:
        return True, bytes(12) + a.packed
    return False, a.packed


def parse_prefix(text):
    """"198.19.0.10/32" -> (ip46, plen46); host bits are kept (the LB code
    masks them, as VPP does)."""
    addr, _, plen = text.partition("/")
    is4, ip46 = parse_addr(addr)
    plen = int(plen) if plen else (32 if is4 else 128)
    if not 0 <= plen <= (32 if is4 else 128):
        raise ValueError("bad prefix length in %r" % text)
    return ip46, plen + (96 if is4 else 0)
