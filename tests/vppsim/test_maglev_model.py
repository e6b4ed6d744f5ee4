"""The C model of VPP's new-flow table (src/lb/maglev.c, through the
maglev_print helper this suite builds) against vppsim's Python model
(tools/vppsim/lb.py: the table its nftables mirror uses, and the bucket
counts it reports in lb_as_v2_details), and its hash against Debian's
xxhash library (python3-xxhash): vppinfra's clib_xxhash is XXH64 of the
8 bytes of a u64 with seed 0x9e3779b97f4a7c13.
"""
import ipaddress
import os
import random
import struct
import subprocess
import sys

import pytest

VPPSIM_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                          "tools", "vppsim")
sys.path.insert(0, VPPSIM_DIR)
import lb  # noqa: E402

PRINT = os.environ.get("MAGLEV_PRINT", "build/tests/vppsim/maglev_print")
pytestmark = pytest.mark.skipif(not os.access(PRINT, os.X_OK),
                                reason=f"no maglev_print at {PRINT} (set MAGLEV_PRINT)")


def c_model(length, ases):
    args = [PRINT, str(length)] + [f"{a}={w}" for a, w in ases]
    out = subprocess.run(args, capture_output=True, text=True, check=True).stdout.split("\n")
    return ([int(x) for x in out[0].split()], [int(x) for x in out[1].split()],
            int(out[2]))


def ip46(a):
    ip = ipaddress.ip_address(a)
    return (bytes(12) + ip.packed) if ip.version == 4 else ip.packed


def test_hash_is_xxh64_with_vppinfras_seed():
    xxhash = pytest.importorskip("xxhash")
    rng = random.Random(7)
    keys = [0, 1, 0x0a000001, 2**64 - 1] + [rng.getrandbits(64) for _ in range(200)]
    out = subprocess.run([PRINT, "--xxhash", *map(str, keys)], capture_output=True, text=True,
                         check=True).stdout.split()
    for k, h in zip(keys, out):
        want = xxhash.xxh64_intdigest(struct.pack("<Q", k), seed=0x9e3779b97f4a7c13)
        assert int(h, 16) == want == lb.clib_xxhash(k), hex(k)


@pytest.mark.parametrize("seed", range(40))
def test_tables_and_counts_agree_with_vppsim(seed):
    rng = random.Random(seed)
    n = rng.randint(1, 40)
    length = 1 << rng.randint(0, 12)
    v6 = seed % 4 == 0
    addrs = set()
    while len(addrs) < n:
        addrs.add(str(ipaddress.ip_address((0x20010db8 << 96) + rng.getrandbits(64))) if v6 else
                  str(ipaddress.ip_address(0x0a000000 + rng.getrandbits(24))))
    ases = [(a, rng.choice([0, 1, 2, 5, 10, 50, 99, 100, rng.randint(0, 100)]))
            for a in sorted(addrs, key=lambda _: rng.random())]
    table, counts, none = c_model(length, ases)
    py = lb.new_flow_table(length, [(ip46(a), w) for a, w in ases])
    assert table == py
    py_counts, py_none = lb.maglev_counts(length, [(ip46(a), w) for a, w in ases])
    assert counts == py_counts and none == py_none
    assert [table.count(i) for i in range(n)] == counts
