"""A real OpenSSH server on 127.0.0.1 playing a UniFi device: its allowed commands print device output.

The server runs with its own sshd_config, a throwaway host key and an authorized_keys entry whose
`command=` sends every session to a dispatcher script: `info`, `mca-dump` and
`tail -n 200 /var/log/messages` print device-like output, anything else is refused with status 127.
"""

from __future__ import annotations

import contextlib
import getpass
import json
import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from devcluster.processes import free_port, stop_process

SSHD_CANDIDATES = ("/usr/sbin/sshd", "/usr/bin/sshd")

MCA_DUMP = {
    "mac": "f0:9f:c2:00:00:02",
    "hostname": "ap-living-room",
    "model": "U6LR",
    "type": "uap",
    "ip": "192.168.1.2",
    "version": "6.6.77.15402",
    "uptime": 604800,
    "vap_table": [
        {
            "essid": "home",
            "radio": "na",
            "sta_table": [
                {
                    "mac": "aa:bb:cc:dd:ee:ff",
                    "hostname": "laptop-anna",
                    "ip": "192.168.1.23",
                    "signal": -52,
                    "uptime": 3600,
                },
                {
                    "mac": "3c:22:fb:10:20:30",
                    "hostname": "phone-ben",
                    "ip": "192.168.1.31",
                    "signal": -67,
                    "uptime": 120,
                },
            ],
        },
        {
            "essid": "guests",
            "radio": "ng",
            "sta_table": [{"mac": "5e:11:22:33:44:55", "ip": "10.10.0.9", "signal": -71, "uptime": 60}],
        },
    ],
}

INFO = """
Model:       U6-LR
Version:     6.6.77.15402
MAC Address: f0:9f:c2:00:00:02
IP Address:  192.168.1.2
Hostname:    ap-living-room
Uptime:      604800 seconds
NTP:         Synchronized

Status:      Connected (http://unifi:8080/inform)
"""

DISPATCHER = """#!/bin/sh
# Answers only the fixed commands a UniFi device would; everything else is refused.
here="{here}"
case "$SSH_ORIGINAL_COMMAND" in
  "info") cat "$here/info.txt" ;;
  "mca-dump") cat "$here/mca-dump.json" ;;
  "tail -n 200 /var/log/messages") tail -n 200 "$here/messages" ;;
  *) echo "not allowed: $SSH_ORIGINAL_COMMAND" >&2; exit 127 ;;
esac
"""


def find_sshd() -> str:
    """Path of sshd, installing Debian's openssh-server first when it is missing and we are root."""
    for candidate in SSHD_CANDIDATES:
        if os.access(candidate, os.X_OK):
            return candidate
    if os.geteuid() == 0 and shutil.which("apt-get"):
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
        subprocess.run(["apt-get", "install", "-y", "-qq", "openssh-server"], check=True, env=env)
        for candidate in SSHD_CANDIDATES:
            if os.access(candidate, os.X_OK):
                return candidate
    raise RuntimeError("sshd not found: install Debian's openssh-server (apt-get install openssh-server)")


def keygen(path: Path) -> str:
    """Make an ed25519 key pair at `path`; returns the public key line."""
    path.unlink(missing_ok=True)
    path.with_suffix(".pub").unlink(missing_ok=True)
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "cortex-test", "-f", str(path)], check=True)
    return path.with_suffix(".pub").read_text().strip()


@dataclass
class SshDevice:
    """A running sshd that plays a UniFi device, with the files a client needs to reach it."""

    directory: Path
    port: int
    username: str
    client_key: Path
    known_hosts: Path
    process: subprocess.Popen[bytes] | None = None

    @classmethod
    def create(cls, directory: Path) -> SshDevice:
        directory.mkdir(parents=True, exist_ok=True)
        device = cls(
            directory=directory,
            port=free_port(),
            username=getpass.getuser(),
            client_key=directory / "client_key",
            known_hosts=directory / "known_hosts",
        )
        client_public = keygen(device.client_key)
        (directory / "mca-dump.json").write_text(json.dumps(MCA_DUMP))
        (directory / "info.txt").write_text(INFO.lstrip())
        (directory / "messages").write_text(
            "".join(f"Nov 23 10:{i // 60:02d}:{i % 60:02d} ap-living-room daemon: event {i}\n" for i in range(300))
        )
        dispatcher = directory / "device.sh"
        dispatcher.write_text(DISPATCHER.format(here=directory))
        dispatcher.chmod(0o755)
        (directory / "authorized_keys").write_text(f'restrict,command="{dispatcher}" {client_public}\n')
        device.new_host_key()
        return device

    def new_host_key(self) -> None:
        """Give the device a fresh host key; known_hosts keeps trusting only the first one."""
        public = keygen(self.directory / "ssh_host_ed25519_key")
        if not self.known_hosts.exists():
            key_type, key_data = public.split()[:2]
            self.known_hosts.write_text(f"[127.0.0.1]:{self.port} {key_type} {key_data}\n")

    def _config(self) -> Path:
        config = self.directory / "sshd_config"
        config.write_text(
            "\n".join(
                [
                    f"Port {self.port}",
                    "ListenAddress 127.0.0.1",
                    f"HostKey {self.directory / 'ssh_host_ed25519_key'}",
                    f"PidFile {self.directory / 'sshd.pid'}",
                    f"AuthorizedKeysFile {self.directory / 'authorized_keys'}",
                    "PubkeyAuthentication yes",
                    "PasswordAuthentication no",
                    "KbdInteractiveAuthentication no",
                    "UsePAM no",
                    "StrictModes no",
                    "PermitRootLogin forced-commands-only",
                    f"AllowUsers {self.username}",
                    "AllowTcpForwarding no",
                    "X11Forwarding no",
                    "PrintMotd no",
                    "LogLevel VERBOSE",
                    "",
                ]
            )
        )
        return config

    def start(self) -> None:
        sshd = find_sshd()
        if os.geteuid() == 0:
            # sshd run by root insists on its privilege-separation directory, normally made by systemd.
            Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
        config = self._config()
        subprocess.run([sshd, "-t", "-f", str(config)], check=True)
        log = (self.directory / "sshd.log").open("ab")
        self.process = subprocess.Popen([sshd, "-D", "-e", "-f", str(config)], stdout=log, stderr=log)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"sshd exited: {(self.directory / 'sshd.log').read_text()[-2000:]}")
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2),
            ):
                return
            time.sleep(0.05)
        raise RuntimeError("sshd did not start listening within 10 s")

    def stop(self) -> None:
        if self.process is not None:
            stop_process(self.process, within=5)
        self.process = None
