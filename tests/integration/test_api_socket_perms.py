"""Who can reach the unix socket (issue 11, part 3): --grpc-socket-group and
--grpc-socket-mode give the socket its group and mode before the server
serves anything, and the directory maglevd creates for it the same group.
Checked with maglevc run as the unprivileged user nobody (group nogroup);
bad values stop maglevd at start with exit 2."""
import grp
import os
import shutil
import stat
import subprocess
import tempfile
import time

import pytest

from lab import Daemon, MAGLEVC, MAGLEVD, MINIMAL_CONFIG, is_root


pytestmark = pytest.mark.skipif(not is_root(), reason="integration tests run as root")

CONFIG = MINIMAL_CONFIG


def as_nobody():
    if shutil.which("setpriv"):
        return ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"]
    if shutil.which("runuser"):
        return ["runuser", "-u", "nobody", "-g", "nogroup", "--"]
    pytest.skip("neither setpriv nor runuser to run a command as nobody")


@pytest.fixture
def tdir():
    """A temp dir nobody can traverse (pytest's tmp_path sits under a 0700
    directory), holding the config (readable by root only, as usual)."""
    d = tempfile.mkdtemp(prefix="maglev-perms-")
    os.chmod(d, 0o755)
    with open(os.path.join(d, "maglev.yaml"), "w") as f:
        f.write(CONFIG)
    yield d
    shutil.rmtree(d, ignore_errors=True)


def start(tdir, *args, sock=None):
    sock = sock or os.path.join(tdir, "maglevd.sock")
    d = Daemon(os.path.join(tdir, "maglev.yaml"), *args, grpc_addr="unix:" + sock)
    d.wait_for("api-listening")
    return d, sock


def maglevc_as_nobody(sock):
    return subprocess.run([*as_nobody(), MAGLEVC, "--server", "unix:" + sock, "show", "version"],
                          capture_output=True, text=True, timeout=30)


def nogroup_gid():
    return grp.getgrnam("nogroup").gr_gid


def test_group_lets_its_members_in(tdir):
    d, sock = start(tdir, "--grpc-socket-group", "nogroup")
    try:
        st = os.lstat(sock)
        assert stat.S_ISSOCK(st.st_mode)
        assert stat.S_IMODE(st.st_mode) == 0o660
        assert st.st_gid == nogroup_gid()
        r = maglevc_as_nobody(sock)
        assert r.returncode == 0, r.stderr
        assert "maglevd" in r.stdout and "not reachable" not in r.stdout, r.stdout
    finally:
        assert d.stop() == 0


def test_default_keeps_others_out(tdir):
    d, sock = start(tdir)
    try:
        st = os.lstat(sock)
        assert stat.S_IMODE(st.st_mode) == 0o660
        assert st.st_gid == os.getegid()
        r = maglevc_as_nobody(sock)
        assert r.returncode == 1, (r.stdout, r.stderr)
        assert "Permission denied" in r.stderr, r.stderr
    finally:
        d.stop()


def test_mode_0666_lets_anyone_in(tdir):
    d, sock = start(tdir, "--grpc-socket-mode", "0666")
    try:
        st = os.lstat(sock)
        assert stat.S_IMODE(st.st_mode) == 0o666
        assert st.st_gid == os.getegid()
        r = maglevc_as_nobody(sock)
        assert r.returncode == 0, r.stderr
    finally:
        d.stop()


def test_env_vars(tdir):
    # Daemon drops MAGLEV_* from the environment: run maglevd by hand.
    sock = os.path.join(tdir, "maglevd.sock")
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAGLEV_")}
    env.update(MAGLEV_GRPC_SOCKET_GROUP="nogroup", MAGLEV_GRPC_SOCKET_MODE="0640")
    p = subprocess.Popen([MAGLEVD, "--config", os.path.join(tdir, "maglev.yaml"),
                          "--vpp-api-addr", "", "--grpc-addr", "unix:" + sock],
                         stderr=subprocess.DEVNULL, env=env)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if os.path.exists(sock) and stat.S_IMODE(os.lstat(sock).st_mode) == 0o640:
                break
            assert p.poll() is None
            time.sleep(0.02)
        st = os.lstat(sock)
        assert stat.S_IMODE(st.st_mode) == 0o640
        assert st.st_gid == nogroup_gid()
        r = maglevc_as_nobody(sock)  # group read is not enough to connect
        assert r.returncode == 1 and "Permission denied" in r.stderr, r.stderr
    finally:
        p.terminate()
        p.wait(timeout=15)


def test_created_directory_gets_the_group(tdir):
    sock = os.path.join(tdir, "run", "maglevd.sock")
    d, _ = start(tdir, "--grpc-socket-group", "nogroup", sock=sock)
    try:
        st = os.stat(os.path.dirname(sock))
        assert stat.S_IMODE(st.st_mode) == 0o750
        assert st.st_gid == nogroup_gid()
        r = maglevc_as_nobody(sock)
        assert r.returncode == 0, r.stderr
    finally:
        d.stop()


def test_existing_directory_not_traversable_warns(tdir):
    sub = os.path.join(tdir, "closed")
    os.mkdir(sub, 0o700)
    d, sock = start(tdir, "--grpc-socket-group", "nogroup", sock=os.path.join(sub, "m.sock"))
    try:
        rec = d.wait_for("api-socket-dir-not-traversable")
        assert rec["dir"] == sub
        assert stat.S_IMODE(os.stat(sub).st_mode) == 0o700  # left as it is
    finally:
        d.stop()


def run_maglevd(tdir, *args):
    return subprocess.run([MAGLEVD, "--config", os.path.join(tdir, "maglev.yaml"),
                           "--vpp-api-addr", "", "--grpc-addr",
                           "unix:" + os.path.join(tdir, "maglevd.sock"), *args],
                          capture_output=True, text=True, timeout=30,
                          env={k: v for k, v in os.environ.items()
                               if not k.startswith("MAGLEV_")})


def test_unknown_group_exits_2(tdir):
    r = run_maglevd(tdir, "--grpc-socket-group", "no-such-group-xyz")
    assert r.returncode == 2
    assert "no-such-group-xyz" in r.stderr
    assert "groupadd" in r.stderr
    assert not os.path.exists(os.path.join(tdir, "maglevd.sock"))


@pytest.mark.parametrize("mode", ["0777", "0755", "abc", "0700", "0400", "4660", "1660", "",
                                  "06600", "0668"])
def test_bad_mode_exits_2(tdir, mode):
    r = run_maglevd(tdir, "--grpc-socket-mode", mode)
    assert r.returncode == 2, r.stderr
    assert "--grpc-socket-mode" in r.stderr
    assert not os.path.exists(os.path.join(tdir, "maglevd.sock"))
