-- Run ids in time order (UUID version 7: 48 bits of Unix milliseconds, then 74 random bits), as
-- the issue 16 claim → complete cycle needs them. A random (version 4) id sends each new run's
-- entry in runs_pkey, and its attempt's in run_attempts_pkey (run_id first), to a random leaf
-- page: with the runs of the last minutes spread over the whole index, every insert, claim and
-- completion dirties a page of its own, and the first write to a page after a checkpoint logs
-- all of it. Time-ordered ids keep the recent runs on the index's last pages. Measured on the
-- enqueue 500 → claim 500 → complete 500 cycle (bench/engine/index_cost.sh, one client,
-- 3 rounds): 60-62 cycles/s before, 68-69 after; a completion of 500 6.0 → 5.0 ms.
--
-- An id still cannot be guessed (74 random bits); it now tells when the run was created, which
-- created_at says to whoever may read the run anyway. Ids written before stay as they are.

create function nightshift._uuid_v7()
returns uuid
language sql
volatile
parallel safe
-- No pinned search_path, unlike every other function here: a SET clause keeps PostgreSQL from
-- inlining the body into the insert, and costs ~2 µs a row (enqueue_many of 500: 4.4 → 5.3 ms).
-- Every name in the body is qualified instead, operators and types included.
as $$
    -- A version 4 id with its first 48 bits replaced by the time, and its version nibble 4 → 7.
    select pg_catalog.encode(
        pg_catalog.set_bit(pg_catalog.set_bit(
            pg_catalog.overlay(pg_catalog.uuid_send(pg_catalog.gen_random_uuid()),
                pg_catalog.substring(pg_catalog.int8send(CAST(pg_catalog.date_part('epoch', pg_catalog.clock_timestamp())
                                                              OPERATOR(pg_catalog.*) 1000 AS pg_catalog.int8)), 3),
                1, 6),
            52, 1), 53, 1),
        'hex')::pg_catalog.uuid
$$;
comment on function nightshift._uuid_v7() is
    'A time-ordered UUID (version 7: Unix milliseconds, then random bits): run ids, so new runs sit together in the indexes.';
revoke all on function nightshift._uuid_v7() from public;

-- Every other writer of runs (events' fan-out, cron ticks, reruns) takes the column's default.
alter table nightshift.runs alter column id set default nightshift._uuid_v7();

create or replace function nightshift.trigger(function_id text, payload jsonb default '{}', idempotency_key text default null)
returns uuid
language plpgsql
security definer
set search_path = ''
as $$
#variable_conflict use_column
declare
    v_function nightshift.functions := nightshift._enqueueable_function(trigger.function_id);
    v_payload constant jsonb := coalesce(trigger.payload, '{}');
    -- Its own id as correlation id: no entry in runs_correlation_idx (see the file's head).
    v_new_id constant uuid := nightshift._uuid_v7();
    v_run_id uuid;
begin
    insert into nightshift.runs (
        id, correlation_id, function_id, payload, max_attempts, trigger_kind, idempotency_key, concurrency_key, concurrency_limit)
    values (
        v_new_id, v_new_id, v_function.id, v_payload, v_function.max_attempts, 'manual', trigger.idempotency_key,
        v_payload ->> v_function.concurrency_key, v_function.concurrency_limit)
    on conflict (function_id, idempotency_key) where idempotency_key is not null do nothing
    returning id into v_run_id;

    if v_run_id is null then
        -- The key was used before. A concurrent insert of the same key made ours wait for
        -- its commit, so this statement's fresh snapshot sees that run.
        select r.id into v_run_id
        from nightshift.runs r
        where r.function_id = v_function.id and r.idempotency_key = trigger.idempotency_key;
        return v_run_id;
    end if;

    perform pg_catalog.pg_notify('nightshift_runs', v_function.id);
    return v_run_id;
end
$$;

create or replace function nightshift.enqueue_many(function_id text, payloads jsonb)
returns integer
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_function nightshift.functions := nightshift._enqueueable_function(enqueue_many.function_id);
    v_count integer;
begin
    if pg_catalog.jsonb_typeof(payloads) is distinct from 'array' then
        raise exception 'enqueue_many expects a JSON array of payloads, got %', coalesce(pg_catalog.jsonb_typeof(payloads), 'null')
            using errcode = 'invalid_parameter_value';
    end if;

    -- Each run its own correlation id (see the file's head); the id is drawn once per row.
    insert into nightshift.runs (id, correlation_id, function_id, payload, max_attempts, trigger_kind, concurrency_key, concurrency_limit)
    select p.id, p.id, v_function.id, p.value, v_function.max_attempts, 'manual',
           p.value ->> v_function.concurrency_key, v_function.concurrency_limit
    from (select nightshift._uuid_v7() as id, e.value from pg_catalog.jsonb_array_elements(payloads) e) p;
    get diagnostics v_count = row_count;

    if v_count > 0 then
        perform pg_catalog.pg_notify('nightshift_runs', v_function.id);
    end if;
    return v_count;
end
$$;
