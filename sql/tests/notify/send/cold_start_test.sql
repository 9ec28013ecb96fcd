-- send into empty tables (issue 16 §3): a session whose first sends find notify.notifications
-- empty and analyzed as such must not keep the sequential-scan plans it would pick then for the
-- dedupe-key lookup and the foreign-key check of deliveries -> notifications. 1,000 sends in one
-- statement read the inbox with sequential scans only while it is a few pages (before the fix:
-- every send scanned every notification sent before it, ~1,000,000 tuples read), and the
-- helper that plans them per call is the owner's alone.
set client_min_messages = warning;
create extension if not exists pgtap;
begin;
select plan(7);

-- The state of a fresh install: empty files (truncate: no pages left by earlier tests' rolled-back
-- rows), analyzed as empty (reltuples 0, not -1). All of it is rolled back at the end.
truncate notify.notifications, notify.deliveries, notify.daily_counts, notify.suppressed cascade;
analyze notify.notifications, notify.deliveries, notify.daily_counts, notify.suppressed;
select notify.configure(1000000, array['tests-cold-start']);

select is((select array[reltuples, relpages] from pg_class where oid = 'notify.notifications'::regclass), array[0, 0]::real[],
    'the inbox is analyzed as empty (the plans below are made with these statistics)');

select is((select count(*) filter (where s.outcome = 'sent')
           from generate_series(1, 1000) g
           cross join lateral notify.send(md5('cold-start:' || g)::uuid, 'Cold ' || g, 'message', '{}', 'cold-start:' || g) s),
          1000::bigint, '1,000 sends into empty tables in one statement are all sent');
select is((select count(*) from notify.deliveries d join notify.notifications n on n.id = d.notification_id
           where n.dedupe_key like 'cold-start:%' and d.channel = 'tests-cold-start'),
          1000::bigint, 'each with its delivery');

-- This transaction's scans of the inbox: the dedupe-key lookups and the foreign-key checks.
select cmp_ok((select seq_tup_read from pg_stat_xact_user_tables where relid = 'notify.notifications'::regclass),
    '<', 250000::bigint, 'sequential scans read the inbox only while it is small (~120,000 tuples; not every send over every earlier one: 1,000,000)');
select cmp_ok((select idx_scan from pg_stat_xact_user_tables where relid = 'notify.notifications'::regclass),
    '>=', 1000::bigint, 'the lookups use the indexes once the inbox has grown');

select ok((select proconfig @> array['plan_cache_mode=force_custom_plan', 'search_path=""']
           from pg_proc where oid = 'notify._send_custom_plans(uuid, text, text, jsonb, text, text)'::regprocedure),
    'the helper plans per call, with an empty search_path');
select is_empty(
    $$select r from unnest(array['public', 'nightshift_service', 'nightshift_app', 'nightshift_authenticated', 'nightshift_anon']) r
      where r <> 'public' and has_function_privilege(r, 'notify._send_custom_plans(uuid, text, text, jsonb, text, text)', 'execute')
         or r = 'public' and exists (
             select from pg_proc p, aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a
             where p.oid = 'notify._send_custom_plans(uuid, text, text, jsonb, text, text)'::regprocedure
               and a.grantee = 0 and a.privilege_type = 'EXECUTE')$$,
    'no role but the owner executes the helper (notify.send calls it as the owner)');

select * from finish();
rollback;
