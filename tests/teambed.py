"""The team-cache test bed: a real registry on 127.0.0.1 and a third dockerd that plays both the
teammate's fresh machine and a remote engine reached over TCP with TLS.

- `Registry`: Debian's `docker-registry` (distribution 2.8, installed by
  scripts/provision-docker.sh) serving plain HTTP on 127.0.0.1:<free port>, its storage in a
  folder of its own. dockerd treats 127.0.0.0/8 as an insecure registry by default, and BuildKit
  inside dockerd uses the daemon's registry config, so both engines push and pull without TLS.
  `readonly=True` makes a registry that refuses every push (distribution's maintenance mode).
- `TlsEngine`: Debian sid's dockerd (the binary scripts/provision-docker-sid.sh unpacked) beside
  the two shared engines, the way that script makes the second coexist: its own data root, exec
  root, pidfile, containerd namespaces, cgroup parent and bridge (never `--bridge none`, never
  `default-address-pools`), no iptables changes; it listens only on tcp://127.0.0.1:<free port>
  with `--tlsverify` and certificates made here with `openssl` (a CA, a server certificate for
  the IP 127.0.0.1, a client certificate). Its build cache is empty by construction; the
  stand-in base image is copied in with `docker save | docker load` (two processes joined by a
  pipe). Stopping it removes its data root and bridge.

Nothing here touches the two shared engines except `docker save` of the stand-in image.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

SID_ROOT = Path(os.environ.get("DOCKYARD_SID_ROOT", "/opt/dockyard-sid"))
SID_DOCKERD = SID_ROOT / "fs" / "usr" / "sbin" / "dockerd"
SID_PROXY = SID_ROOT / "fs" / "usr" / "sbin" / "docker-proxy"
# Client variables that point a docker CLI at an engine (cleared before pointing at another).
ENGINE_VARIABLES = ("DOCKER_HOST", "DOCKER_CONTEXT", "DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait(what: str, ready: Callable[[], bool], seconds: float, log: Path | None = None) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if ready():
            return
        time.sleep(0.5)
    tail = ""
    if log is not None and log.is_file():
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-30:])
    raise RuntimeError(f"{what} not ready after {seconds:.0f}s\n{tail}")


def _stop(process: subprocess.Popen[bytes], seconds: float = 30) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(seconds)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


@dataclass
class Registry:
    """A distribution registry on 127.0.0.1, started by `start()`, removed by `stop()`."""

    root: Path
    readonly: bool = False
    port: int = 0
    process: subprocess.Popen[bytes] | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def config(self) -> str:
        readonly = "  maintenance:\n    readonly:\n      enabled: true\n" if self.readonly else ""
        return (
            "version: 0.1\nlog:\n  level: warn\nstorage:\n"
            f"  filesystem:\n    rootdirectory: {self.root / 'storage'}\n"
            f"  delete:\n    enabled: true\n{readonly}"
            f"http:\n  addr: {self.address}\n"
        )

    def answers(self) -> bool:
        try:
            with urllib.request.urlopen(f"http://{self.address}/v2/", timeout=2) as reply:
                return bool(reply.status == 200)
        except (OSError, urllib.error.URLError):
            return False

    def start(self) -> Registry:
        binary = shutil.which("docker-registry") or shutil.which("registry")
        if binary is None:
            raise RuntimeError("docker-registry missing (run scripts/provision-docker.sh)")
        self.root.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        config = self.root / "config.yml"
        config.write_text(self.config(), encoding="utf-8")
        log = self.root / "registry.log"
        with log.open("ab") as out:
            self.process = subprocess.Popen(
                [binary, "serve", str(config)], stdout=out, stderr=subprocess.STDOUT
            )
        _wait(f"registry on {self.address}", self.answers, 20, log)
        return self

    def stop(self) -> None:
        if self.process is not None:
            _stop(self.process, 10)
            self.process = None
        shutil.rmtree(self.root, ignore_errors=True)

    def tags(self, repository: str) -> list[str]:
        """The tags of `repository` ([] when it has none)."""
        url = f"http://{self.address}/v2/{repository}/tags/list"
        try:
            with urllib.request.urlopen(url, timeout=5) as reply:
                return list(json.load(reply).get("tags") or [])
        except urllib.error.HTTPError:
            return []


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


def make_certificates(folder: Path, name: str = "dockyard-test") -> None:
    """ca.pem, server-cert.pem / server-key.pem (IP SAN 127.0.0.1), cert.pem / key.pem (client).

    The client files carry the names the docker CLI reads from DOCKER_CERT_PATH.
    """
    folder.mkdir(parents=True, exist_ok=True)
    _openssl(
        "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", f"/CN={name}-ca",
        "-keyout", "ca-key.pem", "-out", "ca.pem", cwd=folder,
    )  # fmt: skip
    (folder / "server.ext").write_text(
        "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n", encoding="utf-8"
    )
    (folder / "client.ext").write_text("extendedKeyUsage=clientAuth\n", encoding="utf-8")
    for who, key, cert in (("server", "server-key.pem", "server-cert.pem"),
                           ("client", "key.pem", "cert.pem")):  # fmt: skip
        _openssl(
            "req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={name}-{who}",
            "-keyout", key, "-out", f"{who}.csr", cwd=folder,
        )  # fmt: skip
        _openssl(
            "x509", "-req", "-in", f"{who}.csr", "-CA", "ca.pem", "-CAkey", "ca-key.pem",
            "-CAcreateserial", "-days", "2", "-extfile", f"{who}.ext", "-out", cert, cwd=folder,
        )  # fmt: skip


def _ip(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ip", *args], capture_output=True, text=True, check=False, timeout=30)


def _free_subnet() -> str:
    """A 172.31.x.1/24 with no route yet (the shared engines' subnets are skipped)."""
    routes = _ip("-4", "route").stdout
    for third in range(240, 250):
        if f"172.31.{third}." not in routes:
            return f"172.31.{third}.1/24"
    raise RuntimeError("no free 172.31.240-249.0/24 for the third engine's bridge")


def base_environ() -> dict[str, str]:
    """The environment with no engine selected: the default (debian13) engine's client."""
    environ = {k: v for k, v in os.environ.items() if k not in ENGINE_VARIABLES}
    environ.pop("DOCKER_CONFIG", None)
    return environ


@dataclass
class TlsEngine:
    """A dockerd of its own on tcp://127.0.0.1:<port> with --tlsverify (containerd store)."""

    root: Path
    port: int = 0
    token: str = field(default_factory=lambda: uuid.uuid4().hex[:6])
    bridge: str = ""
    process: subprocess.Popen[bytes] | None = None
    loaded: list[str] = field(default_factory=list)  # the images copied in (`load`)

    @property
    def host(self) -> str:
        return f"tcp://127.0.0.1:{self.port}"

    @property
    def certs(self) -> Path:
        return self.root / "certs"

    @property
    def exec_root(self) -> Path:
        # Short: containerd's socket lives under it (unix socket paths stop at 108 bytes).
        return Path(f"/run/dytc-{self.token}")

    def client_env(self, cert_path: Path | None = None) -> dict[str, str]:
        """What a docker client needs to reach this engine (DOCKER_CONFIG left as it is)."""
        return {
            "DOCKER_HOST": self.host,
            "DOCKER_TLS_VERIFY": "1",
            "DOCKER_CERT_PATH": str(cert_path or self.certs),
        }

    def environ(self, cert_path: Path | None = None) -> dict[str, str]:
        environ = {k: v for k, v in os.environ.items() if k not in ENGINE_VARIABLES}
        environ.update(self.client_env(cert_path))
        return environ

    def docker(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["docker", *args],
            env=self.environ(),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def answers(self) -> bool:
        return self.docker("version", "--format", "{{.Server.Version}}", timeout=10).returncode == 0

    def start(self) -> TlsEngine:
        if not SID_DOCKERD.is_file():
            raise RuntimeError(f"{SID_DOCKERD} missing (run scripts/provision-docker-sid.sh)")
        self.root.mkdir(parents=True, exist_ok=True)
        make_certificates(self.certs)
        self.bridge = f"dytc{self.token}"
        subnet = _free_subnet()
        for args in (
            ("link", "add", self.bridge, "type", "bridge"),
            ("addr", "add", subnet, "dev", self.bridge),
            ("link", "set", self.bridge, "up"),
        ):
            done = _ip(*args)
            if done.returncode != 0:
                raise RuntimeError(f"ip {' '.join(args)}: {done.stderr.strip()}")
        config: dict[str, object] = {
            "features": {"containerd-snapshotter": True},
            "userland-proxy-path": str(SID_PROXY),
        }
        if Path("/usr/bin/tini-static").is_file():
            config["init-path"] = "/usr/bin/tini-static"
        (self.root / "daemon.json").write_text(json.dumps(config), encoding="utf-8")
        self.port = free_port()
        try:
            self._launch()
        except RuntimeError:
            self.stop()
            raise
        return self

    def restart(self) -> None:
        """Stop the dockerd (as a service manager does: SIGTERM) and start it again on the
        same port, data root and bridge: what a user's `systemctl restart docker` does."""
        if self.process is not None:
            _stop(self.process)
            self.process = None
        self._launch()

    def _launch(self) -> None:
        log = self.root / "dockerd.log"
        name = f"dytc-{self.token}"
        environ = base_environ()
        environ["PATH"] = os.pathsep.join(
            [str(SID_DOCKERD.parent), str(SID_ROOT / "fs" / "usr" / "bin"), environ["PATH"]]
        )
        with log.open("ab") as out:
            self.process = subprocess.Popen(
                [
                    str(SID_DOCKERD),
                    "--host",
                    self.host,
                    "--tlsverify",
                    "--tlscacert",
                    str(self.certs / "ca.pem"),
                    "--tlscert",
                    str(self.certs / "server-cert.pem"),
                    "--tlskey",
                    str(self.certs / "server-key.pem"),
                    "--data-root",
                    str(self.root / "data"),
                    "--exec-root",
                    str(self.exec_root),
                    "--pidfile",
                    str(self.root / "docker.pid"),
                    "--config-file",
                    str(self.root / "daemon.json"),
                    "--bridge",
                    self.bridge,
                    "--iptables=false",
                    "--containerd-namespace",
                    name,
                    "--containerd-plugins-namespace",
                    f"{name}-plugins",
                    "--cgroup-parent",
                    f"/{name}",
                ],
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=environ,
                start_new_session=True,
            )
        _wait(f"third dockerd on {self.host}", self.answers, 90, log)

    def load(self, image: str) -> None:
        """Copy `image` from the default engine: `docker save | docker load`, no shell."""
        save = subprocess.Popen(
            ["docker", "save", image], stdout=subprocess.PIPE, env=base_environ()
        )
        assert save.stdout is not None
        load = subprocess.run(
            ["docker", "load", "--quiet"],
            stdin=save.stdout,
            env=self.environ(),
            capture_output=True,
            timeout=600,
            check=False,
        )
        save.stdout.close()
        if save.wait(60) != 0 or load.returncode != 0:
            raise RuntimeError(f"copying {image} failed: {load.stderr.decode(errors='replace')}")
        self.loaded.append(image)

    def forget_builds(self) -> None:
        """Empty this engine's build cache and remove every image but the ones copied in (it
        is ours alone): the next build is a fresh machine's, with the base images only (an
        earlier test's image would hold layers, e.g. a `WORKDIR`'s, a fresh machine lacks)."""
        self.docker("builder", "prune", "--all", "--force")
        keep = {
            line.strip()
            for image in self.loaded
            for line in self.docker("image", "inspect", "--format", "{{.Id}}", image).stdout.split()
        }
        listed = self.docker("image", "ls", "--all", "--quiet", "--no-trunc").stdout.split()
        others = sorted({image for image in listed if image not in keep})
        if others:
            self.docker("image", "rm", "--force", *others)
        self.docker("builder", "prune", "--all", "--force")  # what the images held

    def stop(self) -> None:
        if self.process is not None:
            _stop(self.process)
            self.process = None
        with contextlib.suppress(OSError):
            shutil.rmtree(self.root / "data")
        shutil.rmtree(self.exec_root, ignore_errors=True)
        if self.bridge:
            _ip("link", "delete", self.bridge)
            self.bridge = ""


@contextlib.contextmanager
def running_registry(root: Path, *, readonly: bool = False) -> Iterator[Registry]:
    registry = Registry(root, readonly=readonly).start()
    try:
        yield registry
    finally:
        registry.stop()


@contextlib.contextmanager
def running_tls_engine(root: Path, images: Sequence[str]) -> Iterator[TlsEngine]:
    engine = TlsEngine(root).start()
    try:
        for image in images:
            engine.load(image)
        yield engine
    finally:
        engine.stop()
