-- notify.send_digest (issue 15 §7): one inbox notification outside the daily cap, flagged
-- metadata.digest, with one delivery per enabled channel, marking the rows it carries; a
-- second call for the same rows sends nothing (empty), the same dedupe key nothing new
-- (duplicate, the rows left waiting); another user's rows are never carried.
set client_min_messages = warning;
create extension if not exists pgtap;
begin;
select plan(12);

select notify.configure(1, array['hook']);
create function pg_temp.u(p_n integer) returns uuid language sql
return ('00000000-0000-4000-8000-0000000d' || lpad(p_n::text, 4, '0'))::uuid;
-- User 1's cap of 1 is used up today, and two were held back yesterday; user 2 has one.
select notify.send(pg_temp.u(1), 'today', 'm');
insert into notify.suppressed (user_id, title, message, metadata, day, time_zone) values
    (pg_temp.u(1), 'A', 'm', '{"type": "x"}', notify.cap_day('UTC') - 1, 'UTC'),
    (pg_temp.u(1), 'B', 'm', '{"type": "x"}', notify.cap_day('UTC') - 1, 'UTC'),
    (pg_temp.u(2), 'C', 'm', '{"type": "x"}', notify.cap_day('UTC') - 1, 'UTC');
create temporary table ids as select array_agg(id order by id) as ids from notify.suppressed where user_id in (pg_temp.u(1), pg_temp.u(2));
create temporary table d as
    select * from notify.send_digest(pg_temp.u(1), (select ids from ids), '2 more', 'held back', '{"k": 1}', 'digest:1');

select results_eq($$select outcome, digested from d$$, $$values ('sent', 2)$$,
    'sent, carrying user 1''s two rows (user 2''s id in the list is not user 1''s)');
select results_eq($$select user_id, title, message, metadata from notify.notifications where id = (select notification_id from d)$$,
    $$values (pg_temp.u(1), '2 more', 'held back', '{"k": 1, "digest": true}'::jsonb)$$,
    'in user 1''s inbox, flagged digest');
select is((select sent from notify.daily_counts where user_id = pg_temp.u(1) and day = notify.cap_day('UTC')), 1,
    'outside the cap: the day''s count is unchanged, and the digest was not held back though the cap is used up');
select is((select count(*)::integer from notify.deliveries where notification_id = (select notification_id from d)), 1,
    'one delivery on the enabled channel');
select results_eq($$select title, digest_id = (select notification_id from d), digested_at is not null
                    from notify.suppressed where user_id = pg_temp.u(1) order by id$$,
    $$values ('A', true, true), ('B', true, true)$$, 'the rows are marked carried by it');
select is((select digest_id from notify.suppressed where user_id = pg_temp.u(2)), null, 'user 2''s row still waits');

select results_eq($$select outcome, digested from notify.send_digest(pg_temp.u(1), (select ids from ids), 'again', 'm', '{}', 'digest:2')$$,
    $$values ('empty', 0)$$, 'the same rows again: empty, nothing sent');
select results_eq($$select outcome, digested from notify.send_digest(pg_temp.u(2), (select ids from ids), 'x', 'm', '{}', 'digest:1')$$,
    $$values ('duplicate', 0)$$, 'a key sent before: duplicate');
select is((select digest_id from notify.suppressed where user_id = pg_temp.u(2)), null,
    'and the rows stay waiting for a digest that lists them');
select is((select count(*)::integer from notify.notifications where user_id in (pg_temp.u(1), pg_temp.u(2))), 2,
    'in all: user 1''s notification of today and one digest');
select throws_ok($$select * from notify.send_digest(null, '{}', 't', 'm')$$, '22004', null, 'user_id must not be null');
select throws_ok($$select * from notify.send_digest(gen_random_uuid(), '{}', 't', 'm', '[]')$$, '22023', null,
    'metadata must be an object');

select * from finish();
rollback;
