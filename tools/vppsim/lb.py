"""vppsim LB plugin state and semantics (PROTOCOL.md section 5).

Written from the implementer's notes only.  Everything the data path does
(flows, sticky tables) is absent: reference counts are always 0, so garbage
collection only looks at the age of a removal.  The per-VIP counters live
in the stats segment (stats.py); on_vip_added tells it about a new VIP.

The FIB entries the plugin installs (PROTOCOL.md 6, 8.6): one per VIP
prefix in table 0, made with the prefix's first VIP and removed when its
last VIP is deleted (at the delete, not at GC), shared by all the VIPs of
the prefix (per-port VIPs).  Its stats_index is the entry's load-balance
index, from VPP's load-balance pool: the lowest free one, the first
ROUTE_BASE taken by the routes VPP has anyway (interfaces, defaults).
on_route_added tells the stats segment about a new one (its
/net/route/to slot is zeroed, as load_balance_create does).
"""
import heapq
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
CLUSTERIP, NODEPORT = range(2)
KEEP = 0xffffffff

# VPP's start-up defaults (PROTOCOL.md 5.4, lb_conf)
DEFAULT_STICKY_BUCKETS = 1024
DEFAULT_FLOW_TIMEOUT = 40
DEFAULT_IP4_SRC = b"\xff" * 4
DEFAULT_IP6_SRC = b"\xff" * 16
ROUTE_BASE = 1000        # the first load-balance index a VIP route gets


class Fatal(Exception):
    """A request that takes the real VPP down (or is undefined behaviour)."""


def is_pow2(x):
    return (x & (x - 1)) == 0        # VPP's check: accepts 0 (!)


def maglev_counts(M, ases):
    """ases: list of (ip46 bytes, weight) -> (counts list, drop buckets).

    PROTOCOL.md 5.5: one entry per (AS, replica r < w), sorted by
    (r, ip46); each round-robin visit claims one bucket until M are taken.
    So with W = sum(w), k = M // W and R = M % W, an AS gets k*w plus the
    number of its replicas among the first R sorted entries.  Those are
    counted level by level (replica index r) without building the list:
    between two distinct weights the set of ASes with w > r is constant.
    """
    out = [0] * len(ases)
    live = sorted((a, w, i) for i, (a, w) in enumerate(ases) if w > 0)
    W = sum(w for _, w, _ in live)
    if W == 0:
        return out, M                # everything to the "no server" AS 0
    k, rem = divmod(M, W)
    for _, w, i in live:
        out[i] = k * w
    r = 0
    part = live                      # ASes with w > r, in address order
    while rem > 0:
        n = len(part)
        top = min(w for _, w, _ in part)
        full = min(top - r, rem // n)
        if full:
            for _, _, i in part:
                out[i] += full
            rem -= full * n
            r += full
        if r < top:                  # rem < n: a partial level
            for _, _, i in part[:rem]:
                out[i] += 1
            break
        part = [p for p in part if p[1] > r]
    return out, 0



BUCKET_MODELS = ("maglev", "equal")


def equal_counts(M, ases):
    """A fault (--bucket-model equal): what a VPP running another algorithm
    could report: the M buckets split evenly over the ASes with a weight,
    whatever their weights (the first M % n in address order get one
    more).  Same shape as maglev_counts."""
    out = [0] * len(ases)
    live = sorted((a, i) for i, (a, w) in enumerate(ases) if w > 0)
    if not live:
        return out, M
    k, rem = divmod(M, len(live))
    for j, (_, i) in enumerate(live):
        out[i] = k + (1 if j < rem else 0)
    return out, 0


# --- the new-flow table itself (for the nftables mirror, nft.py) ----------
# Facts from VPP's src/plugins/lb/lb.c (lb_vip_update_new_flow_table,
# lb_pseudorand_compare) and src/vppinfra/xxhash.h (clib_xxhash), commit
# b575ec2c56d; the code here is written from those facts, not copied.

_U64 = (1 << 64) - 1
_XXP1 = 11400714785074694791
_XXP2 = 14029467366897019727
_XXP3 = 1609587929392839161
_XXP4 = 9650029242287828579
_XXP5 = 2870177450012600261


def _rotl64(x, r):
    return ((x << r) | (x >> (64 - r))) & _U64


def clib_xxhash(key):
    """vppinfra's one-word xxHash64 variant (a single 8-byte lane, no
    length mixing beyond the constant 8), on a u64 -> u64."""
    k = _rotl64(key * _XXP2 & _U64, 31) * _XXP1 & _U64
    h = (0x9e3779b97f4a7c13 + _XXP5 + 8) & _U64
    h = (_rotl64(h ^ k, 27) * _XXP1 + _XXP4) & _U64
    h = (h ^ (h >> 33)) * _XXP2 & _U64
    h = (h ^ (h >> 29)) * _XXP3 & _U64
    return h ^ (h >> 32)


def maglev_permutation(ip46, replica, M):
    """(offset, skip) of one (AS, replica) entry in a table of M (a power
    of two) buckets: the seed hashes the XOR of the two halves of the
    16-byte ip46 form, each read as a little-endian u64 (VPP's as_u64[0]
    and as_u64[1] on x86-64), XORed with the replica number.  The low 32
    bits of the seed, made odd, are the skip; the high 32 bits the first
    bucket; both masked to the table."""
    lo = int.from_bytes(ip46[:8], "little")
    hi = int.from_bytes(ip46[8:], "little")
    seed = clib_xxhash(lo ^ hi ^ replica)
    mask = M - 1
    return (seed >> 32) & mask, ((seed & 0xffffffff) | 1) & mask


def new_flow_table(M, ases):
    """ases: list of (ip46 bytes, weight) -> list of M entries, each the
    position in `ases` of the AS that bucket sends new flows to, or -1
    (VPP's AS 0, "no server configured": dropped).

    As lb_vip_update_new_flow_table: one entry per (AS with w > 0,
    replica r < w), sorted by (r, ip46 bytes); then round-robin over that
    list, each visit walking its entry's permutation (offset, +skip, mod M)
    from where it stopped last time to the next free bucket and claiming
    it, until all M are claimed.  Only the first M entries of the sorted
    list can ever be visited (the round-robin stops after M claims), so
    the list is cut there."""
    table = [-1] * M
    live = [(a, w, i) for i, (a, w) in enumerate(ases) if w > 0]
    if not live or M <= 0:
        return table
    entries = []
    top = max(w for _, w, _ in live)
    byaddr = sorted(live)
    for r in range(top):
        for a, w, i in byaddr:
            if w > r:
                entries.append((a, r, i))
        if len(entries) >= M:
            break
    del entries[M:]
    mask = M - 1
    walk = []                    # [next bucket, skip, AS position]
    for a, r, i in entries:
        off, skip = maglev_permutation(a, r, M)
        walk.append([off, skip, i])
    left = M
    while True:
        for e in walk:
            b, skip = e[0], e[1]
            while table[b] != -1:
                b = (b + skip) & mask
            table[b] = e[2]
            e[0] = (b + skip) & mask
            left -= 1
            if left == 0:
                return table


class AS:
    def __init__(self, ip46, weight, dpo):
        self.ip46 = ip46
        self.weight = weight
        self.flags = 1               # 0x01: in use (PROTOCOL.md 5.1)
        self.in_use_since = 0
        self.removed_at = None
        self.flushes = 0
        self.num_buckets = 0         # valid while the VIP's cache is
        self.dpo = dpo               # a stable number for the CLI output

    @property
    def active(self):
        return bool(self.flags & 1)


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
        self.ases = []               # slot order (insertion order here)
        self.as_by_ip = {}
        self.flushes = 0
        self.last_gc = 0.0
        self.drop_buckets = self.new_length
        self.stale = False           # bucket counts need recomputing
        self.bucket_model = "maglev"     # the LB's (LB.set_bucket_model)

    def key(self):
        return (self.ip46, self.plen46, self.protocol, self.port)

    @property
    def is_ip4(self):
        return ip46_is_ip4(self.ip46)

    @property
    def plen(self):
        return self.plen46 - 96 if self.is_ip4 else self.plen46

    def prefix_str(self):
        return "%s/%d" % (ip46_str(self.ip46), self.plen)

    def type_str(self):
        """lb_vip_type as VPP names it: address family, then encap."""
        return "%s-%s" % ("ip4" if self.is_ip4 else "ip6",
                          ENCAP_NAMES[self.encap])

    def find_as(self, ip46):
        return self.as_by_ip.get(ip46)

    def add_as(self, a):
        self.ases.append(a)
        self.as_by_ip[a.ip46] = a
        self.stale = True

    def drop_ases(self, keep):
        """Keep only ASes for which keep(a) is true; -> number freed."""
        before = len(self.ases)
        self.ases = [a for a in self.ases if keep(a)]
        if len(self.ases) != before:
            self.as_by_ip = {a.ip46: a for a in self.ases}
        return before - len(self.ases)

    def update_buckets(self):
        """The new-flow table is rebuilt on VIP add, AS add/del and weight
        change (PROTOCOL.md 5.5); here only the counts, and only when asked
        for after a change."""
        if not self.stale:
            return
        act = [a for a in self.ases if a.active and a.weight > 0]
        model = equal_counts if self.bucket_model == "equal" else maglev_counts
        counts, self.drop_buckets = model(
            self.new_length, [(a.ip46, a.weight) for a in act])
        for a in self.ases:
            a.num_buckets = 0
        for a, c in zip(act, counts):
            a.num_buckets = c
        self.stale = False

    def as_json(self):
        self.update_buckets()
        return {
            "index": self.index, "prefix": self.prefix_str(),
            "protocol": self.protocol, "port": self.port,
            "encap": ENCAP_NAMES[self.encap], "dscp": self.dscp,
            "srv_type": self.srv_type, "target_port": self.target_port,
            "new_flows_table_length": self.new_length,
            "src_ip_sticky": self.src_ip_sticky, "deleted": self.deleted,
            "flushes": self.flushes, "drop_buckets": self.drop_buckets,
            "ases": [{"address": ip46_str(a.ip46), "weight": a.weight,
                      "flags": a.flags, "in_use_since": a.in_use_since,
                      "num_buckets": a.num_buckets, "flushes": a.flushes}
                     for a in self.ases],
        }


class LB:
    def __init__(self, gc_period=60.0, gc_min_age=10.0, on_vip_added=None,
                 on_route_added=None, bucket_model="maglev"):
        self.t0 = time.monotonic()
        self.on_vip_added = on_vip_added   # (VIP) -> None: the stats segment
        self.on_route_added = on_route_added   # (stats_index) -> None
        self.ip4_src = DEFAULT_IP4_SRC
        self.ip6_src = DEFAULT_IP6_SRC
        self.sticky_buckets = DEFAULT_STICKY_BUCKETS
        self.flow_timeout = DEFAULT_FLOW_TIMEOUT
        self.vips = {}           # index -> VIP (incl. deleted, not collected)
        self.by_key = {}         # key -> active VIP
        self.by_prefix = {}      # (ip46, plen46) -> [active VIPs]
        self.routes = {}         # (ip46, plen46) -> FIB entry's stats_index
        self.free_lbi = []       # heap of freed load-balance indices
        self.next_lbi = ROUTE_BASE
        self.free_idx = []       # heap of freed VIP pool indices
        self.next_idx = 1        # pool index 0 is VPP's placeholder VIP
        self.next_dpo = 17
        self.gc_period = gc_period
        self.gc_min_age = gc_min_age
        self.set_bucket_model(bucket_model)
        self.sticky_resets = 0

    def set_bucket_model(self, model):
        """The bucket counts reported (dumps, CLI, state): "maglev" (VPP's)
        or "equal" (a fault, equal_counts).  The table the nftables mirror
        builds stays VPP's."""
        if model not in BUCKET_MODELS:
            raise ValueError("bucket model must be one of %s" %
                             ", ".join(BUCKET_MODELS))
        self.bucket_model = model
        for v in self.vips.values():
            v.bucket_model = model
            v.stale = True

    def now(self):
        return time.monotonic() - self.t0

    # --- conf --------------------------------------------------------------
    def conf(self, ip4, ip6, buckets, timeout):
        """lb_conf: both source addresses are always overwritten; 0xffffffff
        keeps buckets/timeout (PROTOCOL.md 5.4)."""
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
        """Every VIP that is not deleted, by pool index (VIP 0 hidden)."""
        return [v for _, v in sorted(self.vips.items()) if not v.deleted]

    def all_vips(self):
        """Every VIP in the pool by index, deleted-not-collected ones too
        (the CLI lists them, " removed"); VIP 0 hidden."""
        return [v for _, v in sorted(self.vips.items())]

    def find_vip(self, key):
        return self.by_key.get(key)

    def lookup(self, key):
        """key with an unmasked address: host bits are masked first."""
        return self.by_key.get((mask46(key[0], key[1]),) + tuple(key[1:]))

    def _alloc_index(self):
        if self.free_idx:
            return heapq.heappop(self.free_idx)
        self.next_idx += 1
        return self.next_idx - 1

    def add_vip(self, ip46, plen46, protocol, port, encap, **kw):
        """PROTOCOL.md 5.4, lb_add_del_vip add: the checks in VPP's order."""
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
        key = (ip46, plen46, protocol, port)
        if key in self.by_key:
            return VALUE_EXIST
        same = self.by_prefix.get((ip46, plen46), [])
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
        idx = self._alloc_index()
        v = VIP(idx, ip46, plen46, protocol, port, encap, **kw)
        v.bucket_model = self.bucket_model
        self.vips[idx] = v
        self.by_key[key] = v
        self.by_prefix.setdefault((ip46, plen46), []).append(v)
        if self.on_vip_added:
            self.on_vip_added(v)
        if (ip46, plen46) not in self.routes:
            self._add_route((ip46, plen46))
        return OK

    def _add_route(self, pfx):
        if self.free_lbi:
            lbi = heapq.heappop(self.free_lbi)
        else:
            lbi = self.next_lbi
            self.next_lbi += 1
        self.routes[pfx] = lbi
        if self.on_route_added:
            self.on_route_added(lbi)

    def route(self, ip46, plen46):
        """ip_route_lookup, table 0, exact: the stats_index of the FIB entry
        of this prefix (host bits masked), None if there is none."""
        return self.routes.get((mask46(ip46, plen46), plen46))

    def _unindex(self, v):
        del self.by_key[v.key()]
        same = self.by_prefix[(v.ip46, v.plen46)]
        same.remove(v)
        if not same:
            del self.by_prefix[(v.ip46, v.plen46)]
            heapq.heappush(self.free_lbi,
                           self.routes.pop((v.ip46, v.plen46)))

    def del_vip(self, key):
        """Deleted at once even with ASes; they are marked removed without
        flush, and the VIP stays in the pool (listed " removed" by the
        CLI, its index taken) until the GC process frees it once it has no
        AS left (PROTOCOL.md 5.4).  As lb_vip_del does through
        lb_vip_del_ass_withlock: the opportunistic, rate-limited GC of the
        VIP's ASes first, then every remaining AS (lingering ones too)
        marked removed now."""
        v = self.lookup(key)
        if not v:
            return NO_SUCH_ENTRY
        v.deleted = True
        self._unindex(v)
        if v.ases:
            self.gc_vip(v, free_vip=False)
            for a in v.ases:
                self._remove(a)
            v.stale = True
        return OK

    # --- ASes --------------------------------------------------------------
    @staticmethod
    def as_family_ok(v, as_is4):
        """The AS family must match the encap, not the VIP."""
        return as_is4 == (v.encap in (GRE4, L3DSR, NAT4))

    def _remove(self, a):
        a.flags = 0
        a.removed_at = self.now()
        a.in_use_since = int(a.removed_at)

    def add_as(self, key, ip46, as_is4, weight, flush):
        v = self.lookup(key)
        if not v:
            return NO_SUCH_ENTRY
        if not self.as_family_ok(v, as_is4):
            return INVALID_ADDRESS_FAMILY
        a = v.find_as(ip46)
        if a and a.active:
            return VALUE_EXIST   # weight NOT updated
        if a:                    # lingering: re-activated in the same slot
            if flush:
                a.flushes += 1
            a.flags, a.weight, a.removed_at = 1, weight, None
            v.stale = True
        else:
            v.add_as(AS(ip46, weight, self.next_dpo))
            self.next_dpo += 1
        self.gc_vip(v)
        return OK

    def del_as(self, key, ip46, flush):
        """lb_vip_del_ass_withlock: the rate-limited GC first, then the AS
        marked removed now (again for a lingering one: its removal time
        starts over)."""
        v = self.lookup(key)
        if not v:
            return NO_SUCH_ENTRY
        a = v.find_as(ip46)
        if not a:
            return NO_SUCH_ENTRY
        self.gc_vip(v)
        if a.active:
            v.stale = True
        self._remove(a)
        if flush:
            a.flushes += 1
        return OK

    def set_weight(self, key, ip46, weight, flush):
        v = self.lookup(key)
        if not v:
            return NO_SUCH_ENTRY
        a = v.find_as(ip46)
        if not a or not a.active:
            return NO_SUCH_ENTRY
        a.weight = weight
        v.stale = True
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
        """lb_as_dump filter: raw union bytes vs internal ip46 form; the
        protocol is not forced to 255 here (PROTOCOL.md 5.4)."""
        res = []
        for _, v in sorted(self.vips.items()):
            if un16 == bytes(16):
                res.append(v)
            elif (un16 == v.ip46 and protocol == v.protocol
                  and port == v.port):
                res.append(v)
        return res

    # --- garbage collection (no flows here, so refcounts are always 0) -----
    def gc_vip(self, v, force=False, min_age=None, free_vip=True):
        """Frees ASes removed more than min_age seconds ago, then (with
        free_vip, as the GC process does) the VIP if it is deleted and has
        none left; at most once per gc_period per VIP unless forced.
        -> (ASes freed, VIP freed)."""
        now = self.now()
        if not force and now - v.last_gc < self.gc_period:
            return 0, False
        v.last_gc = now
        age = self.gc_min_age if min_age is None else min_age
        freed = v.drop_ases(lambda a: a.active or a.removed_at is None
                            or now - a.removed_at <= age)
        if free_vip and v.deleted and not v.ases and v.index in self.vips:
            del self.vips[v.index]
            heapq.heappush(self.free_idx, v.index)
            return freed, True
        return freed, False

    def gc(self, force=True, min_age=None):
        """-> (ASes freed, VIPs freed) over all VIPs."""
        ases = vips = 0
        for v in list(self.vips.values()):
            a, gone = self.gc_vip(v, force, min_age)
            ases += a
            vips += gone
        return ases, vips

    def as_json(self):
        return {
            "conf": {"ip4_src_address": ".".join(str(b) for b in self.ip4_src),
                     "ip6_src_address": self.ip6_src.hex(),
                     "sticky_buckets_per_core": self.sticky_buckets,
                     "flow_timeout": self.flow_timeout,
                     "sticky_resets": self.sticky_resets},
            "vips": [v.as_json() for _, v in sorted(self.vips.items())],
        }
