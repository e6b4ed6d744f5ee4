"""The API's edge (issue 11, parts 2 and 4): maglevd never destroys what sits
at its unix socket path (a file, a symlink, another program's live socket),
replaces only a stale socket, removes its own socket and lock file on a clean
exit; names from requests are shown cut to 128 bytes in errors and logs;
vpp-connect-failed is a WARN once per VPP outage."""
import json
import os
import signal
import socket
import subprocess
import sys

import grpc
import pytest

from lab import Daemon, Lab, MAGLEVD, MINIMAL_CONFIG
from vpplab import VPPSim, start_maglevd

sys.path.insert(0, os.environ.get("PROTO_PY_DIR", "build/proto"))
import maglev_pb2 as pb  # noqa: E402

CONFIG = MINIMAL_CONFIG


@pytest.fixture
def config(tmp_path):
    path = tmp_path / "maglev.yaml"
    path.write_text(CONFIG)
    return str(path)


def refused(config, sock):
    """maglevd on unix:sock must refuse to start: -> its api-error text."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAGLEV_")}
    p = subprocess.run([MAGLEVD, "--config", config, "--log-format", "json", "--vpp-api-addr",
                        "", "--grpc-addr", "unix:" + sock], capture_output=True, text=True,
                       env=env, timeout=20)
    assert p.returncode == 1, p.stderr
    errs = [json.loads(line) for line in p.stderr.splitlines()]
    errs = [r["error"] for r in errs if r["msg"] == "api-error"]
    assert errs, p.stderr
    assert not os.path.exists(sock + ".lock")  # the lock we took is gone again
    return errs[0]


def serving(daemon):
    ch = grpc.insecure_channel(daemon.grpc_addr)
    try:
        f = ch.unary_unary("/maglev.Maglev/GetVersion",
                           request_serializer=pb.GetVersionRequest.SerializeToString,
                           response_deserializer=pb.VersionInfo.FromString)
        Lab.wait_for(lambda: _try(f), "maglevd serving")
        return f(pb.GetVersionRequest(), timeout=5)
    finally:
        ch.close()


def _try(f):
    try:
        f(pb.GetVersionRequest(), timeout=5)
        return True
    except grpc.RpcError:
        return False


# ---- what sits at the socket path ----

def test_regular_file_at_path_is_kept(tmp_path, config):
    path = tmp_path / "mycfg.yaml"
    path.write_text("precious: true\n")
    err = refused(config, str(path))
    assert str(path) in err and "regular file" in err and "not a socket" in err
    assert "another path" in err
    assert path.read_text() == "precious: true\n"


def test_symlink_at_path_is_kept(tmp_path, config):
    target = tmp_path / "target.txt"
    target.write_text("keep\n")
    link = tmp_path / "m.sock"
    link.symlink_to(target)
    err = refused(config, str(link))
    assert str(link) in err and "symlink" in err
    assert os.path.islink(link) and os.readlink(link) == str(target)
    assert target.read_text() == "keep\n"


def test_symlink_to_a_socket_is_kept(tmp_path, config):
    """gRPC core itself would unlink a symlink whose target is a socket."""
    real = tmp_path / "real.sock"
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(str(real))  # stale: bound, not listening
    s.close()
    link = tmp_path / "m.sock"
    link.symlink_to(real)
    err = refused(config, str(link))
    assert "symlink" in err
    assert os.path.islink(link) and os.path.exists(real)


def test_live_foreign_socket_is_kept(tmp_path, config):
    path = str(tmp_path / "api.sock")
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path)
    srv.listen(4)
    try:
        ino = os.stat(path).st_ino
        err = refused(config, path)
        assert path in err and "live listener" in err and "another path" in err
        assert os.stat(path).st_ino == ino
        c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        c.connect(path)  # still the other program's socket, still answering
        conn, _ = srv.accept()
        conn.close()
        c.close()
    finally:
        srv.close()


def test_live_foreign_datagram_socket_is_kept(tmp_path, config):
    path = str(tmp_path / "dgram.sock")
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    srv.bind(path)
    try:
        ino = os.stat(path).st_ino
        err = refused(config, path)
        assert path in err
        assert os.stat(path).st_ino == ino
    finally:
        srv.close()


def test_stale_socket_is_replaced_and_everything_goes_at_exit(tmp_path, config):
    path = str(tmp_path / "run" / "maglevd.sock")
    os.mkdir(tmp_path / "run")
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(path)  # what a maglevd killed with -9 leaves: nobody listens
    s.close()
    d = Daemon(config, grpc_addr="unix:" + path)
    try:
        rec = d.wait_for("api-stale-socket-removed")
        assert rec["path"] == path
        assert serving(d).pid == d.p.pid  # (the new socket may reuse the inode number)
        assert os.path.exists(path + ".lock")
    finally:
        assert d.stop() == 0
    assert not os.path.exists(path)
    assert not os.path.exists(path + ".lock")
    assert os.listdir(tmp_path / "run") == []


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_socket_and_lock_removed_on_clean_exit(tmp_path, config, sig):
    path = str(tmp_path / "maglevd.sock")
    d = Daemon(config, grpc_addr="unix:" + path)
    try:
        serving(d)
        assert os.path.exists(path) and os.path.exists(path + ".lock")
    finally:
        d.p.send_signal(sig)
        d.p.wait(timeout=15)
        assert d.stop() == 0
    assert not os.path.exists(path)
    assert not os.path.exists(path + ".lock")


def test_what_replaced_our_socket_is_kept_at_exit(tmp_path, config):
    """Only the socket maglevd bound (same device and inode) is removed."""
    path = str(tmp_path / "maglevd.sock")
    d = Daemon(config, grpc_addr="unix:" + path)
    try:
        serving(d)
        os.unlink(path)
        with open(path, "w") as f:
            f.write("someone else's\n")
    finally:
        assert d.stop() == 0
    assert open(path).read() == "someone else's\n"
    assert d.find("api-socket-path-replaced", path=path)


def test_second_maglevd_leaves_the_first_alone(tmp_path, config):
    path = str(tmp_path / "maglevd.sock")
    d = Daemon(config, grpc_addr="unix:" + path)
    try:
        serving(d)
        ino = os.stat(path).st_ino
        env = {k: v for k, v in os.environ.items() if not k.startswith("MAGLEV_")}
        p = subprocess.run([MAGLEVD, "--config", config, "--log-format", "json",
                            "--vpp-api-addr", "", "--grpc-addr", "unix:" + path],
                           capture_output=True, text=True, env=env, timeout=20)
        assert p.returncode == 1 and "another maglevd holds" in p.stderr
        assert os.stat(path).st_ino == ino and os.path.exists(path + ".lock")
        assert serving(d).pid == d.p.pid
    finally:
        assert d.stop() == 0


# ---- names from requests, cut in errors and logs ----

def cut(name):
    b = name.encode()
    if len(b) <= 128:
        return name
    n = 128
    while b[n] & 0xC0 == 0x80:
        n -= 1
    return b[:n].decode() + "..."


def test_huge_names_are_cut_in_errors_and_logs(tmp_path, config):
    d = Daemon(config, grpc_addr="unix:" + str(tmp_path / "maglevd.sock"))
    try:
        serving(d)
        ch = grpc.insecure_channel(d.grpc_addr)

        def fail(method, req, resp):
            f = ch.unary_unary(f"/maglev.Maglev/{method}",
                               request_serializer=req.SerializeToString,
                               response_deserializer=resp.FromString)
            with pytest.raises(grpc.RpcError) as e:
                f(req, timeout=10)
            return e.value.code(), e.value.details()

        huge = "x" * (1024 * 1024 - 64)  # as much as a request may carry (1 MiB)
        nf = grpc.StatusCode.NOT_FOUND
        assert fail("GetBackend", pb.GetBackendRequest(name=huge), pb.Backend) == \
            (nf, f'backend "{"x" * 128}..." not found')
        assert fail("GetFrontend", pb.GetFrontendRequest(name=huge), pb.Frontend) == \
            (nf, f'frontend "{"x" * 128}..." not found')
        assert fail("GetHealthCheck", pb.GetHealthCheckRequest(name=huge), pb.HealthCheck) == \
            (nf, f'healthcheck "{"x" * 128}..." not found')
        assert fail("PauseBackend", pb.BackendActionRequest(name=huge), pb.Backend) == \
            (nf, f'backend "{"x" * 128}..." not found')
        # cut at a character boundary: never half a UTF-8 sequence
        wide = "a" + "\u00e9" * 300
        assert fail("GetBackend", pb.GetBackendRequest(name=wide), pb.Backend) == \
            (nf, f'backend "{cut(wide)}" not found')
        assert len(cut(wide).encode()) == 127 + 3
        # exactly 128 bytes: shown whole
        assert fail("GetBackend", pb.GetBackendRequest(name="y" * 128), pb.Backend) == \
            (nf, f'backend "{"y" * 128}" not found')
        # three names, each cut
        code, msg = fail("SetFrontendPoolBackendWeight",
                         pb.SetWeightRequest(frontend="web", pool="primary",
                                             backend="z" * 100000, weight=5), pb.Frontend)
        assert code == nf and f'"{"z" * 128}..."' in msg and "z" * 129 not in msg
        code, msg = fail("SetFrontendPoolBackendWeight",
                         pb.SetWeightRequest(frontend="f" * 5000, pool="p" * 5000,
                                             backend="b" * 5000, weight=5), pb.Frontend)
        assert code == nf and f'"{"f" * 128}..."' in msg and "f" * 129 not in msg
        ch.close()
    finally:
        assert d.stop() == 0
    longest = max(len(json.dumps(r)) for r in d.records)
    assert longest < 4096, "a log record echoes a huge name"


def test_huge_log_level_is_cut(tmp_path, config):
    d = Daemon(config, grpc_addr="unix:" + str(tmp_path / "maglevd.sock"))
    try:
        serving(d)
        ch = grpc.insecure_channel(d.grpc_addr)
        f = ch.unary_stream("/maglev.Maglev/WatchEvents",
                            request_serializer=pb.WatchEventsRequest.SerializeToString,
                            response_deserializer=pb.Event.FromString)
        with pytest.raises(grpc.RpcError) as e:
            list(f(pb.WatchEventsRequest(log=True, log_level="q" * 100000), timeout=10))
        assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert e.value.details() == \
            f'log level "{"q" * 128}..." is not debug, info, warn or error'
        ch.close()
    finally:
        assert d.stop() == 0


# ---- vpp-connect-failed: WARN once per outage ----

def test_vpp_connect_failed_warns_once_per_outage(tmp_path, config):
    """An outage as a VPP restart looks from outside: the connection drops,
    VPP answers the handshake with a refusal for a while, then its socket is
    gone, then it is back. Whatever the errors, one WARN per outage."""
    sim = VPPSim(str(tmp_path))
    d = None
    try:
        d = start_maglevd(config, sim)
        outages = 3
        for i in range(outages):
            d.wait_for("vpp-connect")
            n = len(d.find("vpp-connect"))
            failed = len(d.find("vpp-connect-failed"))
            sim.call("handshake", mode="refuse")
            sim.call("cut")
            Lab.wait_for(lambda: len(d.find("vpp-connect-failed")) > failed,
                         "a refused handshake")
            sim.call("restart", down=4.5)  # socket gone: ENOENT at the next try
            sim.call("handshake", mode="ok")
            Lab.wait_for(lambda: len(d.find("vpp-connect")) > n, "reconnect")
        failed = d.find("vpp-connect-failed")
        warns = [r for r in failed if r["level"] == "warn"]
        errors = {r["error"] for r in failed}
        assert len(d.find("vpp-disconnect")) == outages
        assert any("refused" in e for e in errors), errors
        assert any("No such file" in e for e in errors), errors
        assert len(warns) == outages, [r["error"] for r in warns]
        assert len(failed) > len(warns), "the later failures of an outage are logged at DEBUG"
    finally:
        if d:
            d.stop()
        sim.stop()
