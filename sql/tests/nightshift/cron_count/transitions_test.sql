-- _cron_count against a walk of _cron_next across every UTC offset change of every zone in
-- pg_timezone_names from 2024 to 2027, found by scanning, not picked by hand. Zones whose
-- offsets are the same at every instant of those years behave identically, so one of each
-- such group is walked (the group sizes are in the diagnostics). For each change, each
-- expression is walked once from two days before to two days after, and _cron_count is
-- compared with the walk on windows that start and end on either side of the change
-- (before it, just before, on it, just after, days away), including the Havana case of
-- issue 11 (from 45 minutes before a fall-back at local midnight to two days later). The walk
-- itself is checked against a minute-by-minute reading of the wall clock around each change.
-- About 12 s on the 2-core development machine (pg_prove of this file alone).
set client_min_messages = warning;
create extension if not exists pgtap;
begin;
set local timezone = 'UTC';
select plan(10);

-- Each zone's UTC offset at every midnight UTC (a day either side of the years), then the
-- minute each change happens at: the quarter hour it falls in, then the minute in that.
create temporary table t_offsets on commit drop as
select z.name as zone, g.day,
       (g.day at time zone z.name) - (g.day at time zone 'UTC') as utc_offset
from pg_catalog.pg_timezone_names z,
     generate_series('2023-12-31 00:00Z'::timestamptz, '2028-01-01 00:00Z', interval '1 day') g(day);

create temporary table t_changes on commit drop as
with changed_days as (
    select o.zone, o.day - interval '1 day' as day_start, o.previous, o.utc_offset
    from (select t.*, lag(t.utc_offset) over (partition by t.zone order by t.day) as previous from t_offsets t) o
    where o.utc_offset <> o.previous
), quarter as (
    select c.*, (select min(q) from generate_series(c.day_start, c.day_start + interval '1 day', interval '15 minutes') q
                 where (q at time zone c.zone) - (q at time zone 'UTC') = c.utc_offset) as quarter_end
    from changed_days c
)
select q.zone, q.previous, q.utc_offset,
       (select min(m) from generate_series(q.quarter_end - interval '15 minutes', q.quarter_end, interval '1 minute') m
        where (m at time zone q.zone) - (m at time zone 'UTC') = q.utc_offset) as changes_at
from quarter q;

-- One zone per group of identical offset histories (first offset, then every change).
create temporary table t_groups on commit drop as
select min(s.zone) as zone, count(*) as zones
from (
    select z.name as zone,
           (('2023-12-31 00:00Z'::timestamptz at time zone z.name) - ('2023-12-31 00:00Z'::timestamptz at time zone 'UTC'))::text
           || ' ' || coalesce(h.history, '') as history
    from pg_catalog.pg_timezone_names z
    left join (select c.zone, string_agg(c.changes_at::text || '>' || c.utc_offset::text, ' ' order by c.changes_at) as history
               from t_changes c group by c.zone) h on h.zone = z.name
) s
group by s.history;

create temporary table t_transitions on commit drop as
select c.zone, c.changes_at, c.previous, c.utc_offset
from t_changes c join t_groups g on g.zone = c.zone
where c.changes_at >= '2024-01-01 00:00Z' and c.changes_at < '2028-01-01 00:00Z';

select cmp_ok((select count(*)::integer from t_transitions), '>=', 200,
    'the scan finds hundreds of distinct offset changes in 2024-2027');
select ok(exists (select 1 from t_changes where zone = 'America/Havana' and changes_at = '2025-11-02 05:00Z')
      and exists (select 1 from t_changes where zone = 'Australia/Lord_Howe' and utc_offset - previous = interval '-30 minutes')
      and exists (select 1 from t_changes where zone = 'America/New_York' and changes_at = '2026-03-08 07:00Z'),
    'the scan finds Havana''s fall-back at midnight, Lord Howe''s half-hour change and New York''s spring forward');

-- The walk: every fire time of each expression from two days before each change to two days after.
create temporary table t_expressions on commit drop as
select e as cron, nightshift._cron_parse(e) as fields
from unnest(array['0 0 * * *', '*/20 * * * *', '30 1 * * *', '0 * * * *', '15 2 * * 0', '45 23 * * *']) e;

create temporary table t_walk on commit drop as
with recursive walk(zone, changes_at, cron, fields, slot) as (
    select t.zone, t.changes_at, x.cron, x.fields,
           nightshift._cron_next(x.fields, t.zone, t.changes_at - interval '2 days' - interval '1 microsecond')
    from t_transitions t cross join t_expressions x
    union all
    select w.zone, w.changes_at, w.cron, w.fields, nightshift._cron_next(w.fields, w.zone, w.slot)
    from walk w
    where w.slot < w.changes_at + interval '2 days'
)
select w.zone, w.changes_at, w.cron, w.slot from walk w;

-- The windows: [from, before) with each end somewhere around the change.
create temporary table t_windows on commit drop as
select t.zone, t.changes_at, x.cron, x.fields,
       t.changes_at + f.shift as from_at, t.changes_at + b.shift as before_at
from t_transitions t
cross join t_expressions x
cross join (values (interval '-2 days'), (interval '-45 minutes'), (interval '-1 minute'), (interval '0'),
                   (interval '45 minutes'), (interval '25 hours')) f(shift)
cross join (values (interval '-15 minutes'), (interval '0'), (interval '59 minutes'), (interval '23 hours'),
                   (interval '2 days')) b(shift)
where f.shift < b.shift;

create temporary table t_slots on commit drop as
select w.zone, w.changes_at, w.cron, array_agg(w.slot order by w.slot) as slots
from t_walk w group by w.zone, w.changes_at, w.cron;

create temporary table t_mismatches on commit drop as
select w.zone, w.changes_at, w.cron, w.from_at, w.before_at,
       nightshift._cron_count(w.fields, w.zone, w.from_at, w.before_at) as counted,
       (select count(*) from unnest(k.slots) slot where slot >= w.from_at and slot < w.before_at) as walked
from t_windows w
join t_slots k on k.zone = w.zone and k.changes_at = w.changes_at and k.cron = w.cron;
delete from t_mismatches where counted = walked;

select is_empty($$select * from t_mismatches where cron = '0 0 * * *' order by zone, changes_at, from_at, before_at$$,
    '_cron_count agrees with the walk for 0 0 * * * around every offset change of 2024-2027');
select is_empty($$select * from t_mismatches where cron = '*/20 * * * *' order by zone, changes_at, from_at, before_at$$,
    '_cron_count agrees with the walk for */20 * * * * around every offset change of 2024-2027');
select is_empty($$select * from t_mismatches where cron = '30 1 * * *' order by zone, changes_at, from_at, before_at$$,
    '_cron_count agrees with the walk for 30 1 * * * around every offset change of 2024-2027');
select is_empty($$select * from t_mismatches where cron = '0 * * * *' order by zone, changes_at, from_at, before_at$$,
    '_cron_count agrees with the walk for 0 * * * * around every offset change of 2024-2027');
select is_empty($$select * from t_mismatches where cron = '15 2 * * 0' order by zone, changes_at, from_at, before_at$$,
    '_cron_count agrees with the walk for 15 2 * * 0 around every offset change of 2024-2027');
select is_empty($$select * from t_mismatches where cron = '45 23 * * *' order by zone, changes_at, from_at, before_at$$,
    '_cron_count agrees with the walk for 45 23 * * * around every offset change of 2024-2027');

-- The walk itself against an oracle that knows nothing of _cron_next: read the wall clock at
-- every UTC minute from two hours before each change to two hours after. A minute fires when
-- a matching wall time lies after every wall time shown so far and at or before the one
-- shown now: one fire per wall time, at its first occurrence, and a gap's skipped wall times
-- fire together at the first minute after it.
create temporary table t_oracle on commit drop as
with minutes as (
    select t.zone, t.changes_at, u.at, u.at at time zone t.zone as wall
    from t_transitions t,
         generate_series(t.changes_at - interval '5 hours', t.changes_at + interval '2 hours', interval '1 minute') u(at)
), shown as (
    select m.*, max(m.wall) over (partition by m.zone, m.changes_at order by m.at
                                  rows between unbounded preceding and 1 preceding) as shown_before
    from minutes m
)
select k.zone, k.changes_at, x.cron, k.at as slot
from shown k cross join t_expressions x
where k.at >= k.changes_at - interval '2 hours' and k.at < k.changes_at + interval '2 hours'
  and exists (
    select 1 from generate_series(k.shown_before + interval '1 minute', k.wall, interval '1 minute') w
    where extract(minute from w)::integer = any ((x.fields).minutes)
      and extract(hour from w)::integer = any ((x.fields).hours)
      and nightshift._cron_day_matches(x.fields, w));

select is_empty($$
    (select zone, changes_at, cron, slot, 'oracle only' from t_oracle
     except select zone, changes_at, cron, slot, 'oracle only' from t_walk
     where slot >= changes_at - interval '2 hours' and slot < changes_at + interval '2 hours')
    union all
    (select zone, changes_at, cron, slot, 'walk only' from t_walk
     where slot >= changes_at - interval '2 hours' and slot < changes_at + interval '2 hours'
     except select zone, changes_at, cron, slot, 'walk only' from t_oracle)
    order by 1, 2, 3, 4$$,
    '_cron_next fires exactly when a minute-by-minute reading of the wall clock says, two hours either side of every change');

-- Issue 11's own example, spelled out.
select is(nightshift._cron_count(nightshift._cron_parse('0 0 * * *'), 'America/Havana', '2025-11-02 04:15Z', '2025-11-04 04:15Z'), 1::bigint,
    'Havana 2025-11-02, daily at midnight, from 04:15Z for two days: one slot (05:00Z on the 3rd), not two');

select diag(format('%s zones in %s groups of identical offsets; %s offset changes walked; %s windows compared',
    (select sum(zones) from t_groups), (select count(*) from t_groups), (select count(*) from t_transitions),
    (select count(*) from t_windows)));

select * from finish();
rollback;
