-- Port settings are keyed by smsd's own names (issue 14): the Ozeki NG names they were stored
-- under until now (an Ozeki client's configdriver keys) are that dialect's vocabulary, mapped at
-- its edge (smsd/api/ozeki_settings.py). Values are unchanged. The Ozeki API reads and writes
-- the same settings under the same names as before.

UPDATE port_settings SET key = CASE key
    WHEN 'SEND' THEN 'send'
    WHEN 'RECEIVE' THEN 'receive'
    WHEN 'LIMITTOMPM' THEN 'max_parts_per_minute'
    WHEN 'PINCODE' THEN 'sim_pin'
    WHEN 'SMSSERVICECENTERADDRESS' THEN 'smsc'
    WHEN 'DELIVERYREPORT' THEN 'status_reports'
    WHEN 'SUBMITTIMEOUT' THEN 'submit_timeout'
    WHEN 'PREFEREDCHARSET' THEN 'charset'
    WHEN 'NATIONALLANGUAGES' THEN 'national_languages'
    WHEN 'KEEPALIVEPERIOD' THEN 'keepalive_period'
    WHEN 'KEEPALIVEREQUEST' THEN 'keepalive'
    WHEN 'PHONENUMBER' THEN 'phone_number'
    WHEN 'PROTOCOL' THEN 'protocol'
    WHEN 'NAME' THEN 'name'
    WHEN 'RUNNING' THEN 'running'
END
WHERE key IN ('SEND', 'RECEIVE', 'LIMITTOMPM', 'PINCODE', 'SMSSERVICECENTERADDRESS',
              'DELIVERYREPORT', 'SUBMITTIMEOUT', 'PREFEREDCHARSET', 'NATIONALLANGUAGES',
              'KEEPALIVEPERIOD', 'KEEPALIVEREQUEST', 'PHONENUMBER', 'PROTOCOL', 'NAME', 'RUNNING');
