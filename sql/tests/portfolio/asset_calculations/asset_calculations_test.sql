-- portfolio.asset_calculations (0034): the calculations touching an asset for one user, newest
-- first, with their events trimmed to that asset; a cursor (nextBefore) for the next page;
-- another user's data never appears; limit 1..100.
set client_min_messages = warning;
create extension if not exists pgtap;
begin;
select plan(16);

insert into portfolio.markets (code, name, time_zone, local_open_time) values ('NYSE', 'NYSE', 'America/New_York', '09:30');
insert into portfolio.assets (id, symbol, market_code, asset_class, currency) values
    ('b0000000-0000-4000-8000-00000000000a', 'KO', 'NYSE', 'stock', 'USD'),
    ('b0000000-0000-4000-8000-00000000000b', 'PG', 'NYSE', 'stock', 'USD');
insert into portfolio.users (id, base_currency) values
    ('a0000000-0000-4000-8000-000000000001', 'USD'), ('a0000000-0000-4000-8000-000000000002', 'USD');
insert into portfolio.criteria_versions (id, user_id, version, criteria) values
    ('d0000000-0000-4000-8000-000000000011', 'a0000000-0000-4000-8000-000000000001', 1,
     '[{"metric": "pe_ratio", "operator": "<", "threshold": 20, "points": 10}]'),
    ('d0000000-0000-4000-8000-000000000012', 'a0000000-0000-4000-8000-000000000001', 2,
     '[{"metric": "pe_ratio", "operator": "<", "threshold": 25, "points": 10}]'),
    ('d0000000-0000-4000-8000-000000000021', 'a0000000-0000-4000-8000-000000000002', 1,
     '[{"metric": "pe_ratio", "operator": "<", "threshold": 20, "points": 10}]');
insert into portfolio.overnight_job_runs (id, status, started_at, completed_at, correlation_id) values
    ('e0000000-0000-4000-8000-000000000001', 'completed', now() - interval '3 days', now() - interval '3 days', 'c0000000-0000-4000-8000-000000000001'),
    ('e0000000-0000-4000-8000-000000000002', 'completed', now() - interval '2 days', now() - interval '2 days', 'c0000000-0000-4000-8000-000000000002'),
    ('e0000000-0000-4000-8000-000000000003', 'completed', now() - interval '1 day', now() - interval '1 day', 'c0000000-0000-4000-8000-000000000003');
create temporary table t (n, at) as
    values (1, now() - interval '3 days'), (2, now() - interval '2 days'), (3, now() - interval '1 day');
-- User 1 and KO: three calculations; user 1 and PG: one; user 2 and KO: one (run 3).
insert into portfolio.score_history (user_id, asset_id, score, breakdown, criteria_version_id, correlation_id, computed_at)
select 'a0000000-0000-4000-8000-000000000001', 'b0000000-0000-4000-8000-00000000000a', 10 + t.n * 0.5,
       jsonb_build_array(jsonb_build_object('rule', 0, 'matched', true)),
       case when t.n = 3 then 'd0000000-0000-4000-8000-000000000012'::uuid else 'd0000000-0000-4000-8000-000000000011'::uuid end,
       ('c0000000-0000-4000-8000-00000000000' || t.n)::uuid, t.at
from t;
insert into portfolio.score_history (user_id, asset_id, score, breakdown, criteria_version_id, correlation_id, computed_at) values
    ('a0000000-0000-4000-8000-000000000001', 'b0000000-0000-4000-8000-00000000000b', 7, '[]', 'd0000000-0000-4000-8000-000000000012',
     'c0000000-0000-4000-8000-000000000003', (select at from t where n = 3)),
    ('a0000000-0000-4000-8000-000000000002', 'b0000000-0000-4000-8000-00000000000a', 99, '[]', 'd0000000-0000-4000-8000-000000000021',
     'c0000000-0000-4000-8000-000000000003', (select at from t where n = 3));
-- Run 3's events of user 1 (and one of user 2, which must not show).
insert into portfolio.calculation_events (correlation_id, user_id, event_type, payload, created_at) values
    ('c0000000-0000-4000-8000-000000000003', 'a0000000-0000-4000-8000-000000000001', 'CALC_STARTED',
     '{"userId": "a0000000-0000-4000-8000-000000000001"}', (select at from t where n = 3)),
    ('c0000000-0000-4000-8000-000000000003', 'a0000000-0000-4000-8000-000000000001', 'INPUTS_CAPTURED',
     '{"criteriaVersionId": "d0000000-0000-4000-8000-000000000012",
       "prices": {"b0000000-0000-4000-8000-00000000000a": {"price": "60.10", "currency": "USD"},
                  "b0000000-0000-4000-8000-00000000000b": {"price": "150", "currency": "USD"}},
       "rates": {"base": "USD"},
       "assetIds": ["b0000000-0000-4000-8000-00000000000a", "b0000000-0000-4000-8000-00000000000b"]}',
     (select at from t where n = 3) + interval '1 ms'),
    ('c0000000-0000-4000-8000-000000000003', 'a0000000-0000-4000-8000-000000000001', 'SCORES_COMPUTED',
     '{"results": [{"assetId": "b0000000-0000-4000-8000-00000000000a", "score": "11.5"},
                   {"assetId": "b0000000-0000-4000-8000-00000000000b", "score": "7"}]}',
     (select at from t where n = 3) + interval '2 ms'),
    ('c0000000-0000-4000-8000-000000000003', 'a0000000-0000-4000-8000-000000000001', 'CALC_COMPLETED',
     '{"durationMs": 12, "assetCount": 2}', (select at from t where n = 3) + interval '3 ms'),
    ('c0000000-0000-4000-8000-000000000003', 'a0000000-0000-4000-8000-000000000002', 'CALC_STARTED',
     '{"userId": "a0000000-0000-4000-8000-000000000002"}', (select at from t where n = 3));

create temporary table p1 as select portfolio.asset_calculations('a0000000-0000-4000-8000-000000000001',
                                                                  'b0000000-0000-4000-8000-00000000000a', 2) as d;
select is((select jsonb_agg(c ->> 'score') from p1, jsonb_array_elements(d -> 'calculations') c), '["11.5", "11.0"]'::jsonb,
    'the newest calculations first, at most the limit, scores as decimal strings');
select is((select (d ->> 'nextBefore')::timestamptz from p1), (select at from t where n = 2),
    'nextBefore is the computedAt of the page''s last calculation');
select is((select (d -> 'calculations' -> 0) - 'events' from p1),
    jsonb_build_object('correlationId', 'c0000000-0000-4000-8000-000000000003', 'jobRunId', 'e0000000-0000-4000-8000-000000000003',
                       'computedAt', (select at from t where n = 3), 'score', '11.5',
                       'breakdown', '[{"rule": 0, "matched": true}]'::jsonb,
                       'criteriaVersionId', 'd0000000-0000-4000-8000-000000000012', 'criteriaVersion', 2),
    'a calculation: correlation id, job run, when, score, breakdown, criteria version');
select is((select jsonb_agg(e ->> 'type') from p1, jsonb_array_elements(d -> 'calculations' -> 0 -> 'events') e),
    '["CALC_STARTED", "INPUTS_CAPTURED", "SCORES_COMPUTED", "CALC_COMPLETED"]'::jsonb,
    'its events, in order, the user''s own only');
select is((select d -> 'calculations' -> 0 -> 'events' -> 1 -> 'payload' from p1),
    '{"criteriaVersionId": "d0000000-0000-4000-8000-000000000012",
      "prices": {"b0000000-0000-4000-8000-00000000000a": {"price": "60.10", "currency": "USD"}},
      "rates": {"base": "USD"}, "assetIds": ["b0000000-0000-4000-8000-00000000000a"]}'::jsonb,
    'INPUTS_CAPTURED trimmed to the asset''s price and id');
select is((select d -> 'calculations' -> 0 -> 'events' -> 2 -> 'payload' from p1),
    '{"results": [{"assetId": "b0000000-0000-4000-8000-00000000000a", "score": "11.5"}]}'::jsonb,
    'SCORES_COMPUTED trimmed to the asset''s result');
select is((select d -> 'calculations' -> 1 -> 'events' from p1), '[]'::jsonb, 'a calculation without stored events has an empty list');

select is((select jsonb_agg(c ->> 'score') from jsonb_array_elements(portfolio.asset_calculations(
               'a0000000-0000-4000-8000-000000000001', 'b0000000-0000-4000-8000-00000000000a', 2,
               (select (d ->> 'nextBefore')::timestamptz from p1)) -> 'calculations') c),
    '["10.5"]'::jsonb, 'the next page starts before the cursor');
select is(portfolio.asset_calculations('a0000000-0000-4000-8000-000000000001', 'b0000000-0000-4000-8000-00000000000a', 2,
               (select (d ->> 'nextBefore')::timestamptz from p1)) -> 'nextBefore',
    'null'::jsonb, 'the last page has no cursor');
select is(jsonb_array_length(portfolio.asset_calculations('a0000000-0000-4000-8000-000000000001', 'b0000000-0000-4000-8000-00000000000a')
              -> 'calculations'), 3, 'the default limit (20) holds all three');

select is((select jsonb_agg(c ->> 'score') from jsonb_array_elements(portfolio.asset_calculations(
               'a0000000-0000-4000-8000-000000000002', 'b0000000-0000-4000-8000-00000000000a') -> 'calculations') c),
    '["99"]'::jsonb, 'another user sees only their own calculation of the asset');
select is(portfolio.asset_calculations('a0000000-0000-4000-8000-000000000002', 'b0000000-0000-4000-8000-0000000000ff'),
    '{"calculations": [], "nextBefore": null}'::jsonb, 'an asset never scored for the user: an empty list');

select throws_ok($$select portfolio.asset_calculations('a0000000-0000-4000-8000-000000000001', 'b0000000-0000-4000-8000-00000000000a', 0)$$,
    '22023', 'limit: must be between 1 and 100, got 0', 'limit 0 is 22023 naming limit');
select throws_ok($$select portfolio.asset_calculations('a0000000-0000-4000-8000-000000000001', 'b0000000-0000-4000-8000-00000000000a', 101)$$,
    '22023', 'limit: must be between 1 and 100, got 101', 'limit 101 too');
select throws_ok($$select portfolio.asset_calculations('a0000000-0000-4000-8000-0000000000ff', 'b0000000-0000-4000-8000-00000000000a')$$,
    'NSP02', 'unknown user a0000000-0000-4000-8000-0000000000ff', 'an unknown user is NSP02');
select throws_ok($$select portfolio.asset_calculations('a0000000-0000-4000-8000-000000000001', null)$$,
    '22023', 'asset_id: required', 'a null asset is 22023 naming asset_id');

select * from finish();
rollback;
