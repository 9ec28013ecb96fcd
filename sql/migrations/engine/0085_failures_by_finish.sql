-- nightshift.failures_last_24h (the SQL console's "what failed today", in the README's first
-- steps) asks for the failed runs finished in the last 24 h. No index held failed runs by their
-- finish: the view read every failed run ever (runs_failed_idx is by function and creation,
-- for the lists) and ANDed it with the finished_at BRIN: 163 ms with 115,000 failed runs, 15,000
-- of them in the last day (pgbench, 2.3M runs). This one reads just the day's: 16 ms.
-- Only a row version whose status is failed enters it, so a claim or a completion pays nothing;
-- the build reads the table once (about 1 s per million runs here) and holds off writes to runs
-- while it lasts.
create index runs_failed_finished_at_idx on nightshift.runs (finished_at) where status = 'failed';
