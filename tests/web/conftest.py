from __future__ import annotations

import sys
from pathlib import Path

# tests/web's helpers import the suite's shared fakes (tests/fakes.py) and each other.
for folder in (Path(__file__).parent, Path(__file__).parents[1]):
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))
