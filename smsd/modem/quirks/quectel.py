"""Quectel EC25 / EC21 / EG25 (EC2x AT Commands Manual)."""
from . import Profile

PROFILE = Profile(
    name="quectel",
    match=("quectel",),
    iccid_command="AT+QCCID",
    iccid_prefix="+QCCID",
    slot_set="AT+QDSIM={slot}",
    slot_query="AT+QDSIM?",
    slot_prefix="+QDSIM",
    power_off="AT+QPOWD=1",
    power_off_urc="POWERED DOWN",
    ready_urcs=("RDY", "+CPIN: READY", "+QUSIM: 1", "+QIND: SMS DONE"),
    network_query="AT+QNWINFO",
    network_prefix="+QNWINFO",
    imei_write='AT+EGMR=1,7,"{imei}"',     # EC2x manual: write IMEI (item 7)
)
