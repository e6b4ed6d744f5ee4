#!/usr/bin/python3
"""vppsim: a stand-in VPP speaking the binary API over a UNIX socket.

Implements memclnt (sockclnt_create/delete, control_ping), show_version,
cli_inband (a few show commands), ip_route_lookup and the LB plugin API
(lb.api 1.2.0) with the semantics described in the implementer's notes
(/work/shared/vpp/PROTOCOL.md), written independently of the C client,
and a stats segment (per-VIP LB counters, /net/route/to, /sys/heartbeat)
handed out on --stats-socket.
State is written lazily as JSON to --state-file (at most every 50 ms, and
on exit); a --control socket lets tests inspect it and inject faults.
See README.md.
"""
import argparse
import os
import signal
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import lb as lbm  # noqa: E402
from server import Server  # noqa: E402
from wire import LB_V12_ONLY  # noqa: E402


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--socket", required=True, help="API socket path")
    p.add_argument("--control", help="control socket path (JSON lines, "
                   "mode 0600; see README.md)")
    p.add_argument("--version", default="26.10-rc0~374-gb575ec2c5",
                   help="show_version version string")
    p.add_argument("--missing", default="",
                   help="comma list of messages to leave out of the table "
                        "(X also drops X_reply; X_dump also X_details)")
    p.add_argument("--bad-crc", default="",
                   help="comma list of messages advertised with a wrong CRC")
    p.add_argument("--old-lb", action="store_true",
                   help="simulate lb.api 1.1.0 (VPP <= 26.06): no v2/weight "
                        "messages and no lb_conf_get")
    p.add_argument("--pad", type=int, default=0,
                   help="extra filler table entries (simulate a big table)")
    p.add_argument("--id-base", type=int,
                   help="first dynamic message id (>= 29); without --seed "
                        "also a fixed module order without gaps. Default: "
                        "29 + a random offset, random order and gaps, new "
                        "ones at every start and restart")
    p.add_argument("--seed", type=int,
                   help="seed for the random id layouts (reproducible runs)")
    p.add_argument("--state-file", help="JSON state file, rewritten lazily "
                   "(at most every 50 ms) after changes and on exit")
    p.add_argument("--on-fatal", choices=["exit", "record"], default="exit",
                   help="requests that take real VPP down: exit (status 70) "
                        "or only record them in the state")
    p.add_argument("--gc-period", type=float, default=60.0)
    p.add_argument("--gc-min-age", type=float, default=10.0)
    p.add_argument("--journal-max", type=int, default=1000000,
                   help="entries the journal of received LB writes keeps "
                        "(the newest; 0: none)")
    p.add_argument("--stats-socket", help="stats socket path (SOCK_SEQPACKET; "
                   "each connection gets the segment's memfd, as VPP's "
                   "stats.sock). None without it; the segment exists anyway")
    p.add_argument("--stats-threads", type=int, default=2,
                   help="threads (main + workers) of the per-thread counter "
                        "vectors (default 2)")
    p.add_argument("--stats-size", type=int, default=32 << 20,
                   help="segment size in bytes (default 32 MiB, sparse)")
    p.add_argument("--stats-interval", type=float, default=1.0,
                   help="seconds between /sys/heartbeat increments "
                        "(default 1; VPP's is 10)")
    p.add_argument("--nft-netns", metavar="NS",
                   help="mirror the LB state into nftables in network "
                        "namespace NS: a real dataplane for the tcp per-port "
                        "VIPs (see README.md, the nftables mirror)")
    p.add_argument("--nft-table", default="vppsim",
                   help="the mirror's nftables table (family inet; default "
                        "vppsim)")
    p.add_argument("--bucket-model", choices=lbm.BUCKET_MODELS,
                   default="maglev",
                   help="bucket counts reported per AS: maglev (VPP's "
                        "algorithm, default) or equal (a fault: an even "
                        "split ignoring weights, like a VPP running "
                        "another algorithm)")
    p.add_argument("-v", "--verbose", action="store_true")
    a = p.parse_args(argv)
    missing = [m for m in a.missing.split(",") if m]
    if a.old_lb:
        missing += LB_V12_ONLY
    if a.id_base is not None and a.id_base < 29:
        p.error("--id-base must be >= 29 (memclnt ids are fixed below)")
    if not 0 <= a.pad <= 60000:
        p.error("--pad must be 0..60000")
    if a.stats_interval <= 0:
        p.error("--stats-interval must be > 0")
    try:
        srv = Server(a.socket, control=a.control, version=a.version,
                     missing=missing, bad_crc=a.bad_crc.split(","),
                     pad=a.pad, id_base=a.id_base, seed=a.seed,
                     state_file=a.state_file, on_fatal=a.on_fatal,
                     gc_period=a.gc_period, gc_min_age=a.gc_min_age,
                     verbose=a.verbose, journal_max=a.journal_max,
                     stats_socket=a.stats_socket,
                     stats_threads=a.stats_threads,
                     stats_size=a.stats_size,
                     stats_interval=a.stats_interval,
                     nft_netns=a.nft_netns, nft_table=a.nft_table,
                     bucket_model=a.bucket_model)
        srv.start_nft()
    except (ValueError, RuntimeError) as e:
        p.error(str(e))

    def stop(*_):
        srv.running = False
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    signal.set_wakeup_fd(srv.wakeup_fd())   # wake the select() at once
    srv.serve()
    return 70 if srv.fatal and a.on_fatal == "exit" else 0


if __name__ == "__main__":
    sys.exit(main())
