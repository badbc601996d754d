"""`python -m smsd.sim`: the simulated board in a process of its own (smsd/sim/standalone.py)."""
import sys

from smsd.sim.standalone import main

sys.exit(main())
