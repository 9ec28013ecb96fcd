-- 0070 replaced the foreign keys from asset_scores, score_history and recommendations to
-- criteria_versions by a guard on the delete side: a version that scores or recommendations
-- name cannot be deleted, an unused one can, and removing the user removes both.
set client_min_messages = warning;
create extension if not exists pgtap;
begin;
select plan(8);

insert into portfolio.markets (code, name, time_zone, local_open_time) values ('NYSE', 'NYSE', 'America/New_York', '09:30');
insert into portfolio.assets (id, symbol, market_code, asset_class, currency) values
    ('b0000000-0000-4000-8000-00000000000a', 'AAA', 'NYSE', 'stock', 'USD');
insert into portfolio.users (id, base_currency, default_contribution)
select ('a0000000-0000-4000-8000-00000000000' || i)::uuid, 'USD', 0 from generate_series(1, 4) i;
insert into portfolio.criteria_versions (id, user_id, version, criteria)
select ('d0000000-0000-4000-8000-00000000000' || i)::uuid, ('a0000000-0000-4000-8000-00000000000' || i)::uuid, 1,
       '[{"metric": "roe", "operator": ">", "threshold": 0, "points": 1}]'
from generate_series(1, 4) i;
-- U1's version scored (asset_scores), U2's in the history only, U3's in a recommendation, U4's unused.
insert into portfolio.asset_scores (user_id, asset_id, score, breakdown, criteria_version_id, computed_at) values
    ('a0000000-0000-4000-8000-000000000001', 'b0000000-0000-4000-8000-00000000000a', 1, '[]', 'd0000000-0000-4000-8000-000000000001', now());
insert into portfolio.score_history (user_id, asset_id, score, breakdown, criteria_version_id, computed_at) values
    ('a0000000-0000-4000-8000-000000000002', 'b0000000-0000-4000-8000-00000000000a', 1, '[]', 'd0000000-0000-4000-8000-000000000002', now());
insert into portfolio.recommendations (user_id, criteria_version_id, asset_class, amount, currency, allocation_gap) values
    ('a0000000-0000-4000-8000-000000000003', 'd0000000-0000-4000-8000-000000000003', 'bond', 10, 'USD', 5);

select throws_ok($$delete from portfolio.criteria_versions where id = 'd0000000-0000-4000-8000-000000000001'$$, '23503',
    'criteria version d0000000-0000-4000-8000-000000000001 (user a0000000-0000-4000-8000-000000000001, version 1) is referenced by scores or recommendations',
    'a version a current score names stays');
select throws_ok($$delete from portfolio.criteria_versions where id = 'd0000000-0000-4000-8000-000000000002'$$, '23503', null,
    'a version the score history names stays');
select throws_ok($$delete from portfolio.criteria_versions where id = 'd0000000-0000-4000-8000-000000000003'$$, '23503', null,
    'a version a recommendation names stays');
select lives_ok($$delete from portfolio.criteria_versions where id = 'd0000000-0000-4000-8000-000000000004'$$,
    'an unused version can go');

-- Removing the user removes the versions and what was scored with them.
select lives_ok($$delete from portfolio.users where id in ('a0000000-0000-4000-8000-000000000001', 'a0000000-0000-4000-8000-000000000002',
                                                           'a0000000-0000-4000-8000-000000000003')$$,
    'removing the users passes the guard (the cascade)');
select is((select count(*)::integer from portfolio.criteria_versions), 0, 'their versions are gone');
select is((select count(*)::integer from portfolio.asset_scores) + (select count(*)::integer from portfolio.score_history)
          + (select count(*)::integer from portfolio.recommendations), 0, 'and their scores, history and recommendations');

-- No foreign key, no index on criteria_version_id in the three tables: the batch writes neither.
select is_empty($$select c.conrelid::regclass::text || '.' || c.conname from pg_constraint c
                  where c.contype = 'f' and c.confrelid = 'portfolio.criteria_versions'::regclass
                    and c.conrelid in ('portfolio.asset_scores'::regclass, 'portfolio.score_history'::regclass,
                                       'portfolio.recommendations'::regclass)$$,
    'asset_scores, score_history and recommendations check their criteria version on the delete side only');

select * from finish();
rollback;
