-- The purpose of the flow an audit event belongs to (login, reset), for the
-- events of a flow: code sent, code, link. Older rows were all sign-ins.
ALTER TABLE audit_events ADD COLUMN purpose TEXT;
