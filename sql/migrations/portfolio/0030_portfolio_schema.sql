-- Portfolio pack: the data behind the overnight scoring of an investment planner (issue 6).
--
--   who and what     users, markets, user_markets (the markets a user's scoring covers),
--                    assets, asset_metrics (the fundamentals the criteria read),
--                    portfolios, holdings, allocation_targets (per user and asset class)
--   rules            criteria_versions: versioned scoring rules (jsonb; format and
--                    validation in 0031, portfolio.validate_criteria)
--   market data      prices, exchange_rates (as fetched from the HTTP providers)
--   results          asset_scores (the current score per user and asset), score_history
--                    (append-only), recommendations (per user, with their criteria version)
--   audit            calculation_events (append-only, partitioned by month, 2 years kept),
--                    overnight_job_runs (one telemetry row per run of portfolio/overnight-scoring)
--
-- Money, prices, rates, quantities, percentages and scores are numeric everywhere: the jobs
-- and the HTTP layer carry them as decimal strings, never binary floating point.
-- Writes from the application go through the pack's functions (security definer); the
-- service role only reads the tables (grants at the end of this file).
--
-- Errors callers can act on carry their own SQLSTATE:
--   NSP01 an append-only table refused an UPDATE, DELETE or TRUNCATE,
--   22023 invalid argument (a malformed criteria rule set among others).

create schema portfolio;
comment on schema portfolio is
    'Portfolio pack: overnight asset scoring, recommendations, event-sourced calculation audit.';

create table portfolio.users (
    id uuid primary key,
    base_currency char(3) not null,
    default_contribution numeric not null default 0,
    active boolean not null default true,
    created_at timestamptz not null default now(),
    constraint users_base_currency_is_valid check (base_currency ~ '^[A-Z]{3}$'),
    constraint users_default_contribution_is_valid check (default_contribution >= 0)
);
comment on table portfolio.users is
    'The planner''s users. id is the platform user (the token''s sub), so no default: the auth layer owns it.';
comment on column portfolio.users.base_currency is 'ISO 4217 code; allocation gaps and totals are computed in it.';
comment on column portfolio.users.default_contribution is
    'The amount, in base_currency, that the recommendations split across asset classes below target.';
comment on column portfolio.users.active is 'Only active users with a portfolio are scored overnight.';
-- The overnight job walks the active users in id order, batch after batch.
create index users_active_idx on portfolio.users (id) where active;

create table portfolio.markets (
    code text primary key,
    name text not null,
    time_zone text not null,
    local_open_time time not null,
    constraint markets_code_is_valid check (code ~ '^[A-Z0-9]{2,10}$'),
    -- An unknown zone makes "at time zone" fail, so the check rejects it when saved.
    constraint markets_time_zone_is_valid check ((timestamptz '2000-01-01 00:00+00' at time zone time_zone) is not null)
);
comment on table portfolio.markets is 'Exchanges such as NYSE or B3, with the IANA zone and local opening time of their trading day.';
comment on column portfolio.markets.local_open_time is
    'Opening time in time_zone: scores must be ready before the earliest market of a user opens.';

create table portfolio.user_markets (
    user_id uuid not null references portfolio.users (id) on delete cascade,
    market_code text not null references portfolio.markets (code),
    primary key (user_id, market_code)
);
comment on table portfolio.user_markets is
    'The markets a user''s scoring covers: score_user scores every asset of these markets, held or not.';
create index user_markets_market_code_idx on portfolio.user_markets (market_code);

create table portfolio.assets (
    id uuid primary key default gen_random_uuid(),
    symbol text not null,
    market_code text not null references portfolio.markets (code),
    asset_class text not null,
    currency char(3) not null,
    name text,
    constraint assets_market_symbol_key unique (market_code, symbol),
    constraint assets_symbol_is_valid check (length(btrim(symbol)) > 0),
    constraint assets_asset_class_is_valid check (asset_class ~ '^[a-z][a-z0-9_]*$'),
    constraint assets_currency_is_valid check (currency ~ '^[A-Z]{3}$')
);
comment on table portfolio.assets is 'Tradable assets; a symbol is unique within its market (the same ticker may trade elsewhere).';
comment on column portfolio.assets.asset_class is
    'Lower-case key such as stock, bond, reit, etf; allocation_targets and recommendations group by it.';
comment on column portfolio.assets.currency is 'The currency prices of the asset are quoted in.';
create index assets_market_class_idx on portfolio.assets (market_code, asset_class);

create table portfolio.asset_metrics (
    asset_id uuid not null references portfolio.assets (id) on delete cascade,
    metric text not null,
    value numeric not null,
    as_of timestamptz not null default now(),
    primary key (asset_id, metric),
    constraint asset_metrics_metric_is_valid check (metric ~ '^[a-z][a-z0-9_]*$')
);
comment on table portfolio.asset_metrics is
    'Fundamentals the criteria read (dividend_yield, pe_ratio, roe, …): the latest value per asset and metric.';
comment on column portfolio.asset_metrics.metric is 'The name a criteria rule''s "metric" refers to.';

create table portfolio.portfolios (
    id uuid primary key default gen_random_uuid(),
    user_id uuid not null references portfolio.users (id) on delete cascade,
    name text not null default 'Main',
    created_at timestamptz not null default now(),
    constraint portfolios_user_name_key unique (user_id, name)
);
comment on table portfolio.portfolios is 'A user''s portfolios; the recommendations look at all of them together.';

create table portfolio.holdings (
    portfolio_id uuid not null references portfolio.portfolios (id) on delete cascade,
    asset_id uuid not null references portfolio.assets (id),
    quantity numeric not null,
    updated_at timestamptz not null default now(),
    primary key (portfolio_id, asset_id),
    constraint holdings_quantity_is_valid check (quantity >= 0)
);
comment on table portfolio.holdings is 'How much of an asset a portfolio holds (fractional shares allowed: numeric).';
-- Deleting an asset, and "who holds X", go from the asset side.
create index holdings_asset_id_idx on portfolio.holdings (asset_id);

create table portfolio.allocation_targets (
    user_id uuid not null references portfolio.users (id) on delete cascade,
    asset_class text not null,
    target_min numeric not null,
    target_max numeric not null,
    primary key (user_id, asset_class),
    constraint allocation_targets_range_is_valid check (0 <= target_min and target_min <= target_max and target_max <= 100)
);
comment on table portfolio.allocation_targets is
    'Per user and asset class, the wanted share of the portfolio value in percent (0–100); a class below '
    'target_min gets part of the default contribution.';

create table portfolio.criteria_versions (
    id uuid primary key default gen_random_uuid(),
    user_id uuid not null references portfolio.users (id) on delete cascade,
    version integer not null,
    criteria jsonb not null,
    created_at timestamptz not null default now(),
    constraint criteria_versions_user_version_key unique (user_id, version),
    constraint criteria_versions_version_is_valid check (version > 0)
);
comment on table portfolio.criteria_versions is
    'Versioned scoring rules of a user; the latest version scores. Validated when saved (0031); scores and '
    'recommendations keep the version they came from, so a version is never changed, only superseded.';
comment on column portfolio.criteria_versions.criteria is 'The rule set: see portfolio.validate_criteria for the format.';
-- The unique key (user_id, version) also serves "the latest version of a user" (order by version desc limit 1).

create table portfolio.prices (
    id bigint generated by default as identity primary key,
    asset_id uuid not null references portfolio.assets (id) on delete cascade,
    price numeric not null,
    currency char(3) not null,
    as_of timestamptz not null,
    source text not null,
    fetched_at timestamptz not null default now(),
    constraint prices_asset_source_as_of_key unique (asset_id, source, as_of),
    constraint prices_price_is_valid check (price > 0),
    constraint prices_currency_is_valid check (currency ~ '^[A-Z]{3}$')
);
comment on table portfolio.prices is
    'Prices as fetched from the price provider; a re-fetch of the same quote is a no-op (unique key). '
    'The job''s snapshot is the newest price per asset at its fetch step.';
comment on column portfolio.prices.as_of is 'When the provider says the price was current, not when it was fetched.';
create index prices_asset_as_of_idx on portfolio.prices (asset_id, as_of desc);

create table portfolio.exchange_rates (
    id bigint generated by default as identity primary key,
    base char(3) not null,
    quote char(3) not null,
    rate numeric not null,
    as_of timestamptz not null,
    source text not null,
    fetched_at timestamptz not null default now(),
    constraint exchange_rates_key unique (base, quote, source, as_of),
    constraint exchange_rates_rate_is_valid check (rate > 0),
    constraint exchange_rates_currencies_are_valid check (base ~ '^[A-Z]{3}$' and quote ~ '^[A-Z]{3}$' and base <> quote)
);
comment on table portfolio.exchange_rates is
    '1 base = rate quote, as fetched (Frankfurter format). When the provider is down the job reuses the newest '
    'stored rates and marks its data stale.';
comment on column portfolio.exchange_rates.as_of is 'The provider''s date of the rate (Frankfurter "date"), midnight UTC.';
create index exchange_rates_pair_as_of_idx on portfolio.exchange_rates (base, quote, as_of desc);

create table portfolio.overnight_job_runs (
    id uuid primary key default gen_random_uuid(),
    job_type text not null default 'overnight-scoring',
    run_id uuid,
    status text not null default 'started',
    started_at timestamptz not null default now(),
    completed_at timestamptz,
    users_processed integer not null default 0,
    users_failed integer not null default 0,
    correlation_id uuid not null default gen_random_uuid(),
    error_details jsonb not null default '[]',
    metrics jsonb not null default '{}',
    constraint overnight_job_runs_correlation_id_key unique (correlation_id),
    constraint overnight_job_runs_run_id_key unique (run_id),
    constraint overnight_job_runs_status_is_valid check (status in ('started', 'completed', 'partial', 'failed')),
    constraint overnight_job_runs_completion_is_valid check (
        (status = 'started') = (completed_at is null) and (completed_at is null or completed_at >= started_at)),
    constraint overnight_job_runs_counts_are_valid check (users_processed >= 0 and users_failed >= 0),
    constraint overnight_job_runs_error_details_is_array check (jsonb_typeof(error_details) = 'array'),
    constraint overnight_job_runs_metrics_is_object check (jsonb_typeof(metrics) = 'object')
);
comment on table portfolio.overnight_job_runs is
    'Telemetry: one row per run of portfolio/overnight-scoring, written at setup (started) and at finalize.';
comment on column portfolio.overnight_job_runs.run_id is
    'The engine run (nightshift.runs.id); unique, so a resumed run finds its row. No foreign key: runs are pruned sooner.';
comment on column portfolio.overnight_job_runs.status is
    'started until finalize; then completed, partial (some users failed, the rest scored) or failed.';
comment on column portfolio.overnight_job_runs.correlation_id is
    'Links the run to its calculation_events; each user''s events carry it.';
comment on column portfolio.overnight_job_runs.error_details is 'One object per failed user, e.g. {"userId", "sqlstate", "message"}.';
comment on column portfolio.overnight_job_runs.metrics is
    'The span''s figures (fetch_rates_ms, users_total, users_success, users_failed, total_duration_ms, assets_scored) '
    'and the freshness of the data (ratesStale, ratesAsOf, pricesAsOf), numbers as JSON numbers or decimal strings.';
create index overnight_job_runs_started_at_idx on portfolio.overnight_job_runs (started_at desc);

create table portfolio.asset_scores (
    user_id uuid not null references portfolio.users (id) on delete cascade,
    asset_id uuid not null references portfolio.assets (id) on delete cascade,
    score numeric not null,
    breakdown jsonb not null,
    criteria_version_id uuid not null references portfolio.criteria_versions (id),
    correlation_id uuid,
    computed_at timestamptz not null,
    primary key (user_id, asset_id),
    constraint asset_scores_breakdown_is_array check (jsonb_typeof(breakdown) = 'array')
);
comment on table portfolio.asset_scores is
    'The current score of every asset of a user''s markets: rewritten by each scoring (upsert); the past is in score_history.';
comment on column portfolio.asset_scores.breakdown is
    'One element per rule: {rule, metric, value, matched, points}, values as decimal strings.';
comment on column portfolio.asset_scores.correlation_id is 'The overnight run (overnight_job_runs.correlation_id) that computed it, if any.';
-- "Scores of the asset for all users" and deleting a criteria version go from the other side.
create index asset_scores_asset_id_idx on portfolio.asset_scores (asset_id);
create index asset_scores_criteria_version_id_idx on portfolio.asset_scores (criteria_version_id);

create table portfolio.score_history (
    id bigint generated by default as identity primary key,
    user_id uuid not null references portfolio.users (id) on delete cascade,
    asset_id uuid not null references portfolio.assets (id) on delete cascade,
    score numeric not null,
    breakdown jsonb not null,
    criteria_version_id uuid not null references portfolio.criteria_versions (id),
    correlation_id uuid,
    computed_at timestamptz not null,
    constraint score_history_breakdown_is_array check (jsonb_typeof(breakdown) = 'array')
);
comment on table portfolio.score_history is
    'Every score ever computed, append-only (UPDATE and DELETE refused). Also the audit''s way from an asset to '
    'the calculations that touched it: (user_id, asset_id) → correlation_id → calculation_events. '
    'Removing a user or an asset cascades here: the one delete the table allows (GDPR erasure).';
create index score_history_user_asset_computed_idx on portfolio.score_history (user_id, asset_id, computed_at desc);
create index score_history_asset_id_idx on portfolio.score_history (asset_id);
create index score_history_criteria_version_id_idx on portfolio.score_history (criteria_version_id);

create table portfolio.recommendations (
    id uuid primary key default gen_random_uuid(),
    user_id uuid not null references portfolio.users (id) on delete cascade,
    job_run_id uuid references portfolio.overnight_job_runs (id) on delete set null,
    criteria_version_id uuid not null references portfolio.criteria_versions (id),
    asset_class text not null,
    asset_id uuid references portfolio.assets (id) on delete cascade,
    amount numeric not null,
    currency char(3) not null,
    allocation_gap numeric not null,
    breakdown jsonb not null default '{}',
    created_at timestamptz not null default now(),
    constraint recommendations_amount_is_valid check (amount >= 0),
    constraint recommendations_currency_is_valid check (currency ~ '^[A-Z]{3}$'),
    constraint recommendations_breakdown_is_object check (jsonb_typeof(breakdown) = 'object')
);
comment on table portfolio.recommendations is
    'What to buy with the default contribution: per asset class below target, then per asset by score. Kept per run '
    '(job_run_id), so the newest run''s rows are the current recommendations.';
comment on column portfolio.recommendations.amount is 'In currency (the user''s base currency at the time).';
comment on column portfolio.recommendations.allocation_gap is
    'target_min minus the class''s current share, in percentage points of the portfolio value (base currency).';
comment on column portfolio.recommendations.breakdown is '{criteriaCount, topContributor: {metric, points}, score}.';
create index recommendations_user_created_idx on portfolio.recommendations (user_id, created_at desc);
create index recommendations_job_run_id_idx on portfolio.recommendations (job_run_id);
create index recommendations_criteria_version_id_idx on portfolio.recommendations (criteria_version_id);
create index recommendations_asset_id_idx on portfolio.recommendations (asset_id);

-- The audit log. Partitioned by month on created_at: retention (2 years) drops whole
-- partitions, which neither rewrites the table nor fires the row triggers that make the log
-- append-only. The partition key must be part of the primary key, hence (id, created_at).
create table portfolio.calculation_events (
    id uuid not null default gen_random_uuid(),
    correlation_id uuid not null,
    user_id uuid not null,
    event_type text not null,
    payload jsonb not null default '{}',
    created_at timestamptz not null default clock_timestamp(),
    primary key (id, created_at),
    constraint calculation_events_event_type_is_valid check (
        event_type in ('CALC_STARTED', 'INPUTS_CAPTURED', 'SCORES_COMPUTED', 'CALC_COMPLETED', 'CALC_FAILED')),
    constraint calculation_events_payload_is_object check (jsonb_typeof(payload) = 'object')
) partition by range (created_at);
comment on table portfolio.calculation_events is
    'Event-sourced audit of every user calculation: CALC_STARTED, INPUTS_CAPTURED, SCORES_COMPUTED, CALC_COMPLETED '
    '(or CALC_FAILED), one correlation id per run. Append-only; monthly partitions, 2 years kept '
    '(prune_calculation_events drops older partitions).';
comment on column portfolio.calculation_events.user_id is
    'No foreign key: the log outlives what it describes, and a foreign key would cost every insert a lookup.';
comment on column portfolio.calculation_events.created_at is
    'clock_timestamp, not now(): the four events of a user written in one transaction keep their order.';
-- A run's events (the job's own checks, the Swift tests) and a user's history (the audit API).
create index calculation_events_correlation_idx on portfolio.calculation_events (correlation_id, user_id);
create index calculation_events_user_created_idx on portfolio.calculation_events (user_id, created_at desc);

-- Append-only: the row triggers below refuse UPDATE and DELETE, a statement trigger refuses
-- TRUNCATE. Retention drops partitions (DDL, no triggers); the owner can still disable the
-- triggers deliberately (alter table … disable trigger), which leaves a trace in the DDL.
create function portfolio._refuse_change()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
    -- Named after the partitioned table, not the partition the row happens to be in.
    raise exception '% is append-only: % refused', coalesce(pg_partition_root(tg_relid), tg_relid)::regclass::text, tg_op
        using errcode = 'NSP01',
              hint = coalesce(tg_argv[0], 'The table only grows.');
end
$$;
comment on function portfolio._refuse_change() is
    'Trigger: refuses UPDATE, DELETE and TRUNCATE on append-only tables (NSP01); the trigger''s first argument is the hint.';

create trigger calculation_events_append_only
    before update or delete on portfolio.calculation_events
    for each row execute function portfolio._refuse_change('Old calculation events go by month: portfolio.prune_calculation_events.');
create trigger calculation_events_no_truncate
    before truncate on portfolio.calculation_events
    for each statement execute function portfolio._refuse_change('Old calculation events go by month: portfolio.prune_calculation_events.');
-- score_history: UPDATE is refused always; DELETE only when it is not the cascade of a user or
-- asset being removed (pg_trigger_depth() > 1 inside the cascade's own trigger).
create trigger score_history_append_only_update
    before update on portfolio.score_history
    for each row execute function portfolio._refuse_change();
create trigger score_history_append_only_delete
    before delete on portfolio.score_history
    for each row when (pg_trigger_depth() < 1) execute function portfolio._refuse_change();
create trigger score_history_no_truncate
    before truncate on portfolio.score_history
    for each statement execute function portfolio._refuse_change();

-- Partitions. One per calendar month (UTC), named calculation_events_yYYYYmMM.
create function portfolio.ensure_calculation_event_partitions(p_from date default current_date, p_months integer default 3)
returns integer
language plpgsql
security definer
set search_path = ''
as $$
declare
    month_start date;
    created integer := 0;
    partition_name text;
begin
    if p_from is null or p_months is null or p_months < 1 or p_months > 120 then
        raise exception 'ensure_calculation_event_partitions needs a date and 1..120 months, got %, %',
            coalesce(p_from::text, 'null'), coalesce(p_months::text, 'null')
            using errcode = 'invalid_parameter_value';
    end if;
    for i in 0 .. p_months - 1 loop
        month_start := (date_trunc('month', p_from) + make_interval(months => i))::date;
        partition_name := 'calculation_events_' || to_char(month_start, '"y"YYYY"m"MM');
        if to_regclass('portfolio.' || partition_name) is null then
            execute format(
                'create table portfolio.%I partition of portfolio.calculation_events for values from (%L) to (%L)',
                partition_name,
                (month_start::timestamp at time zone 'UTC'),
                ((month_start + interval '1 month')::timestamp at time zone 'UTC'));
            -- Row triggers are cloned onto partitions, TRUNCATE triggers are not.
            execute format(
                'create trigger calculation_events_no_truncate before truncate on portfolio.%I '
                'for each statement execute function portfolio._refuse_change(%L)',
                partition_name, 'Old calculation events go by month: portfolio.prune_calculation_events.');
            created := created + 1;
        end if;
    end loop;
    return created;
end
$$;
comment on function portfolio.ensure_calculation_event_partitions(date, integer) is
    'Creates the missing monthly partitions of calculation_events for p_months months from p_from''s month (UTC); '
    'returns how many it created. The overnight job calls it at setup, so the month ahead always exists.';

create function portfolio.prune_calculation_events(p_keep interval default interval '2 years', p_now timestamptz default now())
returns integer
language plpgsql
security definer
set search_path = ''
as $$
declare
    part record;
    dropped integer := 0;
begin
    if p_keep is null or p_keep < interval '1 month' then
        raise exception 'prune_calculation_events keeps at least a month, got %', coalesce(p_keep::text, 'null')
            using errcode = 'invalid_parameter_value';
    end if;
    -- A partition goes when its upper bound is at or before the cutoff: every row in it is older.
    for part in
        select c.oid::regclass as rel, c.relname
        from pg_inherits i
        join pg_class c on c.oid = i.inhrelid
        where i.inhparent = 'portfolio.calculation_events'::regclass
          and (regexp_match(pg_get_expr(c.relpartbound, c.oid), 'TO \(''([^'']+)''\)'))[1]::timestamptz <= p_now - p_keep
    loop
        execute format('drop table %s', part.rel);
        dropped := dropped + 1;
    end loop;
    return dropped;
end
$$;
comment on function portfolio.prune_calculation_events(interval, timestamptz) is
    'Retention of the audit log: drops every monthly partition of calculation_events whose rows are all older '
    'than p_keep (default 2 years) at p_now; returns how many it dropped. Dropping is the only way rows leave.';

-- The month before (late writers around midnight UTC of the 1st), this one and two ahead.
do $$ begin perform portfolio.ensure_calculation_event_partitions((current_date - interval '1 month')::date, 4); end $$;

-- Grants, as for the other packs (0024): nightshift_service reads every table and calls the
-- public functions, which run as their owner; helpers (_*) are for the owner only; anon and
-- authenticated get nothing.
revoke all on schema portfolio from public;
grant usage on schema portfolio to nightshift_service;

revoke all on all functions in schema portfolio from public;
revoke all on all tables in schema portfolio from public;
revoke all on all sequences in schema portfolio from public;
alter default privileges in schema portfolio revoke execute on functions from public;
-- Partitions created later (ensure_calculation_event_partitions runs as the owner) are read
-- through the parent, which is granted below; no default privilege is needed for them.

grant execute on function
    portfolio.ensure_calculation_event_partitions(date, integer),
    portfolio.prune_calculation_events(interval, timestamptz)
to nightshift_service;

grant select on
    portfolio.users,
    portfolio.markets,
    portfolio.user_markets,
    portfolio.assets,
    portfolio.asset_metrics,
    portfolio.portfolios,
    portfolio.holdings,
    portfolio.allocation_targets,
    portfolio.criteria_versions,
    portfolio.prices,
    portfolio.exchange_rates,
    portfolio.overnight_job_runs,
    portfolio.asset_scores,
    portfolio.score_history,
    portfolio.recommendations,
    portfolio.calculation_events
to nightshift_service;
