"""The gRPC server module (src/api/grpc_server.c) against Debian's grpcio,
through tests/api/test_server.c.

Environment: API_TEST_SERVER (the test server binary), PROTO_PY_DIR (where
maglev_pb2.py and reflection_pb2.py were generated), API_TEST_SANITIZED=1
to skip the valgrind test in a sanitizer build."""
import os
import re
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import grpc
import pytest
from google.protobuf import descriptor_pb2

sys.path.insert(0, os.environ.get("PROTO_PY_DIR", os.path.join(os.path.dirname(__file__),
                                                                "../../build/proto")))
import maglev_pb2 as pb  # noqa: E402
import reflection_pb2 as rpb  # noqa: E402

SERVER = os.environ.get("API_TEST_SERVER",
                        os.path.join(os.path.dirname(__file__), "../../build/tests/api/api_test_server"))
SANITIZED = os.environ.get("API_TEST_SANITIZED") == "1"
REFLECTION_V1 = "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo"
REFLECTION_V1ALPHA = "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo"


def free_port(family=socket.AF_INET, host="127.0.0.1"):
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def have_ipv6():
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


class Server:
    """api_test_server in the background; stdout lines collected."""

    def __init__(self, addrs, *args, wrapper=()):
        self.addrs = addrs
        self.proc = subprocess.Popen([*wrapper, SERVER, *args, addrs], stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)
        self.lines = []
        self.cond = threading.Condition()
        self.stderr = []
        threading.Thread(target=self._read, args=(self.proc.stdout, self.lines), daemon=True).start()
        threading.Thread(target=self._read, args=(self.proc.stderr, self.stderr), daemon=True).start()

    def _read(self, f, into):
        for line in f:
            with self.cond:
                into.append(line.rstrip("\n"))
                self.cond.notify_all()
        with self.cond:
            into.append(None)  # EOF
            self.cond.notify_all()

    def wait_line(self, pattern, timeout=30.0, start=0):
        """The first stdout line from index start matching pattern."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                for line in self.lines[start:]:
                    if line is not None and re.search(pattern, line):
                        return line
                if None in self.lines:
                    raise AssertionError(f"server exited before {pattern!r}: {self.lines} "
                                         f"{self.stderr}")
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"no {pattern!r} in {self.lines}")
                self.cond.wait(left)

    def count(self, pattern):
        with self.cond:
            return sum(1 for line in self.lines if line is not None and re.search(pattern, line))

    def stop(self, timeout=60.0):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        rc = self.proc.wait(timeout=timeout)
        with self.cond:
            self.cond.wait_for(lambda: None in self.stderr, timeout=5)
            errs = [x for x in self.stderr if x and re.search(
                r"runtime error:|AddressSanitizer|LeakSanitizer|level=(warn|error)", x)]
        assert not errs, errs
        return rc


@pytest.fixture(scope="module")
def env():
    d = tempfile.mkdtemp(prefix="api-test-")
    sock = os.path.join(d, "run", "maglevd.sock")
    tcp4 = free_port()
    addrs = [f"unix:{sock}", f"127.0.0.1:{tcp4}"]
    targets = {"unix": f"unix:{sock}", "tcp4": f"127.0.0.1:{tcp4}"}
    if have_ipv6():
        tcp6 = free_port(socket.AF_INET6, "::1")
        addrs.append(f"[::1]:{tcp6}")
        targets["tcp6"] = f"ipv6:[::1]:{tcp6}"
    srv = Server(",".join(addrs))
    srv.wait_line("^ready$")
    srv.dir, srv.sock, srv.targets = d, sock, targets
    yield srv
    rc = srv.stop()
    shutil.rmtree(d, ignore_errors=True)
    assert rc == 0, srv.stderr


@pytest.fixture(scope="module")
def channel(env):
    ch = grpc.insecure_channel(env.targets["unix"])
    yield ch
    ch.close()


def unary(ch, method, req_cls, resp_cls):
    return ch.unary_unary(f"/maglev.Maglev/{method}", request_serializer=req_cls.SerializeToString,
                          response_deserializer=resp_cls.FromString)


def watch(ch):
    return ch.unary_stream("/maglev.Maglev/WatchEvents",
                           request_serializer=pb.WatchEventsRequest.SerializeToString,
                           response_deserializer=pb.Event.FromString)


def reflect(ch, reqs, path=REFLECTION_V1):
    call = ch.stream_stream(path, request_serializer=rpb.ServerReflectionRequest.SerializeToString,
                            response_deserializer=rpb.ServerReflectionResponse.FromString)
    return list(call(iter(reqs), timeout=10))


# ---- listeners ----

@pytest.mark.parametrize("kind", ["unix", "tcp4", "tcp6"])
def test_get_version(env, kind):
    if kind not in env.targets:
        pytest.skip("no IPv6 loopback")
    with grpc.insecure_channel(env.targets[kind]) as ch:
        v = unary(ch, "GetVersion", pb.GetVersionRequest, pb.VersionInfo)(pb.GetVersionRequest(),
                                                                           timeout=10)
    assert v.version == "1.2.3"
    assert v.commit == "abc1234"
    assert v.pid == env.proc.pid
    assert v.config_path == "/etc/vpp-maglev/maglev.yaml"


def test_socket_and_directory_modes(env):
    assert stat.S_ISSOCK(os.stat(env.sock).st_mode)
    assert stat.S_IMODE(os.stat(env.sock).st_mode) == 0o660
    assert stat.S_IMODE(os.stat(os.path.dirname(env.sock)).st_mode) == 0o750
    assert open(env.sock + ".lock").read().strip() == str(env.proc.pid)


def test_second_server_same_unix_path_fails(env, channel):
    p = subprocess.run([SERVER, f"unix:{env.sock}"], capture_output=True, text=True, timeout=20)
    assert p.returncode == 1, (p.stdout, p.stderr)
    assert f"unix:{env.sock}: another maglevd holds {env.sock}.lock" in p.stderr
    assert "ready" not in p.stdout
    # the first one still serves on its socket
    v = unary(channel, "GetVersion", pb.GetVersionRequest, pb.VersionInfo)(pb.GetVersionRequest(),
                                                                           timeout=10)
    assert v.pid == env.proc.pid


def test_second_server_same_tcp_port_fails(env):
    port = env.targets["tcp4"].rsplit(":", 1)[1]
    d = tempfile.mkdtemp(prefix="api-test-")
    try:
        p = subprocess.run([SERVER, f"unix:{d}/s.sock,127.0.0.1:{port}"], capture_output=True,
                           text=True, timeout=20)
    finally:
        shutil.rmtree(d, ignore_errors=True)
    assert p.returncode == 1, (p.stdout, p.stderr)
    assert f"127.0.0.1:{port}: cannot listen" in p.stderr


def test_bad_listener_lists(tmp_path):
    for addrs, msg in [("", "no listener"), (" , ", "no listener"),
                       ("unix:" + "x" * 120, "path too long"),
                       (f"unix:{tmp_path}/missing/deeper/s.sock", "cannot create directory")]:
        p = subprocess.run([SERVER, addrs], capture_output=True, text=True, timeout=20)
        assert p.returncode == 1, (addrs, p.stdout, p.stderr)
        assert msg in p.stderr, (addrs, p.stderr)


# ---- unary calls ----

def test_listener_option_errors(tmp_path):
    port = free_port()
    for addrs, msg in [(f"unix:{tmp_path}/a.sock?bogus", 'unknown listener option "bogus"'),
                       (f"unix:{tmp_path}/a.sock?max-conns=0", 'option "max-conns=0"'),
                       (f"127.0.0.1:{port}?max-conns=x", 'option "max-conns=x"'),
                       (f"127.0.0.1:{port}?ro&nope", 'unknown listener option "nope"')]:
        p = subprocess.run([SERVER, addrs], capture_output=True, text=True, timeout=20)
        assert p.returncode == 1, (addrs, p.stdout, p.stderr)
        assert msg in p.stderr, (addrs, p.stderr)
        assert addrs.split("?")[0] in p.stderr, (addrs, p.stderr)
    assert not os.path.exists(f"{tmp_path}/a.sock")


def test_read_only_listener(tmp_path):
    """?ro: read-only methods and reflection served, a mutating one denied;
    the same method through the admin listener runs, and its peer names the
    caller (SO_PEERCRED)."""
    admin, ro = f"{tmp_path}/a.sock", f"{tmp_path}/ro.sock"
    srv = Server(f"unix:{admin},unix:{ro}?ro")
    try:
        srv.wait_line("^ready$")
        with grpc.insecure_channel(f"unix:{ro}") as ch:
            v = unary(ch, "GetVersion", pb.GetVersionRequest, pb.VersionInfo)(
                pb.GetVersionRequest(), timeout=10)
            assert v.pid == srv.proc.pid
            r = reflect(ch, [rpb.ServerReflectionRequest(list_services="")])
            assert "maglev.Maglev" in [x.name for x in r[0].list_services_response.service]
            with pytest.raises(grpc.RpcError) as e:
                unary(ch, "PauseBackend", pb.BackendActionRequest, pb.Backend)(
                    pb.BackendActionRequest(name="b1"), timeout=10)
            assert e.value.code() == grpc.StatusCode.PERMISSION_DENIED
            assert "PauseBackend: not allowed through a read-only listener" in e.value.details()
        assert srv.count("^pause ") == 0
        with grpc.insecure_channel(f"unix:{admin}") as ch:
            b = unary(ch, "PauseBackend", pb.BackendActionRequest, pb.Backend)(
                pb.BackendActionRequest(name="b1"), timeout=10)
            assert b.name == "b1"
        line = srv.wait_line("^pause b1 ")
        assert re.search(rf"peer=unix:{re.escape(admin)} uid=0\(root\) gid=0 pid=\d+$", line), line
    finally:
        assert srv.stop() == 0


def test_tcp_peer_and_wildcard_listener():
    """A listener on every address (":PORT") is bound by maglevd itself and
    the peer of a call is the client's address and port."""
    port = free_port()
    srv = Server(f":{port}")
    try:
        srv.wait_line("^ready$")
        with grpc.insecure_channel(f"127.0.0.1:{port}") as ch:
            unary(ch, "PauseBackend", pb.BackendActionRequest, pb.Backend)(
                pb.BackendActionRequest(name="b1"), timeout=10)
        line = srv.wait_line("^pause b1 ")
        assert re.search(r"peer=ipv[46]:(\[::ffff:)?127\.0\.0\.1\]?:\d+$", line), line
    finally:
        # a wildcard plaintext listener warns (api-plaintext-remote): expected here
        srv.proc.send_signal(signal.SIGTERM)
        assert srv.proc.wait(timeout=10) == 0


def test_status_codes_and_messages(channel):
    get = unary(channel, "GetBackend", pb.GetBackendRequest, pb.Backend)
    b = get(pb.GetBackendRequest(name="b1"), timeout=10)
    assert (b.name, b.address, b.state) == ("b1", "192.0.2.1", "up")
    with pytest.raises(grpc.RpcError) as e:
        get(pb.GetBackendRequest(name="nope"), timeout=10)
    assert e.value.code() == grpc.StatusCode.NOT_FOUND
    assert e.value.details() == 'backend "nope" not found'
    with pytest.raises(grpc.RpcError) as e:
        get(pb.GetBackendRequest(name=""), timeout=10)
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert e.value.details() == "backend name is empty"


def test_list_backends(channel):
    r = unary(channel, "ListBackends", pb.ListBackendsRequest,
              pb.ListBackendsResponse)(pb.ListBackendsRequest(), timeout=10)
    assert [b.name for b in r.backends] == ["b1", "b2", "b3"]


def test_unknown_method_unimplemented(channel):
    with pytest.raises(grpc.RpcError) as e:
        channel.unary_unary("/maglev.Maglev/NoSuchMethod")(b"", timeout=10)
    assert e.value.code() == grpc.StatusCode.UNIMPLEMENTED
    assert "/maglev.Maglev/NoSuchMethod" in e.value.details()
    with pytest.raises(grpc.RpcError) as e:
        channel.unary_unary("/other.Service/GetVersion")(b"", timeout=10)
    assert e.value.code() == grpc.StatusCode.UNIMPLEMENTED


def test_method_without_handler_unimplemented(channel):
    with pytest.raises(grpc.RpcError) as e:
        unary(channel, "GetFrontend", pb.GetFrontendRequest,
              pb.Frontend)(pb.GetFrontendRequest(name="x"), timeout=10)
    assert e.value.code() == grpc.StatusCode.UNIMPLEMENTED


@pytest.mark.parametrize("payload", [b"\x0a\x05ab", b"\xff", b"\x0a"])
def test_malformed_request_invalid_argument(channel, payload):
    with pytest.raises(grpc.RpcError) as e:
        channel.unary_unary("/maglev.Maglev/GetBackend")(payload, timeout=10)
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "malformed maglev.GetBackendRequest" in e.value.details()


def test_oversized_request_resource_exhausted(channel):
    # default receive limit 1 MiB
    with pytest.raises(grpc.RpcError) as e:
        unary(channel, "GetBackend", pb.GetBackendRequest,
              pb.Backend)(pb.GetBackendRequest(name="x" * (2 << 20)), timeout=10)
    assert e.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED


def test_concurrent_unary_calls(env):
    def one(i):
        with grpc.insecure_channel(env.targets["tcp4" if i % 2 else "unix"]) as ch:
            if i % 3 == 0:
                return unary(ch, "GetVersion", pb.GetVersionRequest,
                             pb.VersionInfo)(pb.GetVersionRequest(), timeout=20).version
            return unary(ch, "GetBackend", pb.GetBackendRequest,
                         pb.Backend)(pb.GetBackendRequest(name="b1"), timeout=20).name
    with ThreadPoolExecutor(max_workers=50) as ex:
        results = list(ex.map(one, range(50)))
    assert results == ["1.2.3" if i % 3 == 0 else "b1" for i in range(50)]


def test_concurrent_calls_one_channel(channel):
    get = unary(channel, "GetBackend", pb.GetBackendRequest, pb.Backend)
    futs = [get.future(pb.GetBackendRequest(name="b1" if i % 2 else f"x{i}"), timeout=20)
            for i in range(200)]
    for i, f in enumerate(futs):
        if i % 2:
            assert f.result().name == "b1"
        else:
            assert f.exception().code() == grpc.StatusCode.NOT_FOUND


# ---- streams ----

def test_stream_then_client_cancel(env, channel):
    start = len(env.lines)
    it = watch(channel)(pb.WatchEventsRequest(), timeout=30)
    events = [next(it) for _ in range(5)]
    assert [e.backend.name for e in events] == [f"b{i}" for i in range(5)]
    assert all(e.WhichOneof("kind") == "backend" and e.backend.initial for e in events)
    env.wait_line(r"^watch peer=unix:", start=start)
    it.cancel()
    env.wait_line(r"^cancel WatchEvents peer=unix:", start=start)


def test_stream_client_disconnect_runs_cancel(env):
    start = len(env.lines)
    ch = grpc.insecure_channel(env.targets["tcp4"])
    it = watch(ch)(pb.WatchEventsRequest(), timeout=30)
    for _ in range(5):
        next(it)
    env.wait_line(r"^watch peer=ipv4:127\.0\.0\.1:", start=start)
    ch.close()
    env.wait_line(r"^cancel WatchEvents peer=ipv4:127\.0\.0\.1:", start=start)


def test_stream_deadline_runs_cancel(env, channel):
    start = len(env.lines)
    it = watch(channel)(pb.WatchEventsRequest(), timeout=0.5)
    with pytest.raises(grpc.RpcError) as e:
        for _ in it:
            pass
    assert e.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    env.wait_line(r"^cancel WatchEvents", start=start)


def test_slow_subscriber_resource_exhausted(env, channel):
    start = len(env.lines)
    it = watch(channel)(pb.WatchEventsRequest(log_level="flood"), timeout=30)
    line = env.wait_line(r"^flood sent=", start=start)  # without reading anything
    # -ENOBUFS once 1024 (the default) are queued; the CQ thread sends meanwhile
    m = re.fullmatch(r"flood sent=(\d+) rc=-105", line)
    assert m and int(m.group(1)) >= 1024, line
    time.sleep(0.2)
    got = 0
    with pytest.raises(grpc.RpcError) as e:
        for _ in it:
            got += 1
    assert e.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert e.value.details() == "subscriber too slow"
    assert got < int(m.group(1))  # the queue was discarded


def test_stream_queue_max_option(tmp_path):
    srv = Server(f"unix:{tmp_path}/s.sock", "--queue-max", "3")
    try:
        srv.wait_line("^ready$")
        with grpc.insecure_channel(f"unix:{tmp_path}/s.sock") as ch:
            it = watch(ch)(pb.WatchEventsRequest(log_level="flood"), timeout=10)
            with pytest.raises(grpc.RpcError) as e:
                list(it)
            assert e.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        m = re.fullmatch(r"flood sent=(\d+) rc=-105", srv.wait_line("^flood"))
        assert m and int(m.group(1)) >= 3
    finally:
        assert srv.stop() == 0


# ---- reflection ----

@pytest.mark.parametrize("path", [REFLECTION_V1, REFLECTION_V1ALPHA])
def test_reflection_list_services(channel, path):
    (r,) = reflect(channel, [rpb.ServerReflectionRequest(host="h", list_services="")], path)
    assert r.WhichOneof("message_response") == "list_services_response"
    assert [s.name for s in r.list_services_response.service] == ["maglev.Maglev"]
    assert r.valid_host == "h"
    assert r.original_request.WhichOneof("message_request") == "list_services"


def parse_fd(resp):
    assert resp.WhichOneof("message_response") == "file_descriptor_response", resp
    (raw,) = resp.file_descriptor_response.file_descriptor_proto
    fd = descriptor_pb2.FileDescriptorProto()
    fd.ParseFromString(raw)
    return fd


@pytest.mark.parametrize("path", [REFLECTION_V1, REFLECTION_V1ALPHA])
def test_reflection_file_containing_service(channel, path):
    (r,) = reflect(channel, [rpb.ServerReflectionRequest(file_containing_symbol="maglev.Maglev")],
                   path)
    fd = parse_fd(r)
    assert fd.name == "maglev.proto" and fd.package == "maglev"
    (svc,) = fd.service
    assert svc.name == "Maglev"
    want = [m.name for m in pb.DESCRIPTOR.services_by_name["Maglev"].methods]
    assert len(want) >= 20 and [m.name for m in svc.method] == want
    methods = {m.name: m for m in svc.method}
    assert methods["WatchEvents"].server_streaming
    assert methods["GetVersion"].input_type == ".maglev.GetVersionRequest"
    assert not methods["GetVersion"].server_streaming


def test_reflection_symbols_in_one_stream(channel):
    syms = ["maglev.Maglev.GetBackend", "maglev.Backend", ".maglev.Event",
            "maglev.LogEvent.FieldsEntry", "maglev.Backend.name", "maglev.Event.kind"]
    reqs = [rpb.ServerReflectionRequest(file_containing_symbol=s) for s in syms]
    reqs += [rpb.ServerReflectionRequest(file_by_filename="maglev.proto"),
             rpb.ServerReflectionRequest(file_containing_symbol="maglev.Nope"),
             rpb.ServerReflectionRequest(file_containing_symbol="maglev"),
             rpb.ServerReflectionRequest(file_containing_symbol="other.Maglev"),
             rpb.ServerReflectionRequest(file_by_filename="nope.proto"),
             rpb.ServerReflectionRequest(all_extension_numbers_of_type="maglev.Backend"),
             rpb.ServerReflectionRequest(all_extension_numbers_of_type="maglev.Nope"),
             rpb.ServerReflectionRequest(file_containing_extension=rpb.ExtensionRequest(
                 containing_type="maglev.Backend", extension_number=100))]
    resps = reflect(channel, reqs)
    assert len(resps) == len(reqs)
    for r in resps[:len(syms) + 1]:
        assert parse_fd(r).name == "maglev.proto"
    for r in resps[len(syms) + 1:len(syms) + 5]:
        assert r.WhichOneof("message_response") == "error_response", r
        assert r.error_response.error_code == grpc.StatusCode.NOT_FOUND.value[0]
    assert "maglev.Nope" in resps[len(syms) + 1].error_response.error_message
    ext = resps[len(syms) + 5]
    assert ext.WhichOneof("message_response") == "all_extension_numbers_response"
    assert ext.all_extension_numbers_response.base_type_name == "maglev.Backend"
    assert list(ext.all_extension_numbers_response.extension_number) == []
    assert resps[-2].error_response.error_code == 5
    assert resps[-1].error_response.error_code == 5


def test_reflection_malformed_request(channel):
    call = channel.stream_stream(REFLECTION_V1)
    with pytest.raises(grpc.RpcError) as e:
        list(call(iter([b"\xff\xff"]), timeout=10))
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_reflection_cancelled_midway(env, channel):
    call = channel.stream_stream(REFLECTION_V1,
                                 request_serializer=rpb.ServerReflectionRequest.SerializeToString,
                                 response_deserializer=rpb.ServerReflectionResponse.FromString)
    ev = threading.Event()

    def reqs():
        yield rpb.ServerReflectionRequest(list_services="")
        ev.wait(10)  # keep the request stream open

    it = call(reqs(), timeout=30)
    assert next(it).WhichOneof("message_response") == "list_services_response"
    it.cancel()
    ev.set()
    # the server is still fine
    (r,) = reflect(channel, [rpb.ServerReflectionRequest(list_services="")])
    assert r.list_services_response.service[0].name == "maglev.Maglev"


# ---- shutdown ----

def open_streams(srv, target, n, timeout=60):
    ch = grpc.insecure_channel(target)
    its = []
    for _ in range(n):
        it = watch(ch)(pb.WatchEventsRequest(), timeout=timeout)
        for _ in range(5):
            next(it)
        its.append(it)
    return ch, its


def test_sigterm_with_open_streams(tmp_path):
    sock = f"{tmp_path}/run/s.sock"
    port = free_port()
    srv = Server(f"unix:{sock},127.0.0.1:{port}")
    srv.wait_line("^ready$")
    # streams that would last 10 minutes: a stop that waited for them
    # instead of cancelling them would take that long
    ch1, its1 = open_streams(srv, f"unix:{sock}", 3, timeout=600)
    ch2, its2 = open_streams(srv, f"127.0.0.1:{port}", 2, timeout=600)
    # a reflection stream left open too
    refl_ev = threading.Event()

    def reqs():
        yield rpb.ServerReflectionRequest(list_services="")
        refl_ev.wait(600)

    refl = ch1.stream_stream(REFLECTION_V1,
                             request_serializer=rpb.ServerReflectionRequest.SerializeToString,
                             response_deserializer=rpb.ServerReflectionResponse.FromString)(
                                 reqs(), timeout=600)
    next(refl)
    assert srv.count("^watch ") == 5
    t0 = time.monotonic()
    rc = srv.stop()
    elapsed = time.monotonic() - t0
    refl_ev.set()
    assert rc == 0, srv.stderr
    assert elapsed < 30, elapsed  # natively milliseconds; more on a busy machine
    assert srv.count("^cancel WatchEvents") == 5, srv.lines
    for it in its1 + its2:
        with pytest.raises(grpc.RpcError) as e:
            for _ in it:
                pass
        assert e.value.code() in (grpc.StatusCode.CANCELLED, grpc.StatusCode.UNAVAILABLE)
    assert not os.path.exists(sock)
    ch1.close()
    ch2.close()


def test_sigterm_idle_and_restart_same_path(tmp_path):
    sock = f"{tmp_path}/s.sock"
    for _ in range(2):
        srv = Server(f"unix:{sock}")
        srv.wait_line("^ready$")
        t0 = time.monotonic()
        assert srv.stop() == 0, srv.stderr
        assert time.monotonic() - t0 < 30  # natively milliseconds


@pytest.mark.skipif(SANITIZED or not shutil.which("valgrind"), reason="valgrind unavailable")
def test_valgrind_clean(tmp_path):
    """Calls, streams, reflection, then SIGTERM with streams open: no memory
    error, nothing lost (not even "possibly"), no descriptor left open."""
    sock = f"{tmp_path}/s.sock"
    vlog = f"{tmp_path}/valgrind.log"
    srv = Server(f"unix:{sock}", wrapper=(
        "valgrind", "--leak-check=full", "--show-leak-kinds=definite,indirect,possible",
        "--errors-for-leak-kinds=definite,indirect,possible", "--error-exitcode=99",
        "--track-fds=yes", f"--log-file={vlog}"))
    srv.wait_line("^ready$", timeout=60)
    ch = grpc.insecure_channel(f"unix:{sock}")
    get = unary(ch, "GetBackend", pb.GetBackendRequest, pb.Backend)
    assert get(pb.GetBackendRequest(name="b1"), timeout=30).name == "b1"
    with pytest.raises(grpc.RpcError):
        get(pb.GetBackendRequest(name="zz"), timeout=30)
    with pytest.raises(grpc.RpcError):
        ch.unary_unary("/maglev.Maglev/GetBackend")(b"\xff", timeout=30)
    with pytest.raises(grpc.RpcError):
        ch.unary_unary("/x/y")(b"", timeout=30)
    reflect(ch, [rpb.ServerReflectionRequest(list_services=""),
                 rpb.ServerReflectionRequest(file_containing_symbol="maglev.Maglev")])
    with pytest.raises(grpc.RpcError):
        list(watch(ch)(pb.WatchEventsRequest(log_level="flood"), timeout=30))
    it = watch(ch)(pb.WatchEventsRequest(), timeout=30)
    next(it)
    it.cancel()
    srv.wait_line("^cancel ", timeout=30)
    _, its = open_streams(srv, f"unix:{sock}", 2)
    rc = srv.stop(timeout=60)
    log = open(vlog).read()
    assert rc == 0, log
    assert "ERROR SUMMARY: 0 errors" in log, log
    assert "possibly lost: 0 bytes" in log or "All heap blocks were freed" in log, log
    assert srv.count("^cancel ") == 3
    # at exit the lock file and the sockets are closed: what is left is
    # inherited, or gRPC's process-lifetime poller (an epoll fd and an
    # eventfd made once by grpc_event_engine_init; grpc_shutdown keeps them)
    assert re.search(r"FILE DESCRIPTORS: \d+ open", log), log
    blocks = re.split(r"==\d+== Open ", log)[1:]
    ours = [b for b in blocks if "<inherited from parent>" not in b
            and "grpc_event_engine_init" not in b and not b.startswith("file descriptor 0:")
            and not re.match(r"file descriptor [12]:", b)]
    assert not ours, ours
