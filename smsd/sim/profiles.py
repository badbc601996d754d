"""Modem model profiles: what differs between the simulated Quectel and SIMCom modules.

Vendor differences are data (see docs/INTERFACES.md, "Simulated modem profiles"); the command
handlers look these strings up instead of branching on the vendor name.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Profile:
    name: str
    ati: tuple[str, ...]              # ATI information lines
    cgmi: str
    cgmm: str
    cgmr: str
    iccid_cmd: str                    # extended command name that reads the ICCID
    iccid_prefix: str                 # its information-line prefix
    slot_cmd: str                     # extended command that selects the SIM slot
    power_off_cmd: str                # extended command that powers the module down
    power_down_urcs: tuple[str, ...]  # printed after the power-off command's OK
    ready_urcs: tuple[str, ...]       # printed after boot; "+CPIN: READY" marks the SIM line
    nwinfo_cmd: str                   # the vendor's network-type query (read form "?" or action)
    nwinfo_query: bool                # True: the command is used as AT<cmd>?
    imei_tac: str                     # first 8 IMEI digits (type allocation code)


QUECTEL = Profile(
    name="quectel",
    ati=("Quectel", "EC25", "Revision: EC25EFAR06A06M4G"),
    cgmi="Quectel",
    cgmm="EC25",
    cgmr="EC25EFAR06A06M4G",
    iccid_cmd="+QCCID",
    iccid_prefix="+QCCID: ",
    slot_cmd="+QDSIM",
    power_off_cmd="+QPOWD",
    power_down_urcs=("POWERED DOWN",),
    ready_urcs=("RDY", "+CPIN: READY", "+QUSIM: 1", "+QIND: SMS DONE"),
    nwinfo_cmd="+QNWINFO",
    nwinfo_query=False,
    imei_tac="86167303",
)

SIMCOM = Profile(
    name="simcom",
    ati=("Manufacturer: SIMCOM INCORPORATED", "Model: SIMCOM_SIM7600E-H",
         "Revision: SIM7600M22_V2.0"),
    cgmi="SIMCOM INCORPORATED",
    cgmm="SIMCOM_SIM7600E-H",
    cgmr="+CGMR: SIM7600M22_V2.0",
    iccid_cmd="+CICCID",
    iccid_prefix="+ICCID: ",
    slot_cmd="+SMSIMSLOT",
    power_off_cmd="+CPOF",
    power_down_urcs=(),
    ready_urcs=("RDY", "+CPIN: READY", "SMS DONE", "PB DONE"),
    nwinfo_cmd="+CPSI",
    nwinfo_query=True,
    imei_tac="86229004",
)

PROFILES = {"quectel": QUECTEL, "simcom": SIMCOM}


def profile_for(choice: str, port: int) -> Profile:
    """The profile of one port; "mixed" alternates: even ports Quectel, odd ports SIMCom."""
    if choice == "mixed":
        return QUECTEL if port % 2 == 0 else SIMCOM
    try:
        return PROFILES[choice]
    except KeyError:
        raise ValueError(f"unknown modem profile {choice!r}") from None


def nwinfo_line(profile: Profile, registered: bool, operator_code: str) -> str:
    """The network-type answer: LTE when registered, "no service" otherwise."""
    if profile.name == "quectel":
        if not registered:
            return "+QNWINFO: No Service"
        return f'+QNWINFO: "FDD LTE","{operator_code}","LTE BAND 3",1300'
    if not registered:
        return "+CPSI: NO SERVICE,Online"
    mcc, mnc = operator_code[:3], operator_code[3:]
    return (f"+CPSI: LTE,Online,{mcc}-{mnc},0x1A2B,12345678,123,EUTRAN-BAND3,1300,5,5,"
            "-94,-850,-560,15")
