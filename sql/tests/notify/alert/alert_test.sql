-- notify.alert (0047): a notification for a channel, not a user. In nobody's inbox and outside
-- the per-user cap; one delivery, to that channel only; once per dedupe key; kept without a
-- delivery when the channel is not configured.
set client_min_messages = warning;
create extension if not exists pgtap;
begin;
select plan(17);

select notify.configure(0, array['ops', 'audit', 'retired']);  -- a cap of 0: users get nothing at all
select notify.configure(0, array['ops', 'audit']);             -- 'retired' is now disabled

select results_eq(
    $$select outcome from notify.alert('ops', 'run failed: a/b', 'boom', '{"run_id": "r1"}', 'tests:alert-1')$$,
    $$values ('sent')$$, 'an alert to a configured channel is sent, whatever the user cap');
select results_eq(
    $$select user_id, title, message, metadata, read from notify.notifications where dedupe_key = 'tests:alert-1'$$,
    $$values (null::uuid, 'run failed: a/b', 'boom', '{"run_id": "r1"}'::jsonb, false)$$,
    'it is a notification without a user');
select results_eq(
    $$select d.channel, d.status, d.idempotency_key = n.id::text || ':ops'
      from notify.deliveries d join notify.notifications n on n.id = d.notification_id where n.dedupe_key = 'tests:alert-1'$$,
    $$values ('ops', 'pending', true)$$,
    'one pending delivery, to that channel only (not to audit), keyed notification:channel');
select is((select count(*)::integer from notify.daily_counts), 0, 'no user''s cap ledger is touched');

select results_eq(
    $$select a.outcome, a.notification_id = (select n.id from notify.notifications n where n.dedupe_key = 'tests:alert-1')
      from notify.alert('ops', 'again', 'boom again', '{}', 'tests:alert-1') a$$,
    $$values ('duplicate', true)$$, 'the same key again: duplicate, the first alert''s id');
select is((select count(*)::integer from notify.deliveries), 1, 'and still one delivery');
select is((select count(*)::integer from notify.notifications), 1, 'and one alert');

select results_eq($$select outcome from notify.alert('retired', 't', 'm', '{}', 'tests:alert-2')$$,
    $$values ('channel_disabled')$$, 'a disabled channel: channel_disabled');
select results_eq($$select outcome from notify.alert('nowhere', 't', 'm')$$,
    $$values ('channel_disabled')$$, 'an unknown channel: channel_disabled (no key needed)');
select is((select count(*)::integer from notify.notifications where user_id is null), 3, 'both are kept');
select is((select count(*)::integer from notify.deliveries), 1, 'neither gets a delivery');

select throws_ok($$select notify.alert(null, 't', 'm')$$, '22004', 'notify.alert: channel must not be null',
    'a null channel is refused, naming it');
select throws_ok($$select notify.alert('ops', 't', 'm', '[1]')$$, '22023', 'notify.alert: metadata must be a JSON object, got array',
    'metadata must be an object');

-- What the dispatcher posts: user_id null, the title, message and metadata.
select results_eq(
    $$select payload -> 'user_id', payload ->> 'title', payload -> 'metadata', payload ->> 'channel'
      from notify.claim_deliveries(10, '30 seconds')$$,
    $$values ('null'::jsonb, 'run failed: a/b', '{"run_id": "r1"}'::jsonb, 'ops')$$,
    'the webhook payload of an alert');

-- No inbox holds it: a user reading theirs under row-level security sees nothing.
set local role nightshift_authenticated;
set local request.jwt.claims = '{"sub": "a0000000-0000-4000-8000-000000000001", "role": "authenticated"}';
select is((select count(*)::integer from notify.notifications), 0, 'a user sees no alert');
reset role;

-- Never read, an alert still ages out; one whose delivery is under way stays.
update notify.notifications set created_at = now() - interval '100 days';
update notify.deliveries set created_at = now() - interval '100 days';
select cmp_ok(notify.prune('90 days'), '>=', 2, 'prune deletes the old alerts without a delivery under way');
select results_eq($$select dedupe_key from notify.notifications$$, $$values ('tests:alert-1')$$,
    'the one whose delivery is still delivering stays');

select * from finish();
rollback;
