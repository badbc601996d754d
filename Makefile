# Two commands for a fresh Debian machine: `make run` and `make test`.
VENV      := .venv
STAMP     := $(VENV)/.installed
STATE_DIR ?= state
LISTEN    ?= 127.0.0.1:8080
PORTS     ?= 8

.PHONY: run test test-arm fleet-test lint typecheck bench bench-env clean

$(STAMP): setup.cfg setup.py pyproject.toml scripts/bootstrap.sh $(wildcard pdu_codec_c/*.c pdu_codec_c/*.h pdu_codec_c/*.py)
	sh scripts/bootstrap.sh
	touch $(STAMP)

run: $(STAMP)
	$(VENV)/bin/smsd run --simulate $(PORTS) --state-dir $(STATE_DIR) --listen $(LISTEN)

typecheck: $(STAMP)
	$(VENV)/bin/python -m mypy smsd

# The suite on every core (pytest-xdist, JOBS=auto); tests that share something fixed on the
# machine keep to one worker (their xdist_group, tests/conftest.py). JOBS=1: one process, no xdist.
JOBS ?= auto
PYTEST_JOBS = $(if $(filter 1,$(JOBS)),-p no:xdist,-n $(JOBS) --dist loadgroup)

test: $(STAMP) typecheck
	$(VENV)/bin/python -m pytest $(PYTEST_JOBS)

# Two smsd boxes (simulated boards) behind Debian's Kannel, installed when missing: traffic through
# Kannel's sendsms spreads over both, delivery reports reach its dlr-url, a box killed loses none
# of its queue (tests/fleet/, docs/fleet.md). `make test` does not collect tests/fleet/.
fleet-test: $(STAMP)
	sh tests/fleet/run.sh

# The codec tests (C and Python backends) in a Debian 12 arm64 root file system under qemu-user,
# with Debian's own python3, cffi, pytest and hypothesis; ARCH=armhf for the 32-bit board.
# Needs root; the root file system is cached in build/arm-test/ (tests/arm/run.sh).
test-arm:
	sh tests/arm/run.sh $(or $(ARCH),arm64)

# Each benchmark ends with `RESULT <name> <value> <unit> goal <op> <goal> met|missed` lines;
# bench/all.sh runs them in turn and prints those lines again together at the end.
bench: $(STAMP)
	sh bench/all.sh $(VENV)/bin/python

# Fuzzing (docs/fuzzing.md): `make test` runs the fuzz tests under Hypothesis's `ci` profile;
# `make fuzz` runs them long (SMSD_FUZZ=long, FUZZ_EXAMPLES per test, the hostile HTTP tests too).
# `make fuzz-asan`: the C codec built with AddressSanitizer, its tests and a PDU corpus (CI).
FUZZ_EXAMPLES ?= 3000
.PHONY: fuzz fuzz-asan
fuzz: $(STAMP)
	SMSD_FUZZ=long SMSD_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) SMSD_HOSTILE_EXAMPLES=$(FUZZ_EXAMPLES) \
	    $(VENV)/bin/python -m pytest -p no:xdist -q tests/e2e/test_fuzz_surfaces.py \
	    tests/test_fuzz_codecs.py tests/test_hostile_http.py

fuzz-asan: $(STAMP)
	sh pdu_codec_c/asan_check.sh

# Peer codec libraries for bench/pdu_codec.py, installed into .venv (python-gammu builds against
# Debian's libgammu-dev). Not needed to run or test smsd.
bench-env: $(STAMP)
	command -v pkg-config >/dev/null && pkg-config --exists gammu || \
	    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libgammu-dev pkg-config; }
	$(VENV)/bin/python -m pip install -q -r bench/requirements-pdu.txt

clean:
	rm -rf $(VENV) build *.egg-info .mypy_cache .pytest_cache

# Debian package (debian/): build/deb/smsd_<version>_<arch>.deb, checked with lintian.
# `make deb ARCH=arm64` cross-builds; build dependencies are installed with apt when missing.
ARCH ?=
.PHONY: deb package-test
deb:
	sh debian/build-deb.sh $(ARCH)

# A release: `make release VERSION=x.y.z [ARCH="amd64 arm64"]` with SMSD_RELEASE_KEY (the release
# key's fingerprint) and GNUPGHOME (its keyring) in the environment. Refuses a dirty tree or
# versions that disagree; sets the version (smsd/__init__.py, debian/changelog), builds and signs
# build/deb/smsd_<version>_<arch>.deb(.sig) and tags v<version> (scripts/release.sh).
.PHONY: release open-version
release:
	sh scripts/release.sh "$(VERSION)" "$(ARCH)"

# After a release: the next version's UNRELEASED changelog entry, and the code's version with it.
open-version:
	sh scripts/open-version.sh "$(VERSION)"

# Installs the package into a fresh Debian 12 root file system, boots it and checks the service.
package-test: deb
	sh tests/package/run.sh

# Appliance image (image/, docs/package.md). `make image`: the Raspberry Pi 4 SD card
# image with debos, after `make deb ARCH=arm64`, checked by tests/image/check_img.py (needs
# root, KVM or qemu-user; 17 min on 2 cores under qemu-user). `make image-rootfs`: the same root file system
# with mmdebstrap, from the same scripts (arm64 when this machine runs arm64 programs through
# qemu-user, else its own architecture as a container root fs). `make image-smoke`: boots that
# root file system in a container and checks the first boot and smsd.service; it builds this
# machine's architecture unless IMAGE_ARCH says otherwise (arm64 under qemu-user is slow).
IMAGE_ARCH ?=
IMAGE_SMOKE_ARCH = $(or $(IMAGE_ARCH),$(shell dpkg --print-architecture))
.PHONY: image image-rootfs image-smoke
image:
	sh image/build-image.sh

image-rootfs:
	sh image/build-rootfs.sh $(IMAGE_ARCH)

image-smoke:
	sh image/build-rootfs.sh $(IMAGE_SMOKE_ARCH)
	sh tests/image/smoke.sh build/image/rootfs-$(IMAGE_SMOKE_ARCH)

# The web console's tests alone, the real-browser walk included (headless Chromium, installed by
# scripts/bootstrap.sh); screenshots of each page in build/screenshots/ (docs/web-console.md).
.PHONY: test-web
test-web: $(STAMP)
	$(VENV)/bin/python -m pytest tests/web
