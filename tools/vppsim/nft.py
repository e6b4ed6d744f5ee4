"""vppsim's nftables mirror (--nft-netns NS): a real dataplane for the lab.

For every active VIP with a port and protocol tcp whose ASes are of the
VIP's own address family, vppsim keeps in the network namespace NS, in a
table of its own (`table inet vppsim`):

* a named map of the VIP's new-flow table, bucket -> AS address, built as
  VPP's LB plugin builds it (lb.new_flow_table: same buckets, not only the
  same counts); drop buckets (VPP's AS 0) are left out of the map;
* in the regular chain `vips` (jumped to from a nat `output` chain, i.e.
  traffic generated in NS itself, e.g. curl or maglevt run with
  `ip netns exec NS`) a rule that DNATs a new connection to VIP:port to
  the map's entry at `jhash` of the flow mod the table size (the 4-tuple;
  the source address alone for a src_ip_sticky VIP, as VPP hashes it), and
  after it a rule that rejects (TCP reset) what found no entry: a drop
  bucket;
* in a nat `postrouting` chain a masquerade of the DNATed flows of each
  VIP prefix (the lab's backends only route their own link, so they must
  see the hub's address on that link as the client);
* a local route for the VIP prefix on `lo` (table local, proto 250), so a
  socket in NS can connect to the VIP at all; like the FIB entry the LB
  plugin installs per VIP prefix.

conntrack keeps an established flow on the AS it was DNATed to, whatever
the map says later: the kernel's counterpart of VPP's sticky flow table.
Only new connections follow a changed table.

Updates are debounced by the server (at most every 50 ms) and applied by a
worker thread, one `nft -f -` transaction per update (maps whose table
changed are flushed and refilled in it, atomically for the packets), so
vppsim's selector loop never waits for nft.  The table and the routes are
removed on exit.
"""
import subprocess
import threading
import time

import lb as lbm
from wire import ip46_str

TABLE = "vppsim"
ROUTE_PROTO = 250        # tags the local routes the mirror adds
HASH_SEED = 0x6d61676c   # jhash seed, fixed: the same flow, the same bucket
NFT_TIMEOUT = 20.0       # seconds one nft/ip run may take (a loaded machine)
RETRY = 1.0              # seconds before a failed update is tried again


class VipSpec(tuple):
    """What the mirror needs of one VIP, a snapshot taken in the server's
    loop: (name, family, prefix, port, sticky, M, target_port, ases) with
    ases a tuple of (ip46, weight) of the active ASes, slot order."""
    __slots__ = ()

    def __new__(cls, *a):
        return tuple.__new__(cls, a)

    name = property(lambda s: s[0])
    family = property(lambda s: s[1])
    prefix = property(lambda s: s[2])
    port = property(lambda s: s[3])
    sticky = property(lambda s: s[4])
    M = property(lambda s: s[5])
    target_port = property(lambda s: s[6])
    ases = property(lambda s: s[7])

    def rule_part(self):
        return self[:7]


def map_name(v_is4, prefix, port, M):
    """e.g. vip4_198_19_0_10_32_tcp80_1024 (nft names: letters, digits, _)."""
    txt = prefix.replace(".", "_").replace(":", "_").replace("/", "_")
    return "vip%d_%s_tcp%d_%d" % (4 if v_is4 else 6, txt, port, M)


def mirrorable(v):
    """-> None if the VIP is mirrored, else why not."""
    if v.deleted:
        return "deleted"
    if v.port == 0 or v.protocol != 6:
        return "not a tcp per-port VIP"
    if v.is_ip4 != (v.encap in (lbm.GRE4, lbm.L3DSR, lbm.NAT4)):
        return "ASes of the other address family (encap %s)" \
            % lbm.ENCAP_NAMES[v.encap]
    if v.new_length < 1 or v.new_length > (1 << 20):
        return "table size %d out of the mirror's range" % v.new_length
    return None


def snapshot(lbstate):
    """-> ({name: VipSpec}, {VIP text: reason} of those not mirrored).
    Cheap (no tables built): called in the server's loop."""
    specs, skipped = {}, {}
    for v in lbstate.active_vips():
        why = mirrorable(v)
        text = "%s %s:%d" % (v.prefix_str(), "tcp" if v.protocol == 6
                             else "proto%d" % v.protocol, v.port)
        if why:
            skipped[text] = why
            continue
        name = map_name(v.is_ip4, v.prefix_str(), v.port, v.new_length)
        tport = v.target_port if v.encap in (lbm.NAT4, lbm.NAT6) else 0
        ases = tuple((a.ip46, a.weight) for a in v.ases if a.active)
        specs[name] = VipSpec(name, 4 if v.is_ip4 else 6, v.prefix_str(),
                              v.port, bool(v.src_ip_sticky), v.new_length,
                              tport, ases)
    return specs, skipped


class Mirror:
    """The nftables state of one namespace, kept equal to the latest
    snapshot by a worker thread."""

    def __init__(self, netns, table=TABLE, log=None, timeout=NFT_TIMEOUT):
        self.netns = netns
        self.table = table
        self.log = log or (lambda *a: None)
        self.timeout = timeout
        self.cond = threading.Condition()
        self.pending = None      # (seq, specs) not yet taken by the worker
        self.seq = 0             # of the latest snapshot submitted
        self.applied_seq = 0     # of the latest snapshot in the kernel
        self.skipped = {}
        self.busy = False
        self.stopping = False
        self.runs = 0            # nft transactions run
        self.errors = 0
        self.last_error = None
        self.last_run_s = 0.0
        self.full = True         # the next update rewrites the whole table
        self.rules = None        # rule parts applied: {name: rule_part}
        self.maps = {}           # name -> tuple of bucket addresses applied
        self.routes = set()      # (family, prefix) routes applied
        self.cache = {}          # (M, ases) -> tuple of bucket addresses
        self.thread = None
        self.failed = None        # (seq, specs) to retry at retry_at
        self.retry_at = 0.0

    # --- commands in the namespace ------------------------------------------
    def _run(self, argv, script):
        cmd = ["ip", "netns", "exec", self.netns] + argv
        try:
            r = subprocess.run(cmd, input=script, capture_output=True,
                               text=True, timeout=self.timeout)
        except subprocess.TimeoutExpired:
            return "%s: no answer in %.0f s" % (" ".join(argv), self.timeout)
        except OSError as e:
            return "%s: %s" % (" ".join(argv), e)
        if r.returncode != 0:
            return "%s: exit %d: %s" % (" ".join(argv), r.returncode,
                                        (r.stderr or r.stdout).strip()[-2000:])
        return None

    def nft(self, script):
        return self._run(["nft", "-f", "-"], script)

    def ip_batch(self, lines):
        if not lines:
            return None
        return self._run(["ip", "-force", "-batch", "-"],
                         "".join(x + "\n" for x in lines))

    # --- building the scripts ------------------------------------------------
    def table_of(self, spec):
        """The VIP's new-flow table as AS address strings (None: drop)."""
        key = (spec.M, spec.ases)
        t = self.cache.get(key)
        if t is None:
            pos = lbm.new_flow_table(spec.M, list(spec.ases))
            names = [ip46_str(a) for a, _ in spec.ases]
            t = tuple(names[i] if i >= 0 else None for i in pos)
            if len(self.cache) > 4096:
                self.cache.clear()
            self.cache[key] = t
        return t

    def base_script(self):
        """The table from scratch: chains without VIP rules."""
        t = self.table
        return [
            "add table inet %s" % t,
            "delete table inet %s" % t,
            "add table inet %s" % t,
            "add chain inet %s vips" % t,
            "add chain inet %s out { type nat hook output priority -100; "
            "policy accept; }" % t,
            "add rule inet %s out jump vips" % t,
            "add chain inet %s post { type nat hook postrouting priority "
            "100; policy accept; }" % t,
        ]

    def rule_lines(self, specs):
        """-> (lines that empty the chains, lines that fill them); the maps
        are deleted/added between the two."""
        t = self.table
        flush = ["flush chain inet %s vips" % t, "flush chain inet %s post" % t]
        out = []
        prefixes = []
        for name in sorted(specs):
            s = specs[name]
            ip = "ip" if s.family == 4 else "ip6"
            match = "%s daddr %s tcp dport %d" % (ip, s.prefix, s.port)
            if s.sticky:
                flow = "%s saddr" % ip
            else:
                flow = "%s saddr . tcp sport . %s daddr . tcp dport" % (ip, ip)
            to = " : %d" % s.target_port if s.target_port else ""
            out.append("add rule inet %s vips %s dnat %s to jhash %s mod %d "
                       "seed 0x%x map @%s%s" % (t, match, ip, flow, s.M,
                                                HASH_SEED, name, to))
            out.append("add rule inet %s vips %s counter reject with tcp reset"
                       % (t, match))
            if (s.family, s.prefix) not in prefixes:
                prefixes.append((s.family, s.prefix))
        for fam, pfx in prefixes:
            out.append("add rule inet %s post ct status dnat ct original %s "
                       "daddr %s masquerade" % (t, "ip" if fam == 4 else "ip6",
                                                pfx))
        return flush, out

    def update(self, specs):
        """Bring the kernel to `specs` -> error text or None."""
        t = self.table
        lines = []
        full = self.full
        if full:
            lines += self.base_script()
            old_maps, old_rules = {}, None
        else:
            old_maps, old_rules = self.maps, self.rules
        rules = {n: s.rule_part() for n, s in specs.items()}
        tables = {n: self.table_of(s) for n, s in specs.items()}
        if rules != old_rules:
            # nft 1.0.6 crashes listing a map declared `typeof jhash ...`;
            # numgen's result is the same 32-bit integer
            flush, add = self.rule_lines(specs)
            lines += flush
            for n in sorted(set(old_maps) - set(specs)):
                lines.append("delete map inet %s %s" % (t, n))
            for n in sorted(set(specs) - set(old_maps)):
                s = specs[n]
                lines.append("add map inet %s %s { typeof numgen inc mod %d "
                             ": %s daddr; }" % (t, n, s.M, "ip" if s.family == 4
                                                else "ip6"))
            lines += add
        for n in sorted(specs):
            if old_maps.get(n) == tables[n]:
                continue
            lines.append("flush map inet %s %s" % (t, n))
            elems = ["%d : %s" % (b, a) for b, a in enumerate(tables[n])
                     if a is not None]
            for i in range(0, len(elems), 4096):
                lines.append("add element inet %s %s { %s }"
                             % (t, n, ", ".join(elems[i:i + 4096])))
        if lines:
            err = self.nft("".join(x + "\n" for x in lines))
            self.runs += 1
            if err:
                self.full = True
                return err
        self.full = False
        self.rules, self.maps = rules, tables
        # the routes (not in the transaction: ip's, not nft's)
        want = {(s.family, s.prefix) for s in specs.values()}
        if full:
            err = self.flush_routes()
            if err:
                self.full = True
                return err
            self.routes = set()
        cmds = ["route replace local %s dev lo table local proto %d"
                % (p, ROUTE_PROTO) for _, p in sorted(want - self.routes)]
        cmds += ["route del local %s dev lo table local proto %d"
                 % (p, ROUTE_PROTO) for _, p in sorted(self.routes - want)]
        err = self.ip_batch(cmds)
        if err:
            self.full = True
            return err
        self.routes = want
        return None

    def flush_routes(self):
        """Every route the mirror added (this run or a crashed one)."""
        for fam in ("-4", "-6"):
            err = self._run(["ip", fam, "route", "flush", "table", "local",
                             "proto", str(ROUTE_PROTO)], "")
            if err:
                return err
        return None

    # --- life cycle ----------------------------------------------------------
    def start(self):
        """The empty table, synchronously (a bad namespace or a missing nft
        is reported at start-up), then the worker."""
        err = self.update({})
        if err:
            raise RuntimeError("nft mirror in netns %s: %s" % (self.netns, err))
        self.thread = threading.Thread(target=self.work, name="nft-mirror",
                                       daemon=True)
        self.thread.start()

    def submit(self, specs, skipped):
        """A new snapshot (the server's loop): the worker takes the latest."""
        with self.cond:
            self.seq += 1
            self.pending = (self.seq, specs)
            self.skipped = skipped
            self.cond.notify()

    def work(self):
        while True:
            with self.cond:
                while not self.stopping and self.pending is None:
                    if self.failed is None:
                        self.cond.wait()
                        continue
                    left = self.retry_at - time.monotonic()
                    if left <= 0:
                        self.pending = self.failed
                        break
                    self.cond.wait(left)
                if self.stopping:
                    return
                seq, specs = self.pending
                self.pending = self.failed = None
                self.busy = True
            t0 = time.monotonic()
            try:
                err = self.update(specs)
            except Exception as e:          # never let the worker die
                err = "%s: %s" % (type(e).__name__, e)
                self.full = True
            with self.cond:
                self.busy = False
                self.last_run_s = time.monotonic() - t0
                if err:
                    self.errors += 1
                    self.last_error = err
                    if self.pending is None:
                        self.failed = (seq, specs)
                        self.retry_at = time.monotonic() + RETRY
                    self.log("nft mirror: %s (retrying)" % err)
                else:
                    self.applied_seq = seq
                self.cond.notify_all()

    def stop(self, timeout=NFT_TIMEOUT + 5):
        """Stop the worker (after the run under way), then remove the table
        and the routes."""
        with self.cond:
            self.stopping = True
            self.cond.notify_all()
        if self.thread is not None:
            self.thread.join(timeout)
        t = self.table
        err = self.nft("add table inet %s\ndelete table inet %s\n" % (t, t))
        err2 = self.flush_routes()
        for e in (err, err2):
            if e:
                self.log("nft mirror clean-up: %s" % e)

    def status(self):
        """For the control command `nft`."""
        with self.cond:
            vips = {}
            for n, tab in (self.maps or {}).items():
                counts = {}
                drop = 0
                for a in tab:
                    if a is None:
                        drop += 1
                    else:
                        counts[a] = counts.get(a, 0) + 1
                part = (self.rules or {}).get(n)
                vips[n] = {"prefix": part[2] if part else None,
                           "port": part[3] if part else None,
                           "sticky": part[4] if part else None,
                           "buckets": counts, "drop_buckets": drop}
            return {"netns": self.netns, "table": self.table,
                    "submitted": self.seq, "applied": self.applied_seq,
                    "busy": self.busy or self.pending is not None,
                    "runs": self.runs, "errors": self.errors,
                    "last_error": self.last_error,
                    "last_run_s": round(self.last_run_s, 4),
                    "routes": sorted(p for _, p in self.routes),
                    "skipped": dict(self.skipped), "vips": vips}
