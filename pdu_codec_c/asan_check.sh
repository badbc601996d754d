#!/bin/sh
# Runs the codec tests against an AddressSanitizer build of smsd._pdu_c.
# The instrumented module is built into a scratch copy of the tree (the working tree and its
# normal build stay untouched) and libasan is preloaded because python itself is not built with
# it. Then the corpus run (tests/asan_corpus.py). `make fuzz-asan` runs this (CI: .ci/run).
# Usage from the repository root: sh pdu_codec_c/asan_check.sh [pytest args]
set -eu
ROOT=$(pwd)
PY=${PYTHON:-$ROOT/.venv/bin/python}
ASAN_LIB=$(gcc -print-file-name=libasan.so)
[ -f "$ASAN_LIB" ] || { echo "asan_check: no libasan (Debian: libgcc-12-dev)" >&2; exit 1; }
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
cp -r smsd tests setup.cfg "$WORK/"
rm -f "$WORK"/smsd/_pdu_c*.so
SMSD_PDU_CFLAGS="-fsanitize=address -fno-omit-frame-pointer -g" "$PY" -c "
import sys; sys.path.insert(0, 'pdu_codec_c')
import build_pdu
build_pdu.ffibuilder.compile(tmpdir='$WORK/build')"
cp "$WORK"/build/smsd/_pdu_c*.so "$WORK/smsd/"
# a build that silently lost the flag would make every run below pass for nothing
nm -D "$WORK"/smsd/_pdu_c*.so | grep -q __asan_ || { echo "asan_check: not instrumented" >&2; exit 1; }
cd "$WORK"
LD_PRELOAD=$ASAN_LIB ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 \
    "$PY" -m pytest -p no:cacheprovider -o addopts="" -q \
    tests/test_pdu_c_robustness.py tests/test_pdu_differential.py tests/test_pdu_vectors.py \
    tests/test_pdu_codec.py tests/test_pdu_native.py tests/test_pdu_malformed.py \
    tests/test_fuzz_codecs.py "$@"
# ...and over the corpus (tests/vectors, tests/corpus), every PDU cut and mutated
PYTHONPATH="$WORK" LD_PRELOAD=$ASAN_LIB \
    ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 "$PY" tests/asan_corpus.py
