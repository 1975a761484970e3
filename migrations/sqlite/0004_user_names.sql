-- An optional display name per account, sent to apps as Remote-Name.
ALTER TABLE users ADD COLUMN name TEXT;
