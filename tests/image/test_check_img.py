"""tests/image/check_img.py against small card images made here without root (sfdisk on a file,
mkfs.vfat + mcopy, mkfs.ext4 -d, dd): a complete one passes, and each kind of breakage the
build could produce fails the check with a line naming it."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

CHECK = Path(__file__).with_name("check_img.py")
TOOLS = ("sfdisk", "mkfs.vfat", "mcopy", "mkfs.ext4", "debugfs", "dumpe2fs")
pytestmark = pytest.mark.skipif(
    any(shutil.which(t) is None for t in TOOLS),
    reason=f"needs {', '.join(TOOLS)} (fdisk, dosfstools, mtools, e2fsprogs)",
)

MIB = 1024 * 1024
FAT_START_MIB, FAT_MIB, ROOT_MIB = 4, 16, 24
KERNEL = "vmlinuz-6.1.0-1-arm64"
INITRD = "initrd.img-6.1.0-1-arm64"


def sh(*cmd: str) -> None:
    subprocess.run(cmd, check=True, capture_output=True)


def firmware_tree(d: Path, cmdline: str) -> None:
    d.mkdir(parents=True)
    for name in ("start4.elf", "fixup4.dat", "bcm2711-rpi-4-b.dtb", KERNEL, INITRD):
        (d / name).write_bytes(b"\0" * 64)
    config = f"arm_64bit=1\nkernel={KERNEL}\ninitramfs {INITRD} followkernel\ndtparam=watchdog=on\n"
    (d / "config.txt").write_text(config)
    (d / "cmdline.txt").write_text(cmdline)


def root_tree(d: Path, fstab_root_options: str) -> None:
    files = {
        "usr/lib/python3/dist-packages/smsd/__init__.py": "",
        "etc/smsd/smsd.conf": "[network]\nmanage = yes\n",
        "usr/lib/smsd-image/firstboot": "#!/bin/sh\n",
        "usr/lib/smsd-image/grow-root": "#!/bin/sh\n",
        "usr/sbin/sfdisk": "",
        "usr/lib/systemd/systemd-growfs": "",
        "etc/smsd-image-release": "profile=rpi4\narch=arm64\n",
        "etc/machine-id": "uninitialized\n",
        "etc/fstab": (
            f"LABEL=RASPIROOT / ext4 {fstab_root_options} 0 1\n"
            "LABEL=RASPIFIRM /boot/firmware vfat rw,umask=0077 0 2\n"
        ),
    }
    for rel, text in files.items():
        (d / rel).parent.mkdir(parents=True, exist_ok=True)
        (d / rel).write_text(text)
    (d / "boot/firmware").mkdir(parents=True)
    units = d / "etc/systemd/system"
    for wants, unit in (
        ("multi-user.target.wants", "smsd.service"),
        ("multi-user.target.wants", "smsd-firstboot.service"),
        ("multi-user.target.wants", "smsd-admin-password.path"),
        ("multi-user.target.wants", "systemd-networkd.service"),
        ("local-fs.target.wants", "smsd-grow-root.service"),
        ("sysinit.target.wants", "systemd-resolved.service"),
    ):
        (units / wants).mkdir(parents=True, exist_ok=True)
        (units / wants / unit).symlink_to(f"/lib/systemd/system/{unit}")


def make_image(
    tmp: Path,
    *,
    cmdline: str = "console=tty0 root=LABEL=RASPIROOT rw rootwait\n",
    fstab_root_options: str = "rw,errors=remount-ro,x-systemd.growfs",
    fat_label: str = "RASPIFIRM",
) -> Path:
    firmware_tree(tmp / "fw", cmdline)
    root_tree(tmp / "root", fstab_root_options)
    fat, root, img = tmp / "fat.img", tmp / "root.img", tmp / "card.img"
    sh("mkfs.vfat", "-n", fat_label, "-C", str(fat), str(FAT_MIB * 1024))
    sh("mcopy", "-s", "-i", str(fat), *[str(p) for p in sorted((tmp / "fw").iterdir())], "::/")
    sh("mkfs.ext4", "-q", "-L", "RASPIROOT", "-d", str(tmp / "root"), str(root), f"{ROOT_MIB}M")
    total = (FAT_START_MIB + FAT_MIB + ROOT_MIB) * MIB
    with img.open("wb") as f:
        f.truncate(total)
    layout = (
        "label: dos\n"
        f"start={FAT_START_MIB * 2048}, size={FAT_MIB * 2048}, type=c, bootable\n"
        f"start={(FAT_START_MIB + FAT_MIB) * 2048}, type=83\n"
    )
    subprocess.run(
        ["sfdisk", "-q", str(img)], input=layout.encode(), check=True, capture_output=True
    )
    for part, start_mib in ((fat, FAT_START_MIB), (root, FAT_START_MIB + FAT_MIB)):
        sh("dd", f"if={part}", f"of={img}", "bs=1M", f"seek={start_mib}", "conv=notrunc", "status=none")
    return img


def check(img: Path) -> tuple[int, list[str]]:
    cmd = [sys.executable, str(CHECK), str(img)]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    return done.returncode, [line for line in done.stdout.splitlines() if line.startswith("FAIL")]


def test_complete_image_passes(tmp_path: Path) -> None:
    rc, failures = check(make_image(tmp_path))
    assert (rc, failures) == (0, [])


def test_cmdline_naming_another_root_fails(tmp_path: Path) -> None:
    rc, failures = check(make_image(tmp_path, cmdline="root=/dev/mmcblk0p2 rw\n"))
    assert rc == 1
    assert [f for f in failures if "cmdline.txt" in f] and len(failures) == 1


def test_root_that_does_not_grow_fails(tmp_path: Path) -> None:
    rc, failures = check(make_image(tmp_path, fstab_root_options="rw,errors=remount-ro"))
    assert rc == 1
    assert len(failures) == 1 and "x-systemd.growfs" in failures[0]


def test_firmware_partition_with_another_label_fails(tmp_path: Path) -> None:
    rc, failures = check(make_image(tmp_path, fat_label="BOOT"))
    assert rc == 1
    assert len(failures) == 1 and "FAT label" in failures[0]


def test_root_partition_short_of_the_image_end_fails(tmp_path: Path) -> None:
    img = make_image(tmp_path)
    with img.open("r+b") as f:
        f.truncate(img.stat().st_size + 8 * MIB)
    rc, failures = check(img)
    assert rc == 1
    assert len(failures) == 1 and "image's end" in failures[0]


def test_file_without_partition_table_fails(tmp_path: Path) -> None:
    img = tmp_path / "empty.img"
    img.write_bytes(b"\0" * MIB)
    rc, failures = check(img)
    assert rc == 1 and failures
