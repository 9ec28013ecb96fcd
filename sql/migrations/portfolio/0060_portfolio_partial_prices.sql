-- Portfolio pack: partial results when prices fail (issue 15, point 2), and what each user's
-- CALC_COMPLETED and INPUTS_CAPTURED say about it (point 5).
--
--   portfolio.reuse_last_prices(job_run, symbols, problem)  fetch prices, a batch the provider never
--                                                            answered: the newest stored price of each
--                                                            symbol becomes the run's (stale)
--   portfolio.finalize_overnight_run(…)                      partial also when prices were stale; the
--                                                            run's reason (overnight_job_runs.reason)
--
-- "Price API rate limited → queue with backoff, partial results OK" (the tech spec's failure
-- modes): the job retries a price batch (the provider client's retries, then the run's own
-- attempts with the engine's backoff); on the run's last attempt a batch still unanswered is not
-- the end of the run: its assets are scored with their last stored price, marked stale with its
-- age, the run ends partial with the reason, and a user holding an asset that has no price at
-- all fails alone (score_users: P0002, recorded per user in error_details).

alter table portfolio.job_run_prices add column stale boolean not null default false;
comment on column portfolio.job_run_prices.stale is
    'True when the provider did not answer for this asset in the run: the price is the newest stored one '
    '(reuse_last_prices), as old as its as_of says.';

alter table portfolio.overnight_job_runs add column reason text;
comment on column portfolio.overnight_job_runs.reason is
    'Why the run is partial or failed, in words (finalize_overnight_run, fail_overnight_run); null when completed.';
comment on column portfolio.overnight_job_runs.status is
    'started until finalize; then completed, partial (some users failed, or some prices were stale: reason says '
    'which) or failed (every user failed, or the run gave up).';

create function portfolio.reuse_last_prices(p_job_run_id uuid, p_symbols text[], p_problem text)
returns table (reused integer, missing integer)
language plpgsql
security definer
set search_path = ''
as $$
#variable_conflict use_column
declare
    v_reused integer;
    v_missing integer;
begin
    perform portfolio._job_run(p_job_run_id, true);
    if p_symbols is null or pg_catalog.array_position(p_symbols, null) is not null then
        raise exception 'symbols: must be an array of MARKET:SYMBOL without nulls' using errcode = 'invalid_parameter_value';
    end if;
    if p_problem is null or pg_catalog.btrim(p_problem) = '' then
        raise exception 'problem: required (why the provider''s prices are missing)' using errcode = 'invalid_parameter_value';
    end if;

    -- The newest stored price of each asset asked (prices_asset_as_of_idx), whatever its source.
    -- A price this run already holds (a batch that did answer) is kept: fresh beats stale.
    insert into portfolio.job_run_prices (job_run_id, asset_id, price, currency, as_of, stale)
    select p_job_run_id, a.id, lp.price, lp.currency, lp.as_of, true
    from (select distinct s.symbol from pg_catalog.unnest(p_symbols) s (symbol)) s
    join portfolio.assets a
      on a.market_code = pg_catalog.split_part(s.symbol, ':', 1)
     and a.symbol = pg_catalog.substr(s.symbol, pg_catalog.strpos(s.symbol, ':') + 1)
    cross join lateral (
        select x.price, x.currency, x.as_of from portfolio.prices x
        where x.asset_id = a.id order by x.as_of desc, x.id desc limit 1) lp
    on conflict (job_run_id, asset_id) do nothing;
    get diagnostics v_reused = row_count;
    -- Asked, and still without any price in the snapshot (no stored price, or no such asset).
    select pg_catalog.count(distinct s.symbol) into v_missing
    from pg_catalog.unnest(p_symbols) s (symbol)
    where not exists (
        select from portfolio.assets a
        join portfolio.job_run_prices jp on jp.job_run_id = p_job_run_id and jp.asset_id = a.id
        where a.market_code = pg_catalog.split_part(s.symbol, ':', 1)
          and a.symbol = pg_catalog.substr(s.symbol, pg_catalog.strpos(s.symbol, ':') + 1));

    update portfolio.overnight_job_runs r
    set metrics = r.metrics || (
            select pg_catalog.jsonb_build_object(
                       'pricesStale', true,
                       'stalePrices', pg_catalog.count(*) filter (where jp.stale),
                       'stalePricesAsOf', portfolio._json_time(min(jp.as_of) filter (where jp.stale)),
                       'pricesAsOf', portfolio._json_time(min(jp.as_of)),
                       'pricesProblem', p_problem)
            from portfolio.job_run_prices jp where jp.job_run_id = p_job_run_id)
    where r.id = p_job_run_id;

    return query select v_reused, v_missing;
end
$$;
comment on function portfolio.reuse_last_prices(uuid, text[], text) is
$doc$Fetch-prices step, for a batch of symbols (MARKET:SYMBOL) the price provider did not answer after its retries
(p_problem says why): each symbol's newest stored price (portfolio.prices, any source) enters the run's snapshot
marked stale (job_run_prices.stale), unless the snapshot already has a price for it. Symbols with no stored price
(or no such asset) stay unpriced: a user holding one fails alone in score_users. Merges into the run's metrics
{"pricesStale": true, "stalePrices": <stale rows in the snapshot>, "stalePricesAsOf": <the oldest of them>,
"pricesAsOf": <the oldest price in the snapshot>, "pricesProblem": p_problem} (the job adds the run's
"pricesMissing" at finalize: the sum of the calls' missing). Returns (reused, missing): rows added, and symbols asked (each once) still without a price in the snapshot.
Errors: 22023 naming symbols (null, or a null element) or problem (empty); NSP04 unknown job run.$doc$;

create or replace function portfolio._score_batch(p_job_run_id uuid, p_correlation_id uuid, p_user_ids uuid[], p_rates jsonb)
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
                   pg_catalog.jsonb_object_agg(sc.asset_id::text, case when jp.stale
                       -- A reused price says so; a fresh one stays as it was (no extra key per
                       -- price of every user on a normal night).
                       then pg_catalog.jsonb_build_object(
                           'price', jp.price::text, 'currency', jp.currency, 'asOf', pt.as_of, 'stale', true)
                       else pg_catalog.jsonb_build_object('price', jp.price::text, 'currency', jp.currency, 'asOf', pt.as_of) end)
                       filter (where jp.asset_id is not null) as prices,
                   pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
                       'assetId', sc.asset_id, 'score', sc.score::text, 'breakdown', sc.breakdown)
                       order by sc.score desc, sc.asset_id) as results
            from scored sc
            left join portfolio.job_run_prices jp on jp.job_run_id = p_job_run_id and jp.asset_id = sc.asset_id
            -- portfolio._json_time, spelled out: a function with SET is not inlined, and this
            -- runs for every price of every user.
            cross join lateral (
                select pg_catalog.to_char(jp.as_of at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS')
                       || case when pg_catalog.date_part('microseconds', jp.as_of at time zone 'UTC')::bigint % 1000000 <> 0
                               then pg_catalog.to_char(jp.as_of at time zone 'UTC', '.US') else '' end || 'Z' as as_of
            ) pt
            group by sc.user_id
        ) x on x.user_id = b.user_id
    ),
    -- The batch's work, to give each user their share of its time (see CALC_COMPLETED).
    batch_work as (
        select sum(pu.assets_scored) as assets, pg_catalog.count(*) as users from per_user pu
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
        cross join batch_work w
        cross join lateral (
            select extract(epoch from f.at - v_started_at) * 1000 as batch_ms
        ) t
        cross join lateral (values
            (1, 'CALC_STARTED', pg_catalog.jsonb_build_object(
                'correlationId', p_correlation_id, 'userId', pu.user_id, 'timestamp', portfolio._json_time(v_started_at)),
             v_started_at),
            (2, 'INPUTS_CAPTURED', pg_catalog.jsonb_build_object(
                'criteriaVersionId', pu.criteria_version_id, 'criteria', pu.criteria, 'prices', pu.prices,
                'rates', p_rates, 'assetIds', pu.asset_ids),
             v_started_at + interval '1 microsecond'),
            (3, 'SCORES_COMPUTED', pg_catalog.jsonb_build_object('results', pu.results), f.at),
            -- The batch's users are scored by one statement, so no user has a clock of their
            -- own: a user's duration is the batch's time in proportion to the assets they had
            -- scored (equal shares when nobody had any), so the users' durations add up to the
            -- batch's. Timing each user alone would take a statement per user (issue 16).
            (4, 'CALC_COMPLETED', pg_catalog.jsonb_build_object(
                'correlationId', p_correlation_id,
                'duration', pg_catalog.round(t.batch_ms * case when w.assets > 0 then pu.assets_scored::numeric / w.assets
                                                               else 1.0 / w.users end)::bigint,
                'durationMs', pg_catalog.round(t.batch_ms * case when w.assets > 0 then pu.assets_scored::numeric / w.assets
                                                                 else 1.0 / w.users end)::bigint,
                'assetCount', pu.assets_scored,
                'batchDurationMs', pg_catalog.floor(t.batch_ms)::bigint,
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
    'refuses) in one statement and returns (user_id, assets_scored). Any error raises for the whole batch. '
    'INPUTS_CAPTURED''s price of an asset whose snapshot price is stale carries "stale": true; CALC_COMPLETED carries '
    '{correlationId, duration and durationMs (the user''s share of the batch''s time, by assets scored), assetCount, '
    'batchDurationMs, batchUsers}.';

create or replace function portfolio.finalize_overnight_run(
    p_job_run_id uuid, p_users_processed integer, p_users_failed integer, p_error_details jsonb, p_metrics jsonb)
returns text
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_run portfolio.overnight_job_runs;
    v_metrics jsonb;
    v_status text;
    v_reasons text[] := '{}';
begin
    v_run := portfolio._job_run(p_job_run_id, true);
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
    v_metrics := v_run.metrics || coalesce(p_metrics, '{}');

    if p_users_failed > 0 then
        v_reasons := v_reasons || pg_catalog.format('%s of %s users failed (error_details names each)',
                                                    p_users_failed, p_users_processed);
    end if;
    if v_metrics -> 'pricesStale' = 'true' then
        v_reasons := v_reasons || pg_catalog.format(
            'the price provider did not answer for %s assets (%s): their last stored prices were used, the oldest from %s%s',
            coalesce(v_metrics ->> 'stalePrices', '0'), coalesce(v_metrics ->> 'pricesProblem', 'no reason given'),
            coalesce(v_metrics ->> 'stalePricesAsOf', 'nowhere'),
            case when coalesce((v_metrics ->> 'pricesMissing')::integer, 0) > 0
                 then pg_catalog.format(', and %s had no stored price at all', v_metrics ->> 'pricesMissing') else '' end);
    end if;
    v_status := case when p_users_failed > 0 and p_users_failed >= p_users_processed then 'failed'
                     when pg_catalog.cardinality(v_reasons) > 0 then 'partial'
                     else 'completed' end;
    update portfolio.overnight_job_runs r
    set status = v_status,
        completed_at = coalesce(r.completed_at, pg_catalog.now()),
        users_processed = p_users_processed,
        users_failed = p_users_failed,
        error_details = coalesce(p_error_details, '[]'),
        metrics = v_metrics,
        reason = case when v_status = 'completed' then null else pg_catalog.array_to_string(v_reasons, '; ') end
    where r.id = p_job_run_id;
    return v_status;
end
$$;
comment on function portfolio.finalize_overnight_run(uuid, integer, integer, jsonb, jsonb) is
    'Finalize step: p_users_processed counts every user the run attempted, failures included; p_users_failed those '
    'that failed. Status: failed when every user processed failed (at least one); partial when some users failed or '
    'the run scored with stale prices (metrics.pricesStale, reuse_last_prices); completed otherwise (also when none '
    'were processed). reason says why in words for partial and failed ("2 of 40 users failed (error_details names '
    'each); the price provider did not answer for 12 assets (…): their last stored prices were used, the oldest from '
    '…"), null for completed. Stores the counts and p_error_details (a JSON array, null = []), merges p_metrics (a JSON '
    'object) into metrics, sets completed_at (kept from a first call). Returns the status. Idempotent: calling it '
    'again with the same arguments changes nothing. Errors: 22023 negative counts or malformed JSON, NSP04 unknown job run.';

-- Grants (as in 0032): the service role calls the public functions; helpers stay the owner's.
-- create or replace keeps the grants of _score_batch and finalize_overnight_run.
revoke all on function portfolio.reuse_last_prices(uuid, text[], text) from public;
grant execute on function portfolio.reuse_last_prices(uuid, text[], text) to nightshift_service;
