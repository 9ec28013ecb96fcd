-- Schedules under fire (issue 11, parts c, d and g) and sub-minute schedules:
--
--  * Sub-minute schedules spelled as pg_cron spells them: '[1-59] seconds' ('1 second',
--    '5 seconds'). Their slots are the instants whose epoch seconds are multiples of N, the
--    same in every zone; tick enqueues them like cron slots (one run per slot, catch-up
--    policies, skipped ranges recorded).
--  * _cron_count counted a day by its local midnight read in standard time, so where local
--    midnight repeats (America/Havana, 2025-11-02) a day that began before the window was
--    counted whole. Days are now bounded by the instants _cron_instant gives them (the same
--    rule next_fire uses) and only a day without any UTC offset change is counted in bulk.
--  * sync_functions read the schedule row without a lock and wrote its next_slot back, so a
--    tick committing in between was undone and the next tick handled the same slots again.
--    It now locks the row before reading it and only rewrites next_slot when the schedule's
--    slots change; a unique (function_id, first_slot) makes a duplicate skip record impossible.
--  * Queued runs of a function retired longer than nightshift.settings.retired_grace are
--    failed by tick ("function retired"), counted in nightshift.outcome_counts for the
--    metrics, and pruned like every other finished run; queue_depth shows them apart until then.

-- ---------------------------------------------------------------------------------------------
-- Sub-minute schedules

-- Null for a 5-field expression; N for 'N seconds' (then every other field is null).
alter type nightshift.cron_fields add attribute seconds integer;
comment on type nightshift.cron_fields is
    'A parsed schedule: a 5-field cron expression (allowed values plus "next allowed value" lookup arrays) '
    'or, with seconds set, every N seconds of epoch time.';

create or replace function nightshift._cron_parse(p_expression text)
returns nightshift.cron_fields
language plpgsql
immutable
set search_path = ''
as $$
declare
    v_text text := pg_catalog.btrim(coalesce(p_expression, ''), E' \t\r\n');
    v_parts text[];
    v_fields nightshift.cron_fields;
begin
    if v_text = '' then
        raise exception 'invalid cron expression "%": it is empty', coalesce(p_expression, '')
            using errcode = 'invalid_parameter_value';
    end if;

    -- pg_cron's sub-minute form. Whatever precedes the unit must be a count of 1 to 59: a
    -- divisor of nothing larger than a minute, so the slots never drift against the clock.
    v_parts := pg_catalog.regexp_match(v_text, '^(\S+)\s+seconds?$', 'i');
    if v_parts is not null then
        if v_parts[1] !~ '^[0-9]{1,9}$' then
            raise exception 'invalid cron expression "%": "%" is not a whole number of seconds (use 1 to 59 seconds, such as "5 seconds")',
                p_expression, v_parts[1]
                using errcode = 'invalid_parameter_value';
        end if;
        if v_parts[1]::integer not between 1 and 59 then
            raise exception 'invalid cron expression "%": seconds value "%" is out of range 1-59 (use a 5-field expression for a minute or more)',
                p_expression, v_parts[1]
                using errcode = 'invalid_parameter_value';
        end if;
        v_fields.expression := p_expression;
        v_fields.seconds := v_parts[1]::integer;
        return v_fields;
    end if;

    if v_text like '@%' then
        v_text := case pg_catalog.lower(v_text)
            when '@yearly' then '0 0 1 1 *'
            when '@annually' then '0 0 1 1 *'
            when '@monthly' then '0 0 1 * *'
            when '@weekly' then '0 0 * * 0'
            when '@daily' then '0 0 * * *'
            when '@midnight' then '0 0 * * *'
            when '@hourly' then '0 * * * *'
        end;
        if v_text is null then
            raise exception 'invalid cron expression "%": unknown macro (use @hourly, @daily, @midnight, @weekly, @monthly, @yearly or @annually)',
                p_expression
                using errcode = 'invalid_parameter_value';
        end if;
    end if;

    v_parts := pg_catalog.regexp_split_to_array(v_text, '\s+');
    if pg_catalog.cardinality(v_parts) <> 5 then
        raise exception 'invalid cron expression "%": expected 5 fields (minute hour day-of-month month day-of-week), found %',
            p_expression, pg_catalog.cardinality(v_parts)
            using errcode = 'invalid_parameter_value';
    end if;

    v_fields.expression := p_expression;
    v_fields.minutes := nightshift._cron_field(p_expression, 'minute', v_parts[1], 0, 59, null);
    v_fields.hours := nightshift._cron_field(p_expression, 'hour', v_parts[2], 0, 23, null);
    v_fields.days := nightshift._cron_field(p_expression, 'day-of-month', v_parts[3], 1, 31, null);
    v_fields.months := nightshift._cron_field(p_expression, 'month', v_parts[4], 1, 12,
        array['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec']);
    v_fields.weekdays := nightshift._cron_field(p_expression, 'day-of-week', v_parts[5], 0, 7,
        array['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat']);
    v_fields.day_of_month_star := v_parts[3] like '*%';
    v_fields.day_of_week_star := v_parts[5] like '*%';

    -- When the day of the month must match (Vixie: either day field starts with '*', so the
    -- two are ANDed), a day that no selected month has would never fire: refuse it here
    -- rather than have a schedule that silently never runs.
    if (v_fields.day_of_month_star or v_fields.day_of_week_star) and not exists (
        select 1
        from pg_catalog.unnest(v_fields.months) m, pg_catalog.unnest(v_fields.days) d
        where d <= (array[31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])[m]
    ) then
        raise exception 'invalid cron expression "%": it never fires (day-of-month "%" does not occur in month "%")',
            p_expression, v_parts[3], v_parts[4]
            using errcode = 'invalid_parameter_value';
    end if;

    v_fields.next_minute := nightshift._cron_lookup(v_fields.minutes, 0, 59);
    v_fields.next_hour := nightshift._cron_lookup(v_fields.hours, 0, 23);
    v_fields.next_day := nightshift._cron_lookup(v_fields.days, 1, 31);
    v_fields.next_month := nightshift._cron_lookup(v_fields.months, 1, 12);
    return v_fields;
end
$$;
comment on function nightshift._cron_parse(text) is
    'Parses a 5-field cron expression, a macro or pg_cron''s ''N seconds'' (1-59) into nightshift.cron_fields; '
    'raises 22023 when invalid.';

create or replace function nightshift._cron_next(p_fields nightshift.cron_fields, p_zone text, p_after timestamptz)
returns timestamptz
language plpgsql
immutable
set search_path = ''
as $$
declare
    v_local timestamp;
    -- _cron_parse rejects expressions that can never fire, so this bound only guards tick()
    -- against looping forever should a bug slip through.
    v_horizon timestamp;
    v_month integer;
    v_day integer;
    v_hour integer;
    v_minute integer;
    v_next integer;
    v_instant timestamptz;
begin
    if not pg_catalog.isfinite(p_after) then
        raise exception 'cron fire times are defined only after a finite instant, not %', p_after
            using errcode = 'invalid_parameter_value';
    end if;
    if p_fields.seconds is not null then
        -- Epoch multiples: no wall clock involved, so no zone and no transition either.
        return pg_catalog.to_timestamp(
            ((pg_catalog.floor(extract(epoch from p_after) / p_fields.seconds) + 1) * p_fields.seconds)::double precision);
    end if;

    v_local := date_trunc('minute', p_after at time zone p_zone) + interval '1 minute';
    v_horizon := v_local + interval '100 years';
    loop
        if v_local > v_horizon then
            raise exception 'cron expression "%" has no fire time within 100 years of %', p_fields.expression, p_after
                using errcode = 'internal_error';
        end if;

        v_month := extract(month from v_local)::integer;
        v_next := p_fields.next_month[v_month];
        if v_next is distinct from v_month then
            v_local := case when v_next is null
                then pg_catalog.make_timestamp(extract(year from v_local)::integer + 1, p_fields.months[1], 1, 0, 0, 0)
                else pg_catalog.make_timestamp(extract(year from v_local)::integer, v_next, 1, 0, 0, 0)
            end;
            continue;
        end if;

        if not nightshift._cron_day_matches(p_fields, v_local) then
            v_day := extract(day from v_local)::integer;
            v_next := p_fields.next_day[v_day];
            if (p_fields.day_of_month_star or p_fields.day_of_week_star) and v_next is distinct from v_day then
                -- The day of the month must match: jump straight to the next allowed one.
                v_local := case
                    when v_next is null
                      or v_next > extract(day from date_trunc('month', v_local) + interval '1 month - 1 day')
                    then date_trunc('month', v_local) + interval '1 month'
                    else date_trunc('month', v_local) + (v_next - 1) * interval '1 day'
                end;
            else
                v_local := date_trunc('day', v_local) + interval '1 day';
            end if;
            continue;
        end if;

        v_hour := extract(hour from v_local)::integer;
        v_next := p_fields.next_hour[v_hour + 1];
        if v_next is null then
            v_local := date_trunc('day', v_local) + interval '1 day';
            continue;
        elsif v_next <> v_hour then
            v_local := date_trunc('day', v_local) + v_next * interval '1 hour';
        end if;

        v_minute := extract(minute from v_local)::integer;
        v_next := p_fields.next_minute[v_minute + 1];
        if v_next is null then
            v_local := date_trunc('hour', v_local) + interval '1 hour';
            continue;
        end if;
        v_local := date_trunc('hour', v_local) + v_next * interval '1 minute';

        v_instant := nightshift._cron_instant(v_local, p_zone);
        -- Only in the second pass of a repeated hour can a later wall time map to an earlier
        -- instant (its first occurrence, already past): keep walking.
        if v_instant > p_after then
            return v_instant;
        end if;
        v_local := v_local + interval '1 minute';
    end loop;
end
$$;
comment on function nightshift._cron_next(nightshift.cron_fields, text, timestamptz) is
    'The first fire time of parsed cron fields strictly after an instant, in a zone (not validated); '
    'for ''N seconds'' the next epoch multiple of N.';

-- How many fire times lie in [p_from, p_before), without visiting them one by one. The fire
-- times are the instants _cron_instant gives the matching wall times (what _cron_next walks
-- through). A day is bounded by the instants of its midnight and the next one; a day wholly
-- inside the range whose midnights both exist, 24 hours apart, with the same offset at noon
-- and a minute before it begins, has no UTC offset change, so each of its hours x minutes is
-- one distinct fire time. Every
-- other day (the range's ends, and days with a transition) is counted by mapping its wall
-- times to instants and counting the distinct ones in range, all such days together: a gap
-- that crosses midnight maps wall times of two days onto the same instant. The day before
-- the range is looked at too, for a skipped wall time whose instant is in the next day.
-- Used to record long downtimes (a per-minute job down for 70 days has 100,000 missed slots)
-- in constant work per day.
create or replace function nightshift._cron_count(
    p_fields nightshift.cron_fields, p_zone text, p_from timestamptz, p_before timestamptz)
returns bigint
language sql
immutable
set search_path = ''
as $$
    with days as (
        select g.day::timestamp as day,
               nightshift._cron_instant(g.day::timestamp, p_zone) as starts_at,
               nightshift._cron_instant(g.day::timestamp + interval '1 day', p_zone) as ends_at
        from pg_catalog.generate_series(
                date_trunc('day', p_from at time zone p_zone) - interval '1 day',
                date_trunc('day', p_before at time zone p_zone),
                interval '1 day') as g(day)
        where p_fields.seconds is null and p_from < p_before and nightshift._cron_day_matches(p_fields, g.day::timestamp)
    ), classified as (
        select d.day,
               d.starts_at >= p_from and d.ends_at <= p_before
               and d.ends_at - d.starts_at = interval '24 hours'
               and (d.starts_at at time zone p_zone) = d.day
               -- Not the end of a gap: wall times skipped the evening before fire at this instant too.
               and ((d.starts_at - interval '1 minute') at time zone p_zone) = d.day - interval '1 minute'
               and (d.ends_at at time zone p_zone) = d.day + interval '1 day'
               and ((d.starts_at + interval '12 hours') at time zone p_zone) = d.day + interval '12 hours' as plain
        from days d
    )
    select case
        when p_from >= p_before then 0::bigint
        when p_fields.seconds is not null then
            (pg_catalog.ceil(extract(epoch from p_before) / p_fields.seconds)
             - pg_catalog.ceil(extract(epoch from p_from) / p_fields.seconds))::bigint
        else
            (select count(*) from classified c where c.plain)
                * pg_catalog.cardinality(p_fields.hours) * pg_catalog.cardinality(p_fields.minutes)
            + (select count(distinct s.slot)
               from classified c,
                    lateral (
                        select nightshift._cron_instant(c.day + h * interval '1 hour' + m * interval '1 minute', p_zone) as slot
                        from pg_catalog.unnest(p_fields.hours) h, pg_catalog.unnest(p_fields.minutes) m) s
               where not c.plain and s.slot >= p_from and s.slot < p_before)
    end
$$;
comment on function nightshift._cron_count(nightshift.cron_fields, text, timestamptz, timestamptz) is
    'Counts the fire times in [from, before) day by day (by arithmetic for ''N seconds'') instead of slot by slot; '
    'equal to the number of steps of _cron_next from the range''s start.';

create or replace function nightshift._cron_latest(
    p_fields nightshift.cron_fields, p_zone text, p_from timestamptz, p_through timestamptz, p_count integer)
returns timestamptz[]
language plpgsql
immutable
set search_path = ''
as $$
declare
    v_span interval := interval '1 hour';
    v_start timestamptz;
    v_slot timestamptz;
    v_slots timestamptz[];
    v_last numeric;
    v_first numeric;
begin
    if p_fields.seconds is not null then
        -- Epoch multiples in [from, through]: the newest p_count of them, by arithmetic.
        v_last := pg_catalog.floor(extract(epoch from p_through) / p_fields.seconds) * p_fields.seconds;
        v_first := greatest(pg_catalog.ceil(extract(epoch from p_from) / p_fields.seconds) * p_fields.seconds,
                            v_last - (p_count - 1) * p_fields.seconds);
        return array(
            select pg_catalog.to_timestamp(e::double precision)
            from pg_catalog.generate_series(v_first, v_last, p_fields.seconds::numeric) e
            order by e);
    end if;

    -- Searches backwards in windows that grow eightfold (an hour, 8 hours, 64 hours, ...) so
    -- that a long downtime costs a few windows near p_through, never an enumeration from p_from.
    loop
        v_start := greatest(p_through - v_span, p_from);
        v_slots := '{}';
        v_slot := nightshift._cron_next(p_fields, p_zone, v_start - interval '1 microsecond');
        while v_slot <= p_through loop
            v_slots := v_slots || v_slot;
            v_slot := nightshift._cron_next(p_fields, p_zone, v_slot);
        end loop;
        if pg_catalog.cardinality(v_slots) >= p_count or v_start = p_from then
            return v_slots[greatest(1, pg_catalog.cardinality(v_slots) - p_count + 1):];
        end if;
        v_span := v_span * 8;
    end loop;
end
$$;
comment on function nightshift._cron_latest(nightshift.cron_fields, text, timestamptz, timestamptz, integer) is
    'The newest N fire times in [from, through], ascending, found by growing windows back from through '
    '(by arithmetic for ''N seconds'').';

comment on function nightshift.validate_cron(text) is
    'Raises 22023 with the field and value at fault when a schedule (5-field cron, macro, or ''N seconds'' with N 1-59) '
    'is invalid; returns nothing otherwise.';
comment on function nightshift.next_fire(text, text, timestamptz) is
    'The first fire time of a schedule strictly after an instant. A 5-field cron expression is evaluated in the IANA '
    'zone: skipped local times fire once at the end of the gap; repeated local times fire once, at their first '
    'occurrence. ''N seconds'' (1-59) fires at every instant whose epoch seconds are a multiple of N, in any zone.';

-- ---------------------------------------------------------------------------------------------
-- Engine settings: one row, read by tick() whoever calls it (the Swift ticker or pg_cron), so
-- both follow the same rules without passing arguments.

create table nightshift.settings (
    id boolean primary key default true,
    retired_grace interval not null default '7 days',
    retention interval not null default '14 days',
    prune_every interval not null default '1 hour',
    updated_at timestamptz not null default now(),
    constraint settings_is_one_row check (id),
    constraint settings_retired_grace_is_valid check (retired_grace >= interval '0'),
    constraint settings_retention_is_valid check (retention >= interval '0'),
    constraint settings_prune_every_is_valid check (prune_every >= interval '1 second')
);
comment on table nightshift.settings is
    'The one row of engine settings tick() follows; change it with nightshift.configure (or config at start-up).';
comment on column nightshift.settings.retired_grace is
    'How long queued runs of a retired function wait (a rolling deploy may bring the function back) '
    'before tick fails them with "function retired".';
comment on column nightshift.settings.retention is
    'How long finished runs, events and skipped-slot records are kept: tick runs prune(retention) every prune_every.';
comment on column nightshift.settings.prune_every is
    'How often tick prunes: at most once per this interval (an hour by default).';
insert into nightshift.settings default values;

create function nightshift.configure(
    retired_grace interval default null, retention interval default null, prune_every interval default null)
returns nightshift.settings
language plpgsql
security definer
set search_path = ''
as $$
#variable_conflict use_column
declare
    v_settings nightshift.settings;
begin
    if configure.retired_grace < interval '0' then
        raise exception 'retired_grace must be zero or more, got %', configure.retired_grace
            using errcode = 'invalid_parameter_value';
    end if;
    if configure.retention < interval '0' then
        raise exception 'retention must be zero or more, got %', configure.retention
            using errcode = 'invalid_parameter_value';
    end if;
    if configure.prune_every < interval '1 second' then
        raise exception 'prune_every must be at least 1 second, got %', configure.prune_every
            using errcode = 'invalid_parameter_value';
    end if;
    update nightshift.settings s
    set retired_grace = coalesce(configure.retired_grace, s.retired_grace),
        retention = coalesce(configure.retention, s.retention),
        prune_every = coalesce(configure.prune_every, s.prune_every),
        updated_at = now()
    returning s.* into strict v_settings;
    return v_settings;
end
$$;
comment on function nightshift.configure(interval, interval, interval) is
    'Sets the engine settings given (null leaves one as it is) and returns them all: retired_grace, retention, prune_every.';

-- ---------------------------------------------------------------------------------------------
-- Outcomes the database decides on its own (no worker sees them), waiting to be exported as
-- metrics. tick adds to them; a metrics exporter takes them with collect_outcome_counts, so
-- each is counted once however many processes export and whoever (pg_cron) ticked.

create table nightshift.outcome_counts (
    function_id text not null,
    outcome text not null,
    runs bigint not null,
    primary key (function_id, outcome),
    constraint outcome_counts_outcome_is_valid check (outcome in ('retired')),
    constraint outcome_counts_runs_is_positive check (runs >= 1)
);
comment on table nightshift.outcome_counts is
    'Runs ended by the database itself (outcome retired: failed by tick after the retired grace period) '
    'not yet taken by a metrics exporter (nightshift.collect_outcome_counts).';

create function nightshift.collect_outcome_counts()
returns table (function_id text, outcome text, runs bigint)
language sql
security definer
set search_path = ''
as $$
    -- DELETE ... RETURNING: of two exporters collecting at once, each row goes to exactly
    -- one, so a count is exported once across the fleet; a tick adding meanwhile waits for
    -- the row lock and then inserts a fresh row for the next collection.
    delete from nightshift.outcome_counts c returning c.function_id, c.outcome, c.runs
$$;
comment on function nightshift.collect_outcome_counts() is
    'Takes (and clears) the counts of runs the database ended on its own since the last collection, per function '
    'and outcome; add them to nightshift_runs_total{function, outcome}.';

-- Fails the queued runs (and runs whose worker is gone) of functions retired longer than the
-- grace period: nobody declares them, so nobody would ever claim them. At most p_limit runs,
-- so a tick stays short; returns how many it failed.
create function nightshift._fail_retired_runs(p_grace interval, p_limit integer)
returns integer
language plpgsql
set search_path = ''
as $$
declare
    v_retired text[];
    v_ids uuid[];
    v_count integer;
begin
    -- FOR SHARE: a sync declaring one of them again (which clears retired_at) waits until this
    -- tick commits, rather than have its runs failed right after it brought them back; a
    -- function a sync holds right now is skipped, and after that sync it is no longer retired.
    v_retired := array(
        select f.id from nightshift.functions f
        where f.retired_at < now() - p_grace
        for share skip locked);
    if pg_catalog.cardinality(v_retired) = 0 then
        return 0;
    end if;

    -- Two statements, one per partial claim index, so neither reads all of history. SKIP
    -- LOCKED: a run a claimer (an old worker that still declares the function) or a cancel
    -- holds right now is theirs to finish; the next pass looks again. The status is
    -- re-checked on the row version each lock finally gets.
    v_ids := array(
        select r.id from nightshift.runs r
        where r.status = 'queued' and r.concurrency_limit is not null and r.function_id = any (v_retired)
        limit p_limit
        for update skip locked);
    v_ids := v_ids || array(
        select r.id from nightshift.runs r
        where r.status = 'queued' and r.concurrency_limit is null and r.function_id = any (v_retired)
        limit p_limit - pg_catalog.cardinality(v_ids)
        for update skip locked);
    -- A running run whose lease expired: its worker is gone and no live worker declares the
    -- function, so claim_runs (which resumes only functions a worker has) never takes it back.
    v_ids := v_ids || array(
        select r.id from nightshift.runs r
        where r.status = 'running' and r.lease_expires_at < now() and r.function_id = any (v_retired)
        limit p_limit - pg_catalog.cardinality(v_ids)
        for update skip locked);

    with lost as (
        insert into nightshift.run_attempts (run_id, lease_token, attempt, worker, started_at, finished_at, outcome, error)
        select r.id, r.lease_token, r.attempt, r.lease_owner, r.claimed_at, r.lease_expires_at, 'crashed',
               pg_catalog.jsonb_build_object(
                   'message', format('lease expired: worker "%s" stopped renewing it', r.lease_owner))
        from nightshift.runs r
        where r.id = any (v_ids) and r.status = 'running'
    ), failed as (
        update nightshift.runs r
        set status = 'failed', finished_at = now(), updated_at = now(), lease_token = null, lease_expires_at = null,
            error = pg_catalog.jsonb_build_object(
                'message', 'function retired',
                'outcome', 'retired',
                'retired_at', f.retired_at,
                'grace', p_grace::text)
        from nightshift.functions f
        where r.id = any (v_ids) and f.id = r.function_id
        returning r.function_id
    ), counted as (
        insert into nightshift.outcome_counts as c (function_id, outcome, runs)
        select x.function_id, 'retired', count(*) from failed x group by x.function_id
        on conflict (function_id, outcome) do update set runs = c.runs + excluded.runs
    )
    select count(*)::integer into v_count from failed;
    return v_count;
end
$$;
comment on function nightshift._fail_retired_runs(interval, integer) is
    'Fails up to N queued (or abandoned running) runs of functions retired longer than the grace period with '
    '{"message": "function retired"}, counts them in outcome_counts; returns how many.';

-- ---------------------------------------------------------------------------------------------
-- One skip record per range: a slot range begins at a schedule's next_slot, which only moves
-- forward, so two records with one first slot are the same slots handled twice. Earlier
-- duplicates (issue 11 saw them) are folded into the oldest record first.

delete from nightshift.skipped_slots k
using nightshift.skipped_slots o
where o.function_id = k.function_id and o.first_slot = k.first_slot and o.id < k.id;
alter table nightshift.skipped_slots
    add constraint skipped_slots_first_slot_key unique (function_id, first_slot);
-- The unique index leads with function_id and serves every lookup the old index did.
drop index nightshift.skipped_slots_function_id_idx;

create or replace function nightshift._skip_slots(
    p_function_id text, p_fields nightshift.cron_fields, p_zone text,
    p_first_slot timestamptz, p_last_slot timestamptz, p_reason text)
returns void
language sql
set search_path = ''
as $$
    -- A range already recorded was handled before (a stale next_slot): keep the first record.
    insert into nightshift.skipped_slots (function_id, first_slot, last_slot, slot_count, reason)
    values (p_function_id, p_first_slot, p_last_slot,
            nightshift._cron_count(p_fields, p_zone, p_first_slot, p_last_slot + interval '1 microsecond'),
            p_reason)
    on conflict (function_id, first_slot) do nothing
$$;
comment on function nightshift._skip_slots(text, nightshift.cron_fields, text, timestamptz, timestamptz, text) is
    'Records a range of cron slots that will not run, with how many there were; a range recorded before is left as it is.';

-- ---------------------------------------------------------------------------------------------
-- sync_functions: lock the schedule row before comparing it (issue 11 c).

create or replace function nightshift.sync_functions(specs jsonb)
returns void
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_spec jsonb;
    v_id text;
    v_ids text[] := '{}'::text[];
    v_function nightshift.functions;
    v_old_function nightshift.functions;
    v_old_schedule nightshift.schedules;
    v_schedule jsonb;
    v_fields nightshift.cron_fields;
    v_zone text;
    v_was_active boolean;
    v_next_slot timestamptz;
    v_old_fields nightshift.cron_fields;
    v_restart boolean;
begin
    -- Two processes starting together would each retire the functions only the other
    -- declares, and could both recompute a schedule from a half-applied state. Syncs take
    -- turns for the whole transaction; the second then sees the first's result in full.
    perform pg_catalog.pg_advisory_xact_lock(1314062337, 0);  -- 0x4E530001: 'NS' lock space 1, sync

    if pg_catalog.jsonb_typeof(specs) is distinct from 'array' then
        raise exception 'sync_functions expects a JSON array of function specs, got %',
            coalesce(pg_catalog.jsonb_typeof(specs), 'null')
            using errcode = 'invalid_parameter_value';
    end if;

    for v_spec in select e.value from pg_catalog.jsonb_array_elements(specs) e loop
        v_id := v_spec ->> 'id';
        if v_id is null or v_id = '' then
            raise exception 'a function spec has no "id": %', v_spec
                using errcode = 'invalid_parameter_value';
        end if;
        if v_id = any (v_ids) then
            raise exception 'function "%" is declared twice', v_id
                using errcode = 'invalid_parameter_value';
        end if;
        v_ids := v_ids || v_id;

        begin
            -- tick() locks a due schedule row (SKIP LOCKED), enqueues its slots and moves
            -- next_slot on. Read without a lock, a tick committing between this read and the
            -- upsert below was undone: the stale next_slot went back and the next tick handled
            -- the same slots again (issue 11: two identical skip records). Locking the row
            -- first makes a running tick finish before we read (FOR UPDATE then returns its
            -- committed row), and makes ticks skip this schedule until the sync commits.
            select s.* into v_old_schedule from nightshift.schedules s where s.function_id = v_id for update;
            select f.* into v_old_function from nightshift.functions f where f.id = v_id;
            v_restart := true;

            insert into nightshift.functions as f (
                id, max_attempts, backoff_base_ms, backoff_multiplier, backoff_max_ms, backoff_jitter,
                concurrency_limit, concurrency_key, timeout_ms, crash_limit, event_names, enabled)
            values (
                v_id,
                coalesce((v_spec ->> 'max_attempts')::integer, 4),
                coalesce((v_spec -> 'backoff' ->> 'base_ms')::integer, 1000),
                coalesce((v_spec -> 'backoff' ->> 'multiplier')::numeric, 2),
                coalesce((v_spec -> 'backoff' ->> 'max_ms')::integer, 3600000),
                coalesce((v_spec -> 'backoff' ->> 'jitter')::boolean, false),
                (v_spec -> 'concurrency' ->> 'limit')::integer,
                v_spec -> 'concurrency' ->> 'key',
                (v_spec ->> 'timeout_ms')::integer,
                coalesce((v_spec ->> 'crash_limit')::integer, 3),
                array(select pg_catalog.jsonb_array_elements_text(coalesce(v_spec -> 'events', '[]'))),
                coalesce((v_spec ->> 'enabled')::boolean, true))
            on conflict (id) do update set
                max_attempts = excluded.max_attempts,
                backoff_base_ms = excluded.backoff_base_ms,
                backoff_multiplier = excluded.backoff_multiplier,
                backoff_max_ms = excluded.backoff_max_ms,
                backoff_jitter = excluded.backoff_jitter,
                concurrency_limit = excluded.concurrency_limit,
                concurrency_key = excluded.concurrency_key,
                timeout_ms = excluded.timeout_ms,
                crash_limit = excluded.crash_limit,
                event_names = excluded.event_names,
                enabled = excluded.enabled,
                retired_at = null,
                updated_at = now()
            returning f.* into v_function;

            v_schedule := nullif(v_spec -> 'schedule', 'null'::jsonb);
            if v_schedule is null then
                -- No cron trigger any more: nothing is due, so nothing is missed.
                delete from nightshift.schedules s where s.function_id = v_id;
                continue;
            end if;

            v_fields := nightshift._cron_parse(v_schedule ->> 'cron');
            v_zone := nightshift._time_zone(coalesce(v_schedule ->> 'timezone', 'UTC'));
            v_next_slot := nightshift._cron_next(v_fields, v_zone, now());

            if v_old_schedule.function_id is not null then
                v_was_active := v_old_schedule.enabled and v_old_function.enabled and v_old_function.retired_at is null;
                if v_old_schedule.cron <> v_schedule ->> 'cron' or v_old_schedule.timezone <> v_zone
                   or (not v_was_active and v_function.enabled and coalesce((v_schedule ->> 'enabled')::boolean, true))
                then
                    -- A new expression, or back on after being switched off: start from now.
                    -- Slots that fell due meanwhile will not run; record them (under the old
                    -- expression, which is the one they belong to).
                    if v_old_schedule.next_slot <= now() then
                        v_old_fields := nightshift._cron_parse(v_old_schedule.cron);
                        perform nightshift._skip_slots(
                            v_id, v_old_fields, v_old_schedule.timezone, v_old_schedule.next_slot,
                            (nightshift._cron_latest(v_old_fields, v_old_schedule.timezone, v_old_schedule.next_slot, now(), 1))[1],
                            case when v_was_active then 'rescheduled' else 'disabled' end);
                    end if;
                else
                    -- Unchanged: keep next_slot, so slots that fell due while no ticker ran are
                    -- caught up by the next tick according to the catch-up policy.
                    v_next_slot := v_old_schedule.next_slot;
                    v_restart := false;
                end if;
            end if;

            insert into nightshift.schedules as s (
                function_id, cron, timezone, enabled, catch_up, catch_up_cap, next_slot)
            values (
                v_id,
                v_schedule ->> 'cron',
                v_zone,
                coalesce((v_schedule ->> 'enabled')::boolean, true),
                coalesce(v_schedule ->> 'catch_up', 'latest'),
                coalesce((v_schedule ->> 'catch_up_cap')::integer, 10),
                v_next_slot)
            on conflict (function_id) do update set
                cron = excluded.cron,
                timezone = excluded.timezone,
                enabled = excluded.enabled,
                catch_up = excluded.catch_up,
                catch_up_cap = excluded.catch_up_cap,
                -- Only a restarted schedule gets a new next_slot; an unchanged one keeps the
                -- row's own, whatever a tick made of it.
                next_slot = case when v_restart then excluded.next_slot else s.next_slot end,
                updated_at = now();
        exception when others then
            -- Keep the original SQLSTATE; say which function the problem belongs to.
            raise exception using
                errcode = sqlstate,
                message = format('invalid spec for function "%s": %s', v_id, sqlerrm);
        end;
    end loop;

    with retired as (
        update nightshift.functions f
        set retired_at = now(), updated_at = now()
        where f.retired_at is null and f.id <> all (v_ids)
        returning f.id
    )
    update nightshift.schedules s
    set enabled = false, updated_at = now()
    from retired r
    where s.function_id = r.id and s.enabled;
end
$$;
comment on function nightshift.sync_functions(jsonb) is
    'Upserts the declared functions and schedules (cron, macro or ''N seconds''), retires the undeclared ones; '
    'the worker calls it at start-up. A schedule''s row is locked while it is compared, so a concurrent tick is never undone.';

-- ---------------------------------------------------------------------------------------------
-- tick: settings-driven maintenance (retired runs, retention).

insert into nightshift.maintenance (task) values ('fail_retired');

create or replace function nightshift.tick(at timestamptz default now())
returns integer
language plpgsql
security definer
set search_path = ''
as $$
declare
    -- The skip policy still runs a slot at most this late: pg_cron ticks once a minute.
    v_on_time constant interval := interval '60 seconds';
    v_schedule record;
    v_fields nightshift.cron_fields;
    v_keep integer;
    v_due timestamptz[];
    v_run timestamptz[];
    v_skipped_last timestamptz;
    v_inserted integer;
    v_total integer := 0;
    v_settings nightshift.settings;
    -- Runs one tick may fail as retired: a backlog is worked off over several ticks.
    v_retired_batch constant integer := 1000;
begin
    if tick.at is null or not pg_catalog.isfinite(tick.at) then
        raise exception 'tick needs a finite instant, got %', coalesce(tick.at::text, 'null')
            using errcode = 'invalid_parameter_value';
    end if;

    for v_schedule in
        select s.function_id, s.cron, s.timezone, s.catch_up, s.catch_up_cap, s.next_slot,
               f.max_attempts, f.concurrency_limit
        from nightshift.schedules s
        join nightshift.functions f on f.id = s.function_id
        where s.enabled and f.enabled and f.retired_at is null and s.next_slot <= tick.at
        order by s.function_id
        -- pg_cron and every Swift process tick concurrently. Each schedule is handled by
        -- whichever ticker locks it first; the others skip it rather than queue behind it,
        -- and after its commit they see the advanced next_slot (re-checked on the locked
        -- row), so no slot is handled twice. runs_cron_slot_idx backs this up.
        for update of s skip locked
    loop
        v_fields := nightshift._cron_parse(v_schedule.cron);
        v_keep := case when v_schedule.catch_up = 'all' then v_schedule.catch_up_cap else 1 end;
        -- One more than we may run, to learn the newest slot left out (if any).
        v_due := nightshift._cron_latest(v_fields, v_schedule.timezone, v_schedule.next_slot, tick.at, v_keep + 1);
        v_run := v_due[greatest(1, pg_catalog.cardinality(v_due) - v_keep + 1):];
        if v_schedule.catch_up = 'skip' and tick.at - v_run[pg_catalog.cardinality(v_run)] > v_on_time then
            v_run := '{}';
        end if;

        v_skipped_last := v_due[pg_catalog.cardinality(v_due) - pg_catalog.cardinality(v_run)];
        if v_skipped_last is not null then
            perform nightshift._skip_slots(
                v_schedule.function_id, v_fields, v_schedule.timezone, v_schedule.next_slot, v_skipped_last,
                case v_schedule.catch_up
                    when 'skip' then 'catch_up_skip'
                    when 'latest' then 'catch_up_latest'
                    else 'catch_up_cap'
                end);
        end if;

        insert into nightshift.runs (
            function_id, payload, max_attempts, run_at, trigger_kind, trigger_slot, concurrency_limit)
        select v_schedule.function_id, '{}', v_schedule.max_attempts, slot, 'cron', slot, v_schedule.concurrency_limit
        from pg_catalog.unnest(v_run) slot
        on conflict (function_id, trigger_slot) where trigger_kind = 'cron' do nothing;
        get diagnostics v_inserted = row_count;
        if v_inserted > 0 then
            perform pg_catalog.pg_notify('nightshift_runs', v_schedule.function_id);
            v_total := v_total + v_inserted;
        end if;

        update nightshift.schedules s
        set next_slot = nightshift._cron_next(v_fields, v_schedule.timezone, tick.at),
            last_enqueued_slot = coalesce(v_run[pg_catalog.cardinality(v_run)], s.last_enqueued_slot),
            updated_at = now()
        where s.function_id = v_schedule.function_id;
    end loop;

    select s.* into strict v_settings from nightshift.settings s;

    -- Runs of functions retired longer than the grace period, at most once a minute (it reads
    -- the whole queue) and at most v_retired_batch per tick; a full batch leaves the task due,
    -- so the next tick goes on. SKIP LOCKED: a ticker that finds another one doing it goes on
    -- instead of waiting; the re-check on the locked row stops a second pass right after.
    perform 1 from nightshift.maintenance m
    where m.task = 'fail_retired' and m.last_run_at < now() - interval '1 minute'
    for update skip locked;
    if found then
        if nightshift._fail_retired_runs(v_settings.retired_grace, v_retired_batch) < v_retired_batch then
            update nightshift.maintenance m set last_run_at = now() where m.task = 'fail_retired';
        end if;
    end if;

    -- Retention (settings.retention), at most every settings.prune_every; locked as above.
    perform 1 from nightshift.maintenance m
    where m.task = 'prune' and m.last_run_at < now() - v_settings.prune_every
    for update skip locked;
    if found then
        update nightshift.maintenance m set last_run_at = now() where m.task = 'prune';
        perform nightshift.prune(v_settings.retention);
    end if;

    return v_total;
end
$$;
comment on function nightshift.tick(timestamptz) is
    'Enqueues every due slot exactly once (per catch-up policy, recording the slots it skips), advances each '
    'schedule past the instant; then, as maintenance, fails queued runs of functions retired longer than '
    'settings.retired_grace (each minute, bounded) and prunes with settings.retention (every settings.prune_every). '
    'Returns how many runs it enqueued.';

-- ---------------------------------------------------------------------------------------------
-- queue_depth shows the runs of retired functions apart: nobody will claim them, and tick
-- fails them at retired_fail_at. Same three index-served parts as before; the new columns
-- come from functions and settings (one row each per function, and one in all).

create or replace view nightshift.queue_depth as
with waiting as (
    -- In three parts so that each reads a partial index (runs_claim_idx,
    -- runs_claim_limited_idx, runs_lease_expires_at_idx) instead of all the history.
    select r.function_id, r.run_at, false as running
    from nightshift.runs r where r.status = 'queued' and r.concurrency_limit is null
    union all
    select r.function_id, r.run_at, false
    from nightshift.runs r where r.status = 'queued' and r.concurrency_limit is not null
    union all
    select r.function_id, null, true
    from nightshift.runs r where r.status = 'running'
)
select f.id as function_id,
       count(w.function_id) filter (where not w.running and f.retired_at is null) as queued,
       count(w.function_id) filter (where w.running) as running,
       count(w.function_id) filter (where not w.running and w.run_at <= now() and f.retired_at is null) as due_now,
       count(w.function_id) filter (where not w.running and f.retired_at is not null) as retired_queued,
       f.retired_at,
       f.retired_at + (select s.retired_grace from nightshift.settings s) as retired_fail_at
from nightshift.functions f
left join waiting w on w.function_id = f.id
group by f.id;
comment on view nightshift.queue_depth is
    'Per function: runs queued (including those waiting for a retry or a sleep), running, and queued and due now; '
    'for a retired function its queued runs are in retired_queued instead (nobody claims them), and retired_fail_at '
    'is when tick fails them with "function retired".';

-- ---------------------------------------------------------------------------------------------
-- Grants, as in 0008: the service role calls the public functions and reads.

revoke all on function nightshift.configure(interval, interval, interval) from public;
revoke all on function nightshift.collect_outcome_counts() from public;
revoke all on function nightshift._fail_retired_runs(interval, integer) from public;
grant execute on function
    nightshift.configure(interval, interval, interval),
    nightshift.collect_outcome_counts()
to nightshift_service;
revoke all on nightshift.settings, nightshift.outcome_counts from public;
grant select on nightshift.settings, nightshift.outcome_counts to nightshift_service;
