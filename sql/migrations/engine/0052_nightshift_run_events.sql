-- Run state changes for the operator's live stream (issue 14 §2, GET /api/v1/stream): one NOTIFY
-- per statement on channel nightshift_run_events, whatever changed the runs (enqueue, claim,
-- step checkpoint, completion, failure, retry, durable sleep, cancel, rerun), while a server
-- listens (run_event_listeners; otherwise the triggers return at once). The server holds one
-- LISTEN connection per process and fans the changes out to its clients.
--
-- Statement-level triggers with transition tables, rather than a NOTIFY in each engine function:
-- every path that changes a run is covered, including ones added later, and a claim or a
-- completion of a batch costs one notification, not one per run. The wake-up channel
-- nightshift_runs (payload: a function id) is untouched: workers depend on it.
--
-- Payload (under PostgreSQL's 8000-byte limit):
--   {"at": "<ISO-8601 UTC>", "g": [[function_id, status, step_or_null, [run_id, ...]], ...]}
-- the changed runs grouped by function, status and step (a claimed batch is one group). When a
-- statement changes too many runs for that to fit (a large enqueue_many, prune, a mass cancel):
--   {"at": "<ISO-8601 UTC>", "n": <runs changed>}
-- and the server tells every client to resync (refetch), so no change is lost silently.

create function nightshift._run_events_payload(p_at timestamptz, p_groups jsonb, p_count bigint)
returns text
language plpgsql
stable
set search_path = ''
as $$
declare
    v_at constant text := pg_catalog.to_char(p_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"');
    v_payload text;
begin
    if p_groups is not null then
        v_payload := pg_catalog.jsonb_build_object('at', v_at, 'g', p_groups)::text;
        -- pg_notify refuses a payload of 8000 bytes or more: the whole statement would fail.
        if pg_catalog.octet_length(v_payload) < 8000 then
            return v_payload;
        end if;
    end if;
    return pg_catalog.jsonb_build_object('at', v_at, 'n', p_count)::text;
end
$$;
comment on function nightshift._run_events_payload(timestamptz, jsonb, bigint) is
    'The nightshift_run_events payload of one statement: {"at", "g": [[function, status, step, [run ids]]]} when it '
    'fits in 8000 bytes (p_groups null = too many to group), otherwise the compact {"at", "n": p_count}.';

create function nightshift._run_events_send(p_payload text)
returns void
language plpgsql
set search_path = ''
as $$
begin
    -- plpgsql, not sql: a SQL function is planned again at every call (PostgreSQL 15), which
    -- costs more than the notification.
    perform pg_catalog.pg_notify('nightshift_run_events', p_payload);
end
$$;
comment on function nightshift._run_events_send(text) is
    'Sends one nightshift_run_events notification (delivered at commit; apart so tests can see what is sent).';

-- Is anyone listening? Building and sending a payload costs about 23 µs of a writer's CPU per
-- statement (measured: 4,000 checkpoint_step calls, backend CPU 82 ms without these triggers,
-- 174 ms with a payload each), more than the statement itself; with nobody listening the
-- triggers stop at this check, at about 3 µs (about 100 ms). A server's hub sets
-- listening_until while it LISTENs (run_events_listen, renewed every 30 s for 90 s); when it
-- stops, the row simply expires. One row, unlogged: the renewals write no WAL, and after a
-- crash the table is empty until the hubs reconnect and renew (they resync their clients).
create unlogged table nightshift.run_event_listeners (
    id boolean primary key default true,
    listening_until timestamptz not null,
    constraint run_event_listeners_one_row check (id)
);
comment on table nightshift.run_event_listeners is
    'Until when some server LISTENs to nightshift_run_events: the run-event triggers build no payload after it.';

create function nightshift.run_events_listen(seconds integer)
returns timestamptz
language plpgsql
security definer
set search_path = ''
as $$
#variable_conflict use_column
declare
    v_until timestamptz;
begin
    if run_events_listen.seconds is null or run_events_listen.seconds not between 1 and 3600 then
        raise exception 'run_events_listen needs 1 to 3600 seconds, got %', run_events_listen.seconds
            using errcode = 'invalid_parameter_value';
    end if;
    -- greatest(): several servers renew the one row; none may shorten another's claim. The
    -- upsert's row lock orders concurrent renewals, so the later one sees the earlier.
    insert into nightshift.run_event_listeners as l (id, listening_until)
    values (true, pg_catalog.now() + run_events_listen.seconds * interval '1 second')
    on conflict (id) do update
        set listening_until = greatest(l.listening_until, excluded.listening_until)
    returning l.listening_until into v_until;
    return v_until;
end
$$;
comment on function nightshift.run_events_listen(integer) is
    'A server LISTENs to nightshift_run_events: the run-event triggers notify for the next `seconds` (1 to 3600); '
    'returns until when they will.';

create function nightshift._run_events_wanted()
returns boolean
language plpgsql
stable
set search_path = ''
as $$
begin
    -- plpgsql keeps this plan; as a SQL function it was planned per call, 4 µs of the 6 µs an
    -- idle trigger costs a statement.
    return exists (select 1 from nightshift.run_event_listeners l where l.listening_until > pg_catalog.now());
end
$$;
comment on function nightshift._run_events_wanted() is
    'Whether a server LISTENs to nightshift_run_events (run_events_listen renewed it and it has not expired); '
    'the triggers inline the same test.';

-- One query per statement builds the groups and counts the runs. A huge statement (a 20,000-run
-- enqueue_many) builds its array only to find it too long; that is a few ms beside the statement.
create function nightshift._run_events_inserted()
returns trigger
language plpgsql
set search_path = ''
as $$
declare
    v_count bigint;
    v_groups jsonb;
begin
    -- _run_events_wanted(), inlined: a nested call (with its search_path) costs as much again.
    if not exists (select 1 from nightshift.run_event_listeners l where l.listening_until > pg_catalog.now()) then
        return null;
    end if;
    select sum(g.runs), pg_catalog.jsonb_agg(pg_catalog.jsonb_build_array(g.function_id, g.status, null, g.ids))
    into v_count, v_groups
    from (select n.function_id, n.status, pg_catalog.jsonb_agg(n.id) as ids, count(*) as runs
          from new_runs n group by n.function_id, n.status) g;
    if v_count > 0 then
        perform nightshift._run_events_send(nightshift._run_events_payload(pg_catalog.clock_timestamp(), v_groups, v_count));
    end if;
    return null;
end
$$;
comment on function nightshift._run_events_inserted() is
    'Statement trigger on nightshift.runs inserts: one nightshift_run_events notification for the new runs, when a '
    'server listens.';

create function nightshift._run_events_updated()
returns trigger
language plpgsql
set search_path = ''
as $$
declare
    v_count bigint;
    v_groups jsonb;
begin
    -- _run_events_wanted(), inlined: a nested call (with its search_path) costs as much again.
    if not exists (select 1 from nightshift.run_event_listeners l where l.listening_until > pg_catalog.now()) then
        return null;
    end if;
    -- A change is a new status, or a new claim of a running run (a lease that expired, taken
    -- over: a new attempt starts). Heartbeats and other updates change neither and send nothing.
    select sum(g.runs), pg_catalog.jsonb_agg(pg_catalog.jsonb_build_array(g.function_id, g.status, null, g.ids))
    into v_count, v_groups
    from (select n.function_id, n.status, pg_catalog.jsonb_agg(n.id) as ids, count(*) as runs
          from new_runs n join old_runs o on o.id = n.id
          where n.status is distinct from o.status
             or (n.status = 'running' and n.lease_token is distinct from o.lease_token)
          group by n.function_id, n.status) g;
    if v_count > 0 then
        perform nightshift._run_events_send(nightshift._run_events_payload(pg_catalog.clock_timestamp(), v_groups, v_count));
    end if;
    return null;
end
$$;
comment on function nightshift._run_events_updated() is
    'Statement trigger on nightshift.runs updates: one nightshift_run_events notification for the runs whose status '
    'changed or that were claimed again, when a server listens; none when no run did (heartbeats).';

create function nightshift._run_events_steps()
returns trigger
language plpgsql
set search_path = ''
as $$
declare
    v_count bigint;
    v_groups jsonb;
begin
    -- _run_events_wanted(), inlined: a nested call (with its search_path) costs as much again.
    if not exists (select 1 from nightshift.run_event_listeners l where l.listening_until > pg_catalog.now()) then
        return null;
    end if;
    -- One group per step (the engine checkpoints one step per statement). The run's function
    -- and status are read without a lock: checkpoint_step holds the run's lease, and a status
    -- a moment stale in a notification only describes the moment before.
    select count(*), pg_catalog.jsonb_agg(pg_catalog.jsonb_build_array(r.function_id, r.status, s.name,
                                                                       pg_catalog.jsonb_build_array(s.run_id)))
    into v_count, v_groups
    from new_steps s join nightshift.runs r on r.id = s.run_id;
    if v_count > 0 then
        perform nightshift._run_events_send(nightshift._run_events_payload(pg_catalog.clock_timestamp(), v_groups, v_count));
    end if;
    return null;
end
$$;
comment on function nightshift._run_events_steps() is
    'Statement trigger on nightshift.steps inserts: one nightshift_run_events notification naming the checkpointed '
    'steps, when a server listens.';

create trigger runs_events_insert
    after insert on nightshift.runs
    referencing new table as new_runs
    for each statement execute function nightshift._run_events_inserted();
create trigger runs_events_update
    after update on nightshift.runs
    referencing old table as old_runs new table as new_runs
    for each statement execute function nightshift._run_events_updated();
create trigger steps_events_insert
    after insert on nightshift.steps
    referencing new table as new_steps
    for each statement execute function nightshift._run_events_steps();

-- Helpers are the owner's (sql/tests/nightshift/grants): triggers run them whoever writes.
revoke all on function nightshift._run_events_payload(timestamptz, jsonb, bigint) from public;
revoke all on function nightshift._run_events_send(text) from public;
revoke all on function nightshift._run_events_wanted() from public;
revoke all on function nightshift.run_events_listen(integer) from public;
grant execute on function nightshift.run_events_listen(integer) to nightshift_service;
revoke all on function nightshift._run_events_inserted() from public;
revoke all on function nightshift._run_events_updated() from public;
revoke all on function nightshift._run_events_steps() from public;
