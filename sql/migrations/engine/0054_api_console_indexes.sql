-- The console's search by correlation id (api.runs(correlation_id => …), the runs page's "run or
-- correlation id" box): without it every search reads the whole runs table (about 200 ms at a
-- million runs, bench/console). Its write cost: one entry per insert; correlation_id never
-- changes, so no update adds one unless another indexed column changes too.
create index runs_correlation_id_idx on nightshift.runs (correlation_id);
