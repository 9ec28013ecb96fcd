-- Portfolio pack: the overnight run's market-data snapshot, scoring and recommendations (issue 6).
-- What the job portfolio/overnight-scoring calls, one SQL call per step:
--
--   portfolio.start_overnight_run(run_id)           setup: the run's row (idempotent on the engine run)
--   portfolio.store_rates(job_run, body, source)     fetch rates: the Frankfurter body becomes the snapshot
--   portfolio.reuse_last_rates(job_run, base)        … or, provider down, the newest stored rates (stale)
--   portfolio.active_users()                         who to score
--   portfolio.assets_to_price(job_run)               what to price
--   portfolio.store_prices(job_run, body, source)    one price-provider response into the snapshot
--   portfolio.score_users(job_run, user_ids)         one batch: scores, history, recommendations, events
--   portfolio.finalize_overnight_run(…)              completed / partial / failed, metrics
--   portfolio.fail_overnight_run(job_run, error)     the run gave up
--
-- The snapshot: rates and prices are stored per job run (job_run_rates, job_run_prices), so
-- every user of a run is scored with the same data, also after a retry or a resume (the Swift
-- step that fetched them is checkpointed with {asOf, stale} only; the data lives here).
--
-- Errors callers can act on carry their own SQLSTATE:
--   22023 invalid argument (the message names the field or JSON path),
--   NSP02 unknown user, NSP03 no exchange rates (none stored for the base, none in the run's
--   snapshot, or none for a currency a user needs), NSP04 unknown job run,
--   P0002 (no_data_found) a user's input is missing: no criteria version, a held asset without a
--   price in the run's snapshot.
-- score_users reports per-user errors in its result rows (and a CALC_FAILED event) instead of
-- raising them.

create table portfolio.job_run_rates (
    job_run_id uuid not null references portfolio.overnight_job_runs (id) on delete cascade,
    quote char(3) not null,
    base char(3) not null,
    rate numeric not null,
    as_of timestamptz not null,
    primary key (job_run_id, quote),
    constraint job_run_rates_rate_is_valid check (rate > 0),
    constraint job_run_rates_currencies_are_valid check (base ~ '^[A-Z]{3}$' and quote ~ '^[A-Z]{3}$'),
    -- The base is stored as its own quote with rate 1, so every conversion is a plain join.
    constraint job_run_rates_base_rate_is_one check (quote <> base or rate = 1)
);
comment on table portfolio.job_run_rates is
    'The exchange rates one overnight run uses, for all of its users: 1 base = rate quote. Written by store_rates '
    '(fresh) or reuse_last_rates (stale), replaced as a whole. The base itself has a row with rate 1. '
    'Converting an amount from X to Y = amount * rate(Y) / rate(X).';
comment on column portfolio.job_run_rates.base is 'The run''s rate base (the same on every row of a run; USD by default).';
comment on column portfolio.job_run_rates.as_of is 'The provider''s date of the rate (for reused rates, each quote''s own date).';

create table portfolio.job_run_prices (
    job_run_id uuid not null references portfolio.overnight_job_runs (id) on delete cascade,
    asset_id uuid not null references portfolio.assets (id) on delete cascade,
    price numeric not null,
    currency char(3) not null,
    as_of timestamptz not null,
    primary key (job_run_id, asset_id),
    constraint job_run_prices_price_is_valid check (price > 0),
    constraint job_run_prices_currency_is_valid check (currency ~ '^[A-Z]{3}$')
);
comment on table portfolio.job_run_prices is
    'The prices one overnight run uses, for all of its users: one per asset, written by store_prices.';
-- Deleting an asset cascades from the asset side.
create index job_run_prices_asset_id_idx on portfolio.job_run_prices (asset_id);

-- Helpers.

create function portfolio._json_time(p_at timestamptz)
returns jsonb
language sql
stable
set search_path = ''
as $$
    select pg_catalog.to_jsonb(
        pg_catalog.to_char(p_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS')
        || case when pg_catalog.date_part('microseconds', p_at at time zone 'UTC')::bigint % 1000000 <> 0
                then pg_catalog.to_char(p_at at time zone 'UTC', '.US') else '' end
        || 'Z')
$$;
comment on function portfolio._json_time(timestamptz) is
    'A timestamp as a JSON string in UTC, ISO 8601 with Z ("2026-11-23T21:00:00Z", microseconds only when not zero); '
    'independent of the session''s TimeZone.';

create function portfolio._decimal(p_value jsonb)
returns numeric
language sql
immutable
set search_path = ''
as $$
    select case pg_catalog.jsonb_typeof(p_value)
               when 'number' then (p_value #>> '{}')::numeric
               when 'string' then case when (p_value #>> '{}') ~ '^[+-]?[0-9]+(\.[0-9]+)?$'
                                       then (p_value #>> '{}')::numeric end
           end
$$;
comment on function portfolio._decimal(jsonb) is
    'A JSON number or decimal string ("187.23") as numeric, exactly (jsonb keeps numbers as numeric); '
    'null for anything else.';

create function portfolio._try_timestamptz(p_text text)
returns timestamptz
language plpgsql
stable
set search_path = ''
as $$
begin
    -- An explicit offset is required: without one the value would depend on the session's TimeZone.
    if p_text is null or p_text !~ '^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|z|[+-]\d{2}(:?\d{2})?)$' then
        return null;
    end if;
    return p_text::timestamptz;
exception when others then
    return null;  -- well-formed but impossible, e.g. month 13
end
$$;
comment on function portfolio._try_timestamptz(text) is
    'An ISO 8601 timestamp with an offset (Z or ±hh[:mm]) as timestamptz; null when malformed or impossible.';

create function portfolio._job_run(p_job_run_id uuid, p_lock boolean default false)
returns portfolio.overnight_job_runs
language plpgsql
set search_path = ''
as $$
declare
    v_run portfolio.overnight_job_runs;
begin
    if p_job_run_id is null then
        raise exception 'job_run_id: required, got null' using errcode = 'invalid_parameter_value';
    end if;
    if p_lock then
        -- Writers of a run's snapshot and metrics take turns (store_rates replaces the snapshot
        -- as delete + insert; metrics are read, merged and written). NO KEY UPDATE leaves the
        -- foreign-key inserts of concurrent score_users batches unblocked.
        select r.* into v_run from portfolio.overnight_job_runs r where r.id = p_job_run_id for no key update;
    else
        select r.* into v_run from portfolio.overnight_job_runs r where r.id = p_job_run_id;
    end if;
    if not found then
        raise exception 'unknown job run %', p_job_run_id using errcode = 'NSP04';
    end if;
    return v_run;
end
$$;
comment on function portfolio._job_run(uuid, boolean) is
    'The job run''s row (locked FOR NO KEY UPDATE when p_lock); raises NSP04 for an unknown run, 22023 for null.';

create function portfolio._provider_answer(p_job_run_id uuid, p_body jsonb, p_source text)
returns void
language plpgsql
set search_path = ''
as $$
begin
    perform portfolio._job_run(p_job_run_id, true);
    if p_source is null or pg_catalog.btrim(p_source) = '' then
        raise exception 'source: required' using errcode = 'invalid_parameter_value';
    end if;
    if p_body is null or pg_catalog.jsonb_typeof(p_body) <> 'object' then
        raise exception 'body: must be a JSON object, got %', coalesce(pg_catalog.jsonb_typeof(p_body), 'null')
            using errcode = 'invalid_parameter_value';
    end if;
end
$$;
comment on function portfolio._provider_answer(uuid, jsonb, text) is
    'What store_rates and store_prices check first: the run exists (locked, as _job_run), a source is named, the body is a JSON object.';

-- Setup.

create function portfolio.start_overnight_run(p_run_id uuid)
returns table (job_run_id uuid, correlation_id uuid)
language plpgsql
security definer
set search_path = ''
as $$
#variable_conflict use_column
declare
    v_id uuid;
    v_correlation_id uuid;
begin
    perform portfolio.ensure_calculation_event_partitions(current_date, 2);
    -- A resumed or retried engine run finds its row (run_id is unique): on conflict, no new row.
    -- A null run_id (tests, manual runs) never conflicts: every call is a new run.
    insert into portfolio.overnight_job_runs (run_id, status) values (p_run_id, 'started')
    on conflict (run_id) do nothing
    returning id, correlation_id into v_id, v_correlation_id;
    if v_id is null then
        select r.id, r.correlation_id into v_id, v_correlation_id from portfolio.overnight_job_runs r where r.run_id = p_run_id;
    end if;
    return query select v_id, v_correlation_id;
end
$$;
comment on function portfolio.start_overnight_run(uuid) is
    'Setup step of portfolio/overnight-scoring: creates the run''s overnight_job_runs row (status started) and returns '
    'its id and correlation id. Idempotent on p_run_id (the engine run): a resumed or retried run gets its existing row, '
    'whatever its status. A null p_run_id always creates a new row. Also makes sure the calculation_events partitions '
    'of this month and the next exist.';

-- Rates.

create function portfolio.store_rates(p_job_run_id uuid, p_body jsonb, p_source text)
returns table (as_of timestamptz, quotes integer)
language plpgsql
security definer
set search_path = ''
as $$
#variable_conflict use_column
declare
    v_base char(3);
    v_as_of timestamptz;
    v_date date;
    v_problem text;
    v_quotes integer;
begin
    perform portfolio._provider_answer(p_job_run_id, p_body, p_source);
    if pg_catalog.jsonb_typeof(p_body -> 'base') is distinct from 'string' or (p_body ->> 'base') !~ '^[A-Z]{3}$' then
        raise exception 'base: must be a 3-letter currency code, got %', coalesce((p_body -> 'base')::text, 'nothing')
            using errcode = 'invalid_parameter_value';
    end if;
    v_base := p_body ->> 'base';
    -- Frankfurter answers for "amount" units of the base; we ask for 1 and would otherwise have
    -- to divide (and round) every rate.
    if p_body ? 'amount' and portfolio._decimal(p_body -> 'amount') is distinct from 1 then
        raise exception 'amount: must be 1, got %', p_body -> 'amount' using errcode = 'invalid_parameter_value';
    end if;
    if pg_catalog.jsonb_typeof(p_body -> 'date') = 'string' and (p_body ->> 'date') ~ '^\d{4}-\d{2}-\d{2}$' then
        v_date := (portfolio._try_timestamptz((p_body ->> 'date') || 'T00:00:00Z') at time zone 'UTC')::date;
    end if;
    if v_date is null then
        raise exception 'date: must be a date YYYY-MM-DD, got %', coalesce((p_body -> 'date')::text, 'nothing')
            using errcode = 'invalid_parameter_value';
    end if;
    v_as_of := v_date::timestamp at time zone 'UTC';
    if pg_catalog.jsonb_typeof(p_body -> 'rates') is distinct from 'object' or p_body -> 'rates' = '{}' then
        raise exception 'rates: must be a non-empty object of currency: rate, got %', coalesce((p_body -> 'rates')::text, 'nothing')
            using errcode = 'invalid_parameter_value';
    end if;
    select case
               when r.key !~ '^[A-Z]{3}$' then pg_catalog.format('rates.%s: must be a 3-letter currency code', r.key)
               when coalesce(portfolio._decimal(r.value) <= 0, true)
                   then pg_catalog.format('rates.%s: must be a positive number, got %s', r.key, r.value)
               when r.key = v_base and portfolio._decimal(r.value) <> 1
                   then pg_catalog.format('rates.%s: the base''s own rate must be 1, got %s', r.key, r.value)
           end
    into v_problem
    from pg_catalog.jsonb_each(p_body -> 'rates') r
    where r.key !~ '^[A-Z]{3}$' or coalesce(portfolio._decimal(r.value) <= 0, true)
       or (r.key = v_base and portfolio._decimal(r.value) <> 1)
    order by r.key
    limit 1;
    if v_problem is not null then
        raise exception '%', v_problem using errcode = 'invalid_parameter_value';
    end if;

    insert into portfolio.exchange_rates (base, quote, rate, as_of, source)
    select v_base, r.key, portfolio._decimal(r.value), v_as_of, p_source
    from pg_catalog.jsonb_each(p_body -> 'rates') r
    where r.key <> v_base
    on conflict do nothing;

    delete from portfolio.job_run_rates r where r.job_run_id = p_job_run_id;
    insert into portfolio.job_run_rates (job_run_id, quote, base, rate, as_of)
    select p_job_run_id, r.key, v_base, portfolio._decimal(r.value), v_as_of
    from pg_catalog.jsonb_each(p_body -> 'rates') r
    where r.key <> v_base
    union all
    select p_job_run_id, v_base, v_base, 1, v_as_of;
    get diagnostics v_quotes = row_count;
    v_quotes := v_quotes - 1;  -- the base's own row

    update portfolio.overnight_job_runs r
    set metrics = r.metrics || pg_catalog.jsonb_build_object(
        'ratesStale', false, 'ratesAsOf', portfolio._json_time(v_as_of), 'ratesBase', v_base)
    where r.id = p_job_run_id;

    return query select v_as_of, v_quotes;
end
$$;
comment on function portfolio.store_rates(uuid, jsonb, text) is
$doc$Fetch-rates step: p_body is the rate provider's response verbatim, Frankfurter format
{"amount": 1.0, "base": "USD", "date": "2026-11-23", "rates": {"EUR": 0.9234, ...}} (rates as JSON numbers or
decimal strings, read exactly). Stores every rate in portfolio.exchange_rates (source p_source, as_of = date at
midnight UTC; a rate already stored is kept), replaces the run's snapshot (job_run_rates: the quotes plus the base
with rate 1) and merges {"ratesStale": false, "ratesAsOf", "ratesBase"} into the run's metrics.
Returns (as_of, quotes): the rates' date and how many quotes (the base not counted).
Errors: 22023 naming the path: "body: ...", "base: must be a 3-letter currency code, got ...", "amount: must be 1",
"date: must be a date YYYY-MM-DD, got ...", "rates: must be a non-empty object", "rates.EUR: must be a positive
number, got "x"" (the first bad quote in alphabetical order), "source: required"; NSP04 unknown job run.$doc$;

create function portfolio.reuse_last_rates(p_job_run_id uuid, p_base char(3))
returns table (as_of timestamptz, quotes integer)
language plpgsql
security definer
set search_path = ''
as $$
#variable_conflict use_column
declare
    v_as_of timestamptz;
    v_quotes integer;
begin
    perform portfolio._job_run(p_job_run_id, true);
    if p_base is null or p_base !~ '^[A-Z]{3}$' then
        raise exception 'base: must be a 3-letter currency code, got %', coalesce(p_base, 'null')
            using errcode = 'invalid_parameter_value';
    end if;

    delete from portfolio.job_run_rates r where r.job_run_id = p_job_run_id;
    -- The newest stored rate of each quote (exchange_rates_pair_as_of_idx), whatever its source.
    insert into portfolio.job_run_rates (job_run_id, quote, base, rate, as_of)
    select distinct on (e.quote) p_job_run_id, e.quote, p_base, e.rate, e.as_of
    from portfolio.exchange_rates e
    where e.base = p_base
    order by e.quote, e.as_of desc, e.fetched_at desc, e.id desc;
    get diagnostics v_quotes = row_count;
    if v_quotes = 0 then
        raise exception 'no exchange rates stored for base %: the provider is down and there is nothing to fall back on', p_base
            using errcode = 'NSP03';
    end if;
    select min(r.as_of) into v_as_of from portfolio.job_run_rates r where r.job_run_id = p_job_run_id;
    insert into portfolio.job_run_rates (job_run_id, quote, base, rate, as_of) values (p_job_run_id, p_base, p_base, 1, v_as_of);

    update portfolio.overnight_job_runs r
    set metrics = r.metrics || pg_catalog.jsonb_build_object(
        'ratesStale', true, 'ratesAsOf', portfolio._json_time(v_as_of), 'ratesBase', p_base)
    where r.id = p_job_run_id;

    return query select v_as_of, v_quotes;
end
$$;
comment on function portfolio.reuse_last_rates(uuid, character) is
    'Fetch-rates step when the rate provider is down: the newest stored rate of every quote for base p_base '
    '(portfolio.exchange_rates, any source) becomes the run''s snapshot, and {"ratesStale": true, "ratesAsOf": <the '
    'oldest as_of used>, "ratesBase"} is merged into the run''s metrics. Returns (as_of = that oldest as_of, quotes). '
    'Errors: NSP03 when nothing is stored for the base (the snapshot is left as it was), 22023 for a malformed base, '
    'NSP04 unknown job run.';

-- Users and assets.

create function portfolio.active_users()
returns setof uuid
language sql
stable
security definer
set search_path = ''
as $$
    select u.id
    from portfolio.users u
    where u.active
      and exists (select 1 from portfolio.portfolios p join portfolio.holdings h on h.portfolio_id = p.id where p.user_id = u.id)
    order by u.id
$$;
comment on function portfolio.active_users() is
    'The users the overnight run scores: active, with at least one holding (any quantity) in any portfolio; by id.';

create function portfolio.assets_to_price(p_job_run_id uuid)
returns table (asset_id uuid, symbol text, market_code text, currency char(3))
language plpgsql
stable
security definer
set search_path = ''
as $$
#variable_conflict use_column
begin
    perform portfolio._job_run(p_job_run_id);
    return query
        select a.id, a.symbol, a.market_code, a.currency
        from portfolio.assets a
        where a.market_code in (
                  select um.market_code
                  from portfolio.user_markets um
                  join portfolio.users u on u.id = um.user_id
                  where u.active
                    and exists (select 1 from portfolio.portfolios p join portfolio.holdings h on h.portfolio_id = p.id
                                where p.user_id = u.id))
           or a.id in (
                  select h.asset_id
                  from portfolio.holdings h
                  join portfolio.portfolios p on p.id = h.portfolio_id
                  join portfolio.users u on u.id = p.user_id
                  where u.active)
        order by a.market_code, a.symbol;
end
$$;
comment on function portfolio.assets_to_price(uuid) is
    'Every asset the run''s users (active_users) need priced: all assets of their configured markets (user_markets) '
    'and every asset they hold, once each, by market_code then symbol. NSP04 unknown job run.';

-- Prices.

create function portfolio._price_entries(p_body jsonb)
returns table (n integer, asset_id uuid, price numeric, currency char(3), as_of timestamptz, problem text)
language sql
stable
set search_path = ''
as $$
    select e.n::integer, a.id, portfolio._decimal(e.entry -> 'price'), (e.entry ->> 'currency')::char(3), t.as_of,
           pg_catalog.format('prices[%s]', e.n - 1) || case
               when pg_catalog.jsonb_typeof(e.entry) <> 'object' then ': must be an object, got ' || e.entry::text
               when pg_catalog.jsonb_typeof(e.entry -> 'symbol') is distinct from 'string' or (e.entry ->> 'symbol') !~ '^[^:]+:.+$'
                   then '.symbol: must be "MARKET:SYMBOL", got ' || coalesce((e.entry -> 'symbol')::text, 'nothing')
               when a.id is null then '.symbol: unknown asset ' || (e.entry -> 'symbol')::text
               when coalesce(portfolio._decimal(e.entry -> 'price') <= 0, true)
                   then '.price: must be a positive decimal, got ' || coalesce((e.entry -> 'price')::text, 'nothing')
               when pg_catalog.jsonb_typeof(e.entry -> 'currency') is distinct from 'string' or (e.entry ->> 'currency') !~ '^[A-Z]{3}$'
                   then '.currency: must be a 3-letter currency code, got ' || coalesce((e.entry -> 'currency')::text, 'nothing')
               when t.as_of is null
                   then '.asOf: must be an ISO 8601 timestamp with an offset, got ' || coalesce((e.entry -> 'asOf')::text, 'nothing')
           end
    from pg_catalog.jsonb_array_elements(p_body -> 'prices') with ordinality e (entry, n)
    -- MARKET:SYMBOL splits at the first colon (market codes have none, a symbol may).
    left join portfolio.assets a
           on pg_catalog.jsonb_typeof(e.entry) = 'object'
          and a.market_code = pg_catalog.split_part(e.entry ->> 'symbol', ':', 1)
          and a.symbol = pg_catalog.substr(e.entry ->> 'symbol', pg_catalog.strpos(e.entry ->> 'symbol', ':') + 1)
    cross join lateral (
        select case when pg_catalog.jsonb_typeof(e.entry) = 'object' then portfolio._try_timestamptz(e.entry ->> 'asOf') end as as_of
    ) t
$$;
comment on function portfolio._price_entries(jsonb) is
    'The entries of a price-provider response, parsed: (n, asset_id, price, currency, as_of, problem), problem being '
    'the 22023 message naming the entry''s path (prices[i].field) or null when the entry is valid.';

create function portfolio.store_prices(p_job_run_id uuid, p_body jsonb, p_source text)
returns integer
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_problem text;
    v_count integer;
begin
    perform portfolio._provider_answer(p_job_run_id, p_body, p_source);
    if pg_catalog.jsonb_typeof(p_body -> 'prices') is distinct from 'array' then
        raise exception 'prices: must be an array, got %', coalesce((p_body -> 'prices')::text, 'nothing')
            using errcode = 'invalid_parameter_value';
    end if;
    if p_body ? 'missing' and pg_catalog.jsonb_typeof(p_body -> 'missing') <> 'array' then
        raise exception 'missing: must be an array, got %', p_body -> 'missing' using errcode = 'invalid_parameter_value';
    end if;

    -- All or nothing: the first bad entry refuses the whole response.
    select e.problem into v_problem from portfolio._price_entries(p_body) e where e.problem is not null order by e.n limit 1;
    if v_problem is not null then
        raise exception '%', v_problem using errcode = 'invalid_parameter_value';
    end if;

    with entries as materialized (
        select e.n, e.asset_id, e.price, e.currency, e.as_of from portfolio._price_entries(p_body) e
    ),
    stored as (
        insert into portfolio.prices (asset_id, price, currency, as_of, source)
        select e.asset_id, e.price, e.currency, e.as_of, p_source from entries e
        on conflict do nothing
    )
    -- One price per asset: a symbol listed twice counts with its newest quote.
    insert into portfolio.job_run_prices as jp (job_run_id, asset_id, price, currency, as_of)
    select distinct on (e.asset_id) p_job_run_id, e.asset_id, e.price, e.currency, e.as_of
    from entries e
    order by e.asset_id, e.as_of desc, e.n desc
    on conflict (job_run_id, asset_id) do update
        set price = excluded.price, currency = excluded.currency, as_of = excluded.as_of;
    get diagnostics v_count = row_count;

    -- score_users' plans probe job_run_prices by its primary key; planned with the statistics of
    -- an empty table (a fresh database) they scan it once per row instead. While the table holds
    -- fewer rows than the statistics say, refresh them: only ever true while the table is small.
    if (select c.reltuples from pg_catalog.pg_class c where c.oid = 'portfolio.job_run_prices'::regclass)
       < (select pg_catalog.count(*) from portfolio.job_run_prices jp where jp.job_run_id = p_job_run_id) then
        analyze portfolio.job_run_prices;
    end if;

    update portfolio.overnight_job_runs r
    set metrics = r.metrics || pg_catalog.jsonb_build_object('pricesAsOf', (
            select portfolio._json_time(min(jp.as_of)) from portfolio.job_run_prices jp where jp.job_run_id = p_job_run_id))
    where r.id = p_job_run_id;

    return v_count;
end
$$;
comment on function portfolio.store_prices(uuid, jsonb, text) is
$doc$Fetch-prices step, once per provider response: p_body is {"prices": [{"symbol": "NYSE:AAPL", "price": "187.23",
"currency": "USD", "asOf": "2026-11-23T21:00:00Z"}], "missing": ["B3:XXXX"]} (price a decimal string or JSON
number; asOf ISO 8601 with an offset). Every entry is stored in portfolio.prices (source p_source; one already
stored is kept) and upserted into the run's snapshot (job_run_prices; a later call replaces an asset's snapshot
price; a symbol listed twice counts with its newest asOf). "missing" entries are skipped: a held asset left
without a price makes that user fail in score_users. Merges {"pricesAsOf": <the oldest as_of in the run's
snapshot>} into the run's metrics. Returns how many snapshot rows were written (inserted or replaced).
Errors (nothing is stored): 22023 naming the first bad entry's path: "prices[3].symbol: unknown asset
"NYSE:XXXX"", "prices[0].price: must be a positive decimal, got ...", "prices[1].currency: ...",
"prices[2].asOf: ...", "prices: must be an array", "source: required"; NSP04 unknown job run.$doc$;

-- Scoring.

create function portfolio._score_problems(p_job_run_id uuid, p_user_ids uuid[])
returns table (user_id uuid, sqlstate text, message text)
language sql
stable
set search_path = ''
as $$
    -- The inputs a user cannot be scored without. Joins would silently drop a held asset without
    -- a price or a currency without a rate, so they are looked for here, before the batch
    -- statement, and such a user fails clearly instead of being scored on partial data.
    with ids as (
        select distinct i.id from pg_catalog.unnest(p_user_ids) i (id)
    ),
    held as (
        select p.user_id, h.asset_id
        from ids i
        join portfolio.portfolios p on p.user_id = i.id
        join portfolio.holdings h on h.portfolio_id = p.id
        where h.quantity > 0
    ),
    problems (user_id, kind, sort_key, sqlstate, message) as (
        select i.id, 1, '', 'NSP02', pg_catalog.format('unknown user %s', i.id)
        from ids i
        where not exists (select 1 from portfolio.users u where u.id = i.id)
        union all
        select i.id, 2, '', 'P0002', pg_catalog.format('user %s has no criteria version', i.id)
        from ids i
        where exists (select 1 from portfolio.users u where u.id = i.id)
          and not exists (select 1 from portfolio.criteria_versions c where c.user_id = i.id)
        union all
        select h.user_id, 3, a.market_code || ':' || a.symbol, 'P0002',
               pg_catalog.format('user %s: held asset %s:%s (%s) has no price in job run %s''s snapshot',
                                 h.user_id, a.market_code, a.symbol, a.id, p_job_run_id)
        from held h
        join portfolio.assets a on a.id = h.asset_id
        where not exists (select 1 from portfolio.job_run_prices jp where jp.job_run_id = p_job_run_id and jp.asset_id = h.asset_id)
        union all
        select x.user_id, 4, x.currency, 'NSP03',
               pg_catalog.format('user %s: no exchange rate for %s (%s) in job run %s''s snapshot',
                                 x.user_id, x.currency, x.needed_for, p_job_run_id)
        from (
            select u.id as user_id, u.base_currency as currency, 'the base currency' as needed_for
            from ids i join portfolio.users u on u.id = i.id
            union all
            select h.user_id, jp.currency, pg_catalog.format('the price of %s:%s', a.market_code, a.symbol)
            from held h
            join portfolio.job_run_prices jp on jp.job_run_id = p_job_run_id and jp.asset_id = h.asset_id
            join portfolio.assets a on a.id = h.asset_id
        ) x
        where not exists (select 1 from portfolio.job_run_rates r where r.job_run_id = p_job_run_id and r.quote = x.currency)
    )
    select distinct on (p.user_id) p.user_id, p.sqlstate, p.message
    from problems p
    order by p.user_id, p.kind, p.sort_key
$$;
comment on function portfolio._score_problems(uuid, uuid[]) is
    'Per user of the batch, the first reason it cannot be scored in the job run (none: no row): NSP02 unknown user; '
    'P0002 no criteria version; P0002 a held asset (quantity > 0) without a price in the run''s snapshot; NSP03 no rate '
    'in the run''s snapshot for the user''s base currency or a held asset''s price currency. Messages name the user, '
    'the asset (MARKET:SYMBOL and id) or the currency, and the run.';

create function portfolio._score_batch(p_job_run_id uuid, p_correlation_id uuid, p_user_ids uuid[], p_rates jsonb)
returns table (user_id uuid, assets_scored integer)
language plpgsql
set search_path = ''
as $$
#variable_conflict use_column
declare
    v_started_at constant timestamptz := pg_catalog.clock_timestamp();
begin
    -- A batch scored again in the same run (a step retried after its commit) replaces the
    -- run's recommendations of these users instead of adding a second set.
    delete from portfolio.recommendations r where r.user_id = any (p_user_ids) and r.job_run_id = p_job_run_id;

    -- One statement for the whole batch: every write is a data-modifying CTE over the same
    -- computed scores, each executed once for all users.
    return query
    with batch as materialized (
        select u.id as user_id, u.base_currency, u.default_contribution, cv.id as criteria_version_id, cv.criteria
        from portfolio.users u
        cross join lateral (
            select c.id, c.criteria from portfolio.criteria_versions c
            where c.user_id = u.id
            order by c.version desc
            limit 1
        ) cv
        where u.id = any (p_user_ids)
    ),
    held as materialized (
        select p.user_id, h.asset_id, sum(h.quantity) as quantity
        from batch b
        join portfolio.portfolios p on p.user_id = b.user_id
        join portfolio.holdings h on h.portfolio_id = p.id
        group by p.user_id, h.asset_id
    ),
    -- The scored universe: every asset of the user's markets, plus every asset held.
    universe as (
        select b.user_id, a.id as asset_id
        from batch b
        join portfolio.user_markets um on um.user_id = b.user_id
        join portfolio.assets a on a.market_code = um.market_code
        union
        select h.user_id, h.asset_id from held h
    ),
    rules as (
        select b.user_id, (r.n - 1)::integer as rule, r.rule ->> 'metric' as metric, r.rule ->> 'operator' as operator,
               case when r.rule ->> 'operator' = 'between' then (r.rule -> 'threshold' ->> 0)::numeric
                    else (r.rule ->> 'threshold')::numeric end as lo,
               case when r.rule ->> 'operator' = 'between' then (r.rule -> 'threshold' ->> 1)::numeric end as hi,
               (r.rule ->> 'points')::numeric as points
        from batch b
        cross join lateral pg_catalog.jsonb_array_elements(b.criteria) with ordinality r (rule, n)
    ),
    evaluated as (
        select x.user_id, x.asset_id, r.rule, r.metric, m.value, r.points,
               coalesce(case r.operator
                            when '>' then m.value > r.lo
                            when '>=' then m.value >= r.lo
                            when '<' then m.value < r.lo
                            when '<=' then m.value <= r.lo
                            when '=' then m.value = r.lo
                            when 'between' then m.value between r.lo and r.hi
                        end, false) as matched
        from universe x
        join rules r on r.user_id = x.user_id
        left join portfolio.asset_metrics m on m.asset_id = x.asset_id and m.metric = r.metric
    ),
    scored as materialized (
        select e.user_id, e.asset_id,
               coalesce(sum(e.points) filter (where e.matched), 0) as score,
               pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
                   'rule', e.rule, 'metric', e.metric, 'value', e.value::text, 'matched', e.matched,
                   'points', (case when e.matched then e.points else 0 end)::text) order by e.rule) as breakdown,
               (pg_catalog.array_agg(pg_catalog.jsonb_build_object('metric', e.metric, 'points', e.points::text)
                                     order by e.points desc, e.rule) filter (where e.matched))[1] as top_contributor
        from evaluated e
        group by e.user_id, e.asset_id
    ),
    write_scores as (
        insert into portfolio.asset_scores as s (user_id, asset_id, score, breakdown, criteria_version_id, correlation_id, computed_at)
        select sc.user_id, sc.asset_id, sc.score, sc.breakdown, b.criteria_version_id, p_correlation_id, v_started_at
        from scored sc
        join batch b on b.user_id = sc.user_id
        on conflict (user_id, asset_id) do update
            set score = excluded.score, breakdown = excluded.breakdown, criteria_version_id = excluded.criteria_version_id,
                correlation_id = excluded.correlation_id, computed_at = excluded.computed_at
    ),
    write_history as (
        insert into portfolio.score_history (user_id, asset_id, score, breakdown, criteria_version_id, correlation_id, computed_at)
        select sc.user_id, sc.asset_id, sc.score, sc.breakdown, b.criteria_version_id, p_correlation_id, v_started_at
        from scored sc
        join batch b on b.user_id = sc.user_id
    ),
    -- Recommendations (the rule is spelled out in score_users' comment).
    rates as (
        select r.quote, r.rate from portfolio.job_run_rates r where r.job_run_id = p_job_run_id
    ),
    valued as (
        -- Multiply before dividing: one rounding (numeric division) instead of two.
        select h.user_id, a.asset_class, h.quantity * jp.price * rb.rate / rc.rate as value
        from held h
        join batch b on b.user_id = h.user_id
        join portfolio.assets a on a.id = h.asset_id
        join portfolio.job_run_prices jp on jp.job_run_id = p_job_run_id and jp.asset_id = h.asset_id
        join rates rc on rc.quote = jp.currency
        join rates rb on rb.quote = b.base_currency
        where h.quantity > 0
    ),
    class_values as (
        select v.user_id, v.asset_class, sum(v.value) as value from valued v group by v.user_id, v.asset_class
    ),
    totals as (
        select v.user_id, sum(v.value) as total from valued v group by v.user_id
    ),
    gaps as (
        select t.user_id, t.asset_class, t.target_min - s.share as gap
        from portfolio.allocation_targets t
        join batch b on b.user_id = t.user_id
        left join totals tt on tt.user_id = t.user_id
        left join class_values cv on cv.user_id = t.user_id and cv.asset_class = t.asset_class
        cross join lateral (
            select case when coalesce(tt.total, 0) = 0 then 0 else 100 * coalesce(cv.value, 0) / tt.total end as share
        ) s
        where s.share < t.target_min
          and b.default_contribution > 0
    ),
    gap_totals as (
        select g.user_id, sum(g.gap) as total_gap from gaps g group by g.user_id
    ),
    candidates as (
        select sc.user_id, a.asset_class, sc.asset_id, sc.score, sc.top_contributor,
               pg_catalog.row_number() over (partition by sc.user_id, a.asset_class
                                             order by sc.score desc, a.symbol, a.market_code, a.id) as rank
        from scored sc
        join portfolio.assets a on a.id = sc.asset_id
        where exists (select 1 from gaps g where g.user_id = sc.user_id and g.asset_class = a.asset_class)
    ),
    top3 as (
        select c.user_id, c.asset_class, c.asset_id, c.score, c.top_contributor, c.rank,
               pg_catalog.count(*) over w as n, sum(c.score) over w as score_sum, min(c.score) over w as score_min
        from candidates c
        where c.rank <= 3
        window w as (partition by c.user_id, c.asset_class)
    ),
    shares as (
        -- contribution × gap / Σgaps × weight, weight = score / Σscores when every score of the
        -- class's top 3 is > 0, else 1 / n; one division. A class without any asset in the
        -- universe gets one row without an asset.
        select g.user_id, g.asset_class, g.gap, t.asset_id, t.rank, t.score, t.top_contributor,
               b.default_contribution * g.gap * (case when t.score_min > 0 then t.score else 1 end)
                   / (gt.total_gap * (case when t.asset_id is null then 1 when t.score_min > 0 then t.score_sum else t.n end))
                   as exact
        from gaps g
        join gap_totals gt on gt.user_id = g.user_id
        join batch b on b.user_id = g.user_id
        left join top3 t on t.user_id = g.user_id and t.asset_class = g.asset_class
    ),
    rounded as (
        select s.user_id, s.asset_class, s.gap, s.asset_id, s.score, s.top_contributor,
               pg_catalog.round(s.exact, 2) as amount,
               pg_catalog.row_number() over (partition by s.user_id order by s.gap desc, s.asset_class, s.rank) as position,
               sum(pg_catalog.round(s.exact, 2)) over (partition by s.user_id) as rounded_sum
        from shares s
    ),
    write_recommendations as (
        insert into portfolio.recommendations (
            user_id, job_run_id, criteria_version_id, asset_class, asset_id, amount, currency, allocation_gap, breakdown)
        select r.user_id, p_job_run_id, b.criteria_version_id, r.asset_class, r.asset_id,
               r.amount + case when r.position = 1 then b.default_contribution - r.rounded_sum else 0 end,
               b.base_currency, pg_catalog.round(r.gap, 4),
               pg_catalog.jsonb_build_object(
                   'criteriaCount', pg_catalog.jsonb_array_length(b.criteria),
                   'topContributor', r.top_contributor,
                   'score', r.score::text,
                   'position', r.position)
        from rounded r
        join batch b on b.user_id = r.user_id
    ),
    -- The audit: four events per user.
    per_user as materialized (
        select b.user_id, b.criteria_version_id, b.criteria,
               coalesce(x.n, 0)::integer as assets_scored,
               coalesce(x.asset_ids, '[]') as asset_ids,
               coalesce(x.prices, '{}') as prices,
               coalesce(x.results, '[]') as results
        from batch b
        left join (
            select sc.user_id, pg_catalog.count(*) as n,
                   pg_catalog.jsonb_agg(sc.asset_id order by sc.asset_id) as asset_ids,
                   pg_catalog.jsonb_object_agg(sc.asset_id::text, pg_catalog.jsonb_build_object(
                       'price', jp.price::text, 'currency', jp.currency,
                       -- portfolio._json_time, spelled out: a function with SET is not inlined,
                       -- and this runs for every price of every user.
                       'asOf', pg_catalog.to_char(jp.as_of at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS')
                               || case when pg_catalog.date_part('microseconds', jp.as_of at time zone 'UTC')::bigint % 1000000 <> 0
                                       then pg_catalog.to_char(jp.as_of at time zone 'UTC', '.US') else '' end || 'Z'))
                       filter (where jp.asset_id is not null) as prices,
                   pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
                       'assetId', sc.asset_id, 'score', sc.score::text, 'breakdown', sc.breakdown)
                       order by sc.score desc, sc.asset_id) as results
            from scored sc
            left join portfolio.job_run_prices jp on jp.job_run_id = p_job_run_id and jp.asset_id = sc.asset_id
            group by sc.user_id
        ) x on x.user_id = b.user_id
    ),
    finished as (
        -- created_at orders a user's events: STARTED and INPUTS_CAPTURED at the batch's start,
        -- SCORES_COMPUTED and COMPLETED now; a microsecond apart so the order is strict.
        select greatest(pg_catalog.clock_timestamp(), v_started_at + interval '2 microseconds') as at
    ),
    write_events as (
        insert into portfolio.calculation_events (correlation_id, user_id, event_type, payload, created_at)
        select p_correlation_id, pu.user_id, ev.event_type, ev.payload, ev.created_at
        from per_user pu
        cross join finished f
        cross join lateral (values
            (1, 'CALC_STARTED', pg_catalog.jsonb_build_object(
                'correlationId', p_correlation_id, 'userId', pu.user_id, 'timestamp', portfolio._json_time(v_started_at)),
             v_started_at),
            (2, 'INPUTS_CAPTURED', pg_catalog.jsonb_build_object(
                'criteriaVersionId', pu.criteria_version_id, 'criteria', pu.criteria, 'prices', pu.prices,
                'rates', p_rates, 'assetIds', pu.asset_ids),
             v_started_at + interval '1 microsecond'),
            (3, 'SCORES_COMPUTED', pg_catalog.jsonb_build_object('results', pu.results), f.at),
            (4, 'CALC_COMPLETED', pg_catalog.jsonb_build_object(
                'durationMs', pg_catalog.floor(extract(epoch from f.at - v_started_at) * 1000)::bigint,
                'assetCount', pu.assets_scored,
                'batchUsers', pg_catalog.cardinality(p_user_ids)),
             f.at + interval '1 microsecond')
        ) ev (seq, event_type, payload, created_at)
        order by pu.user_id, ev.seq
    )
    select pu.user_id, pu.assets_scored from per_user pu;
end
$$;
comment on function portfolio._score_batch(uuid, uuid, uuid[], jsonb) is
    'score_users'' set-based core: scores every user of p_user_ids (the caller has excluded those _score_problems '
    'refuses) in one statement and returns (user_id, assets_scored). Any error raises for the whole batch.';

create function portfolio.score_users(p_job_run_id uuid, p_user_ids uuid[])
returns table (user_id uuid, assets_scored integer, failed boolean, sqlstate text, message text)
language plpgsql
security definer
set search_path = ''
as $$
#variable_conflict use_column
declare
    v_run portfolio.overnight_job_runs;
    v_rates jsonb;
    v_ids uuid[];
    v_good uuid[];
    v_ok_ids uuid[] := '{}';
    v_ok_counts integer[] := '{}';
    v_fail_ids uuid[] := '{}';
    v_fail_states text[] := '{}';
    v_fail_messages text[] := '{}';
    v_user uuid;
    v_count integer;
    v_state text;
    v_message text;
    v_failed_at timestamptz;
begin
    v_run := portfolio._job_run(p_job_run_id);
    if p_user_ids is null or pg_catalog.array_position(p_user_ids, null) is not null then
        raise exception 'user_ids: must be an array of user ids without nulls' using errcode = 'invalid_parameter_value';
    end if;
    -- Each user once, in the order given.
    select coalesce(pg_catalog.array_agg(d.id order by d.n), '{}') into v_ids
    from (select distinct on (i.id) i.id, i.n from pg_catalog.unnest(p_user_ids) with ordinality i (id, n) order by i.id, i.n) d;
    if pg_catalog.cardinality(v_ids) = 0 then
        return;
    end if;

    -- The run's rates, as INPUTS_CAPTURED records them (the same object for every user).
    select pg_catalog.jsonb_build_object(
               'base', min(r.base),
               'asOf', portfolio._json_time(min(r.as_of) filter (where r.quote <> r.base)),
               'stale', coalesce(v_run.metrics -> 'ratesStale', 'false'),
               'rates', coalesce(pg_catalog.jsonb_object_agg(r.quote, r.rate::text) filter (where r.quote <> r.base), '{}'))
    into v_rates
    from portfolio.job_run_rates r
    where r.job_run_id = p_job_run_id
    having pg_catalog.count(*) > 0;
    if v_rates is null then
        raise exception 'job run % has no exchange rates: store_rates or reuse_last_rates comes first', p_job_run_id
            using errcode = 'NSP03';
    end if;

    select coalesce(pg_catalog.array_agg(p.user_id), '{}'), coalesce(pg_catalog.array_agg(p.sqlstate), '{}'),
           coalesce(pg_catalog.array_agg(p.message), '{}')
    into v_fail_ids, v_fail_states, v_fail_messages
    from portfolio._score_problems(p_job_run_id, v_ids) p;
    v_good := array(select i.id from pg_catalog.unnest(v_ids) with ordinality i (id, n)
                    where i.id <> all (v_fail_ids) order by i.n);

    if pg_catalog.cardinality(v_good) > 0 then
        begin
            select coalesce(pg_catalog.array_agg(b.user_id), '{}'), coalesce(pg_catalog.array_agg(b.assets_scored), '{}')
            into v_ok_ids, v_ok_counts
            from portfolio._score_batch(p_job_run_id, v_run.correlation_id, v_good, v_rates) b;
        exception when others then
            -- Something _score_problems did not foresee: one user at a time, each in its own
            -- subtransaction, so one user's failure is that user's alone.
            v_ok_ids := '{}';
            v_ok_counts := '{}';
            foreach v_user in array v_good loop
                begin
                    select b.assets_scored into v_count
                    from portfolio._score_batch(p_job_run_id, v_run.correlation_id, array[v_user], v_rates) b;
                    v_ok_ids := v_ok_ids || v_user;
                    v_ok_counts := v_ok_counts || v_count;
                exception when others then
                    get stacked diagnostics v_state = returned_sqlstate, v_message = message_text;
                    v_fail_ids := v_fail_ids || v_user;
                    v_fail_states := v_fail_states || v_state;
                    v_fail_messages := v_fail_messages || pg_catalog.format('user %s: %s', v_user, v_message);
                end;
            end loop;
        end;
    end if;

    if pg_catalog.cardinality(v_fail_ids) > 0 then
        v_failed_at := pg_catalog.clock_timestamp();
        insert into portfolio.calculation_events (correlation_id, user_id, event_type, payload, created_at)
        select v_run.correlation_id, f.id, ev.event_type, ev.payload, ev.created_at
        from unnest(v_fail_ids, v_fail_states, v_fail_messages) f (id, state, message)
        cross join lateral (values
            (1, 'CALC_STARTED', pg_catalog.jsonb_build_object(
                'correlationId', v_run.correlation_id, 'userId', f.id, 'timestamp', portfolio._json_time(v_failed_at)),
             v_failed_at),
            (2, 'CALC_FAILED', pg_catalog.jsonb_build_object('error', f.message, 'sqlstate', f.state),
             v_failed_at + interval '1 microsecond')
        ) ev (seq, event_type, payload, created_at)
        order by f.id, ev.seq;
    end if;

    return query
        select i.id, coalesce(ok.n, 0), f.id is not null, f.state, f.message
        from pg_catalog.unnest(v_ids) with ordinality i (id, pos)
        left join unnest(v_ok_ids, v_ok_counts) ok (id, n) on ok.id = i.id
        left join unnest(v_fail_ids, v_fail_states, v_fail_messages) f (id, state, message) on f.id = i.id
        order by i.pos;
end
$$;
comment on function portfolio.score_users(uuid, uuid[]) is
$doc$Score-batch step: scores the users p_user_ids (duplicates once) in job run p_job_run_id with the run's snapshot
(job_run_prices, job_run_rates) and returns one row per user, in the order given:
(user_id, assets_scored, failed, sqlstate, message).

Per user: the latest criteria version; the universe = every asset of the user's markets (user_markets) plus every
asset held; per asset, score = the sum of the points of the rules it matches (rule format: validate_criteria;
a missing metric matches nothing; exact numeric), breakdown = one element per rule {rule, metric, value, matched,
points} (value and points decimal strings, value null when the metric is missing, points "0" when not matched).
Writes asset_scores (upsert), score_history (append), recommendations (job_run_id = the run; this run's earlier
rows of the user are replaced) and four calculation_events with the run's correlation id:
  CALC_STARTED {correlationId, userId, timestamp}
  INPUTS_CAPTURED {criteriaVersionId, criteria, prices: {assetId: {price, currency, asOf}} (the user's scored assets
    that have a snapshot price), rates: {base, asOf, stale, rates: {quote: rate}}, assetIds}
  SCORES_COMPUTED {results: [{assetId, score, breakdown}]} (score descending)
  CALC_COMPLETED {durationMs (the batch's, users are scored together), assetCount, batchUsers}
Set-based: one statement writes all of it for the batch. Users that cannot be scored are set aside first: NSP02
unknown user; P0002 no criteria version; P0002 a held asset (quantity > 0) without a price in the snapshot; NSP03
no rate for the user's base currency or a held asset's price currency. Should the batch statement still fail,
the users are scored one at a time, each in its own subtransaction. A failed user gets failed = true, the
sqlstate, a message naming the user (and the asset or currency), CALC_STARTED + CALC_FAILED {error, sqlstate},
and writes nothing else; the others are scored.

Recommendations, in the user's base currency, converted with the run's rates (X to Y: amount * rate(Y) / rate(X)):
  value of the portfolio per asset class = sum of quantity * snapshot price over all the user's portfolios;
  share = 100 * class value / total value (0 for every class when the total is 0);
  every class with an allocation target whose share < target_min is below target, gap = target_min - share;
  the default contribution is split across those classes in proportion to their gaps;
  within a class, to the top 3 of its assets in the user's universe by score (ties by symbol, market, id), in
  proportion to score when all of those scores are > 0, else equally; a class with no asset in the universe gets
  one row with asset_id null and the class's whole share;
  amounts are rounded to 2 decimals (half away from zero) and the remainder (contribution - sum of rounded) goes to
  the first recommendation, ordered by gap descending, class, rank, so the amounts sum to the contribution exactly;
  allocation_gap = the gap rounded to 4 decimals (percentage points); breakdown {criteriaCount, topContributor:
  {metric, points} (the matched rule with the most points, the first on a tie; null when none matched), score,
  position (1 = first)}. No recommendations when the contribution is 0 or no class is below target.
Errors (for the whole call): NSP04 unknown job run, NSP03 the run has no rates snapshot, 22023 null user ids.$doc$;

-- Finalize.

create function portfolio.finalize_overnight_run(
    p_job_run_id uuid, p_users_processed integer, p_users_failed integer, p_error_details jsonb, p_metrics jsonb)
returns text
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_status text;
begin
    perform portfolio._job_run(p_job_run_id, true);
    if p_users_processed is null or p_users_processed < 0 then
        raise exception 'users_processed: must be >= 0, got %', coalesce(p_users_processed::text, 'null')
            using errcode = 'invalid_parameter_value';
    end if;
    if p_users_failed is null or p_users_failed < 0 then
        raise exception 'users_failed: must be >= 0, got %', coalesce(p_users_failed::text, 'null')
            using errcode = 'invalid_parameter_value';
    end if;
    if p_error_details is not null and pg_catalog.jsonb_typeof(p_error_details) <> 'array' then
        raise exception 'error_details: must be a JSON array, got %', pg_catalog.jsonb_typeof(p_error_details)
            using errcode = 'invalid_parameter_value';
    end if;
    if p_metrics is not null and pg_catalog.jsonb_typeof(p_metrics) <> 'object' then
        raise exception 'metrics: must be a JSON object, got %', pg_catalog.jsonb_typeof(p_metrics)
            using errcode = 'invalid_parameter_value';
    end if;
    v_status := case when p_users_failed = 0 then 'completed'
                     when p_users_failed < p_users_processed then 'partial'
                     else 'failed' end;
    update portfolio.overnight_job_runs r
    set status = v_status,
        completed_at = coalesce(r.completed_at, pg_catalog.now()),
        users_processed = p_users_processed,
        users_failed = p_users_failed,
        error_details = coalesce(p_error_details, '[]'),
        metrics = r.metrics || coalesce(p_metrics, '{}')
    where r.id = p_job_run_id;
    return v_status;
end
$$;
comment on function portfolio.finalize_overnight_run(uuid, integer, integer, jsonb, jsonb) is
    'Finalize step: p_users_processed counts every user the run attempted, failures included; p_users_failed those '
    'that failed. Status: completed when none failed (also when none were processed), partial when some failed and some '
    'succeeded (failed < processed), failed otherwise (all failed). Stores the counts and p_error_details (a JSON array, '
    'null = []), merges p_metrics (a JSON object) into metrics, sets completed_at (kept from a first call). Returns the '
    'status. Idempotent: calling it again with the same arguments changes nothing. Errors: 22023 negative counts or '
    'malformed JSON, NSP04 unknown job run.';

create function portfolio.fail_overnight_run(p_job_run_id uuid, p_error jsonb)
returns void
language plpgsql
security definer
set search_path = ''
as $$
begin
    perform portfolio._job_run(p_job_run_id, true);
    update portfolio.overnight_job_runs r
    set status = 'failed',
        completed_at = coalesce(r.completed_at, pg_catalog.now()),
        error_details = r.error_details || case
                                               when p_error is null then '[]'::jsonb
                                               when pg_catalog.jsonb_typeof(p_error) = 'array' then p_error
                                               when pg_catalog.jsonb_typeof(p_error) = 'object' then pg_catalog.jsonb_build_array(p_error)
                                               else pg_catalog.jsonb_build_array(pg_catalog.jsonb_build_object('error', p_error))
                                           end
    where r.id = p_job_run_id;
end
$$;
comment on function portfolio.fail_overnight_run(uuid, jsonb) is
    'The run gave up (a step failed for good): status failed, completed_at set (kept from an earlier finalize), '
    'p_error appended to error_details (an object as one element, an array element by element, any other JSON '
    'value wrapped as {"error": value}, null adds nothing). NSP04 unknown job run.';

-- Grants (as in 0030): nightshift_service reads the snapshot tables and calls the public
-- functions, which run as their owner; helpers (_*) are for the owner only.
revoke all on portfolio.job_run_rates, portfolio.job_run_prices from public;
grant select on portfolio.job_run_rates, portfolio.job_run_prices to nightshift_service;

revoke all on function
    portfolio._json_time(timestamptz),
    portfolio._decimal(jsonb),
    portfolio._try_timestamptz(text),
    portfolio._job_run(uuid, boolean),
    portfolio._provider_answer(uuid, jsonb, text),
    portfolio._price_entries(jsonb),
    portfolio._score_problems(uuid, uuid[]),
    portfolio._score_batch(uuid, uuid, uuid[], jsonb),
    portfolio.start_overnight_run(uuid),
    portfolio.store_rates(uuid, jsonb, text),
    portfolio.reuse_last_rates(uuid, character),
    portfolio.active_users(),
    portfolio.assets_to_price(uuid),
    portfolio.store_prices(uuid, jsonb, text),
    portfolio.score_users(uuid, uuid[]),
    portfolio.finalize_overnight_run(uuid, integer, integer, jsonb, jsonb),
    portfolio.fail_overnight_run(uuid, jsonb)
from public;
grant execute on function
    portfolio.start_overnight_run(uuid),
    portfolio.store_rates(uuid, jsonb, text),
    portfolio.reuse_last_rates(uuid, character),
    portfolio.active_users(),
    portfolio.assets_to_price(uuid),
    portfolio.store_prices(uuid, jsonb, text),
    portfolio.score_users(uuid, uuid[]),
    portfolio.finalize_overnight_run(uuid, integer, integer, jsonb, jsonb),
    portfolio.fail_overnight_run(uuid, jsonb)
to nightshift_service;
