-- Seed data generator of the dossier pack, for `make demo` and bench/dossier. Not a
-- migration: load it where test data is wanted (psql -f sql/seed/dossier_seed.sql), then
--
--   select dossier.seed(100000, 50, 5, 0.42);   -- 100,000 dossiers, 5,000,000 engagements, 500,000 commitments
--
-- Deterministic without setseed(): every random draw is a hash of (seed, stream, row
-- number), so the same arguments give the same rows (ids included) whatever plan, order or
-- parallelism the server chooses, and dossier i is the same dossier whatever the sizes.
-- Everything is set-based: one INSERT … SELECT per table over generate_series.

-- A uniform draw in [0, 1) for row n of stream `stream` under hash seed `seed`.
-- SQL-standard bodies: bound at creation (no search_path at run time) and inlined.
create or replace function dossier._seed_random(seed bigint, stream integer, n bigint)
returns double precision
language sql
immutable
parallel safe
return (pg_catalog.hashint8extended(n, seed + stream) & 9007199254740991)::double precision / 9007199254740992.0;

-- A valid UUIDv8 (RFC 9562): 48 bits of seed namespace, version 8, 12 bits of kind, the
-- variant, 60 bits of row number. Ascending within a kind, so index inserts append.
create or replace function dossier._seed_uuid(namespace text, kind text, n bigint)
returns uuid
language sql
immutable
parallel safe
-- (to_hex of n with the sign bit set is "8" and n in 15 hex digits, without an lpad.)
return (namespace || '8' || kind || pg_catalog.to_hex(n | (-9223372036854775808)::bigint))::uuid;

revoke all on function dossier._seed_random(bigint, integer, bigint) from public;
revoke all on function dossier._seed_uuid(text, text, bigint) from public;

create or replace function dossier.seed(
    dossiers integer, engagements_per integer, commitments_per integer, seed double precision default 0.42,
    anchor timestamptz default now())
returns jsonb
language plpgsql
set search_path = ''
set jit = off  -- compiling these one-off statements costs more than it saves
as $$
declare
    v_started timestamptz := clock_timestamp();
    v_hash_seed bigint;
    v_ns text;
    v_users integer;
    v_engagements bigint;
    v_commitments bigint;
    v_time_zone text;
    v_today date;
    v_open_past_due bigint;
    v_replication_role text;
begin
    if dossiers is null or dossiers < 0 or engagements_per is null or engagements_per < 0
       or commitments_per is null or commitments_per < 0 or seed is null or seed not between -1 and 1
       or anchor is null then
        raise exception 'seed needs dossiers, engagements_per, commitments_per >= 0, a seed in [-1, 1] and an anchor'
            using errcode = 'invalid_parameter_value';
    end if;
    v_hash_seed := hashtextextended('nightshift-dossier-seed:' || seed::text, 0);
    v_ns := substr(md5('nightshift-dossier-seed:' || seed::text), 1, 12);
    v_users := greatest(1, dossiers / 20);  -- about 20 dossiers per owner
    v_engagements := dossiers::bigint * engagements_per;
    v_commitments := dossiers::bigint * commitments_per;
    select s.time_zone, (anchor at time zone s.time_zone)::date into v_time_zone, v_today from dossier.settings s;

    if dossiers > 0 and exists (select from dossier.dossiers d where d.id = dossier._seed_uuid(v_ns, 'd05', 1)) then
        raise exception 'the dossiers of seed % are already there', seed
            using errcode = 'unique_violation',
                  hint = 'Use another seed, or delete them first: delete from dossier.dossiers.';
    end if;

    -- Dossiers: "<country> — <topic> #i", owned by one of `dossiers / 20` users.
    insert into dossier.dossiers (id, name, owner_id, created_at, updated_at)
    select dossier._seed_uuid(v_ns, 'd05', i),
           format('%s — %s #%s',
                  (array['Saudi Arabia', 'Japan', 'Germany', 'Brazil', 'India', 'Canada', 'Kenya', 'Indonesia',
                         'France', 'Mexico', 'Egypt', 'Korea', 'Australia', 'Norway', 'Chile', 'Morocco'])
                      [1 + floor(dossier._seed_random(v_hash_seed, 1, i) * 16)::integer],
                  (array['Trade Delegation', 'Energy Partnership', 'Cultural Exchange', 'Investment Forum',
                         'Health Cooperation', 'Education Alliance', 'Water Security', 'Tourism Board'])
                      [1 + floor(dossier._seed_random(v_hash_seed, 2, i) * 8)::integer],
                  i),
           dossier._seed_uuid(v_ns, '0a0', 1 + floor(dossier._seed_random(v_hash_seed, 3, i) * v_users)::bigint),
           anchor - (400 + floor(dossier._seed_random(v_hash_seed, 4, i) * 700)) * interval '1 day',
           anchor
    from generate_series(1, dossiers) as i;
    analyze dossier.dossiers;

    -- The engagements and commitments below reference exactly the dossiers just inserted
    -- (the same _seed_uuid(…, 'd05', i)), so their foreign-key checks, one trigger call per
    -- row and about half the load time, prove nothing: a superuser skips them the way
    -- pg_restore does (session_replication_role = replica), until the end of the inserts.
    if (select r.rolsuper from pg_catalog.pg_roles r where r.rolname = current_user) then
        v_replication_role := current_setting('session_replication_role');
        perform set_config('session_replication_role', 'replica', true);
    end if;

    -- Engagements: exactly dossiers * engagements_per, shared by weight: 5 % of dossiers
    -- have none, the others an exponential share (many light, a few heavy; the lightest
    -- round down to none, so a few % more have none). Each dossier's
    -- latest engagement is 0-30 days old for 55 % of them, 31-90 for 20 %, 91-180 for 13 %,
    -- 181-400 for 12 %; the rest spread over the 2 to 24 months before it; 2 % are planned
    -- (in the next 30 days). Kinds: meeting 30 %, call 25 %, email 28 %, visit 12 %, event 5 %.
    with profile as (
        select i,
               case when dossier._seed_random(v_hash_seed, 10, i) < 0.05 then 0.0
                    else -ln(1.0 - dossier._seed_random(v_hash_seed, 11, i)) end as w,
               case when dossier._seed_random(v_hash_seed, 12, i) < 0.55 then 0 + floor(dossier._seed_random(v_hash_seed, 13, i) * 31)
                    when dossier._seed_random(v_hash_seed, 12, i) < 0.75 then 31 + floor(dossier._seed_random(v_hash_seed, 13, i) * 60)
                    when dossier._seed_random(v_hash_seed, 12, i) < 0.88 then 91 + floor(dossier._seed_random(v_hash_seed, 13, i) * 90)
                    else 181 + floor(dossier._seed_random(v_hash_seed, 13, i) * 220) end as last_age,
               60 + floor(dossier._seed_random(v_hash_seed, 14, i) * 670) as span
        from generate_series(1, dossiers) as i
    ), shares as (
        select p.*,
               coalesce(lag(p.cum) over (order by p.i), 0.0) as prev
        from (select profile.*, sum(w) over (order by i) as cum, sum(w) over () as total from profile) as p
    ), counts as (
        -- floor(T * fraction) at both ends of each dossier's share: exact total, no overlap.
        select s.i, s.last_age, s.span, dossier._seed_uuid(v_ns, 'd05', s.i) as dossier_id,
               floor(v_engagements * (case when s.total > 0 then s.prev / s.total else (s.i - 1)::float8 / dossiers end))::bigint as first_n,
               floor(v_engagements * (case when s.total > 0 then s.cum / s.total else s.i::float8 / dossiers end))::bigint as last_n
        from shares s
    )
    insert into dossier.engagements (id, dossier_id, occurred_at, created_at, kind)
    select dossier._seed_uuid(v_ns, 'e06', x.g), x.dossier_id, x.occurred_at, least(x.occurred_at, anchor), x.kind
    from (
        select g, c.dossier_id,
               case when g = c.first_n + 1 then  -- the latest one, at its profile's age
                        anchor - (c.last_age + dossier._seed_random(v_hash_seed, 20, g) * 0.9) * interval '1 day'
                    when dossier._seed_random(v_hash_seed, 21, g) < 0.02 then  -- planned
                        anchor + (0.1 + dossier._seed_random(v_hash_seed, 20, g) * 30) * interval '1 day'
                    else anchor - (c.last_age + 1 + dossier._seed_random(v_hash_seed, 20, g) * c.span) * interval '1 day'
               end as occurred_at,
               case when dossier._seed_random(v_hash_seed, 22, g) < 0.30 then 'meeting'
                    when dossier._seed_random(v_hash_seed, 22, g) < 0.55 then 'call'
                    when dossier._seed_random(v_hash_seed, 22, g) < 0.83 then 'email'
                    when dossier._seed_random(v_hash_seed, 22, g) < 0.95 then 'visit'
                    else 'event' end as kind
        from counts c
        cross join lateral generate_series(c.first_n + 1, c.last_n) as g
        where c.last_n > c.first_n
    ) as x;

    -- Commitments: exactly dossiers * commitments_per, shared by weight: 10 % of dossiers
    -- have none, and with a few per dossier the lightest shares round down to none too
    -- (about 19 % in all at 4 per dossier). Due from 300 days ago to 120 days ahead; half owned by the dossier owner.
    -- Each dossier has a reliability r in [0.3, 1) (skewed high): a commitment due before
    -- today is cancelled (6 %), completed (with probability r, between 14 days early and 5
    -- days late), or missed: 18 % of the missed are still pending / in_progress (what the
    -- next overdue sweep finds, about 2 % of all), the others overdue already. One due
    -- later is cancelled 3 %, completed early 10 %, in_progress 32 %, pending 55 %.
    with profile as (
        select i,
               case when dossier._seed_random(v_hash_seed, 30, i) < 0.10 then 0.0
                    else -ln(1.0 - dossier._seed_random(v_hash_seed, 31, i)) end as w,
               0.3 + 0.7 * sqrt(dossier._seed_random(v_hash_seed, 32, i)) as reliability,
               dossier._seed_uuid(v_ns, '0a0', 1 + floor(dossier._seed_random(v_hash_seed, 3, i) * v_users)::bigint) as owner_id
        from generate_series(1, dossiers) as i
    ), shares as (
        select p.*,
               coalesce(lag(p.cum) over (order by p.i), 0.0) as prev
        from (select profile.*, sum(w) over (order by i) as cum, sum(w) over () as total from profile) as p
    ), counts as (
        select s.i, s.reliability, s.owner_id, dossier._seed_uuid(v_ns, 'd05', s.i) as dossier_id,
               floor(v_commitments * (case when s.total > 0 then s.prev / s.total else (s.i - 1)::float8 / dossiers end))::bigint as first_n,
               floor(v_commitments * (case when s.total > 0 then s.cum / s.total else s.i::float8 / dossiers end))::bigint as last_n
        from shares s
    ), drawn as (
        select g, c.i, c.dossier_id, c.owner_id as dossier_owner_id, c.reliability,
               v_today + (-300 + floor(dossier._seed_random(v_hash_seed, 40, g) * 421))::integer as due_date,
               dossier._seed_random(v_hash_seed, 41, g) as r_status,
               dossier._seed_random(v_hash_seed, 42, g) as r_kept,
               dossier._seed_random(v_hash_seed, 43, g) as r_open
        from counts c
        cross join lateral generate_series(c.first_n + 1, c.last_n) as g
        where c.last_n > c.first_n
    ), decided as (
        select d.*,
               case when d.due_date < v_today then
                        case when d.r_status < 0.06 then 'cancelled'
                             when d.r_kept < d.reliability then 'completed'
                             when d.r_open < 0.12 then 'pending'
                             when d.r_open < 0.18 then 'in_progress'
                             else 'overdue' end
                    else
                        case when d.r_status < 0.03 then 'cancelled'
                             when d.r_status < 0.13 then 'completed'
                             when d.r_status < 0.45 then 'in_progress'
                             else 'pending' end
               end as status
        from drawn d
    )
    insert into dossier.commitments (id, dossier_id, owner_id, description, due_date, status, completed_at, overdue_at,
                                     created_at, updated_at)
    select dossier._seed_uuid(v_ns, 'c07', x.g),
           x.dossier_id,
           case when dossier._seed_random(v_hash_seed, 44, x.g) < 0.5 then x.dossier_owner_id
                else dossier._seed_uuid(v_ns, '0a0', 1 + floor(dossier._seed_random(v_hash_seed, 45, x.g) * v_users)::bigint) end,
           format('%s %s',
                  (array['Send', 'Review', 'Prepare', 'Confirm', 'Draft', 'Share', 'Schedule', 'Follow up on'])
                      [1 + floor(dossier._seed_random(v_hash_seed, 46, x.g) * 8)::integer],
                  (array['the memorandum of understanding', 'the visit agenda', 'the trade figures', 'the joint statement',
                         'the project proposal', 'the delegation list', 'the funding request', 'the meeting minutes'])
                      [1 + floor(dossier._seed_random(v_hash_seed, 47, x.g) * 8)::integer]),
           x.due_date,
           x.status,
           case when x.status <> 'completed' then null
                when x.due_date < v_today then
                    least(anchor, ((x.due_date + (-14 + floor(dossier._seed_random(v_hash_seed, 48, x.g) * 20))::integer)::timestamp
                                   + interval '10 hours') at time zone v_time_zone)
                else anchor - dossier._seed_random(v_hash_seed, 48, x.g) * 20 * interval '1 day' end,
           case when x.status = 'overdue' then ((x.due_date + 1)::timestamp + interval '2 hours') at time zone v_time_zone end,
           ((x.due_date - 30 - floor(dossier._seed_random(v_hash_seed, 49, x.g) * 60)::integer)::timestamp) at time zone v_time_zone,
           anchor
    from decided x;

    if v_replication_role is not null then
        perform set_config('session_replication_role', v_replication_role, true);
    end if;

    -- Fresh statistics for the planner before anyone queries the new rows.
    analyze dossier.engagements;
    analyze dossier.commitments;

    select count(*) into v_open_past_due from dossier.commitments c
        where c.status in ('pending', 'in_progress') and c.due_date < v_today;
    return jsonb_build_object(
        'dossiers', dossiers,
        'engagements', v_engagements,
        'commitments', v_commitments,
        'users', v_users,
        'openPastDue', v_open_past_due,  -- in the whole table: what the next overdue sweep finds
        'seed', seed,
        'anchor', anchor,
        'durationMs', round((extract(epoch from clock_timestamp() - v_started) * 1000)::numeric));
end
$$;
comment on function dossier.seed(integer, integer, integer, double precision, timestamptz) is
    'Generates dossiers dossiers with exactly dossiers * engagements_per engagements and dossiers * commitments_per '
    'commitments relative to anchor (default now()), deterministic in (arguments): same seed and anchor, same rows and ids '
    '(UUIDv8 with a seed namespace). Spreads: 5 % of dossiers without engagements and 10 % without commitments by design '
    '(more where light shares round down to none), latest '
    'engagement 0-30 / 31-90 / 91-180 / 181-400 days ago for 55 / 20 / 13 / 12 %, about 2 % of commitments pending or '
    'in_progress past due; scores land on both sides of 60. Owners: one user per 20 dossiers. Returns the counts. '
    'A seed whose dossiers exist already -> 23505. Scores are not computed: every dossier starts stale.';
revoke all on function dossier.seed(integer, integer, integer, double precision, timestamptz) from public;
