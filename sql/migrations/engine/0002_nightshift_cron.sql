-- Cron: parse standard 5-field expressions once, then find fire times by jumping month, day,
-- hour and minute in the schedule's IANA time zone instead of scanning minute by minute.
-- nightshift.tick() calls into this on every tick, so the hot path avoids SQL round trips
-- inside the loop: lookup arrays answer "next allowed value >= v" in one subscript.

-- A parsed cron expression. Allowed values are ascending. The next_* arrays answer
-- "the smallest allowed value >= v, or null": next_minute[v + 1], next_hour[v + 1] (0-based
-- fields shift by one because SQL arrays start at 1), next_day[v], next_month[v].
create type nightshift.cron_fields as (
    expression text,
    minutes integer[],
    hours integer[],
    days integer[],
    months integer[],
    weekdays integer[],          -- 0 = Sunday (7 in the expression is folded into 0)
    day_of_month_star boolean,   -- the field started with '*' (Vixie cron's DOM_STAR)
    day_of_week_star boolean,    -- the field started with '*' (Vixie cron's DOW_STAR)
    next_minute integer[],
    next_hour integer[],
    next_day integer[],
    next_month integer[]
);
comment on type nightshift.cron_fields is
    'A parsed 5-field cron expression: allowed values plus "next allowed value" lookup arrays.';

-- A snapshot of pg_timezone_names, which reads the tz database from disk on every query
-- (about 40 ms): far too slow to validate a zone on every tick. A zone missing from the
-- snapshot (tzdata upgraded since) is still looked up in pg_timezone_names, only slower;
-- `refresh materialized view nightshift.time_zones` brings the snapshot up to date.
create materialized view nightshift.time_zones as
    select name from pg_catalog.pg_timezone_names;
create unique index time_zones_name_idx on nightshift.time_zones (name);
comment on materialized view nightshift.time_zones is
    'Snapshot of pg_timezone_names used to validate IANA zone names quickly.';

create function nightshift._time_zone(p_zone text)
returns text
language plpgsql
stable
set search_path = ''
as $$
begin
    if p_zone is not null and (
        exists (select 1 from nightshift.time_zones z where z.name = p_zone)
        or exists (select 1 from pg_catalog.pg_timezone_names z where z.name = p_zone)
    ) then
        return p_zone;
    end if;
    raise exception 'unknown time zone "%"', p_zone
        using errcode = 'invalid_parameter_value',
              hint = 'Use an IANA zone name from pg_timezone_names, such as "Europe/London" or "UTC".';
end
$$;
comment on function nightshift._time_zone(text) is
    'Returns the zone when it is an IANA zone name known to PostgreSQL; raises 22023 otherwise.';

-- One comma-separated field: items are *, a, a-b, */n, a-b/n; a and b are numbers or names.
create function nightshift._cron_field(
    p_expression text, p_field text, p_text text, p_min integer, p_max integer, p_names text[])
returns integer[]
language plpgsql
immutable
set search_path = ''
as $$
declare
    v_prefix constant text := format('invalid cron expression "%s": %s', p_expression, p_field);
    v_values integer[] := '{}'::integer[];
    v_item text;
    v_parts text[];
    v_range text;
    v_bounds integer[];
    v_token text;
    v_step integer;
begin
    foreach v_item in array pg_catalog.string_to_array(p_text, ',') loop
        if v_item = '' then
            raise exception '% list "%" has an empty element', v_prefix, p_text
                using errcode = 'invalid_parameter_value';
        end if;
        v_parts := pg_catalog.regexp_match(v_item, '^([^/]*)(?:/(.*))?$');
        v_range := v_parts[1];
        v_step := 1;
        if v_parts[2] is not null then
            if v_parts[2] !~ '^[0-9]{1,4}$' then
                raise exception '% step "%" is not a number', v_prefix, v_item
                    using errcode = 'invalid_parameter_value';
            end if;
            v_step := v_parts[2]::integer;
            if v_step < 1 then
                raise exception '% step "%" must be at least 1', v_prefix, v_item
                    using errcode = 'invalid_parameter_value';
            end if;
            if v_range !~ '^\*$|-' then
                raise exception '% step "%" needs a range or * before the slash', v_prefix, v_item
                    using errcode = 'invalid_parameter_value';
            end if;
        end if;

        if v_range = '*' then
            -- For day-of-week, * means 0-6: 7 is only an alias of Sunday.
            v_bounds := array[p_min, case when p_field = 'day-of-week' then 6 else p_max end];
        else
            v_bounds := '{}';
            foreach v_token in array pg_catalog.string_to_array(v_range, '-') loop
                if v_token ~ '^[0-9]{1,9}$' then
                    if v_token::integer not between p_min and p_max then
                        raise exception '% value "%" is out of range %-%', v_prefix, v_token, p_min, p_max
                            using errcode = 'invalid_parameter_value';
                    end if;
                    v_bounds := v_bounds || v_token::integer;
                elsif p_names is not null and pg_catalog.lower(v_token) = any (p_names) then
                    v_bounds := v_bounds || (pg_catalog.array_position(p_names, pg_catalog.lower(v_token)) - 1 + p_min);
                elsif v_token ~ '^[0-9]+$' then
                    raise exception '% value "%" is out of range %-%', v_prefix, v_token, p_min, p_max
                        using errcode = 'invalid_parameter_value';
                elsif v_token = '' then
                    raise exception '% range "%" is incomplete', v_prefix, v_range
                        using errcode = 'invalid_parameter_value';
                elsif p_names is not null then
                    raise exception '% name "%" is unknown (use % or %-%)',
                        v_prefix, v_token, pg_catalog.array_to_string(p_names, ' '), p_min, p_max
                        using errcode = 'invalid_parameter_value';
                else
                    raise exception '% value "%" is not a number', v_prefix, v_token
                        using errcode = 'invalid_parameter_value';
                end if;
            end loop;
            if pg_catalog.cardinality(v_bounds) = 1 then
                v_bounds := array[v_bounds[1], v_bounds[1]];
            elsif pg_catalog.cardinality(v_bounds) <> 2 then
                raise exception '% range "%" has more than two ends', v_prefix, v_range
                    using errcode = 'invalid_parameter_value';
            elsif v_bounds[1] > v_bounds[2] then
                raise exception '% range "%" runs backwards', v_prefix, v_range
                    using errcode = 'invalid_parameter_value';
            end if;
        end if;
        v_values := v_values || array(select pg_catalog.generate_series(v_bounds[1], v_bounds[2], v_step));
    end loop;

    if p_field = 'day-of-week' then
        v_values := array(select case when v = 7 then 0 else v end from pg_catalog.unnest(v_values) v);
    end if;
    return array(select distinct v from pg_catalog.unnest(v_values) v order by v);
end
$$;
comment on function nightshift._cron_field(text, text, text, integer, integer, text[]) is
    'Expands one cron field into its sorted allowed values; raises 22023 naming the field and value.';

-- The lookup array for one field: element (v - p_min + 1) is the smallest allowed value >= v.
create function nightshift._cron_lookup(p_values integer[], p_min integer, p_max integer)
returns integer[]
language plpgsql
immutable
set search_path = ''
as $$
declare
    v_lookup integer[] := '{}'::integer[];
    v_position integer := 1;
begin
    -- p_values is ascending, so one forward pass fills the whole array.
    for v_value in p_min..p_max loop
        while v_position <= pg_catalog.cardinality(p_values) and p_values[v_position] < v_value loop
            v_position := v_position + 1;
        end loop;
        v_lookup := v_lookup || p_values[v_position];
    end loop;
    return v_lookup;
end
$$;
comment on function nightshift._cron_lookup(integer[], integer, integer) is
    'For each value of a field''s range, the smallest allowed value at or after it (null past the last).';

create function nightshift._cron_parse(p_expression text)
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
    'Parses a 5-field cron expression or macro into nightshift.cron_fields; raises 22023 when invalid.';

-- Vixie cron's day rule: when either day field starts with '*', both must match (a plain '*'
-- matches everything, so the other field decides); when both are restricted, either fires.
create function nightshift._cron_day_matches(p_fields nightshift.cron_fields, p_day timestamp)
returns boolean
language sql
immutable
set search_path = ''
as $$
    select extract(month from p_day)::integer = any (p_fields.months)
       and case when p_fields.day_of_month_star or p_fields.day_of_week_star
                then extract(day from p_day)::integer = any (p_fields.days)
                 and extract(dow from p_day)::integer = any (p_fields.weekdays)
                else extract(day from p_day)::integer = any (p_fields.days)
                  or extract(dow from p_day)::integer = any (p_fields.weekdays)
           end
$$;
comment on function nightshift._cron_day_matches(nightshift.cron_fields, timestamp) is
    'Whether a local calendar day is selected by the month and day fields (Vixie AND/OR rule).';

-- The instant a wall-clock time means in a zone. A time skipped by a spring-forward gap
-- means the first valid instant after the gap; a time repeated by a fall-back means its
-- first occurrence. PostgreSQL's own AT TIME ZONE picks standard time in both cases, which
-- is neither, so transitions are handled here.
create function nightshift._cron_instant(p_local timestamp, p_zone text)
returns timestamptz
language plpgsql
immutable
set search_path = ''
as $$
declare
    v_guess constant timestamptz := p_local at time zone p_zone;
    -- UTC offsets a day either side: equal means no transition near this time (the common case).
    v_offset_before constant interval :=
        ((v_guess - interval '1 day') at time zone p_zone) - ((v_guess - interval '1 day') at time zone 'UTC');
    v_offset_after constant interval :=
        ((v_guess + interval '1 day') at time zone p_zone) - ((v_guess + interval '1 day') at time zone 'UTC');
    v_early timestamptz;
    v_late timestamptz;
    v_low bigint;
    v_high bigint;
    v_middle bigint;
begin
    if v_offset_before = v_offset_after then
        return v_guess;
    end if;
    -- Near a transition the wall time is shown by the old offset, the new one, both (a repeated
    -- time: take the earlier) or neither (a skipped time).
    v_early := least((p_local - v_offset_before) at time zone 'UTC', (p_local - v_offset_after) at time zone 'UTC');
    v_late := greatest((p_local - v_offset_before) at time zone 'UTC', (p_local - v_offset_after) at time zone 'UTC');
    if (v_early at time zone p_zone) = p_local then
        return v_early;
    end if;
    if (v_late at time zone p_zone) = p_local then
        return v_late;
    end if;
    -- Skipped: the transition lies in (v_early, v_late]; bisect to the second on which the new
    -- offset starts, which is the first valid instant after the gap.
    v_low := extract(epoch from v_early)::bigint;
    v_high := extract(epoch from v_late)::bigint;
    while v_high - v_low > 1 loop
        v_middle := (v_low + v_high) / 2;
        if (pg_catalog.to_timestamp(v_middle) at time zone p_zone)
           - (pg_catalog.to_timestamp(v_middle) at time zone 'UTC') = v_offset_after then
            v_high := v_middle;
        else
            v_low := v_middle;
        end if;
    end loop;
    return pg_catalog.to_timestamp(v_high);
end
$$;
comment on function nightshift._cron_instant(timestamp, text) is
    'The instant of a wall-clock time in a zone: skipped times map to the end of the gap, repeated times to their first occurrence.';

-- The first fire time strictly after p_after. Walks wall-clock time in the zone, jumping to
-- the next allowed month, day, hour and minute, and maps each candidate to its instant.
-- Instants never decrease as wall time increases, so the first candidate after p_after wins.
create function nightshift._cron_next(p_fields nightshift.cron_fields, p_zone text, p_after timestamptz)
returns timestamptz
language plpgsql
immutable
set search_path = ''
as $$
declare
    v_local timestamp := date_trunc('minute', p_after at time zone p_zone) + interval '1 minute';
    -- _cron_parse rejects expressions that can never fire, so this bound only guards tick()
    -- against looping forever should a bug slip through.
    v_horizon constant timestamp := v_local + interval '100 years';
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
    'The first fire time of parsed cron fields strictly after an instant, in a zone (not validated).';

-- How many fire times lie in [p_from, p_before), without visiting them one by one: a matching
-- local day without a UTC offset change, wholly inside the range, has hours x minutes of them;
-- boundary days and transition days are counted exactly. Used to record long downtimes
-- (a per-minute job down for 70 days has 100,000 missed slots) in constant work per day.
create function nightshift._cron_count(
    p_fields nightshift.cron_fields, p_zone text, p_from timestamptz, p_before timestamptz)
returns bigint
language sql
immutable
set search_path = ''
as $$
    select coalesce(sum(
        case
            when d.starts_at >= p_from and d.ends_at <= p_before and d.ends_at - d.starts_at = interval '24 hours'
            then pg_catalog.cardinality(p_fields.hours) * pg_catalog.cardinality(p_fields.minutes)
            else (
                select count(distinct s.slot)
                from (
                    select nightshift._cron_instant(d.day + h * interval '1 hour' + m * interval '1 minute', p_zone) as slot
                    from pg_catalog.unnest(p_fields.hours) h, pg_catalog.unnest(p_fields.minutes) m
                ) s
                where s.slot >= p_from and s.slot < p_before)
        end), 0)::bigint
    from (
        select g.day,
               g.day at time zone p_zone as starts_at,
               (g.day + interval '1 day') at time zone p_zone as ends_at
        from pg_catalog.generate_series(
                date_trunc('day', p_from at time zone p_zone),
                date_trunc('day', p_before at time zone p_zone),
                interval '1 day') as g(day)
        where p_from < p_before and nightshift._cron_day_matches(p_fields, g.day)
    ) d
$$;
comment on function nightshift._cron_count(nightshift.cron_fields, text, timestamptz, timestamptz) is
    'Counts the fire times in [from, before) day by day instead of slot by slot.';

-- The newest p_count fire times in [p_from, p_through], ascending. Searches backwards in
-- windows that grow eightfold (an hour, 8 hours, 64 hours, ...) so that a long downtime costs
-- a few windows near p_through, never an enumeration from p_from.
create function nightshift._cron_latest(
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
begin
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
    'The newest N fire times in [from, through], ascending, found by growing windows back from through.';

create function nightshift.validate_cron(cron text)
returns void
language plpgsql
immutable
security definer
set search_path = ''
as $$
begin
    perform nightshift._cron_parse(cron);
end
$$;
comment on function nightshift.validate_cron(text) is
    'Raises 22023 with the field and value at fault when a cron expression is invalid; returns nothing otherwise.';

create function nightshift.next_fire(cron text, tz text, after timestamptz)
returns timestamptz
language sql
stable
strict
security definer
set search_path = ''
as $$
    select nightshift._cron_next(nightshift._cron_parse(cron), nightshift._time_zone(tz), after)
$$;
comment on function nightshift.next_fire(text, text, timestamptz) is
    'The first fire time of a 5-field cron expression strictly after an instant, evaluated in an IANA zone. '
    'Skipped local times fire once at the end of the gap; repeated local times fire once, at their first occurrence.';
