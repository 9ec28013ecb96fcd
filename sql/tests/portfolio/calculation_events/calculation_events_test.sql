-- The audit log is append-only: UPDATE, DELETE and TRUNCATE are refused (NSP01) on the
-- partitioned table and on its partitions; monthly partitions are created on demand and
-- retention (2 years) drops whole partitions. score_history is append-only too, but for the
-- cascade of a user or asset being removed.
set client_min_messages = warning;
create extension if not exists pgtap;
begin;
select plan(19);

select ok(to_regclass('portfolio.calculation_events_' || to_char(now() at time zone 'UTC', '"y"YYYY"m"MM')) is not null,
    'the migration created this month''s partition');
insert into portfolio.calculation_events (correlation_id, user_id, event_type, payload)
values ('c0000000-0000-4000-8000-000000000001', 'a0000000-0000-4000-8000-000000000001', 'CALC_STARTED', '{"userId": "x"}');
select is((select count(*)::integer from portfolio.calculation_events where correlation_id = 'c0000000-0000-4000-8000-000000000001'), 1,
    'an event is appended');
select throws_ok($$update portfolio.calculation_events set payload = '{}'$$, 'NSP01',
    'portfolio.calculation_events is append-only: UPDATE refused', 'UPDATE is refused');
select throws_ok($$delete from portfolio.calculation_events$$, 'NSP01',
    'portfolio.calculation_events is append-only: DELETE refused', 'DELETE is refused');
select throws_ok($$truncate portfolio.calculation_events$$, 'NSP01', null, 'TRUNCATE is refused');
select throws_ok(format('delete from portfolio.%I', 'calculation_events_' || to_char(now() at time zone 'UTC', '"y"YYYY"m"MM')),
    'NSP01', null, 'DELETE on a partition is refused too');
select throws_ok(format('truncate portfolio.%I', 'calculation_events_' || to_char(now() at time zone 'UTC', '"y"YYYY"m"MM')),
    'NSP01', null, 'TRUNCATE on a partition is refused too');
select throws_ok($$insert into portfolio.calculation_events (correlation_id, user_id, event_type) values (gen_random_uuid(), gen_random_uuid(), 'CALC_DONE')$$,
    '23514', null, 'the event type is one of the documented ones');
select throws_ok($$insert into portfolio.calculation_events (correlation_id, user_id, event_type, created_at)
                   values (gen_random_uuid(), gen_random_uuid(), 'CALC_STARTED', '1990-01-15')$$,
    '23514', null, 'an event outside every partition is refused');

-- Partitions on demand: idempotent, one per month.
select is(portfolio.ensure_calculation_event_partitions('2023-11-20', 3), 3, 'three months of partitions are created');
select is(portfolio.ensure_calculation_event_partitions('2023-12-01', 3), 1, 'existing ones are kept, the missing one made');
select throws_ok($$select portfolio.ensure_calculation_event_partitions(current_date, 0)$$, '22023', null,
    'at least one month');

-- Retention: with "now" at 2026-01-10 and 2 years kept, the partitions of Nov and Dec 2023 go
-- (every row older than 2024-01-10), Jan 2024 stays (it holds rows younger than the cutoff).
insert into portfolio.calculation_events (correlation_id, user_id, event_type, created_at) values
    ('c0000000-0000-4000-8000-000000000002', gen_random_uuid(), 'CALC_STARTED', '2023-11-30 23:59:59+00'),
    ('c0000000-0000-4000-8000-000000000002', gen_random_uuid(), 'CALC_STARTED', '2023-12-31 12:00+00'),
    ('c0000000-0000-4000-8000-000000000002', gen_random_uuid(), 'CALC_STARTED', '2024-01-01 00:00+00');
select is(portfolio.prune_calculation_events(interval '2 years', '2026-01-10 00:00+00'), 2, 'two partitions are dropped');
select is(array(select created_at from portfolio.calculation_events where correlation_id = 'c0000000-0000-4000-8000-000000000002'),
    array['2024-01-01 00:00+00'::timestamptz], 'only the events within the retention remain');
select ok(to_regclass('portfolio.calculation_events_y2023m12') is null and to_regclass('portfolio.calculation_events_y2024m01') is not null,
    'by whole partitions');
select throws_ok($$select portfolio.prune_calculation_events(interval '1 day')$$, '22023', null, 'retention keeps at least a month');

-- score_history.
insert into portfolio.users (id, base_currency) values ('a0000000-0000-4000-8000-000000000001', 'USD');
insert into portfolio.markets (code, name, time_zone, local_open_time) values ('NYSE', 'NYSE', 'America/New_York', '09:30');
insert into portfolio.assets (id, symbol, market_code, asset_class, currency)
values ('b0000000-0000-4000-8000-000000000001', 'KO', 'NYSE', 'stock', 'USD');
insert into portfolio.criteria_versions (id, user_id, version, criteria)
values ('d0000000-0000-4000-8000-000000000001', 'a0000000-0000-4000-8000-000000000001', 1,
        '[{"metric": "pe_ratio", "operator": "<", "threshold": 20, "points": 10}]');
insert into portfolio.score_history (user_id, asset_id, score, breakdown, criteria_version_id, computed_at)
values ('a0000000-0000-4000-8000-000000000001', 'b0000000-0000-4000-8000-000000000001', 10, '[]',
        'd0000000-0000-4000-8000-000000000001', now());
select throws_ok($$update portfolio.score_history set score = 11$$, 'NSP01', null, 'score history: UPDATE is refused');
select throws_ok($$delete from portfolio.score_history$$, 'NSP01', null, 'score history: DELETE is refused');
-- Erasure of a user (criteria versions and scores go with the user).
delete from portfolio.users where id = 'a0000000-0000-4000-8000-000000000001';
select is((select count(*)::integer from portfolio.score_history), 0, 'score history goes with its user (cascade)');

select * from finish();
rollback;
