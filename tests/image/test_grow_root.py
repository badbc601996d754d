"""The board's first-boot grow-root script (image/overlay-rpi4/usr/lib/smsd-image/grow-root) on
a loop device standing in for an SD card larger than the image: the mounted last partition is
extended to the disk's end in the table and in the kernel, and a second run changes nothing.
Needs root and loop devices (skipped otherwise). The file system growth that follows is
systemd-growfs' job on the board, not exercised here."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

SCRIPT = Path(__file__).parents[2] / "image/overlay-rpi4/usr/lib/smsd-image/grow-root"
TOOLS = ("losetup", "partx", "sfdisk", "mkfs.ext4", "mount", "umount", "mountpoint")
MIB = 1024 * 1024


def loop_devices_usable() -> bool:
    if os.geteuid() != 0 or any(shutil.which(t) is None for t in TOOLS):
        return False
    return subprocess.run(["losetup", "-f"], capture_output=True, check=False).returncode == 0


pytestmark = pytest.mark.skipif(
    not loop_devices_usable(), reason="needs root and a free loop device"
)


def sh(*cmd: str) -> str:
    return subprocess.run(cmd, check=True, capture_output=True, text=True).stdout


def sectors(loop: str, name: str) -> int:
    return int(Path(f"/sys/block/{Path(loop).name}/{name}/size").read_text())


@pytest.fixture
def card(tmp_path: Path) -> Iterator[tuple[Path, str, Path]]:
    """A 64 MiB 'image' (FAT-typed p1, ext4 p2 to the end) mounted, on a loop device."""
    img, mnt = tmp_path / "card.img", tmp_path / "root"
    mnt.mkdir()
    with img.open("wb") as f:
        f.truncate(64 * MIB)
    layout = "label: dos\nstart=8192, size=16384, type=c, bootable\nstart=24576, type=83\n"
    subprocess.run(["sfdisk", "-q", str(img)], input=layout, text=True, check=True)
    loop = sh("losetup", "-f", "--show", str(img)).strip()
    mounted = False
    try:
        sh("partx", "--add", loop)  # losetup -P does not scan in every container
        sh("mkfs.ext4", "-q", f"{loop}p2")
        sh("mount", f"{loop}p2", str(mnt))
        mounted = True
        yield img, loop, mnt
    finally:
        if mounted:
            subprocess.run(["umount", str(mnt)], check=False)
        subprocess.run(["partx", "--delete", loop], capture_output=True, check=False)
        subprocess.run(["losetup", "-d", loop], check=False)


def grow_root(mnt: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["sh", str(SCRIPT), str(mnt)], capture_output=True, text=True, check=True)


def test_mounted_root_partition_grows_to_the_disk_end_once(card: tuple[Path, str, Path]) -> None:
    img, loop, mnt = card
    assert grow_root(mnt).stdout == ""  # the image's own size: nothing to do
    before = sectors(loop, f"{Path(loop).name}p2")

    with img.open("r+b") as f:  # flashed onto a bigger card
        f.truncate(96 * MIB)
    sh("losetup", "--set-capacity", loop)
    first = grow_root(mnt)

    after = sectors(loop, f"{Path(loop).name}p2")
    assert after == before + 32 * 2048  # the kernel sees the new size while mounted...
    table = sh("sfdisk", "--dump", str(img))
    assert f"start=       24576, size=      {after}, type=83" in table  # ...and so does the card
    assert "adding 32 MiB" in first.stdout
    assert grow_root(mnt).stdout == ""  # next boot
    assert sectors(loop, f"{Path(loop).name}p2") == after
