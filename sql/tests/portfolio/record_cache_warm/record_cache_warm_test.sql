-- portfolio.record_cache_warm (0061, issue 15 point 5): the cache warmer's figures join the
-- scoring run's metrics (cache_warm_ms beside fetch_rates_ms and process_users_ms).
set client_min_messages = warning;
create extension if not exists pgtap;
begin;
select plan(4);

insert into portfolio.overnight_job_runs (id, status, completed_at, metrics)
values ('e0000000-0000-4000-8000-000000000001', 'completed', now(), '{"fetch_rates_ms": 12, "process_users_ms": 340}');
select portfolio.record_cache_warm('e0000000-0000-4000-8000-000000000001',
    '{"cache_warm_ms": 55, "users_warmed": 3, "keys_written": 6, "expired_keys_swept": 0}');
select is((select metrics from portfolio.overnight_job_runs where id = 'e0000000-0000-4000-8000-000000000001'),
    '{"fetch_rates_ms": 12, "process_users_ms": 340, "cache_warm_ms": 55, "users_warmed": 3, "keys_written": 6, "expired_keys_swept": 0}'::jsonb,
    'the warmer''s figures are merged into the run''s metrics, the scoring''s kept');
select throws_ok($$select portfolio.record_cache_warm('e0000000-0000-4000-8000-000000000001', '[]')$$, '22023',
    'metrics: must be a JSON object, got array', 'metrics must be an object');
select throws_ok($$select portfolio.record_cache_warm('e0000000-0000-4000-8000-0000000000ff', '{}')$$, 'NSP04',
    'unknown job run e0000000-0000-4000-8000-0000000000ff', 'an unknown run: NSP04');
select ok(has_function_privilege('nightshift_service', 'portfolio.record_cache_warm(uuid, jsonb)', 'execute'),
    'the workers'' role may call it');

select * from finish();
rollback;
