"""Build shim: setuptools reads setup.cfg; this file only adds the cffi codec extension."""
import os

from setuptools import setup

BUILD_SCRIPT = "pdu_codec_c/build_pdu.py:ffibuilder"

setup(
    cffi_modules=[BUILD_SCRIPT] if os.path.exists(BUILD_SCRIPT.split(":")[0]) else [],
)
