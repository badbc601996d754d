"""SIMCom SIM7600 / SIM7500 (and the board's SIM multiplexer behind AT+SMSIMSLOT)."""
from . import Profile

PROFILE = Profile(
    name="simcom",
    match=("simcom",),
    iccid_command="AT+CICCID",
    iccid_prefix="+ICCID",
    slot_set="AT+SMSIMSLOT={slot}",
    slot_query="AT+SMSIMSLOT?",
    slot_prefix="+SMSIMSLOT",
    power_off="AT+CPOF",
    ready_urcs=("RDY", "+CPIN: READY", "SMS DONE", "PB DONE"),
    network_query="AT+CPSI?",
    network_prefix="+CPSI",
    imei_write="AT+SIMEI={imei}",            # SIM7500/SIM7600 manual: set the IMEI
    hangup="AT+CHUP",                        # the 27.007 hang-up the SIM7600 manual lists
)
