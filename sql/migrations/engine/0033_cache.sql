-- A key-value cache with expiry, in PostgreSQL, platform-wide (schema cache). The portfolio
-- pack's cache warmer writes `recs:<userId>` and `portfolio:<userId>` into it after each
-- overnight run (portfolio.warm_cache, 0034) and the dashboard reads them (cache.get).
--
--   cache.get(key)                         the value, or null when missing or expired
--   cache.set(key, value, ttl, user_id)    upsert; returns the expiry
--   cache.invalidate(key)                  drop one key
--   cache.invalidate_all(user_id)          drop a user's keys (null: every key)
--   cache.sweep(limit)                     delete expired entries, oldest expiry first
--
-- An expired entry is never served: get compares expires_at with clock_timestamp() (not the
-- transaction's now(), which may lag in a long transaction), whether or not sweep has run yet.
-- Keys are namespaced by user ("<kind>:<userId>"); user_id records the namespace's owner so
-- that invalidate_all(user) finds a user's keys by index, not by a LIKE on the key.
--
-- The table is logged (an ordinary table): the warmer's work survives a crash and reaches
-- replicas; a cold cache would send every dashboard read to the fallback at once.
--
-- Errors: 22023 invalid argument, the message names the field (key, value, ttl, limit).

create schema cache;
comment on schema cache is 'Key-value cache with expiry (get / set / invalidate / invalidate_all / sweep).';

create table cache.entries (
    key text primary key,
    user_id uuid,
    value jsonb not null,
    expires_at timestamptz not null,
    updated_at timestamptz not null default clock_timestamp(),
    constraint entries_key_is_valid check (length(key) between 1 and 512)
);
comment on table cache.entries is
    'Cached values; an entry whose expires_at has passed is never served (cache.get) and is deleted by cache.sweep.';
comment on column cache.entries.key is 'Namespaced by user: recs:<uuid>, portfolio:<uuid>.';
comment on column cache.entries.user_id is 'The owner of the key''s namespace (null for keys of nobody); invalidate_all(user) goes by it.';
comment on column cache.entries.expires_at is 'Set from the TTL at each write; served only while clock_timestamp() < expires_at.';
-- sweep: the expired entries in expiry order (a range scan from -infinity to now).
create index entries_expires_at_idx on cache.entries (expires_at);
-- invalidate_all(user).
create index entries_user_id_idx on cache.entries (user_id) where user_id is not null;

create function cache._require_key(p_key text)
returns void
language plpgsql
immutable
set search_path = ''
as $$
begin
    if p_key is null or length(p_key) = 0 or length(p_key) > 512 then
        raise exception 'key: must be a text of 1 to 512 characters, got %',
            case when p_key is null then 'null' else length(p_key)::text || ' characters' end
            using errcode = 'invalid_parameter_value';
    end if;
end
$$;
comment on function cache._require_key(text) is 'Raises 22023 naming "key" unless the key is 1..512 characters.';

create function cache.get(p_key text)
returns jsonb
language sql
stable
security definer
set search_path = ''
as $$
    select e.value from cache.entries e where e.key = p_key and e.expires_at > pg_catalog.clock_timestamp()
$$;
comment on function cache.get(text) is
    'The value stored under p_key, or null when there is none or it has expired (an expired entry is never '
    'served, swept or not). A null or unknown key is simply a miss. One primary-key lookup.';

create function cache.set(p_key text, p_value jsonb, p_ttl interval, p_user_id uuid default null)
returns timestamptz
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_expires_at timestamptz;
begin
    perform cache._require_key(p_key);
    if p_value is null then
        raise exception 'value: must not be null (invalidate the key instead)' using errcode = 'invalid_parameter_value';
    end if;
    if p_ttl is null or p_ttl <= interval '0' then
        raise exception 'ttl: must be a positive interval, got %', coalesce(p_ttl::text, 'null')
            using errcode = 'invalid_parameter_value';
    end if;
    v_expires_at := pg_catalog.clock_timestamp() + p_ttl;
    -- Upsert: two concurrent sets of one key serialize on the primary key; the last one wins.
    insert into cache.entries as e (key, user_id, value, expires_at, updated_at)
    values (p_key, p_user_id, p_value, v_expires_at, pg_catalog.clock_timestamp())
    on conflict (key) do update
        set user_id = excluded.user_id, value = excluded.value,
            expires_at = excluded.expires_at, updated_at = excluded.updated_at;
    return v_expires_at;
end
$$;
comment on function cache.set(text, jsonb, interval, uuid) is
    'Stores p_value under p_key for p_ttl (insert or replace) and returns the expiry (clock_timestamp() + p_ttl). '
    'p_user_id names the owner of the key''s namespace (recs:<uuid> → that uuid), for invalidate_all. '
    'Errors 22023: key (null, empty or longer than 512), value (null), ttl (null, zero or negative).';

create function cache.invalidate(p_key text)
returns boolean
language plpgsql
security definer
set search_path = ''
as $$
begin
    delete from cache.entries e where e.key = p_key;
    return found;
end
$$;
comment on function cache.invalidate(text) is
    'Deletes the entry under p_key; true when there was one (expired or not), false otherwise.';

create function cache.invalidate_all(p_user_id uuid default null)
returns integer
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_deleted integer;
begin
    if p_user_id is null then
        delete from cache.entries;
    else
        delete from cache.entries e where e.user_id = p_user_id;
    end if;
    get diagnostics v_deleted = row_count;
    return v_deleted;
end
$$;
comment on function cache.invalidate_all(uuid) is
    'Deletes every entry of the user p_user_id (entries.user_id, the owner of the key''s namespace) and returns how '
    'many; with null (the default) every entry of the cache, of every user.';

create function cache.sweep(p_limit integer default 10000)
returns integer
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_deleted integer;
begin
    if p_limit is null or p_limit < 1 or p_limit > 1000000 then
        raise exception 'limit: must be between 1 and 1000000, got %', coalesce(p_limit::text, 'null')
            using errcode = 'invalid_parameter_value';
    end if;
    -- Oldest expiry first, through entries_expires_at_idx. SKIP LOCKED: an entry being rewritten
    -- by set (or swept by a concurrent sweep) is left for the next sweep instead of waited for;
    -- the re-check of expires_at in the DELETE keeps an entry that a concurrent set renewed.
    with doomed as (
        select e.key
        from cache.entries e
        where e.expires_at <= pg_catalog.clock_timestamp()
        order by e.expires_at
        limit p_limit
        for update skip locked
    )
    delete from cache.entries e
    using doomed d
    where e.key = d.key and e.expires_at <= pg_catalog.clock_timestamp();
    get diagnostics v_deleted = row_count;
    return v_deleted;
end
$$;
comment on function cache.sweep(integer) is
    'Deletes up to p_limit (default 10,000; 1..1,000,000, else 22023 naming limit) expired entries, oldest expiry '
    'first, and returns how many. Call it until it returns less than p_limit. Entries locked by a concurrent '
    'writer are skipped, not waited for.';

-- Grants: nightshift_service calls the functions (which run as their owner); it has no
-- privilege on the table itself, so nothing reads around the expiry check. anon and
-- authenticated get nothing.
revoke all on schema cache from public;
grant usage on schema cache to nightshift_service;
revoke all on all functions in schema cache from public;
revoke all on all tables in schema cache from public;
alter default privileges in schema cache revoke execute on functions from public;

grant execute on function
    cache.get(text),
    cache.set(text, jsonb, interval, uuid),
    cache.invalidate(text),
    cache.invalidate_all(uuid),
    cache.sweep(integer)
to nightshift_service;
