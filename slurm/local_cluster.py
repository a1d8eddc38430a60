"""A real single-node Slurm cluster on this machine, for tests and for trying the cluster path.

Debian's ``slurm-wlm`` (22.05), ``munge``, ``slurmdbd`` and ``mariadb-server`` are started by hand as root
(no systemd, no cgroups) with every file — configuration, state, logs, sockets, the database — under
one temporary directory, and stopped again by process id.  From nothing to an idle node takes about
20–30 s.  Usage::

    python slurm/local_cluster.py start --dir /tmp/slurm-demo   # prints `export SLURM_CONF=...`
    python slurm/local_cluster.py stop --dir /tmp/slurm-demo
    python slurm/local_cluster.py run -- pytest -m slurm        # start, run one command, stop

Why each setting (each one measured on Slurm 22.05; without it something hangs or waits):

* **slurmdbd + a private MariaDB on 127.0.0.1.**  submitit reads job states only through ``sacct``,
  which needs the accounting daemon; without it every state is UNKNOWN and waiting on a killed job's
  result never returns.
* **munged runs as the ``munge`` user**, with its own key, socket and logs in the cluster directory.
* **``AuthInfo=cred_expire=10``**: a requeued job otherwise waits 120 s before it may start again.
* **``SchedulerParameters=batch_sched_delay=0,sched_interval=1,bf_interval=1``**: jobs start within a
  second instead of the default scheduling intervals.
* **``DefMemPerCPU``**: without a default memory per CPU a job is given the whole node's memory and
  the jobs of an array run one after another.
* **``proctrack/linuxproc``, ``task/none``**: no cgroups are needed (containers rarely allow them).
* **Partitions named like the profiles** (``debug``, ``a100``; the node carries the feature ``a100``)
  so the profiles in this folder submit here with only site values overridden.
* **Fake GPUs**: ``gres/gpu`` on character devices made with ``mknod`` under the cluster directory,
  so ``--gpus-per-node`` is scheduled and ``CUDA_VISIBLE_DEVICES`` is set in the job like on a real
  GPU node (nothing can run on them: torch still sees no CUDA device).
* **``slurmdbd.conf`` is mode 0600 beside ``slurm.conf``**: slurmdbd refuses it otherwise.

Job ids restart at 1 with every fresh state directory, so give each cluster (and each submitit job
folder) its own directory: a reused submitit folder would silently return an earlier job's result.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

PACKAGES = ("slurm-wlm", "munge", "slurmdbd", "mariadb-server")
#: programs the cluster needs; missing ones are installed from PACKAGES
PROGRAMS = ("slurmctld", "slurmd", "slurmdbd", "munged", "mariadbd", "mariadb-install-db", "sbatch", "sacct")
PARTITIONS = ("debug", "a100")
FAKE_GPUS = 2
#: default memory per allocated CPU (MB); see the module docstring
DEF_MEM_PER_CPU = 1000
START_TIMEOUT_S = 120


class ClusterError(RuntimeError):
    """The local cluster could not be installed, started or reached; the message says what failed and where."""


# --------------------------------------------------------------------------------------------------
# Installation
# --------------------------------------------------------------------------------------------------
def missing_programs() -> list[str]:
    search = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin"])
    return [name for name in PROGRAMS if shutil.which(name, path=search) is None]


def ensure_installed() -> None:
    """Install the Debian packages when a program is missing (root only; ``apt-get update`` on failure)."""
    missing = missing_programs()
    if not missing:
        return
    if os.geteuid() != 0:
        raise ClusterError(
            f"missing {', '.join(missing)}; as root run: apt-get install --no-install-recommends "
            + " ".join(PACKAGES)
        )
    command = ["apt-get", "install", "-y", "-q", "--no-install-recommends", *PACKAGES]
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    if subprocess.run(command, env=env, capture_output=True).returncode != 0:
        subprocess.run(["apt-get", "update", "-q"], env=env, capture_output=True, check=False)
        result = subprocess.run(command, env=env, capture_output=True, text=True)
        if result.returncode != 0:
            raise ClusterError(f"`{' '.join(command)}` failed:\n{result.stderr[-2000:]}")
    still = missing_programs()
    if still:
        raise ClusterError(f"installed {' '.join(PACKAGES)} but {', '.join(still)} are still missing")


def program(name: str) -> str:
    found = shutil.which(name, path=os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin"]))
    if found is None:
        raise ClusterError(f"{name} not found (run ensure_installed(), or install {' '.join(PACKAGES)})")
    return found


# --------------------------------------------------------------------------------------------------
# Configuration
# --------------------------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def node_line() -> str:
    """This machine's ``NodeName=... CPUs=... RealMemory=...`` as ``slurmd -C`` reports it."""
    out = subprocess.run([program("slurmd"), "-C"], capture_output=True, text=True, check=True).stdout
    for line in out.splitlines():
        if line.startswith("NodeName="):
            return line.strip()
    raise ClusterError(f"`slurmd -C` printed no NodeName line:\n{out}")


def slurm_conf(base: Path, node: str, ports: dict[str, int]) -> str:
    name = node.split()[0].split("=", 1)[1]
    munge_socket = base / "munge" / "munge.socket"
    partitions = "\n".join(
        f"PartitionName={p} Nodes={name} MaxTime=INFINITE State=UP" + (" Default=YES" if i == 0 else "")
        for i, p in enumerate(PARTITIONS)
    )
    return f"""# written by slurm/local_cluster.py — a throw-away single-node cluster
ClusterName=nullswap
SlurmctldHost={name}
SlurmctldPort={ports["slurmctld"]}
SlurmdPort={ports["slurmd"]}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket={munge_socket},cred_expire=10
CredType=cred/munge
StateSaveLocation={base}/state
SlurmdSpoolDir={base}/spool/%n
SlurmctldPidFile={base}/run/slurmctld.pid
SlurmdPidFile={base}/run/slurmd.pid
SlurmctldLogFile={base}/log/slurmctld.log
SlurmdLogFile={base}/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
ReturnToService=2
SchedulerType=sched/backfill
SchedulerParameters=batch_sched_delay=0,sched_interval=1,bf_interval=1
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU={DEF_MEM_PER_CPU}
GresTypes=gpu
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=localhost
AccountingStoragePort={ports["slurmdbd"]}
AccountingStoragePass={munge_socket}
JobRequeue=1
MinJobAge=600
KillWait=5
InactiveLimit=0
SlurmctldTimeout=30
SlurmdTimeout=30
{node} Gres=gpu:{FAKE_GPUS} Features=a100 State=UNKNOWN
{partitions}
"""


def slurmdbd_conf(base: Path, ports: dict[str, int]) -> str:
    return f"""# written by slurm/local_cluster.py
AuthType=auth/munge
AuthInfo=socket={base}/munge/munge.socket
DbdHost=localhost
DbdPort={ports["slurmdbd"]}
SlurmUser=root
LogFile={base}/log/slurmdbd.log
PidFile={base}/run/slurmdbd.pid
StorageType=accounting_storage/mysql
StorageHost=127.0.0.1
StoragePort={ports["mariadb"]}
StorageUser=root
StorageLoc=slurm_acct_db
"""


# --------------------------------------------------------------------------------------------------
# The cluster
# --------------------------------------------------------------------------------------------------
class LocalCluster:
    """Daemons of one cluster under ``base``; ``start()`` / ``stop()`` or a ``with`` block.

    ``env`` is what a client needs (``SLURM_CONF``); :meth:`activate` puts it into ``os.environ`` so
    that ``sbatch`` / ``sacct`` called by submitit reach this cluster."""

    DAEMONS = ("munged", "mariadbd", "slurmdbd", "slurmctld", "slurmd")

    def __init__(self, base: Path | str | None = None) -> None:
        self.base = Path(base) if base else Path(tempfile.mkdtemp(prefix="nullswap-slurm-"))
        self.pids: dict[str, int] = {}

    # -- paths --------------------------------------------------------------------------------------
    @property
    def conf(self) -> Path:
        return self.base / "etc" / "slurm.conf"

    @property
    def env(self) -> dict[str, str]:
        return {"SLURM_CONF": str(self.conf)}

    @property
    def pid_file(self) -> Path:
        return self.base / "pids.json"

    def log(self, daemon: str) -> Path:
        return self.base / "log" / f"{daemon}.log"

    def activate(self) -> None:
        os.environ.update(self.env)

    # -- start --------------------------------------------------------------------------------------
    def start(self, install: bool = False) -> LocalCluster:
        if os.geteuid() != 0:
            raise ClusterError("the local cluster runs its daemons as root (slurmd, munged as munge)")
        if install:
            ensure_installed()
        elif missing_programs():
            raise ClusterError(
                f"missing {', '.join(missing_programs())}: install {' '.join(PACKAGES)} "
                "(python slurm/local_cluster.py install)"
            )
        started = time.monotonic()
        self._layout()
        try:
            self._start_munge()
            self._start_mariadb()
            self._start("slurmdbd", [program("slurmdbd"), "-D"])
            self._wait_port(self.ports["slurmdbd"], "slurmdbd")
            self._add_cluster()
            self._start("slurmctld", [program("slurmctld"), "-D", "-i"])
            self._start("slurmd", [program("slurmd"), "-D"])
            self._wait_idle()
        except BaseException:
            self.stop()
            raise
        self.startup_s = time.monotonic() - started
        return self

    def _layout(self) -> None:
        self.base.mkdir(parents=True, exist_ok=True)
        self.base.chmod(0o755)  # munged (user munge) must reach its folder below
        for sub in ("etc", "state", "spool", "run", "log", "db", "dev"):
            (self.base / sub).mkdir(exist_ok=True)
        self.ports = {name: free_port() for name in ("slurmctld", "slurmd", "slurmdbd", "mariadb")}
        node = node_line()
        self.conf.write_text(slurm_conf(self.base, node, self.ports))
        dbd = self.conf.with_name("slurmdbd.conf")
        dbd.write_text(slurmdbd_conf(self.base, self.ports))
        dbd.chmod(0o600)
        name = node.split()[0].split("=", 1)[1]
        devices = self.base / "dev"
        for index in range(FAKE_GPUS):
            path = devices / f"nvidia{index}"
            if not path.exists():
                os.mknod(path, 0o666 | 0o020000, os.makedev(195, index))  # character device, like /dev/nvidiaN
        self.conf.with_name("gres.conf").write_text(
            f"NodeName={name} Name=gpu File={devices}/nvidia[0-{FAKE_GPUS - 1}]\n"
        )
        (self.base / "cgroup.conf").unlink(missing_ok=True)

    def _spawn(self, name: str, command: Sequence[str], **kwargs) -> None:
        log = open(self.base / "log" / f"{name}.out", "ab")  # noqa: SIM115 - the daemon keeps it open
        process = subprocess.Popen(
            list(command),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env={**os.environ, **self.env},
            start_new_session=True,
            **kwargs,
        )
        log.close()
        self.pids[name] = process.pid
        self.pid_file.write_text(json.dumps({"pids": self.pids, "ports": self.ports}))
        time.sleep(0.2)
        if process.poll() is not None:
            raise ClusterError(f"{name} exited at once (code {process.returncode}); see {self.base / 'log'}")

    def _start(self, name: str, command: Sequence[str]) -> None:
        self._spawn(name, command)

    def _start_munge(self) -> None:
        folder = self.base / "munge"
        folder.mkdir(exist_ok=True)
        user = pwd.getpwnam("munge")
        key = folder / "munge.key"
        if not key.exists():
            key.write_bytes(os.urandom(1024))
        for path in (folder, key):
            os.chown(path, user.pw_uid, user.pw_gid)
        folder.chmod(0o755)
        key.chmod(0o400)

        def as_munge() -> None:
            os.setgid(user.pw_gid)
            os.setuid(user.pw_uid)

        self._spawn(
            "munged",
            [
                program("munged"), "--foreground", f"--socket={folder}/munge.socket",
                f"--key-file={key}", f"--log-file={folder}/munged.log", f"--pid-file={folder}/munged.pid",
                f"--seed-file={folder}/munged.seed", "--num-threads=2",
            ],
            preexec_fn=as_munge,
        )
        self._wait_for(lambda: (folder / "munge.socket").exists(), "munged's socket", folder / "munged.log")

    def _start_mariadb(self) -> None:
        data = self.base / "db"
        if not (data / "mysql").is_dir():
            result = subprocess.run(
                [program("mariadb-install-db"), "--no-defaults", f"--datadir={data}", "--user=root",
                 "--auth-root-authentication-method=normal", "--skip-test-db"],
                capture_output=True, text=True,
            )
            if result.returncode != 0:
                raise ClusterError(f"mariadb-install-db failed:\n{result.stdout[-1500:]}{result.stderr[-1500:]}")
        self._spawn(
            "mariadbd",
            [
                program("mariadbd"), "--no-defaults", f"--datadir={data}", "--user=root",
                f"--socket={self.base}/run/mariadb.sock", f"--port={self.ports['mariadb']}",
                "--bind-address=127.0.0.1", f"--pid-file={self.base}/run/mariadb.pid",
                f"--log-error={self.base}/log/mariadb.log", "--skip-grant-tables", "--skip-log-bin",
                "--innodb-buffer-pool-size=32M", "--innodb-log-file-size=16M",
                "--innodb_lock_wait_timeout=900", "--max-connections=50",
            ],
        )
        self._wait_port(self.ports["mariadb"], "mariadbd")

    def _add_cluster(self) -> None:
        subprocess.run([program("sacctmgr"), "-i", "add", "cluster", "nullswap"],
                       env={**os.environ, **self.env}, capture_output=True, timeout=60, check=False)

    # -- waiting ------------------------------------------------------------------------------------
    def _wait_for(self, ready, what: str, log: Path | None = None) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if ready():
                return
            for name, pid in self.pids.items():
                if not _alive(pid):
                    raise ClusterError(f"{name} died while waiting for {what}; logs in {self.base / 'log'}")
            time.sleep(0.3)
        raise ClusterError(f"timed out after {START_TIMEOUT_S} s waiting for {what}; see {log or self.base / 'log'}")

    def _wait_port(self, port: int, what: str) -> None:
        def open_() -> bool:
            with socket.socket() as probe:
                probe.settimeout(0.5)
                return probe.connect_ex(("127.0.0.1", port)) == 0

        self._wait_for(open_, f"{what} on port {port}")

    def node_states(self) -> list[str]:
        out = subprocess.run(["sinfo", "-h", "-N", "-o", "%T"], env={**os.environ, **self.env},
                             capture_output=True, text=True, timeout=30)
        return out.stdout.split()

    def _wait_idle(self) -> None:
        self._wait_for(lambda: bool(self.node_states()) and all(s.startswith("idle") for s in self.node_states()),
                       "the node to become idle", self.log("slurmctld"))

    # -- stop ---------------------------------------------------------------------------------------
    def cancel_all(self) -> None:
        if self.conf.exists() and self.pids.get("slurmctld") and _alive(self.pids["slurmctld"]):
            subprocess.run(["scancel", "--user=root"], env={**os.environ, **self.env},
                           capture_output=True, timeout=30, check=False)

    def stop(self) -> None:
        """Cancel every job, then stop the daemons by process id (TERM, then KILL after 15 s)."""
        if not self.pids and self.pid_file.exists():
            self.pids = json.loads(self.pid_file.read_text())["pids"]
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            self.cancel_all()
        for name in reversed(self.DAEMONS):
            pid = self.pids.get(name)
            if pid is None:
                continue
            _terminate(pid)
            self.pids.pop(name)
        self.pid_file.unlink(missing_ok=True)

    def __enter__(self) -> LocalCluster:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _alive(pid: int) -> bool:
    try:
        waited, _ = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        waited = 0  # not our child (stop from another process): ask the kernel
    if waited == pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _terminate(pid: int, grace_s: float = 15.0) -> None:
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline:
        if not _alive(pid):
            return
        time.sleep(0.2)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        return
    _alive(pid)


# --------------------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------------------
def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("install", help=f"apt-get install --no-install-recommends {' '.join(PACKAGES)} if missing")
    start = sub.add_parser("start", help="start a cluster in DIR and print its SLURM_CONF")
    start.add_argument("--dir", type=Path, default=None)
    stop = sub.add_parser("stop", help="stop the cluster started in DIR")
    stop.add_argument("--dir", type=Path, required=True)
    run = sub.add_parser("run", help="start a cluster, run one command with SLURM_CONF set, stop it")
    run.add_argument("--dir", type=Path, default=None)
    run.add_argument("cmd", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    try:
        if args.command == "install":
            ensure_installed()
            return 0
        if args.command == "stop":
            LocalCluster(args.dir).stop()
            return 0
        cluster = LocalCluster(args.dir).start(install=True)
        print(f"cluster up in {cluster.startup_s:.1f} s; logs in {cluster.base / 'log'}", file=sys.stderr)
        if args.command == "start":
            print(f"export SLURM_CONF={cluster.conf}")
            return 0
        command = [c for c in args.cmd if c != "--"]
        try:
            return subprocess.run(command, env={**os.environ, **cluster.env}).returncode if command else 0
        finally:
            cluster.stop()
    except ClusterError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
