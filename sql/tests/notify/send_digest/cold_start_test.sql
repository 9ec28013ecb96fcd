-- notify.send_digest into empty tables (issue 16 §3): a digest sweep whose first digests find
-- notify.notifications empty and analyzed as such must not keep the sequential-scan plan it
-- would pick then for the foreign-key check of deliveries -> notifications. 1,500 digests in one
-- statement (notify.held_back, then notify.send_digest per user, as a pack's sweep does) read the
-- inbox with sequential scans only while it is a few pages (before the fix: every digest's
-- check scanned every digest sent before it, ~1,125,000 tuples read), and the helper that plans
-- them per call is the owner's alone.
set client_min_messages = warning;
create extension if not exists pgtap;
begin;
select plan(7);

-- The state of a fresh install: empty files (truncate: no pages left by earlier tests' rolled-back
-- rows), analyzed as empty (reltuples 0, not -1); then yesterday's held-back rows, 2 for each of
-- 1,500 users, analyzed as a seed does. All of it is rolled back at the end.
truncate notify.notifications, notify.deliveries, notify.daily_counts, notify.suppressed cascade;
analyze notify.notifications, notify.deliveries, notify.daily_counts;
select notify.configure(10, array['tests-digest-cold-start']);
insert into notify.suppressed (user_id, title, message, metadata, day, time_zone)
select md5('digest-cold-start:' || g)::uuid, format('Held %s-%s', g, k), 'message',
       jsonb_build_object('type', 'tests.digest_cold_start'), notify.cap_day('UTC') - 1, 'UTC'
from generate_series(1, 1500) g cross join generate_series(1, 2) k;
analyze notify.suppressed;

select is((select array[reltuples, relpages] from pg_class where oid = 'notify.notifications'::regclass), array[0, 0]::real[],
    'the inbox is analyzed as empty (the plans below are made with these statistics)');

select results_eq(
    $$select count(*) filter (where d.outcome = 'sent'), sum(d.digested)
      from notify.held_back(now(), 'tests.digest_cold_start') h
      cross join lateral notify.send_digest(h.user_id, h.suppressed_ids, h.held_back || ' more', 'held back', '{}',
                                            'digest-cold-start:' || h.user_id) d$$,
    $$values (1500::bigint, 3000::bigint)$$,
    '1,500 digests into empty tables in one statement are all sent, carrying the 3,000 rows');
select is((select count(*) from notify.deliveries d join notify.notifications n on n.id = d.notification_id
           where n.dedupe_key like 'digest-cold-start:%' and d.channel = 'tests-digest-cold-start'),
          1500::bigint, 'each with its delivery');

-- This transaction's scans of the inbox: the foreign-key checks of the deliveries.
select cmp_ok((select seq_tup_read from pg_stat_xact_user_tables where relid = 'notify.notifications'::regclass),
    '<', 300000::bigint,
    'sequential scans read the inbox only while it is small (not every digest over every earlier one: 1,125,000)');
-- (Not idx_scan: every insert's on-conflict check is an index scan, before the fix as after.)
select cmp_ok((select seq_scan from pg_stat_xact_user_tables where relid = 'notify.notifications'::regclass),
    '<', 500::bigint, 'the checks turn to the primary key once the inbox has grown (not a sequential scan per digest: 1,500)');

select ok((select proconfig @> array['plan_cache_mode=force_custom_plan', 'search_path=""']
           from pg_proc where oid = 'notify._send_digest_custom_plans(uuid, bigint[], text, text, jsonb, text)'::regprocedure),
    'the helper plans per call, with an empty search_path');
select is_empty(
    $$select r from unnest(array['public', 'nightshift_service', 'nightshift_app', 'nightshift_authenticated', 'nightshift_anon']) r
      where r <> 'public' and has_function_privilege(r, 'notify._send_digest_custom_plans(uuid, bigint[], text, text, jsonb, text)', 'execute')
         or r = 'public' and exists (
             select from pg_proc p, aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a
             where p.oid = 'notify._send_digest_custom_plans(uuid, bigint[], text, text, jsonb, text)'::regprocedure
               and a.grantee = 0 and a.privilege_type = 'EXECUTE')$$,
    'no role but the owner executes the helper (notify.send_digest calls it as the owner)');

select * from finish();
rollback;
