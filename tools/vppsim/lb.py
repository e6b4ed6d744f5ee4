"""vppsim LB plugin state and semantics (PROTOCOL.md section 5)."""
import time

from wire import ip46_is_ip4, ip46_str, mask46

OK = 0
NO_SUCH_ENTRY = -6
INVALID_VALUE = -7
INVALID_MEMORY_SIZE = -70
INVALID_ARGUMENT = -73
VALUE_EXIST = -81
INVALID_ADDRESS_FAMILY = -97

GRE4, GRE6, L3DSR, NAT4, NAT6 = range(5)
ENCAP_NAMES = ["gre4", "gre6", "l3dsr", "nat4", "nat6"]
KEEP = 0xffffffff


class Fatal(Exception):
    """A request that takes the real VPP down (or is undefined behaviour)."""


def is_pow2(x):
    return (x & (x - 1)) == 0        # VPP's check: accepts 0 (!)


def maglev_counts(M, ases):
    """ases: list of (ip46 bytes, weight). -> (counts list, drop buckets).

    Per PROTOCOL.md 5.5: one entry per (AS, replica r < w), sorted by
    (r, ip46); round-robin, each visit claims one bucket, until M claimed.
    """
    out = [0] * len(ases)
    W = sum(w for _, w in ases if w > 0)
    if W == 0:
        return out, M
    entries = sorted((r, a, i) for i, (a, w) in enumerate(ases)
                     for r in range(w))
    k, rem = divmod(M, W)
    for i, (_, w) in enumerate(ases):
        out[i] = k * w
    for _, _, i in entries[:rem]:
        out[i] += 1
    return out, 0


class AS:
    def __init__(self, ip46, weight):
        self.ip46 = ip46
        self.weight = weight
        self.flags = 1
        self.in_use_since = 0
        self.removed_at = None
        self.flushes = 0


class VIP:
    def __init__(self, index, ip46, plen46, protocol, port, encap, **kw):
        self.index = index
        self.ip46 = ip46
        self.plen46 = plen46
        self.protocol = protocol
        self.port = port
        self.encap = encap
        self.dscp = kw.get("dscp", 0)
        self.srv_type = kw.get("srv_type", 0)
        self.target_port = kw.get("target_port", 0)
        self.node_port = kw.get("node_port", 0)
        self.new_length = kw.get("new_length", 1024)
        self.src_ip_sticky = kw.get("src_ip_sticky", False)
        self.deleted = False
        self.ases = []           # insertion order; table order is by address
        self.flushes = 0
        self.last_gc = 0.0

    def key(self):
        return (self.ip46, self.plen46, self.protocol, self.port)

    def find_as(self, ip46):
        for a in self.ases:
            if a.ip46 == ip46:
                return a
        return None

    def buckets(self):
        act = [a for a in self.ases if a.flags & 1 and a.weight > 0]
        counts, drop = maglev_counts(self.new_length,
                                     [(a.ip46, a.weight) for a in act])
        res = {id(a): c for a, c in zip(act, counts)}
        return {id(a): res.get(id(a), 0) for a in self.ases}, drop

    def as_json(self):
        b, drop = self.buckets()
        return {
            "index": self.index, "prefix": "%s/%d" % (
                ip46_str(self.ip46),
                self.plen46 - 96 if ip46_is_ip4(self.ip46) else self.plen46),
            "protocol": self.protocol, "port": self.port,
            "encap": ENCAP_NAMES[self.encap], "dscp": self.dscp,
            "srv_type": self.srv_type, "target_port": self.target_port,
            "new_flows_table_length": self.new_length,
            "src_ip_sticky": self.src_ip_sticky, "deleted": self.deleted,
            "flushes": self.flushes, "drop_buckets": drop,
            "ases": [{"address": ip46_str(a.ip46), "weight": a.weight,
                      "flags": a.flags, "in_use_since": a.in_use_since,
                      "num_buckets": b[id(a)], "flushes": a.flushes}
                     for a in self.ases],
        }


class LB:
    def __init__(self, gc_period=60.0, gc_min_age=10.0):
        self.t0 = time.monotonic()
        self.ip4_src = b"\xff" * 4
        self.ip6_src = b"\xff" * 16
        self.sticky_buckets = 1024
        self.flow_timeout = 40
        self.vips = {}           # index -> VIP (incl. deleted, not collected)
        self.gc_period = gc_period
        self.gc_min_age = gc_min_age
        self.sticky_resets = 0

    def now(self):
        return time.monotonic() - self.t0

    # --- conf --------------------------------------------------------------
    def conf(self, ip4, ip6, buckets, timeout):
        if buckets != KEEP and not is_pow2(buckets):
            return INVALID_MEMORY_SIZE
        self.ip4_src, self.ip6_src = ip4, ip6
        if buckets != KEEP:
            if buckets != self.sticky_buckets:
                self.sticky_resets += 1
            self.sticky_buckets = buckets
            if buckets == 0:
                raise Fatal("lb_conf sticky_buckets_per_core=0: accepted by "
                            "VPP's pow2 check, out-of-bounds sticky table")
        if timeout != KEEP:
            self.flow_timeout = timeout
        return OK

    # --- VIPs --------------------------------------------------------------
    def active_vips(self):
        return [v for _, v in sorted(self.vips.items()) if not v.deleted]

    def find_vip(self, key):
        for v in self.vips.values():
            if not v.deleted and v.key() == key:
                return v
        return None

    def add_vip(self, ip46, plen46, protocol, port, encap, **kw):
        is4 = ip46_is_ip4(ip46)
        if is4:
            if encap not in (GRE4, GRE6, L3DSR, NAT4):
                return INVALID_ADDRESS_FAMILY
        elif encap not in (GRE4, GRE6, NAT6):
            encap = GRE6         # silently, as VPP does
        n = kw.get("new_length", 1024)
        if not is_pow2(n):
            return INVALID_MEMORY_SIZE
        if n == 0:
            raise Fatal("new_flows_table_length=0: VPP tries to allocate a "
                        "2^32-entry new-flow table and goes down")
        ip46 = mask46(ip46, plen46)
        if self.find_vip((ip46, plen46, protocol, port)):
            return VALUE_EXIST
        same = [v for v in self.active_vips()
                if v.ip46 == ip46 and v.plen46 == plen46]
        for v in same:
            if (v.port == 0) != (port == 0):
                return VALUE_EXIST
            if v.encap != encap:
                return INVALID_ARGUMENT
        if encap == L3DSR:
            kw["dscp"] = kw.get("dscp", 0) & 0x3f
        else:
            kw["dscp"] = 0
        if encap not in (NAT4, NAT6):
            kw["srv_type"] = 0
            kw["target_port"] = 0
        idx = 1
        while idx in self.vips:
            idx += 1
        self.vips[idx] = VIP(idx, ip46, plen46, protocol, port, encap, **kw)
        return OK

    def del_vip(self, key):
        v = self.find_vip((mask46(key[0], key[1]),) + key[1:])
        if not v:
            return NO_SUCH_ENTRY
        v.deleted = True
        for a in v.ases:
            if a.flags & 1:
                a.flags = 0
                a.removed_at = self.now()
                a.in_use_since = int(a.removed_at)
        self.gc()
        return OK

    def lookup(self, key):
        return self.find_vip((mask46(key[0], key[1]),) + key[1:])

    # --- ASes --------------------------------------------------------------
    @staticmethod
    def as_family_ok(v, as_is4):
        return as_is4 == (v.encap in (GRE4, L3DSR, NAT4))

    def add_as(self, key, ip46, as_is4, weight, flush):
        v = self.lookup(key)
        if not v:
            return NO_SUCH_ENTRY
        if not self.as_family_ok(v, as_is4):
            return INVALID_ADDRESS_FAMILY
        a = v.find_as(ip46)
        if a and a.flags & 1:
            return VALUE_EXIST
        if a:
            if flush:
                a.flushes += 1
            a.flags, a.weight, a.removed_at = 1, weight, None
        else:
            v.ases.append(AS(ip46, weight))
        self.gc_vip(v)
        return OK

    def del_as(self, key, ip46, flush):
        v = self.lookup(key)
        if not v:
            return NO_SUCH_ENTRY
        a = v.find_as(ip46)
        if not a:
            return NO_SUCH_ENTRY
        if a.flags & 1:
            a.flags = 0
            a.removed_at = self.now()
            a.in_use_since = int(a.removed_at)
        if flush:
            a.flushes += 1
        self.gc_vip(v)
        return OK

    def set_weight(self, key, ip46, weight, flush):
        v = self.lookup(key)
        if not v:
            return NO_SUCH_ENTRY
        a = v.find_as(ip46)
        if not a or not a.flags & 1:
            return NO_SUCH_ENTRY
        a.weight = weight
        if flush:
            a.flushes += 1
        return OK

    def flush_vip(self, key):
        v = self.lookup(key)
        if v:
            v.flushes += 1
            for a in v.ases:
                a.flushes += 1
        return OK                # always 0, even for an unknown VIP

    def dump_as_vips(self, un16, protocol, port):
        """lb_as_dump filter: raw union bytes vs internal ip46 form."""
        res = []
        for _, v in sorted(self.vips.items()):
            if un16 == bytes(16):
                res.append(v)
            elif (un16 == v.ip46 and protocol == v.protocol
                  and port == v.port):
                res.append(v)
        return res

    # --- garbage collection (no flows here, so refcounts are always 0) -----
    def gc_vip(self, v, force=False):
        now = self.now()
        if not force and now - v.last_gc < self.gc_period:
            return False
        v.last_gc = now
        before = len(v.ases)
        v.ases = [a for a in v.ases if a.flags & 1 or a.removed_at is None
                  or now - a.removed_at <= self.gc_min_age]
        changed = len(v.ases) != before
        if v.deleted and not v.ases:
            del self.vips[v.index]
            changed = True
        return changed

    def gc(self, force=True):
        changed = False
        for v in list(self.vips.values()):
            changed |= self.gc_vip(v, force)
        return changed

    def as_json(self):
        return {
            "conf": {"ip4_src_address": ".".join(str(b) for b in self.ip4_src),
                     "ip6_src_address": self.ip6_src.hex(),
                     "sticky_buckets_per_core": self.sticky_buckets,
                     "flow_timeout": self.flow_timeout,
                     "sticky_resets": self.sticky_resets},
            "vips": [v.as_json() for _, v in sorted(self.vips.items())],
        }
