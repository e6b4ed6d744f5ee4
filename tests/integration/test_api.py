"""The maglev.Maglev API of a real maglevd, through Debian's python3-grpcio as
an independent client (messages from protoc --python_out), against the nginx
lab: every RPC, each error code, reflection, event streams."""
import os
import sys
import time

import grpc
import pytest

from lab import LOAD_SLACK, WAIT, Lab, is_root, start_web_lab

sys.path.insert(0, os.environ.get("PROTO_PY_DIR", "build/proto"))
import maglev_pb2 as pb  # noqa: E402

pytestmark = pytest.mark.skipif(not is_root(), reason="the lab needs root (namespaces)")


@pytest.fixture(scope="module")
def lab():
    with Lab(3) as lab:
        start_web_lab(lab)
        lab.channel = grpc.insecure_channel(lab.daemon.grpc_addr)
        yield lab
        lab.channel.close()


def rpc(lab, method, req, resp_type):
    f = lab.channel.unary_unary(f"/maglev.Maglev/{method}",
                                request_serializer=req.SerializeToString,
                                response_deserializer=resp_type.FromString)
    return f(req, timeout=WAIT)


def rpc_error(lab, method, req, resp_type):
    with pytest.raises(grpc.RpcError) as e:
        rpc(lab, method, req, resp_type)
    return e.value.code(), e.value.details()


def test_version(lab):
    v = rpc(lab, "GetVersion", pb.GetVersionRequest(), pb.VersionInfo)
    assert v.version == open(os.path.join(os.path.dirname(__file__), "../../VERSION")).read().strip()
    assert v.commit and v.build_date.endswith("Z")
    assert v.pid == lab.daemon.p.pid
    assert v.config_path.endswith("maglev.yaml")
    assert 0 < v.start_time_us <= time.time() * 1e6


def test_frontends(lab):
    r = rpc(lab, "ListFrontends", pb.ListFrontendsRequest(), pb.ListFrontendsResponse)
    assert [f.name for f in r.frontends] == ["web"]
    f = rpc(lab, "GetFrontend", pb.GetFrontendRequest(name="web"), pb.Frontend)
    assert (f.address, f.protocol, f.port, f.description) == ("198.19.0.10", "tcp", 80, "the web")
    assert f.flush_on_down and not f.src_ip_sticky
    assert f.state == "up" and f.active_pool == "primary"
    assert [p.name for p in f.pools] == ["primary", "fallback"]
    eff = {b.name: (b.weight, b.effective_weight, b.state) for p in f.pools for b in p.backends}
    assert eff == {"b1": (100, 100, "up"), "b2": (50, 50, "up"), "b3": (100, 0, "up")}
    assert rpc_error(lab, "GetFrontend", pb.GetFrontendRequest(name="nope"), pb.Frontend) == \
        (grpc.StatusCode.NOT_FOUND, 'frontend "nope" not found')
    assert rpc_error(lab, "GetFrontend", pb.GetFrontendRequest(name=""), pb.Frontend)[0] == \
        grpc.StatusCode.INVALID_ARGUMENT


def test_backends(lab):
    r = rpc(lab, "ListBackends", pb.ListBackendsRequest(), pb.ListBackendsResponse)
    assert [b.name for b in r.backends] == ["b1", "b2", "b3"]
    b = rpc(lab, "GetBackend", pb.GetBackendRequest(name="b1"), pb.Backend)
    assert b.address == lab.backends[0].v4 and b.healthcheck == "http"
    assert b.state == "up" and b.enabled and (b.rise, b.fall) == (2, 3)
    assert b.last_code == "L7OK" and b.last_detail == "HTTP 200"
    assert b.probes >= 1 and b.probes_passed >= 1 and b.last_probe_time_us > 0
    # a passed probe ended within its timeout (1 s), give or take the time
    # its callback waited for the CPU
    assert 0 < b.last_probe_duration_us < (1 + LOAD_SLACK) * 1e6
    assert list(b.frontends) == ["web"]
    t = b.history[0]
    assert (getattr(t, "from_state"), t.to_state, t.code) == ("unknown", "up", "L7OK")
    assert rpc_error(lab, "GetBackend", pb.GetBackendRequest(name="zz"), pb.Backend) == \
        (grpc.StatusCode.NOT_FOUND, 'backend "zz" not found')


def test_healthchecks(lab):
    r = rpc(lab, "ListHealthChecks", pb.ListHealthChecksRequest(), pb.ListHealthChecksResponse)
    assert [h.name for h in r.healthchecks] == ["http", "tcp"]
    h = rpc(lab, "GetHealthCheck", pb.GetHealthCheckRequest(name="http"), pb.HealthCheck)
    assert (h.type, h.port, h.interval_ms, h.fast_interval_ms, h.down_interval_ms,
            h.timeout_ms) == ("http", 80, 1000, 200, 1000, 1000)
    assert (h.path, h.host, list(h.response_codes)) == ("/healthz", "lab.example",
                                                        ["200", "300-399"])
    assert h.netns == lab.hub and list(h.backends) == ["b1", "b2"]
    assert rpc_error(lab, "GetHealthCheck", pb.GetHealthCheckRequest(name="x"),
                     pb.HealthCheck)[0] == grpc.StatusCode.NOT_FOUND


def test_pause_resume_disable_enable(lab):
    d = lab.daemon
    b = rpc(lab, "PauseBackend", pb.BackendActionRequest(name="b3"), pb.Backend)
    assert b.state == "paused"
    n = len(lab.backends[2].access_log())
    b = rpc(lab, "ResumeBackend", pb.BackendActionRequest(name="b3"), pb.Backend)
    assert b.state == "unknown"
    d.wait_state("b3", "up")
    b = rpc(lab, "DisableBackend", pb.BackendActionRequest(name="b3"), pb.Backend)
    assert b.state == "disabled" and not b.enabled and b.history[-1].code == "disabled"
    code, msg = rpc_error(lab, "PauseBackend", pb.BackendActionRequest(name="b3"), pb.Backend)
    assert code == grpc.StatusCode.FAILED_PRECONDITION and "disabled" in msg
    assert rpc_error(lab, "ResumeBackend", pb.BackendActionRequest(name="b3"),
                     pb.Backend)[0] == grpc.StatusCode.FAILED_PRECONDITION
    f = rpc(lab, "GetFrontend", pb.GetFrontendRequest(name="web"), pb.Frontend)
    b3 = f.pools[1].backends[0]
    assert (b3.state, b3.enabled, b3.flush) == ("disabled", False, True)
    b = rpc(lab, "EnableBackend", pb.BackendActionRequest(name="b3"), pb.Backend)
    assert b.state == "unknown"
    d.wait_state("b3", "up")
    assert rpc_error(lab, "EnableBackend", pb.BackendActionRequest(name="nope"),
                     pb.Backend)[0] == grpc.StatusCode.NOT_FOUND
    del n


def test_set_weight(lab):
    f = rpc(lab, "SetFrontendPoolBackendWeight",
            pb.SetWeightRequest(frontend="web", pool="primary", backend="b2", weight=7), pb.Frontend)
    b2 = f.pools[0].backends[1]
    assert (b2.name, b2.weight, b2.effective_weight, b2.overridden) == ("b2", 50, 7, True)
    bad = pb.SetWeightRequest(frontend="web", pool="primary", backend="b2", weight=101)
    code, msg = rpc_error(lab, "SetFrontendPoolBackendWeight", bad, pb.Frontend)
    assert code == grpc.StatusCode.INVALID_ARGUMENT and "101" in msg
    for req, needle in ((pb.SetWeightRequest(frontend="x", pool="primary", backend="b2"), '"x"'),
                        (pb.SetWeightRequest(frontend="web", pool="x", backend="b2"), 'pool "x"'),
                        (pb.SetWeightRequest(frontend="web", pool="primary", backend="b3"),
                         'backend "b3"')):
        code, msg = rpc_error(lab, "SetFrontendPoolBackendWeight", req, pb.Frontend)
        assert code == grpc.StatusCode.NOT_FOUND and needle in msg, msg
    rpc(lab, "SetFrontendPoolBackendWeight",
        pb.SetWeightRequest(frontend="web", pool="primary", backend="b2", weight=50), pb.Frontend)


def test_check_and_reload(lab):
    r = rpc(lab, "CheckConfig", pb.CheckConfigRequest(), pb.ConfigResult)
    assert r.ok and r.summary == "2 healthchecks, 3 backends, 1 frontend, 2 pools"
    path = os.path.join(lab.dir, "maglev.yaml")
    good = open(path).read()
    with open(path, "w") as f:
        f.write(good.replace("weight: 50", "weight: 500"))
    r = rpc(lab, "CheckConfig", pb.CheckConfigRequest(), pb.ConfigResult)
    assert not r.ok and r.stage == "semantic"
    assert any("weight 500 out of range 0..100" in e for e in r.errors), r.errors
    r = rpc(lab, "ReloadConfig", pb.ReloadConfigRequest(), pb.ConfigResult)
    assert not r.ok and r.errors
    assert lab.daemon.state("b1") == "up"  # still running the old config
    with open(path, "w") as f:
        f.write(good)
    r = rpc(lab, "ReloadConfig", pb.ReloadConfigRequest(), pb.ConfigResult)
    assert r.ok and (r.added, r.changed, r.removed, r.unchanged) == (0, 0, 0, 3)


def watch(lab, req, timeout=WAIT):
    f = lab.channel.unary_stream("/maglev.Maglev/WatchEvents",
                                 request_serializer=pb.WatchEventsRequest.SerializeToString,
                                 response_deserializer=pb.Event.FromString)
    return f(req, timeout=timeout)


def test_watch_snapshot_then_changes(lab):
    stream = watch(lab, pb.WatchEventsRequest(backend=True, frontend=True))
    got = []
    for ev in stream:
        got.append(ev)
        if len(got) == 4:
            break
    kinds = [(e.WhichOneof("kind"), getattr(e, e.WhichOneof("kind")).name) for e in got]
    assert kinds == [("backend", "b1"), ("backend", "b2"), ("backend", "b3"), ("frontend", "web")]
    assert all(getattr(e, e.WhichOneof("kind")).initial for e in got)
    assert got[0].backend.state == "up" and got[3].frontend.to_state == "up"
    rpc(lab, "PauseBackend", pb.BackendActionRequest(name="b1"), pb.Backend)
    ev = next(stream)
    assert ev.backend.name == "b1" and not ev.backend.initial
    assert (getattr(ev.backend.transition, "from_state"), ev.backend.transition.to_state,
            ev.backend.transition.code) == ("up", "paused", "paused")
    rpc(lab, "ResumeBackend", pb.BackendActionRequest(name="b1"), pb.Backend)
    stream.cancel()
    lab.daemon.wait_state("b1", "up")


def test_watch_logs_with_level(lab):
    stream = watch(lab, pb.WatchEventsRequest(log=True, log_level="debug"))
    ev = next(stream)
    assert ev.WhichOneof("kind") == "log"
    assert ev.log.level in ("debug", "info", "warn", "error") and ev.log.line
    assert "msg=" in ev.log.line or ev.log.line.startswith("{")
    stream.cancel()
    with pytest.raises(grpc.RpcError) as e:
        next(watch(lab, pb.WatchEventsRequest(log=True, log_level="loud")))
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_slow_subscriber_is_dropped(lab):
    """A subscriber that does not read is ended with RESOURCE_EXHAUSTED; the
    daemon keeps serving everyone else."""
    # a small HTTP/2 window, so the daemon's queue for this stream fills
    slow = grpc.insecure_channel(lab.daemon.grpc_addr,
                                 options=[("grpc.http2.bdp_probe", 0),
                                          ("grpc.http2.lookahead_bytes", 8192)])
    f = slow.unary_stream("/maglev.Maglev/WatchEvents",
                          request_serializer=pb.WatchEventsRequest.SerializeToString,
                          response_deserializer=pb.Event.FromString)
    stream = f(pb.WatchEventsRequest(log=True, log_level="debug"), timeout=120)
    next(stream)  # subscribed
    for _ in range(600):  # thousands of log records, none read
        rpc(lab, "PauseBackend", pb.BackendActionRequest(name="b3"), pb.Backend)
        rpc(lab, "ResumeBackend", pb.BackendActionRequest(name="b3"), pb.Backend)
    lab.daemon.wait_for("watch-dropped", timeout=30)
    with pytest.raises(grpc.RpcError) as e:
        for _ in stream:
            pass
    assert e.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "too slow" in e.value.details()
    slow.close()
    assert rpc(lab, "GetVersion", pb.GetVersionRequest(), pb.VersionInfo).version
    lab.daemon.wait_state("b3", "up")


def test_reflection(lab):
    sys.path.insert(0, os.environ.get("PROTO_PY_DIR", "build/proto"))
    import reflection_pb2 as rpb
    from google.protobuf import descriptor_pb2
    f = lab.channel.stream_stream("/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
                                  request_serializer=rpb.ServerReflectionRequest.SerializeToString,
                                  response_deserializer=rpb.ServerReflectionResponse.FromString)
    reqs = [rpb.ServerReflectionRequest(list_services=""),
            rpb.ServerReflectionRequest(file_containing_symbol="maglev.Maglev")]
    out = list(f(iter(reqs), timeout=WAIT))
    assert [s.name for s in out[0].list_services_response.service] == ["maglev.Maglev"]
    fd = descriptor_pb2.FileDescriptorProto.FromString(
        out[1].file_descriptor_response.file_descriptor_proto[0])
    # the service as compiled (at least the 20 methods of this version)
    want = [m.name for m in pb.DESCRIPTOR.services_by_name["Maglev"].methods]
    assert fd.package == "maglev" and len(want) >= 20
    assert [m.name for m in fd.service[0].method] == want
