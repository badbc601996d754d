"""Checks a Raspberry Pi 4 card image built by `make image`, which runs this at its end so that
a broken image fails the build:

    python3 tests/image/check_img.py build/image/smsd-rpi4.img

Nothing is mounted and nothing booted: the partition table is read with sfdisk, the FAT
partition with mtools and the ext4 root with debugfs, each at the partition's offset in the
file. Prints one line per check and exits 1 if any failed.
"""

from __future__ import annotations

import json
import operator
import os
import re
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

SECTOR = 512
MIB = 1024 * 1024
FAT_LABEL = "RASPIFIRM"
ROOT_LABEL = "RASPIROOT"
# What the board's firmware loads from the FAT before the kernel (Pi 4: start4/fixup4).
FIRMWARE_FILES = ("start4.elf", "fixup4.dat", "bcm2711-rpi-4-b.dtb", "config.txt", "cmdline.txt")
ROOT_PATHS = (
    "/usr/lib/python3/dist-packages/smsd/__init__.py",
    "/etc/smsd/smsd.conf",
    "/usr/lib/smsd-image/firstboot",
    "/usr/lib/smsd-image/grow-root",
    "/usr/sbin/sfdisk",
    "/usr/lib/systemd/systemd-growfs",
)
ENABLED_UNITS = (
    "multi-user.target.wants/smsd.service",
    "multi-user.target.wants/smsd-firstboot.service",
    "multi-user.target.wants/smsd-admin-password.path",
    "multi-user.target.wants/systemd-networkd.service",
    "local-fs.target.wants/smsd-grow-root.service",
    "sysinit.target.wants/systemd-resolved.service",
)


class CheckError(Exception):
    """A tool could not read what the check needs (the image is then broken too)."""


def run(*cmd: str) -> str:
    env = dict(os.environ, MTOOLS_SKIP_CHECK="1")
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:
        raise CheckError(f"{' '.join(cmd)}: {done.stderr.strip() or done.returncode}")
    return done.stdout


@dataclass(frozen=True)
class Partition:
    number: int
    start: int  # sectors
    size: int  # sectors
    type: str
    bootable: bool

    @property
    def offset(self) -> int:
        return self.start * SECTOR

    @property
    def end(self) -> int:
        return (self.start + self.size) * SECTOR


def partitions(img: Path) -> tuple[str, list[Partition]]:
    table = json.loads(run("sfdisk", "--json", str(img)))["partitiontable"]
    parts = [
        Partition(
            number=i + 1,
            start=int(p["start"]),
            size=int(p["size"]),
            type=str(p["type"]),
            bootable=bool(p.get("bootable", False)),
        )
        for i, p in enumerate(table.get("partitions", []))
    ]
    return str(table["label"]), parts


class Fat:
    """The firmware partition, read with mtools at its byte offset in the image."""

    def __init__(self, img: Path, part: Partition) -> None:
        self.drive = f"{img}@@{part.offset}"

    def label(self) -> str:
        # "Volume label is RASPIFIRM" (padded with blanks)
        return run("mlabel", "-s", "-i", self.drive, "::").split("is", 1)[-1].strip()

    def files(self) -> set[str]:
        listing = run("mdir", "-b", "-i", self.drive, "::/")
        return {line.strip().removeprefix("::/") for line in listing.splitlines()}

    def read(self, name: str) -> str:
        return run("mtype", "-i", self.drive, f"::/{name}")


class Ext4:
    """The root file system, read with debugfs (e2fsprogs' offset= io option)."""

    def __init__(self, img: Path, part: Partition) -> None:
        self.device = f"{img}?offset={part.offset}"

    def _debugfs(self, request: str) -> str:
        return run("debugfs", "-R", request, self.device)

    def label(self) -> str:
        for line in run("dumpe2fs", "-h", self.device).splitlines():
            if line.startswith("Filesystem volume name:"):
                return line.split(":", 1)[1].strip()
        return ""

    def exists(self, path: str) -> bool:
        # debugfs exits 0 either way; a found file has an inode line
        return "Inode:" in self._debugfs(f"stat {path}")

    def read(self, path: str) -> str:
        return self._debugfs(f"cat {path}")

    def entries(self, path: str) -> list[str]:
        # ls -p: /inode/mode/uid/gid/name/size/ per entry
        rows = [line.split("/") for line in self._debugfs(f"ls -p {path}").splitlines()]
        return [row[5] for row in rows if len(row) >= 7 and row[5] not in (".", "..")]


class Report:
    def __init__(self) -> None:
        self.failed = 0

    def check(self, what: str, test: Callable[[], bool | str]) -> None:
        """test returns True, or False / a reason string for a failure."""
        try:
            outcome = test()
        except CheckError as e:
            outcome = str(e)
        if outcome is True:
            print(f"ok    {what}")
            return
        self.failed += 1
        reason = f": {outcome}" if isinstance(outcome, str) else ""
        print(f"FAIL  {what}{reason}")


def config_boot_files(config: str) -> list[str]:
    """The kernel= and initramfs files config.txt makes the firmware load."""
    files = re.findall(r"^kernel=(\S+)", config, re.MULTILINE)
    files += re.findall(r"^initramfs\s+(\S+)", config, re.MULTILINE)
    return files


def check_table(r: Report, img: Path, label: str, parts: list[Partition]) -> None:
    r.check("MBR (dos) partition table, read by the Pi's firmware", lambda: label == "dos" or label)
    r.check("two partitions", lambda: len(parts) == 2 or f"{len(parts)} partitions")
    if len(parts) != 2:
        return
    fat, root = parts
    r.check(
        "partition 1: FAT32 (type c), bootable, at 4 MiB",
        lambda: (fat.type, fat.bootable, fat.offset) == ("c", True, 4 * MIB) or str(fat),
    )
    r.check(
        "partition 2: Linux (type 83) after partition 1",
        lambda: root.type == "83" and root.start >= fat.start + fat.size or str(root),
    )
    short = img.stat().st_size - root.end
    r.check(
        "partition 2 reaches the image's end (the part that grows on the card)",
        lambda: 0 <= short < MIB or f"ends {short} bytes before it",
    )


def check_fat(r: Report, fat: Fat) -> None:
    label = fat.label()
    r.check(f"FAT label {FAT_LABEL} (fstab mounts it so)", lambda: label == FAT_LABEL or label)
    files = fat.files()
    for name in FIRMWARE_FILES:
        r.check(f"FAT holds {name}", partial(operator.contains, files, name))
    config = fat.read("config.txt") if "config.txt" in files else ""
    boot = config_boot_files(config)
    r.check("config.txt names a kernel and an initramfs", lambda: len(boot) == 2 or f"found {boot}")
    for name in boot:
        r.check(f"FAT holds {name} (named by config.txt)", partial(operator.contains, files, name))
    r.check("config.txt turns the SoC watchdog on", lambda: "dtparam=watchdog=on" in config.split())
    cmdline = fat.read("cmdline.txt") if "cmdline.txt" in files else ""
    r.check(
        f"cmdline.txt: root=LABEL={ROOT_LABEL}",
        lambda: f"root=LABEL={ROOT_LABEL}" in cmdline.split() or cmdline.strip(),
    )


def fstab_entries(text: str) -> dict[str, list[str]]:
    """Mount point -> fields of /etc/fstab."""
    rows = [line.split() for line in text.splitlines() if line.strip() and not line.startswith("#")]
    return {fields[1]: fields for fields in rows if len(fields) >= 4}


def check_root(r: Report, root: Ext4) -> None:
    label = root.label()
    r.check(
        f"ext4 label {ROOT_LABEL} (cmdline.txt and fstab find the root by it)",
        lambda: label == ROOT_LABEL or label,
    )
    for path in ROOT_PATHS:
        r.check(f"root holds {path}", partial(root.exists, path))
    for unit in ENABLED_UNITS:
        r.check(f"enabled: {unit}", partial(root.exists, f"/etc/systemd/system/{unit}"))
    mounts = fstab_entries(root.read("/etc/fstab"))
    slash, firmware = mounts.get("/", []), mounts.get("/boot/firmware", [])
    r.check(
        f"fstab: / is LABEL={ROOT_LABEL} with x-systemd.growfs",
        lambda: slash[:1] == [f"LABEL={ROOT_LABEL}"] and "x-systemd.growfs" in slash[3].split(",")
        or str(slash),
    )
    r.check(
        f"fstab: /boot/firmware is LABEL={FAT_LABEL}",
        lambda: firmware[:1] == [f"LABEL={FAT_LABEL}"] or str(firmware),
    )
    left = root.entries("/boot/firmware")
    r.check("/boot/firmware in the root is empty (the FAT goes there)", lambda: not left or str(left))
    release = root.read("/etc/smsd-image-release")
    r.check(
        "/etc/smsd-image-release: profile=rpi4, arch=arm64",
        lambda: {"profile=rpi4", "arch=arm64"} <= set(release.splitlines()) or release.strip(),
    )
    machine_id = root.read("/etc/machine-id").strip()
    r.check("machine id made on first boot", lambda: machine_id == "uninitialized" or machine_id)
    r.check("no admin password shipped (no /var/lib/smsd)", lambda: not root.exists("/var/lib/smsd"))


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(f"usage: {argv[0]} IMAGE", file=sys.stderr)
        return 2
    img = Path(argv[1])
    r = Report()
    try:
        label, parts = partitions(img)
    except CheckError as e:
        print(f"FAIL  partition table: {e}")
        return 1
    check_table(r, img, label, parts)
    if len(parts) == 2:
        check_fat(r, Fat(img, parts[0]))
        check_root(r, Ext4(img, parts[1]))
    verdict = f"{r.failed} check(s) failed" if r.failed else "all checks passed"
    print(f"check_img: {img}: {verdict}")
    return 1 if r.failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
