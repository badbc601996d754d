-- Outcome unknown (issue 19 point 3, docs/durability.md): a message with a part that was handed
-- to the modem and never answered (a crash between AT+CMGS and +CMGS, a timeout, a port lost
-- after the PDU) is neither sent nor failed. Such messages were FAILED with reason
-- 'outcome-unknown'; they now have a status of their own, UNKNOWN.
UPDATE messages SET status = 'UNKNOWN' WHERE status = 'FAILED' AND reason = 'outcome-unknown';
-- Per user: resend such parts after a restart (1) or leave them UNKNOWN (0, the default: a
-- resend may send the message twice).
ALTER TABLE users ADD COLUMN resend_unknown INTEGER NOT NULL DEFAULT 0;
