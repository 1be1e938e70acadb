-- Sign-in attempts are counted before the password is checked (auth/throttle.ts): per account and
-- address, per account, per address. The soft lockout of an account (a wait that doubles with each
-- failure past the limit) needs the moment of the last counted attempt.
ALTER TABLE login_throttle ADD COLUMN last_attempt_at timestamptz NOT NULL DEFAULT now();
