"""Board control: the modem ports' GPIO lines, LEDs and front-panel button (gpiozero).

description.py  the board description file -> frozen BoardDescription (no gpiozero import, so
                the configuration can check a description without touching any pin)
lines.py        one port's gpiozero devices and the modules' pulse timings
board.py        Board: recovery hooks, slot select, STATUS, LEDs, the factory-reset gesture
sink.py         LedSink: the WorkerSink decorator that lets LEDs follow port changes
factory_reset.py what a confirmed factory reset deletes

The simulator's side (modules on mock pins) is smsd/sim/gpio.py. See docs/board.md.
"""
