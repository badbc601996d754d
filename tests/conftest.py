from __future__ import annotations

import os
from typing import Iterator

import pytest


@pytest.fixture(autouse=True)
def _process_umask_restored() -> Iterator[None]:
    # `smsd` commands and the daemon set umask 077 for their files; tests that run them in this
    # process must not leave it to the next test (a package built later would get 0700 dirs).
    old = os.umask(0o022)
    os.umask(old)
    yield
    os.umask(old)
