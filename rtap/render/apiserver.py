"""A real Kubernetes control plane on loopback, for checking objects server-side:
etcd, kube-apiserver (PodSecurity admission on, as in every cluster since 1.25) and
kube-controller-manager, so that Deployments, StatefulSets and Jobs make their Pods and
the Pods meet admission. There is no scheduler and no kubelet: Pods stay Pending.

The binaries come from scripts/build-go-tools (built once per machine from Go modules
into the tool cache). Everything runs from a temporary folder and stops on exit.
"""

from __future__ import annotations

import secrets
import shutil
import ssl
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http import HTTPStatus
from pathlib import Path

import httpx
import structlog

from core.ports import free_ports
from rtap.go_tools import ToolBuildError, built_tools

log = structlog.get_logger(__name__)

READY_TIMEOUT_S = 90.0
# 1.37 names: a wrong controller name makes the process exit. No node exists to give
# pod CIDRs to, and the trust-bundle publisher rejects the self-signed serving cert.
DISABLED_CONTROLLERS = (
    "-node-ipam-controller",
    "-node-lifecycle-controller",
    "-kube-apiserver-serving-clustertrustbundle-publisher-controller",
)


class ApiServerError(RuntimeError):
    """The control plane could not be built or started; the message says what to do."""


@dataclass(frozen=True)
class ApiServer:
    """A running API server: its URL and an admin client."""

    url: str
    client: httpx.Client
    version: str


def kube_tools() -> Path:
    """The folder holding etcd, kube-apiserver, kube-controller-manager and kubectl."""
    try:
        return built_tools("kube-tools")
    except ToolBuildError as failed:
        raise ApiServerError(str(failed)) from None


@contextmanager
def local_api_server(controllers: bool = True) -> Iterator[ApiServer]:
    """Starts the control plane, yields it once the API answers, stops it at the end."""
    tools = kube_tools()
    root = Path(tempfile.mkdtemp(prefix="rtap-apiserver-"))
    processes: list[subprocess.Popen[bytes]] = []
    client: httpx.Client | None = None
    try:
        token = secrets.token_hex(24)
        etcd_client, etcd_peer, secure = free_ports(3)
        _write_credentials(root, token)
        processes.append(_start(tools / "etcd", _etcd_args(root, etcd_client, etcd_peer), root))
        processes.append(
            _start(tools / "kube-apiserver", _apiserver_args(root, etcd_client, secure), root)
        )
        url = f"https://127.0.0.1:{secure}"
        client = _client(url, token, root, processes)
        version = _wait_ready(client, processes, root)
        if controllers:
            _write_kubeconfig(root, url, token)
            processes.append(_start(tools / "kube-controller-manager", _manager_args(root), root))
        log.info("kube-apiserver ready", url=url, version=version, controllers=controllers)
        yield ApiServer(url, client, version)
    finally:
        if client is not None:
            client.close()
        # Killed, not stopped gracefully: the data is thrown away, and a graceful stop of
        # the API server takes about ten seconds.
        for process in reversed(processes):
            process.kill()
            process.wait(15)
        shutil.rmtree(root, ignore_errors=True)


def _write_credentials(root: Path, token: str) -> None:
    key = root / "sa.key"
    subprocess.run(["openssl", "genrsa", "-out", str(key), "2048"], check=True, capture_output=True)
    subprocess.run(
        ["openssl", "rsa", "-in", str(key), "-pubout", "-out", str(root / "sa.pub")],
        check=True,
        capture_output=True,
    )
    (root / "tokens.csv").write_text(f"{token},admin,admin-uid,system:masters\n")


def _write_kubeconfig(root: Path, url: str, token: str) -> None:
    (root / "kubeconfig").write_text(
        "apiVersion: v1\nkind: Config\n"
        f"clusters: [{{name: local, cluster: {{server: '{url}', "
        f"certificate-authority: '{root / 'certs' / 'apiserver.crt'}'}}}}]\n"
        f"users: [{{name: admin, user: {{token: '{token}'}}}}]\n"
        "contexts: [{name: local, context: {cluster: local, user: admin}}]\n"
        "current-context: local\n"
    )


def _etcd_args(root: Path, client: int, peer: int) -> list[str]:
    peer_url, client_url = f"http://127.0.0.1:{peer}", f"http://127.0.0.1:{client}"
    return [
        "--name=rtap",
        f"--data-dir={root / 'etcd'}",
        f"--listen-client-urls={client_url}",
        f"--advertise-client-urls={client_url}",
        f"--listen-peer-urls={peer_url}",
        f"--initial-advertise-peer-urls={peer_url}",
        f"--initial-cluster=rtap={peer_url}",
    ]


def _apiserver_args(root: Path, etcd_client: int, secure: int) -> list[str]:
    return [
        f"--etcd-servers=http://127.0.0.1:{etcd_client}",
        "--bind-address=127.0.0.1",
        "--advertise-address=127.0.0.1",
        f"--secure-port={secure}",
        f"--cert-dir={root / 'certs'}",
        "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
        f"--service-account-key-file={root / 'sa.pub'}",
        f"--service-account-signing-key-file={root / 'sa.key'}",
        "--service-cluster-ip-range=10.96.0.0/16",
        f"--token-auth-file={root / 'tokens.csv'}",
        "--authorization-mode=Node,RBAC",
        "--enable-priority-and-fairness=false",
        # The default reconciler refuses a loopback address as the advertised one.
        "--endpoint-reconciler-type=none",
    ]


def _manager_args(root: Path) -> list[str]:
    return [
        f"--kubeconfig={root / 'kubeconfig'}",
        "--bind-address=127.0.0.1",
        f"--secure-port={free_ports(1)[0]}",
        "--use-service-account-credentials=false",
        f"--service-account-private-key-file={root / 'sa.key'}",
        f"--root-ca-file={root / 'certs' / 'apiserver.crt'}",
        "--controllers=" + ",".join(("*", *DISABLED_CONTROLLERS)),
        "--leader-elect=false",
    ]


def _start(binary: Path, args: list[str], root: Path) -> subprocess.Popen[bytes]:
    with (root / f"{binary.name}.log").open("wb") as log_file:
        return subprocess.Popen([str(binary), *args], stdout=log_file, stderr=subprocess.STDOUT)


def _client(
    url: str, token: str, root: Path, processes: list[subprocess.Popen[bytes]]
) -> httpx.Client:
    """An admin client that trusts the serving certificate the server made for itself."""
    certificate = root / "certs" / "apiserver.crt"
    deadline = time.monotonic() + READY_TIMEOUT_S
    while not certificate.exists():
        _raise_if_exited(processes, root)
        if time.monotonic() > deadline:
            raise ApiServerError(f"kube-apiserver wrote no {certificate.name} in time")
        time.sleep(0.2)
    return httpx.Client(
        base_url=url,
        headers={"Authorization": f"Bearer {token}"},
        verify=ssl.create_default_context(cafile=str(certificate)),
        timeout=30,
    )


def _raise_if_exited(processes: list[subprocess.Popen[bytes]], root: Path) -> None:
    """Fails with the end of the log of a process that died while starting."""
    for process in processes:
        if process.poll() is None:
            continue
        name = Path(str(process.args[0])).name  # type: ignore[index]
        log_lines = (root / f"{name}.log").read_text(errors="replace").splitlines()[-15:]
        raise ApiServerError(
            f"{name} exited with {process.returncode} while starting; its log ends:\n"
            + "\n".join(log_lines)
        )


def _wait_ready(client: httpx.Client, processes: list[subprocess.Popen[bytes]], root: Path) -> str:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        _raise_if_exited(processes, root)
        try:
            if client.get("/readyz").status_code == HTTPStatus.OK:
                return str(client.get("/version").json()["gitVersion"])
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise ApiServerError(f"kube-apiserver was not ready within {READY_TIMEOUT_S:.0f} s")
