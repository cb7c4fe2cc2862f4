-- Telephony sends call.ended at the hang-up and the agent's wrap-up after it in
-- call.wrapped_up: the flag makes that wrap-up count once per call.
ALTER TABLE calls ADD COLUMN wrap_counted boolean NOT NULL DEFAULT false;
