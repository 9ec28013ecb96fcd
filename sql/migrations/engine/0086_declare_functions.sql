-- `nightshift run <function> --wait` executes the run in the CLI's own process, so it first wrote
-- its binary's declarations into nightshift.functions — through sync_functions, which also
-- retires every function declared in code that the binary does not declare. Run from an older
-- binary, a build without a pack or a laptop, it retired functions the workers still serve:
-- their queued runs were no longer claimed until a worker restarted and synced again.
--
-- declare_functions writes the given declarations (what sync_functions did per spec) and retires
-- nothing; sync_functions is now declare_functions and then the retirement of what it did not
-- declare (a worker's start-up, as before). `run --wait` declares the one function it runs.

create function nightshift.declare_functions(specs jsonb)
returns text[]
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_spec jsonb;
    v_id text;
    v_ids text[] := '{}'::text[];
    v_on_failure text;
begin
    -- Declarations, syncs, define_function and drop_function take turns (see sync_functions).
    perform pg_catalog.pg_advisory_xact_lock(1314062337, 0);  -- 0x4E530001: 'NS' lock space 1, sync

    if pg_catalog.jsonb_typeof(specs) is distinct from 'array' then
        raise exception 'declare_functions expects a JSON array of function specs, got %',
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
        if v_spec ? 'on_failure' and pg_catalog.jsonb_typeof(v_spec -> 'on_failure') not in ('string', 'null') then
            raise exception 'invalid spec for function "%": on_failure must be a channel name, got %', v_id, v_spec -> 'on_failure'
                using errcode = 'invalid_parameter_value';
        end if;
        v_on_failure := v_spec ->> 'on_failure';

        perform nightshift._upsert_function(v_spec);
        -- Declared by a worker: its code (or config) runs it, even if it was defined from SQL.
        -- Only a change is written: an unchanged restart leaves the rows alone.
        update nightshift.functions f set defined_in = 'code', on_failure = v_on_failure
        where f.id = v_id and (f.defined_in <> 'code' or f.on_failure is distinct from v_on_failure);
    end loop;
    return v_ids;
end
$$;
comment on function nightshift.declare_functions(jsonb) is
    'Upserts the given function declarations and their schedules, as sync_functions does, and retires nothing: '
    'for a process that runs some functions without speaking for every worker (nightshift run --wait). '
    'Returns the ids declared.';
revoke all on function nightshift.declare_functions(jsonb) from public;
grant execute on function nightshift.declare_functions(jsonb) to nightshift_service;

create or replace function nightshift.sync_functions(specs jsonb)
returns void
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_ids text[];
begin
    -- Two processes starting together would each retire the functions only the other
    -- declares, and could both recompute a schedule from a half-applied state. Syncs take
    -- turns for the whole transaction; the second then sees the first's result in full.
    -- declare_functions, define_function and drop_function take the same lock.
    perform pg_catalog.pg_advisory_xact_lock(1314062337, 0);  -- 0x4E530001: 'NS' lock space 1, sync

    if pg_catalog.jsonb_typeof(specs) is distinct from 'array' then
        raise exception 'sync_functions expects a JSON array of function specs, got %',
            coalesce(pg_catalog.jsonb_typeof(specs), 'null')
            using errcode = 'invalid_parameter_value';
    end if;
    v_ids := nightshift.declare_functions(specs);

    -- Only what workers declare is retired by their absence: a function defined from SQL
    -- stays until drop_function.
    with retired as (
        update nightshift.functions f
        set retired_at = now(), updated_at = now()
        where f.retired_at is null and f.defined_in = 'code' and f.id <> all (v_ids)
        returning f.id
    )
    update nightshift.schedules s
    set enabled = false, updated_at = now()
    from retired r
    where s.function_id = r.id and s.enabled;
end
$$;
