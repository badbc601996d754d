"""Every key of the Ozeki NG driver tables for the connection types smsd runs, with the
document's defaults (docs/connections.md), and which of them this box uses.

A key of a type's table is always accepted by configdriver; one that is not in USED is stored and
reported as "accepted, has no effect on this box" (log files, COM ports, Windows paths, knobs of
Ozeki's own engine). EXTRA are smsd's own keys a type needs that the document's table lacks (the
SMPP login, the e-mail listener). Types of the document smsd does not run are UNSUPPORTED.
"""
from __future__ import annotations

KINDS = ("SMPP", "HTTPClient", "HTTPServer", "SMTP")
# The document's other types, by createdriver type and by PROTOCOL: refused with DRIVER_TYPE.
UNSUPPORTED = ("CIMD2", "UCP", "EAIF", "EAIFMMS", "MM7", "MM7MMS", "VoIP", "ozVoIP")

DEFAULTS: dict[str, dict[str, str]] = {
    'SMPP': {
        'ADDRESSRANGE': '',
        'AUTOCONNECT': 'on',
        'BINDNPI': '',
        'BINDTOHOSTIP': '0.0.0.0',
        'BINDTON': '',
        'BINDTOPORT': '0',
        'CBALTERNATIVEREPORTS': 'off',
        'CBSLOWCOMMUNICATION': 'off',
        'CHARSETHANDLING': 'Best match',
        'DCSHEXCHAR': '00',
        'DELIVERYREPORT': 'on',
        'DELIVERYREPORTDATEFORMAT': 'yyMMddHHmm',
        'DESTNPI': '',
        'DESTTON': '',
        'HOST': '127.0.0.1',
        'IDOVERRIDE': 'off',
        'INCLUDEDRINESM': 'on',
        'INCLUDEUDHIINESMBIN': 'on',
        'INCLUDEUDHIINESMTEXT': 'on',
        'KEEPALIVEPERIOD': '30',
        'KEEPALIVEREQUEST': 'on',
        'LEAVEPLUSSIGNINTELNUM': 'off',
        'LIMITTOMPM': '240',
        'LOGCOMMUNICATION': 'off',
        'LOGDIRECTORY': 'C:\\Program Files (x86)\\Ozeki\\OzekiNG - SMS Gateway\\Logs',
        'LOGHISTORYCOUNT': '4',
        'LOGLINESBEFORECHECKSIZE': '20',
        'LOGMAXFILESIZE': '8000',
        'LOGMESSAGES': 'on',
        'MODE': 'Transceiver',
        'OPERATOR': 'SMPP0',
        'OPTIONALPARAMETER': '',
        'OVERRIDEDCS': 'off',
        'PHONENUMBER': '+441234567',
        'PORT': '9876',
        'PREFEREDCHARSET': 'Default',
        'PROTOCOL': 'SMPP',
        'PROTOCOLVERSION': '34',
        'PROTOCOLWINDOWSIZE': '1',
        'RECEIVE': 'on',
        'SEND': 'on',
        'SENDUNBIND': 'off',
        'SERVICETYPEHEXSTR': '00',
        'SOURCENPI': '',
        'SOURCETON': '',
        'SUBMITTIMEOUT': '60',
        'SUBMITTIMEOUTACTION': 'SubmitFailed',
        'SYSTEMTYPE': 'SMPP',
        'UNSPECIFIEDTON': 'International',
        'USEANSIATSIGN': 'off',
        'USEGSM7BITPACKEDENCODING': 'off',
        'USEGSMDECODINGONINCOMING': 'on',
        'USESAR': 'on',
        'USETLVMESSAGEPAYLOAD': 'off',
        'USETLVUDH4BIN': 'off',
        'USETLVUDH4TEXT': 'off',
        'WINDOWSIZE': '20',
    },
    'HTTPClient': {
        'AUTOCONNECT': 'on',
        'CBMULTIPARTASBIN': 'off',
        'CBSEGMENT': 'on',
        'CBSLOWCOMMUNICATION': 'off',
        'CBTEXTASBIN': 'off',
        'CBUNICODEASBIN': 'on',
        'CBUSEHTTP10': 'off',
        'CERTFILE': 'C:\\mycert.cer',
        'CHARSETHANDLING': 'Best match',
        'DELIVERYREPORT': 'on',
        'ENCODINGCHARSET': 'utf-8',
        'HTTPAUTHORIZATIONMETHOD': '',
        'HTTPAUTHORIZATIONPASSWORD': '',
        'HTTPAUTHORIZATIONUSER': '',
        'IDOVERRIDE': 'off',
        'KEEPALIVEPERIOD': '30',
        'KEEPALIVEREQUEST': 'on',
        'LIMITTOMPM': '240',
        'LOGCOMMUNICATION': 'off',
        'LOGDIRECTORY': 'C:\\Program Files (x86)\\Ozeki\\OzekiNG - SMS Gateway\\Logs',
        'LOGHISTORYCOUNT': '4',
        'LOGLINESBEFORECHECKSIZE': '20',
        'LOGMAXFILESIZE': '8000',
        'LOGMESSAGES': 'on',
        'NOURLENCODING': 'off',
        'OPERATOR': 'HTTPClient0',
        'PASSWORDCERT': '',
        'PHONENUMBER': '+441234567',
        'POLLINTERVAL': '2',
        'POSTDATACONTENTTYPE': 'application/x-www-form-urlencoded',
        'PREFEREDCHARSET': 'GSM7bit',
        'PROTOCOL': 'HTTPClient',
        'PROXY': '',
        'PROXYPASSWORD': '',
        'PROXYPORT': '8080',
        'PROXYUSER': '',
        'RECEIVE': 'on',
        'REQUESTMETHOD': 'Get',
        'RESPFAILED': '',
        'RESPSUCCESS': '',
        'SEND': 'on',
        'SUBMITTIMEOUT': '60',
        'SUBMITTIMEOUTACTION': 'SubmitFailed',
        'TARGETURL': ('http://server.sms.com/send.cgi?receiver=$recipient &sender=$originator '
                      '&msg=$messagedata&id=$messageid'),
        'TARGETURLBIN': ('http://server.sms.com/send.cgi?receiver=$recipient&sender= $originator'
                         '&udh= $udhHEX&ud=$udHEX&dcs=$dcsHEX&PID=$pidHEX'),
        'USECERT': 'off',
        'USERAGENT': 'OzekiNG/4.1.12 (+http://www.ozekisms.com)',
        'USEXMLENCODING': 'off',
        'WINDOWSIZE': '20',
    },
    'HTTPServer': {
        'AUTOCONNECT': 'on',
        'BASEURL': 'http://127.0.0.1:9400',
        'CBSLOWCOMMUNICATION': 'off',
        'CHARSETHANDLING': 'Best match',
        'DELIVERYREPORT': 'on',
        'IDOVERRIDE': 'off',
        'KEEPALIVEPERIOD': '30',
        'KEEPALIVEREQUEST': 'on',
        'LIMITTOMPM': '240',
        'LOGCOMMUNICATION': 'off',
        'LOGDIRECTORY': 'C:\\Program Files (x86)\\Ozeki\\OzekiNG - SMS Gateway\\Logs',
        'LOGHISTORYCOUNT': '4',
        'LOGLINESBEFORECHECKSIZE': '20',
        'LOGMAXFILESIZE': '8000',
        'LOGMESSAGES': 'on',
        'OPERATOR': 'HTTPServer0',
        'PARAMNAMEMESSAGEDATA': 'msg',
        'PARAMNAMEMESSAGEID': 'msgid',
        'PARAMNAMEMESSAGETYPE': 'msgtype',
        'PARAMNAMEORIGINATOR': 'originator',
        'PARAMNAMERECIPIENT': 'recipient',
        'PARAMNAMESENTTIME': 'senttime',
        'PARAMNAMESUBJECT': 'subject',
        'PHONENUMBER': '+441234567',
        'POLLINTERVAL': '2',
        'PREFEREDCHARSET': 'GSM7bit',
        'PROTOCOL': 'HTTPServer',
        'RECEIVE': 'on',
        'RESPONSETEMPLATE': 'Message was accepted id: $msgid',
        'SEND': 'off',
        'SUBMITTIMEOUT': '60',
        'SUBMITTIMEOUTACTION': 'SubmitFailed',
        'USEBACKENDRESPONSE': 'off',
        'USEOUTBOXFILE': 'off',
        'WINDOWSIZE': '20',
    },
    'SMTP': {
        'CBSLOWCOMMUNICATION': 'off',
        'CHARACTERSETBODY': 'Default',
        'CHARACTERSETSUBJECT': 'Default',
        'CHARSETHANDLING': 'Best match',
        'DELIVERYREPORT': 'on',
        'IDOVERRIDE': 'off',
        'KEEPALIVEPERIOD': '30',
        'KEEPALIVEREQUEST': 'on',
        'LIMITTOMPM': '240',
        'LOGCOMMUNICATION': 'off',
        'LOGDIRECTORY': 'C:\\Program Files (x86)\\Ozeki\\OzekiNG - SMS Gateway\\Logs',
        'LOGHISTORYCOUNT': '4',
        'LOGLINESBEFORECHECKSIZE': '20',
        'LOGMAXFILESIZE': '8000',
        'LOGMESSAGES': 'on',
        'MAILBODY': '$messagetext',
        'MAILFROM': 'sms@mycompany.com',
        'MAILSUBJECT': '$messagetext',
        'MAILTO': '$recipient@serviceprovider.com',
        'OPERATOR': 'SMTP0',
        'PASSWORDSMTP': '',
        'PHONENUMBER': '+441234567',
        'PREFEREDCHARSET': 'GSM7bit',
        'PROTOCOL': 'SMTP',
        'RECEIVE': 'on',
        'SEND': 'on',
        'SMTPAUTH': 'off',
        'SMTPPORT': '25',
        'SMTPSERVER': 'mail.mailserver.com',
        'SMTPSSL': 'off',
        'SUBMITTIMEOUT': '60',
        'SUBMITTIMEOUTACTION': 'SubmitFailed',
        'USERNAMESMTP': '',
        'WINDOWSIZE': '20',
    },
}

# The document's GSM/GPRS modem table: a modem port's connection accepts every key of it; those
# smsd has no setting for (COM port, baud rate, log files, MMS...) have no effect here.
GSM_KEYS = frozenset({
    "AUTOCONNECT", "BAUDRATE", "CBADDRESSHIDING", "CBSLOWCOMMUNICATION", "CHARSETHANDLING",
    "DATABITS", "DELAYAFTERSUBMIT", "DELAYINTERVAL", "DELIVERYREPORT", "DISCONNECTONTIMEOUT",
    "DOWNLOADMMS", "GPRSAPN", "GPRSDIALSTRING", "GPRSPASSWORD", "GPRSUSERNAME", "GSMMODEMINIT",
    "GSMMODEMINIT2", "GSMMODEMINIT3", "HWHANDSHAKE", "IDOVERRIDE", "KEEPALIVEPERIOD",
    "KEEPALIVEREQUEST", "LEAVEMESSAGES", "LIMITTOMPM", "LOGCOMMUNICATION", "LOGDIRECTORY",
    "LOGHISTORYCOUNT", "LOGLINESBEFORECHECKSIZE", "LOGMAXFILESIZE", "LOGMESSAGES", "METHODTOUSE",
    "MMSCURL", "MMSPROVIDER", "MODEMORPORT", "NOLOOPBACK", "NOPDUMODE", "OPERATOR",
    "OVERRIDESIMSMSC", "PARITY", "PHONEMEMORYCELLS", "PHONENUMBER", "PINCODE", "PREFEREDCHARSET",
    "PROTOCOL", "RECEIVE", "SCAINPDU", "SEND", "SENDMETHOD", "SIMMEMORYCELLS", "SLOWMODEM",
    "SMSSERVICECENTERADDRESS", "STOPBITS", "SUBMITTIMEOUT", "SUBMITTIMEOUTACTION", "SWHANDSHAKE",
    "USEGPRS", "USEINTERNETFORMMS", "USSDMETHOD", "WAPGATEWAY", "WINDOWSIZE"})

# smsd's own keys (not in the document's tables). The SMPP login is SYSTEMID and SMPPPASSWORD:
# `password` is the driver API's own parameter (the caller's login).
EXTRA: dict[str, dict[str, str]] = {
    "SMPP": {"SYSTEMID": "", "SMPPPASSWORD": "", "RECONNECTMAX": "60"},
    "HTTPClient": {},
    "HTTPServer": {"SECRET": ""},
    "SMTP": {"LISTEN": "", "MAILDOMAIN": "", "SENDERS": "", "MAILAUTH": "on"},
}

# Keys the box acts on; the rest of a table is accepted and has no effect here.
USED: dict[str, frozenset[str]] = {
    "SMPP": frozenset({
        "HOST", "PORT", "SYSTEMID", "SMPPPASSWORD", "SYSTEMTYPE", "MODE", "ADDRESSRANGE", "BINDTON",
        "BINDNPI", "SOURCETON", "SOURCENPI", "DESTTON", "DESTNPI", "DELIVERYREPORT", "SEND",
        "RECEIVE", "AUTOCONNECT", "KEEPALIVEPERIOD", "KEEPALIVEREQUEST", "SUBMITTIMEOUT",
        "PHONENUMBER", "SERVICETYPEHEXSTR", "BINDTOHOSTIP", "BINDTOPORT", "LEAVEPLUSSIGNINTELNUM",
        "USESAR", "USETLVMESSAGEPAYLOAD", "SENDUNBIND", "PROTOCOLVERSION", "UNSPECIFIEDTON",
        "RECONNECTMAX", "OPERATOR", "PROTOCOL"}),
    "HTTPClient": frozenset({
        "TARGETURL", "TARGETURLBIN", "REQUESTMETHOD", "RESPSUCCESS", "RESPFAILED",
        "POSTDATACONTENTTYPE", "USERAGENT", "HTTPAUTHORIZATIONMETHOD",
        "HTTPAUTHORIZATIONUSER", "HTTPAUTHORIZATIONPASSWORD", "NOURLENCODING", "ENCODINGCHARSET",
        "SUBMITTIMEOUT", "SEND", "PHONENUMBER", "CBTEXTASBIN", "CBUNICODEASBIN",
        "CBMULTIPARTASBIN", "CBSEGMENT", "AUTOCONNECT", "OPERATOR", "PROTOCOL"}),
    "HTTPServer": frozenset({
        "PARAMNAMEMESSAGEDATA", "PARAMNAMEMESSAGEID", "PARAMNAMEMESSAGETYPE",
        "PARAMNAMEORIGINATOR", "PARAMNAMERECIPIENT", "PARAMNAMESENTTIME", "PARAMNAMESUBJECT",
        "RESPONSETEMPLATE", "RECEIVE", "PHONENUMBER", "SECRET", "AUTOCONNECT", "OPERATOR",
        "PROTOCOL"}),
    "SMTP": frozenset({
        "MAILTO", "MAILFROM", "MAILSUBJECT", "MAILBODY", "SMTPSERVER", "SMTPPORT", "SMTPAUTH",
        "USERNAMESMTP", "PASSWORDSMTP", "SMTPSSL", "SEND", "RECEIVE", "SUBMITTIMEOUT",
        "PHONENUMBER", "LISTEN", "MAILDOMAIN", "SENDERS", "MAILAUTH", "OPERATOR", "PROTOCOL"}),
}
# Keys whose value is a secret: never shown back (listdrivers shows "********").
SECRETS = frozenset({"SMPPPASSWORD", "HTTPAUTHORIZATIONPASSWORD", "PASSWORDSMTP", "SECRET",
                     "PASSWORDCERT", "PROXYPASSWORD"})


def known(kind: str) -> dict[str, str]:
    """Every key `kind` accepts, with its default."""
    return {**DEFAULTS[kind], **EXTRA[kind]}


def effective(kind: str, stored: dict[str, str]) -> dict[str, str]:
    """The defaults with the stored values over them."""
    return {**known(kind), **stored}


def has_effect(kind: str, key: str) -> bool:
    return key in USED[kind]
