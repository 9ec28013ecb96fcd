-- cache (0033): get / set / invalidate / invalidate_all / sweep. An expired entry is never
-- served, swept or not; TTL must be positive; invalidate_all goes by the namespace owner;
-- the service role calls the functions and touches the table only through them.
set client_min_messages = warning;
create extension if not exists pgtap;
begin;
select plan(27);

delete from cache.entries;

-- set / get.
select ok(cache.set('recs:a0000000-0000-4000-8000-000000000001', '{"n": "1.50"}', interval '24 hours',
                    'a0000000-0000-4000-8000-000000000001')
          between clock_timestamp() + interval '23 hours 59 minutes' and clock_timestamp() + interval '24 hours',
    'set returns the expiry, now + TTL');
select is(cache.get('recs:a0000000-0000-4000-8000-000000000001'), '{"n": "1.50"}'::jsonb, 'get returns the value set');
select is(cache.get('recs:a0000000-0000-4000-8000-000000000099'), null, 'a missing key is a miss (null)');
select is(cache.get(null), null, 'a null key is a miss too');
select lives_ok($$select cache.set('recs:a0000000-0000-4000-8000-000000000001', '{"n": "2"}', interval '1 hour',
                                   'a0000000-0000-4000-8000-000000000001')$$, 'set again replaces');
select is(cache.get('recs:a0000000-0000-4000-8000-000000000001'), '{"n": "2"}'::jsonb, 'the new value is served');
select is((select count(*)::integer from cache.entries), 1, 'one row per key');
select ok((select expires_at <= clock_timestamp() + interval '1 hour' from cache.entries), 'with the new TTL');

-- Expiry: never served, swept or not.
select cache.set('portfolio:a0000000-0000-4000-8000-000000000001', '{"p": 1}', interval '10 milliseconds',
                 'a0000000-0000-4000-8000-000000000001');
select pg_sleep(0.05);
select is(cache.get('portfolio:a0000000-0000-4000-8000-000000000001'), null, 'an expired entry is not served');
select is((select count(*)::integer from cache.entries where key = 'portfolio:a0000000-0000-4000-8000-000000000001'), 1,
    'although it is still stored until swept');
insert into cache.entries (key, user_id, value, expires_at) values
    ('recs:a0000000-0000-4000-8000-000000000002', 'a0000000-0000-4000-8000-000000000002', '{}', now() - interval '2 days'),
    ('recs:a0000000-0000-4000-8000-000000000003', 'a0000000-0000-4000-8000-000000000003', '{}', now() - interval '1 day'),
    ('global:motd', null, '"hello"', now() + interval '1 day');
select is(cache.get('recs:a0000000-0000-4000-8000-000000000002'), null, 'an entry expired long ago is not served either');

-- TTL and argument validation.
select throws_ok($$select cache.set('k', '{}', interval '0')$$, '22023', 'ttl: must be a positive interval, got 00:00:00',
    'a zero TTL is refused, naming ttl');
select throws_ok($$select cache.set('k', '{}', interval '-1 hour')$$, '22023', null, 'a negative TTL is refused');
select throws_ok($$select cache.set('k', '{}', null)$$, '22023', 'ttl: must be a positive interval, got null', 'a null TTL is refused');
select throws_ok($$select cache.set('', '{}', interval '1 hour')$$, '22023', null, 'an empty key is refused');
select throws_ok($$select cache.set('k', null, interval '1 hour')$$, '22023',
    'value: must not be null (invalidate the key instead)', 'a null value is refused');

-- sweep: expired entries only, oldest expiry first, up to the limit.
select is(cache.sweep(1), 1, 'sweep(1) deletes one expired entry');
select ok(not exists (select from cache.entries where key = 'recs:a0000000-0000-4000-8000-000000000002'),
    'the one that expired first');
select is(cache.sweep(), 2, 'sweep deletes the other expired entries');
select is(array(select key from cache.entries order by key),
    array['global:motd', 'recs:a0000000-0000-4000-8000-000000000001'], 'and keeps the live ones');
select throws_ok($$select cache.sweep(0)$$, '22023', 'limit: must be between 1 and 1000000, got 0', 'sweep limit is validated');

-- invalidate / invalidate_all.
select cache.set('portfolio:a0000000-0000-4000-8000-000000000001', '{}', interval '1 hour', 'a0000000-0000-4000-8000-000000000001');
select cache.set('recs:a0000000-0000-4000-8000-000000000004', '{}', interval '1 hour', 'a0000000-0000-4000-8000-000000000004');
select is(cache.invalidate('global:motd'), true, 'invalidate reports a deleted key');
select is(cache.invalidate('global:motd'), false, 'and a missing one');
select is(cache.invalidate_all('a0000000-0000-4000-8000-000000000001'), 2, 'invalidate_all(user) deletes that user''s keys');
select is(array(select key from cache.entries), array['recs:a0000000-0000-4000-8000-000000000004'],
    'and no other user''s');
select is(cache.invalidate_all(), 1, 'invalidate_all() deletes every key');

-- Grants.
select ok(has_function_privilege('nightshift_service', 'cache.get(text)', 'execute')
          and has_function_privilege('nightshift_service', 'cache.set(text, jsonb, interval, uuid)', 'execute')
          and has_function_privilege('nightshift_service', 'cache.sweep(integer)', 'execute')
          and not has_table_privilege('nightshift_service', 'cache.entries', 'select')
          and not has_function_privilege('nightshift_service', 'cache._require_key(text)', 'execute')
          and not has_schema_privilege('nightshift_anon', 'cache', 'usage')
          and not has_schema_privilege('nightshift_authenticated', 'cache', 'usage')
          and not exists (select from pg_proc p cross join (values ('nightshift_anon'), ('nightshift_authenticated')) r(rolname)
                          where p.pronamespace = 'cache'::regnamespace and has_function_privilege(r.rolname, p.oid, 'execute')),
    'the service role executes the public functions only, not the table; anon and authenticated get nothing');

select * from finish();
rollback;
