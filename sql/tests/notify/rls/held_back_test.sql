-- The inbox's held-back count and digests, per user (issue 15 §7), acting as each request role
-- with forged claims: api.notifications_held_back counts the caller's rows held back today
-- (not yesterday's, not another user's), api.notifications lists the caller's own digest only,
-- flagged in its metadata; a token without a user is refused.
set client_min_messages = warning;
create extension if not exists pgtap;
begin;
select plan(8);

select notify.configure(0, '{}');  -- a cap of 0: everything is held back
create function pg_temp.u(p_n integer) returns uuid language sql
return ('00000000-0000-4000-8000-0000000b' || lpad(p_n::text, 4, '0'))::uuid;
select notify.send(pg_temp.u(1), 'A today ' || i, 'm') from generate_series(1, 3) i;
select notify.send(pg_temp.u(2), 'B today', 'm');
insert into notify.suppressed (user_id, title, message, day, time_zone) values
    (pg_temp.u(1), 'A yesterday', 'm', notify.cap_day('UTC') - 1, 'UTC'),
    (pg_temp.u(2), 'B yesterday', 'm', notify.cap_day('UTC') - 1, 'UTC');
select notify.send_digest(h.user_id, h.suppressed_ids, 'digest of ' || h.user_id, 'm')
from notify.held_back() h where h.user_id in (pg_temp.u(1), pg_temp.u(2));

create function pg_temp.as_user(p_user uuid) returns void language plpgsql as $$
begin
    perform set_config('role', 'nightshift_authenticated', true),
            set_config('request.jwt.claims', jsonb_build_object('sub', p_user, 'role', 'authenticated')::text, true);
end
$$;

select pg_temp.as_user(pg_temp.u(1));
select is(api.notifications_held_back(), 3, 'A: three held back today (yesterday''s went in a digest)');
select results_eq($$select title, (metadata ->> 'digest')::boolean from api.notifications()$$,
    $$values ('digest of ' || pg_temp.u(1)::text, true)$$, 'A''s inbox: A''s digest only, flagged');
select is((select count(*)::integer from notify.suppressed), 4, 'A reads A''s four held-back rows only (RLS)');
select pg_temp.as_user(pg_temp.u(2));
select is(api.notifications_held_back(), 1, 'B: one');
select results_eq($$select title from api.notifications()$$, $$values ('digest of ' || pg_temp.u(2)::text)$$, 'B''s inbox: B''s digest');
select pg_temp.as_user(pg_temp.u(3));
select is(api.notifications_held_back(), 0, 'a user with nothing held back: 0');
select set_config('request.jwt.claims', '{"role": "authenticated"}', true);
select throws_ok($$select api.notifications_held_back()$$, '42501', null, 'a token without a user is refused');
select set_config('role', 'nightshift_anon', true);
select throws_ok($$select api.notifications_held_back()$$, '42501', null, 'anon may not call it');

select * from finish();
rollback;
