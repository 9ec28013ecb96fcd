-- Channel alerts (issue 13 §2: a declared or SQL-defined job's onFailure notifies a channel),
-- and no credentials in nightshift.functions.
--
--  * notify.alert(channel, title, message, metadata, dedupe_key): a notification for a channel
--    rather than a user. It is a row of notify.notifications with user_id null (in nobody's
--    inbox, outside the per-user cap) and one delivery, to that channel only; the dispatcher
--    drains it like any other. The dedupe key makes it once per key, whoever calls.
--  * nightshift.functions.on_failure: the channel a function's failed runs alert. Set by a
--    worker's sync (the spec's "on_failure", from `on_failure = "<channel>"` in config) or by
--    define_function(on_failure => '<channel>'), which checks the channel is configured.
--  * define_function refuses an http header that carries a credential in plain text
--    (Authorization, Cookie, X-Api-Key, ...token..., ...secret...) unless it references the
--    worker's environment as ${NAME}, which the worker expands at each call.
--  * The alert is raised in SQL, by a trigger on nightshift.runs when a run becomes failed,
--    not by the worker's Swift onFailure: a run fails by several paths (fail_run on its last
--    attempt or a non-retriable error; claim_runs quarantining a run whose worker was killed
--    -9 crash_limit times; tick failing the runs of a retired function), and some of them
--    happen in a process that does not know the function or has no worker at all. In the same
--    transaction as the failure, the alert is exactly as durable as the failure itself: a
--    worker dying between fail_run and its Swift onFailure cannot lose it, and a retried
--    fail_run cannot send it twice (dedupe key run-failed:<run id>).

-- ---------------------------------------------------------------------------------------------
-- notify: a notification without a user.

alter table notify.notifications alter column user_id drop not null;
comment on column notify.notifications.user_id is
    'The recipient; null for a channel alert (notify.alert): in nobody''s inbox, delivered to one channel only.';

create function notify.alert(channel text, title text, message text, metadata jsonb default '{}', dedupe_key text default null)
returns table (notification_id uuid, outcome text)
language plpgsql
security definer
set search_path = ''
as $$
#variable_conflict use_column
declare
    v_metadata jsonb := coalesce(alert.metadata, '{}');
    v_id uuid;
begin
    if alert.channel is null then
        raise exception 'notify.alert: channel must not be null' using errcode = 'null_value_not_allowed';
    elsif alert.title is null then
        raise exception 'notify.alert: title must not be null' using errcode = 'null_value_not_allowed';
    elsif alert.message is null then
        raise exception 'notify.alert: message must not be null' using errcode = 'null_value_not_allowed';
    elsif pg_catalog.jsonb_typeof(v_metadata) <> 'object' then
        raise exception 'notify.alert: metadata must be a JSON object, got %', pg_catalog.jsonb_typeof(v_metadata)
            using errcode = 'invalid_parameter_value';
    end if;

    -- The unique dedupe_key decides: of two alerts with one key (two transactions failing the
    -- same run, say), the second waits for the first's insert and then does nothing.
    insert into notify.notifications (user_id, title, message, metadata, dedupe_key, created_at)
    values (null, alert.title, alert.message, v_metadata, alert.dedupe_key, pg_catalog.clock_timestamp())
    on conflict (dedupe_key) do nothing
    returning id into v_id;
    if v_id is null then
        select n.id into strict v_id from notify.notifications n where n.dedupe_key = alert.dedupe_key;
        return query select v_id, 'duplicate'::text;
        return;
    end if;

    -- A channel config no longer lists (or never did) gets no delivery: the alert is kept,
    -- and the outcome says it went nowhere.
    insert into notify.deliveries (notification_id, channel, idempotency_key)
    select v_id, ch.name, v_id::text || ':' || ch.name
    from notify.channels ch
    where ch.name = alert.channel and ch.enabled;
    if not found then
        return query select v_id, 'channel_disabled'::text;
        return;
    end if;

    perform pg_catalog.pg_notify('nightshift_deliveries', '');
    return query select v_id, 'sent'::text;
end
$$;
comment on function notify.alert(text, text, text, jsonb, text) is
    'Sends an alert to one channel (no user: no inbox, no cap): sent (one pending delivery on the channel), '
    'duplicate (dedupe_key seen before: the existing id, nothing new) or channel_disabled (the channel is unknown '
    'or disabled: the alert is kept, nothing is delivered).';

-- An alert is in nobody's inbox and is never read: it ages out like a read notification.
create or replace function notify.prune(keep interval default '90 days')
returns integer
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_cutoff timestamptz;
    v_rows integer;
    v_total integer := 0;
begin
    if prune.keep is null or prune.keep < interval '0' then
        raise exception 'notify.prune needs a retention of zero or more, got %', coalesce(prune.keep::text, 'null')
            using errcode = 'invalid_parameter_value';
    end if;
    v_cutoff := now() - prune.keep;

    delete from notify.deliveries d where d.status in ('delivered', 'failed') and d.created_at < v_cutoff;
    get diagnostics v_rows = row_count;
    v_total := v_total + v_rows;

    -- Unread notifications stay whatever their age (channel alerts, never read, do not), and
    -- so does one with a delivery still under way (deleting it would cascade to work the
    -- dispatcher has not finished).
    delete from notify.notifications n
    where (n.read or n.user_id is null) and n.created_at < v_cutoff
      and not exists (
          select from notify.deliveries d where d.notification_id = n.id and d.status in ('pending', 'delivering'));
    get diagnostics v_rows = row_count;
    v_total := v_total + v_rows;

    delete from notify.daily_counts c where c.day < (v_cutoff at time zone 'UTC')::date;
    get diagnostics v_rows = row_count;
    v_total := v_total + v_rows;

    delete from notify.suppressed s where s.suppressed_at < v_cutoff;
    get diagnostics v_rows = row_count;
    return v_total + v_rows;
end
$$;
comment on function notify.prune(interval) is
    'Deletes finished deliveries, read notifications and channel alerts, daily counts and suppressed rows older than '
    'keep; returns how many rows went. Unread notifications and unfinished deliveries are kept.';

-- ---------------------------------------------------------------------------------------------
-- nightshift: the channel a function's failures alert.

alter table nightshift.functions
    add column on_failure text,
    add constraint functions_on_failure_is_valid check (on_failure ~ '^\S+$' and length(on_failure) <= 200);
comment on column nightshift.functions.on_failure is
    'The notification channel (notify.channels) alerted once when a run of this function fails for good; null: none.';

-- sync_functions as in 0046, and the spec's "on_failure" recorded. Not checked against
-- notify.channels here: a worker syncs before it configures notifications, and its config
-- was checked when it loaded (on_failure must name a [notifications.channels.<name>]).
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
    v_on_failure text;
begin
    -- Two processes starting together would each retire the functions only the other
    -- declares, and could both recompute a schedule from a half-applied state. Syncs take
    -- turns for the whole transaction; the second then sees the first's result in full.
    -- define_function and drop_function take the same lock.
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
comment on function nightshift.sync_functions(jsonb) is
    'Upserts the declared functions and schedules (cron, macro or ''N seconds''; kind and body for config-declared '
    'sql and http jobs; on_failure, the channel failed runs alert), retires the undeclared ones defined in code '
    '(never those defined from SQL); the worker calls it at start-up. A schedule''s row is locked while it is '
    'compared, so a concurrent tick is never undone.';

-- define_function gains on_failure: a new signature, so the old one goes.
drop function nightshift.define_function(text, text, jsonb, text, text, integer, integer, text, interval);

create function nightshift.define_function(
    id text,
    kind text,
    body jsonb,
    cron text default null,
    timezone text default 'UTC',
    retries integer default 3,
    max_concurrency integer default null,
    catch_up text default 'latest',
    timeout interval default null,
    on_failure text default null)
returns nightshift.functions
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_body jsonb := define_function.body;
    v_defined_in text;
    v_timeout_ms numeric;
    v_spec jsonb;
    v_function nightshift.functions;
    v_channels text;
    v_header text;
begin
    if not auth.is_service() then
        raise exception 'only the service role may define functions'
            using errcode = 'insufficient_privilege';
    end if;

    perform pg_catalog.pg_advisory_xact_lock(1314062337, 0);  -- the sync lock (see sync_functions)

    if define_function.id is null or define_function.id = '' then
        raise exception 'define_function needs an id' using errcode = 'invalid_parameter_value';
    end if;
    if define_function.kind is null or define_function.kind not in ('sql', 'http') then
        raise exception 'cannot define function "%" of kind "%": use sql or http (swift functions are declared by a worker)',
            define_function.id, coalesce(define_function.kind, 'null')
            using errcode = 'invalid_parameter_value';
    end if;
    -- Shorthand: the statement or the URL alone, as a JSON string.
    if pg_catalog.jsonb_typeof(v_body) = 'string' then
        v_body := pg_catalog.jsonb_build_object(case define_function.kind when 'sql' then 'sql' else 'url' end, v_body);
    end if;
    -- A credential written out in full would sit in plain text in nightshift.functions.body,
    -- readable by the service role and kept in every backup. The worker expands ${NAME} from
    -- its environment at each call; a header that carries credentials must use that.
    if pg_catalog.jsonb_typeof(v_body -> 'headers') = 'object' then
        select h.key into v_header
        from pg_catalog.jsonb_each_text(v_body -> 'headers') h
        where (pg_catalog.lower(h.key) in ('authorization', 'proxy-authorization', 'cookie')
               or pg_catalog.lower(h.key) ~ '(token|secret|api[-_]?key|password)')
          and pg_catalog.strpos(h.value, '${') = 0
        order by h.key
        limit 1;
        if v_header is not null then
            raise exception 'header "%" of function "%" holds a credential in plain text', v_header, define_function.id
                using errcode = 'invalid_parameter_value',
                      hint = 'Reference the worker''s environment instead, e.g. "Bearer ${CRM_TOKEN}": the worker expands it at each call.';
        end if;
    end if;
    if define_function.retries is null or define_function.retries < 0 then
        raise exception 'retries must be zero or more, got %', coalesce(define_function.retries::text, 'null')
            using errcode = 'invalid_parameter_value';
    end if;
    if define_function.timeout is not null then
        v_timeout_ms := pg_catalog.ceil(extract(epoch from define_function.timeout) * 1000);
        if v_timeout_ms < 1 or v_timeout_ms > 2147483647 then
            raise exception 'timeout must be positive (at most 24 days), got %', define_function.timeout
                using errcode = 'invalid_parameter_value';
        end if;
    end if;
    -- The channels are the ones the running config set (notify.configure at start-up); a
    -- name it does not list would alert nobody.
    if define_function.on_failure is not null and not exists (
            select from notify.channels ch where ch.name = define_function.on_failure and ch.enabled) then
        select coalesce(pg_catalog.string_agg(ch.name, ', ' order by ch.name), 'none')
        into v_channels from notify.channels ch where ch.enabled;
        raise exception 'on_failure: no notification channel "%" is configured (configured: %)',
            define_function.on_failure, v_channels
            using errcode = 'invalid_parameter_value',
                  hint = 'Add [notifications.channels.<name>] with a webhook_url to config.toml and restart the workers.';
    end if;

    select f.defined_in into v_defined_in from nightshift.functions f where f.id = define_function.id for update;
    if v_defined_in = 'code' then
        raise exception 'function "%" is declared by a worker''s code; define_function may not replace it', define_function.id
            using errcode = 'invalid_parameter_value',
                  hint = 'Pick another id, or change it where the worker declares it.';
    end if;

    v_spec := pg_catalog.jsonb_strip_nulls(pg_catalog.jsonb_build_object(
        'id', define_function.id,
        'kind', define_function.kind,
        'max_attempts', define_function.retries::bigint + 1,
        'concurrency', case when define_function.max_concurrency is not null
                            then pg_catalog.jsonb_build_object('limit', define_function.max_concurrency) end,
        'timeout_ms', v_timeout_ms,
        'schedule', case when define_function.cron is not null then pg_catalog.jsonb_build_object(
            'cron', define_function.cron,
            'timezone', coalesce(define_function.timezone, 'UTC'),
            'catch_up', coalesce(define_function.catch_up, 'latest')) end))
        -- After stripping: the body's own nulls (an http header, say) are the validator's to judge.
        || pg_catalog.jsonb_build_object('body', v_body);

    perform nightshift._upsert_function(v_spec);
    update nightshift.functions f set defined_in = 'sql', on_failure = define_function.on_failure, updated_at = now()
    where f.id = define_function.id
    returning f.* into strict v_function;

    -- Workers listen, and load (or reload) the defined functions without a restart.
    perform pg_catalog.pg_notify('nightshift_functions', define_function.id);
    return v_function;
end
$$;
comment on function nightshift.define_function(text, text, jsonb, text, text, integer, integer, text, interval, text) is
    'Defines (or redefines) a function from SQL, for the service role only: kind sql (body {"sql": "<one statement>"} '
    'or the statement as a JSON string) or http (body {"url", "method", "timeout_ms", "headers"} or the URL as a JSON '
    'string; a header value may reference the worker''s environment as ${NAME}), with an optional cron schedule, '
    'retries, concurrency limit, catch-up policy, per-attempt timeout and on_failure, a configured notification '
    'channel alerted once per failed run. Refuses an id a worker declares. NOTIFYs nightshift_functions with the id; '
    'sync_functions never retires it.';

-- ---------------------------------------------------------------------------------------------
-- The alert: when a run becomes failed, whichever function failed it.

create function nightshift._alert_run_failed()
returns trigger
language plpgsql
set search_path = ''
as $$
declare
    v_channel text;
begin
    select f.on_failure into v_channel from nightshift.functions f where f.id = new.function_id;
    if v_channel is null then
        return null;
    end if;
    -- A subtransaction: whatever goes wrong with the alert, the run's failure is recorded
    -- (an error here would undo fail_run, and the worker would retry a run that is over).
    begin
        perform notify.alert(
            v_channel,
            format('run failed: %s', new.function_id),
            coalesce(new.error ->> 'message', 'failed'),
            pg_catalog.jsonb_build_object(
                'kind', 'run_failed',
                'function_id', new.function_id,
                'run_id', new.id,
                'attempts', new.attempt,
                'max_attempts', new.max_attempts,
                'sqlstate', new.error -> 'sqlstate',
                'http_status', new.error -> 'http_status',
                'error', new.error,
                'failed_at', new.finished_at),
            -- One alert per run, ever: a run failed again (rerun, a replayed fail) alerts no more.
            'run-failed:' || new.id::text);
    exception when others then
        raise warning 'could not alert channel "%" of the failure of run % (%): % (SQLSTATE %)',
            v_channel, new.id, new.function_id, sqlerrm, sqlstate;
    end;
    return null;
end
$$;
comment on function nightshift._alert_run_failed() is
    'Trigger on nightshift.runs: when a run becomes failed and its function has on_failure, one notify.alert to that '
    'channel (dedupe key run-failed:<run id>) with the function id, run id, attempts, error, SQLSTATE or HTTP status '
    'and the time.';

-- Every path to failed is an update of status (fail_run, claim_runs' quarantine, tick's retired
-- runs): the WHEN keeps the trigger off the hot path (claims, completions).
create trigger runs_alert_on_failure
    after update of status on nightshift.runs
    for each row
    when (new.status = 'failed' and old.status is distinct from 'failed')
    execute function nightshift._alert_run_failed();

-- ---------------------------------------------------------------------------------------------
-- Grants, as in 0008 and 0010: the service role calls the public functions; helpers are the owner's.

revoke all on function notify.alert(text, text, text, jsonb, text) from public;
grant execute on function notify.alert(text, text, text, jsonb, text) to nightshift_service;

revoke all on function nightshift._alert_run_failed() from public;
revoke all on function
    nightshift.define_function(text, text, jsonb, text, text, integer, integer, text, interval, text)
from public;
grant execute on function
    nightshift.define_function(text, text, jsonb, text, text, integer, integer, text, interval, text)
to nightshift_service;
