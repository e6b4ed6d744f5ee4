"""The API over TLS with mutual authentication (issue 11, part 3): TCP
listeners serve TLS when --grpc-tls-cert/--grpc-tls-key/--grpc-tls-client-ca
are given and accept only clients whose certificate the client CA signed;
maglevc speaks it with --tls-ca/--tls-cert/--tls-key; a bad file stops
maglevd at start naming the file; a plaintext TCP listener on a non-loopback
address logs api-plaintext-remote. Certificates are made here with openssl."""
import json
import os
import socket
import subprocess
import sys

import grpc
import pytest

from lab import Daemon, Lab, MAGLEVC, MAGLEVD, MINIMAL_CONFIG, is_root

sys.path.insert(0, os.environ.get("PROTO_PY_DIR", "build/proto"))
import maglev_pb2 as pb  # noqa: E402


pytestmark = pytest.mark.skipif(not is_root(), reason="integration tests run as root")

CONFIG = MINIMAL_CONFIG


def openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def make_ca(d, name):
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
            "-nodes", "-keyout", f"{name}.key", "-out", f"{name}.pem", "-days", "2",
            "-subj", f"/CN={name}", cwd=d)


def make_cert(d, ca, name, san=None):
    ext = os.path.join(d, f"{name}.ext")
    with open(ext, "w") as f:
        f.write("basicConstraints=CA:FALSE\n")
        if san:
            f.write(f"subjectAltName={san}\nextendedKeyUsage=serverAuth\n")
        else:
            f.write("extendedKeyUsage=clientAuth\n")
    openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", f"/O=maglev-test/CN={name}",
            cwd=d)
    openssl("x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.pem", "-CAkey", f"{ca}.key",
            "-CAcreateserial", "-days", "2", "-extfile", ext, "-out", f"{name}.pem", cwd=d)


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    d = str(tmp_path_factory.mktemp("pki"))
    make_ca(d, "ca")
    make_ca(d, "otherca")
    make_cert(d, "ca", "server", san="IP:127.0.0.1,DNS:localhost")
    make_cert(d, "ca", "maglevc-test")
    make_cert(d, "otherca", "intruder")
    return lambda name: os.path.join(d, name)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def config(tmp_path):
    path = tmp_path / "maglev.yaml"
    path.write_text(CONFIG)
    return str(path)


def tls_args(pki):
    return ("--grpc-tls-cert", pki("server.pem"), "--grpc-tls-key", pki("server.key"),
            "--grpc-tls-client-ca", pki("ca.pem"))


@pytest.fixture
def daemon(config, pki):
    d = Daemon(config, *tls_args(pki), grpc_addr=f"127.0.0.1:{free_port()}")
    d.wait_for("api-tls-listener")
    yield d
    d.stop()


def read(p):
    with open(p, "rb") as f:
        return f.read()


def get_version(addr, creds, **opts):
    ch = grpc.secure_channel(addr, creds, options=list(opts.items()))
    try:
        f = ch.unary_unary("/maglev.Maglev/GetVersion",
                           request_serializer=pb.GetVersionRequest.SerializeToString,
                           response_deserializer=pb.VersionInfo.FromString)
        return f(pb.GetVersionRequest(), timeout=30)
    finally:
        ch.close()


def test_mutual_tls_get_version(daemon, pki):
    creds = grpc.ssl_channel_credentials(read(pki("ca.pem")), read(pki("maglevc-test.key")),
                                         read(pki("maglevc-test.pem")))
    v = get_version(daemon.grpc_addr, creds)
    assert v.pid == daemon.p.pid


def test_no_client_cert_is_refused(daemon, pki):
    creds = grpc.ssl_channel_credentials(read(pki("ca.pem")))
    with pytest.raises(grpc.RpcError) as e:
        get_version(daemon.grpc_addr, creds)
    assert e.value.code() == grpc.StatusCode.UNAVAILABLE


def test_cert_of_another_ca_is_refused(daemon, pki):
    creds = grpc.ssl_channel_credentials(read(pki("ca.pem")), read(pki("intruder.key")),
                                         read(pki("intruder.pem")))
    with pytest.raises(grpc.RpcError) as e:
        get_version(daemon.grpc_addr, creds)
    assert e.value.code() == grpc.StatusCode.UNAVAILABLE


def test_plaintext_client_is_refused(daemon):
    ch = grpc.insecure_channel(daemon.grpc_addr)
    try:
        f = ch.unary_unary("/maglev.Maglev/GetVersion",
                           request_serializer=pb.GetVersionRequest.SerializeToString,
                           response_deserializer=pb.VersionInfo.FromString)
        with pytest.raises(grpc.RpcError) as e:
            f(pb.GetVersionRequest(), timeout=30)
        assert e.value.code() == grpc.StatusCode.UNAVAILABLE
    finally:
        ch.close()


def maglevc(*args, **env):
    e = {k: v for k, v in os.environ.items() if not k.startswith("MAGLEV_")}
    e.update(env)
    return subprocess.run([MAGLEVC, *args], capture_output=True, text=True, env=e, timeout=30)


def test_maglevc_tls(daemon, pki):
    tls = ["--tls-ca", pki("ca.pem"), "--tls-cert", pki("maglevc-test.pem"),
           "--tls-key", pki("maglevc-test.key")]
    p = maglevc("-s", daemon.grpc_addr, *tls, "show", "version")
    assert p.returncode == 0, p.stderr
    assert str(daemon.p.pid) in p.stdout
    # the same through the environment, by name (localhost is in the SAN)
    port = daemon.grpc_addr.rsplit(":", 1)[1]
    p = maglevc("-s", f"localhost:{port}", "show", "version", MAGLEV_TLS_CA=pki("ca.pem"),
                MAGLEV_TLS_CERT=pki("maglevc-test.pem"), MAGLEV_TLS_KEY=pki("maglevc-test.key"))
    assert p.returncode == 0, p.stderr
    # the caller's certificate subject is logged with an operator action
    p = maglevc("-s", daemon.grpc_addr, *tls, "set", "backend", "b1", "pause")
    assert p.returncode == 0, p.stderr
    rec = daemon.wait_for("operator-action", action="pause")
    assert rec["peer"].startswith("ipv4:127.0.0.1:"), rec
    assert "(cert " in rec["peer"] and "CN=maglevc-test" in rec["peer"], rec


def test_maglevc_tls_server_name(daemon, pki):
    """A certificate name that is not the address: --tls-server-name."""
    tls = ["--tls-ca", pki("ca.pem"), "--tls-cert", pki("maglevc-test.pem"),
           "--tls-key", pki("maglevc-test.key")]
    p = maglevc("-s", daemon.grpc_addr, *tls, "--tls-server-name", "elsewhere.example",
                "show", "version")
    assert p.returncode == 1
    p = maglevc("-s", daemon.grpc_addr, *tls, "--tls-server-name", "localhost", "show", "version")
    assert p.returncode == 0, p.stderr


def test_maglevc_without_tls_fails(daemon, pki):
    p = maglevc("-s", daemon.grpc_addr, "show", "version")
    assert p.returncode == 1, (p.stdout, p.stderr)
    assert "cannot reach maglevd at " + daemon.grpc_addr in p.stderr
    # a CA but no client certificate: the server refuses the handshake
    p = maglevc("-s", daemon.grpc_addr, "--tls-ca", pki("ca.pem"), "show", "version")
    assert p.returncode == 1, (p.stdout, p.stderr)
    assert "cannot reach maglevd" in p.stderr
    # a certificate without its key: refused before connecting
    p = maglevc("-s", daemon.grpc_addr, "--tls-cert", pki("maglevc-test.pem"), "show", "version")
    assert p.returncode == 2 and "--tls-key" in p.stderr


def test_unix_listener_stays_plaintext(config, pki, tmp_path):
    sock = str(tmp_path / "m.sock")
    d = Daemon(config, *tls_args(pki), grpc_addr=f"unix:{sock},127.0.0.1:{free_port()}")
    try:
        d.wait_for("api-tls-listener")
        p = maglevc("-s", "unix:" + sock, "show", "version")
        assert p.returncode == 0, p.stderr
    finally:
        d.stop()


def start_fails(config, *args, addr=None):
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAGLEV_")}
    p = subprocess.run([MAGLEVD, "--config", config, "--log-format", "json", "--vpp-api-addr",
                        "", "--grpc-addr", addr or f"127.0.0.1:{free_port()}", *args],
                       capture_output=True, text=True, env=env, timeout=20)
    return p


@pytest.mark.parametrize("which", ["cert", "key", "client-ca"])
def test_bad_tls_file_stops_maglevd(config, pki, tmp_path, which):
    files = {"cert": pki("server.pem"), "key": pki("server.key"), "client-ca": pki("ca.pem")}
    for bad in (str(tmp_path / "missing.pem"), str(tmp_path / "garbage.pem")):
        (tmp_path / "garbage.pem").write_text("not a certificate\n")
        args = []
        for k, v in files.items():
            args += [f"--grpc-tls-{k}", bad if k == which else v]
        sock = str(tmp_path / "m.sock")
        p = start_fails(config, *args, addr=f"unix:{sock},127.0.0.1:{free_port()}")
        assert p.returncode == 1, p.stderr
        errs = [json.loads(line) for line in p.stderr.splitlines()]
        errs = [r["error"] for r in errs if r["msg"] == "api-tls-error"]
        assert errs and f"--grpc-tls-{which} {bad}" in errs[0], p.stderr
        assert not os.path.exists(sock) and not os.path.exists(sock + ".lock")


def test_key_of_another_cert_stops_maglevd(config, pki, tmp_path):
    sock = str(tmp_path / "m.sock")
    p = start_fails(config, "--grpc-tls-cert", pki("server.pem"), "--grpc-tls-key",
                    pki("intruder.key"), "--grpc-tls-client-ca", pki("ca.pem"),
                    addr=f"unix:{sock},127.0.0.1:{free_port()}")
    assert p.returncode == 1, p.stderr
    assert "cannot listen with TLS" in p.stderr
    assert not os.path.exists(sock) and not os.path.exists(sock + ".lock")


def test_tls_needs_all_three(config, pki):
    p = start_fails(config, "--grpc-tls-cert", pki("server.pem"))
    assert p.returncode == 2 and "--grpc-tls-client-ca" in p.stderr


def serves(addr):
    ch = grpc.insecure_channel(addr)
    try:
        f = ch.unary_unary("/maglev.Maglev/GetVersion",
                           request_serializer=pb.GetVersionRequest.SerializeToString,
                           response_deserializer=pb.VersionInfo.FromString)
        f(pb.GetVersionRequest(), timeout=5)
        return True
    except grpc.RpcError:
        return False
    finally:
        ch.close()


@pytest.mark.parametrize("host,warned", [("0.0.0.0", True), ("[::]", True),
                                         ("127.0.0.1", False), ("[::1]", False),
                                         ("localhost", False)])
def test_plaintext_remote_warning(config, host, warned):
    d = Daemon(config, grpc_addr=f"{host}:{free_port()}")
    try:
        port = d.grpc_addr.rsplit(":", 1)[1]
        local = {"0.0.0.0": "127.0.0.1", "[::]": "[::1]"}.get(host, host)
        Lab.wait_for(lambda: serves(f"{local}:{port}"), "maglevd serving")
        recs = d.find("api-plaintext-remote")
        if warned:
            assert recs and recs[0]["level"] == "warn", d.records
            assert recs[0]["addr"] == f"{host}:{port}"
            assert "--grpc-tls-cert" in recs[0]["risk"]
        else:
            assert not recs
    finally:
        d.stop()


def test_no_plaintext_warning_with_tls(config, pki):
    d = Daemon(config, *tls_args(pki), grpc_addr=f"0.0.0.0:{free_port()}")
    try:
        d.wait_for("api-tls-listener")
        assert not d.find("api-plaintext-remote")
    finally:
        d.stop()
