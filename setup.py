"""Build shim: setuptools reads setup.cfg; this file only adds the cffi codec extension.

The extension smsd._pdu_c is always built (a C compiler and Python headers are part of the
bootstrap); smsd.pdu falls back to the pure-Python codec only if it is missing at run time.
"""
from setuptools import setup

setup(cffi_modules=["pdu_codec_c/build_pdu.py:ffibuilder"])
