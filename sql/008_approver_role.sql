-- The role a decision was made with (approver | viewer | unauthenticated when login is off | automation), so the
-- audit says who decided, with which role, when and why.
ALTER TABLE approvals_audit ADD COLUMN IF NOT EXISTS approver_role text;
