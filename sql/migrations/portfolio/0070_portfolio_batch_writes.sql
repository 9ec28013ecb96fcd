-- Portfolio pack: the overnight batch's writes and its checkpoint (issue 16, point 4).
--
--   score_history.breakdown        nullable: score_users leaves it null, the calculation's
--                                  SCORES_COMPUTED event holds the same breakdown (stored once)
--   portfolio.asset_calculations   a history row without a breakdown takes its event's
--   recommendations_job_run_id_idx dropped: recommendations_job_run_user_idx (0034) leads with
--                                  job_run_id and serves every reader and the foreign key
--   portfolio.overnight_run_users  the run's users, numbered into batches once per run
--   portfolio.snapshot_run_users(job_run, batch_size, user_ids, market, run_at)
--                                  takes that snapshot (the job's list-users step)
--   portfolio.score_run_batch(job_run, batch)
--                                  score_users over one batch of the snapshot (a score-batch step)
--   portfolio._score_problems      each held asset's snapshot price looked up once
--   criteria_version_id            asset_scores, score_history and recommendations: no foreign key
--                                  and no index; criteria_versions_in_use refuses deleting a
--                                  version they name (23503), the user's removal still cascades
--
-- Each breakdown was written three times per user and asset and night: asset_scores (the
-- current score), score_history and the user's SCORES_COMPUTED event; the two append-only
-- copies were identical, about 80 % of a history row. asset_scores keeps its own (it is
-- rewritten every night, the tests and the audit read it). The job's run used to checkpoint the
-- whole list of user ids (3.9 MB of JSON at 97,000 users, decoded again by every resumed
-- attempt); the list now lives in a table keyed by the run, and the checkpoints hold counts.

alter table portfolio.score_history alter column breakdown drop not null;
comment on column portfolio.score_history.breakdown is
    'The breakdown when written by hand or before 0070; null for the rows score_users writes: the same breakdown is in '
    'the calculation''s SCORES_COMPUTED event (correlation_id, user_id), which portfolio.asset_calculations reads. '
    'Kept as long as the audit log keeps the event (2 years).';

-- The composite index (job_run_id, user_id) answers everything this one did.
drop index portfolio.recommendations_job_run_id_idx;

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
    -- The history row without its breakdown: the same breakdown is in this calculation's
    -- SCORES_COMPUTED event (asset_calculations reads it from there), so it is stored once.
    write_history as (
        insert into portfolio.score_history (user_id, asset_id, score, breakdown, criteria_version_id, correlation_id, computed_at)
        select sc.user_id, sc.asset_id, sc.score, null, b.criteria_version_id, p_correlation_id, v_started_at
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
$$;comment on function portfolio._score_batch(uuid, uuid, uuid[], jsonb) is
    'score_users'' set-based core: scores every user of p_user_ids (the caller has excluded those _score_problems '
    'refuses) in one statement and returns (user_id, assets_scored). Any error raises for the whole batch. '
    'INPUTS_CAPTURED''s price of an asset whose snapshot price is stale carries "stale": true; CALC_COMPLETED carries '
    '{correlationId, duration and durationMs (the user''s share of the batch''s time, by assets scored), assetCount, '
    'batchDurationMs, batchUsers}. score_history rows get no breakdown (since 0070): SCORES_COMPUTED has it.';

create or replace function portfolio.asset_calculations(
    p_user_id uuid, p_asset_id uuid, p_limit integer default 20, p_before timestamptz default null)
returns jsonb
language plpgsql
stable
security definer
set search_path = ''
as $$
declare
    v_asset text := p_asset_id::text;
    v_result jsonb;
begin
    if p_asset_id is null then
        raise exception 'asset_id: required' using errcode = 'invalid_parameter_value';
    end if;
    if p_limit is null or p_limit < 1 or p_limit > 100 then
        raise exception 'limit: must be between 1 and 100, got %', coalesce(p_limit::text, 'null')
            using errcode = 'invalid_parameter_value';
    end if;
    perform portfolio._require_user(p_user_id);

    with page as (
        -- One more than asked: whether there is a next page.
        select sh.*
        from portfolio.score_history sh
        where sh.user_id = p_user_id and sh.asset_id = p_asset_id
          and sh.computed_at < coalesce(p_before, 'infinity')
        order by sh.computed_at desc, sh.id desc
        limit p_limit + 1
    ), numbered as (
        select p.*, row_number() over (order by p.computed_at desc, p.id desc) as n from page p
    ), calcs as (
        select n.n, n.computed_at,
               jsonb_build_object(
                   'correlationId', n.correlation_id,
                   'jobRunId', j.id,
                   'computedAt', n.computed_at,
                   'score', n.score::text,
                   'breakdown', coalesce(n.breakdown, sc.breakdown),
                   'criteriaVersionId', n.criteria_version_id,
                   'criteriaVersion', cv.version,
                   'events', coalesce(ev.list, '[]')) as calc
        from numbered n
        left join portfolio.overnight_job_runs j on j.correlation_id = n.correlation_id
        left join portfolio.criteria_versions cv on cv.id = n.criteria_version_id
        left join lateral (
            -- A row score_users wrote (since 0070) has no breakdown of its own: it is this asset's
            -- entry of the calculation's SCORES_COMPUTED, the first of the user's in the run at or
            -- after computed_at (a batch scored again in one run writes a second pair).
            select x.value -> 'breakdown' as breakdown
            from (select e.payload
                  from portfolio.calculation_events e
                  where n.breakdown is null and e.correlation_id = n.correlation_id and e.user_id = p_user_id
                    and e.event_type = 'SCORES_COMPUTED' and e.created_at >= n.computed_at
                  order by e.created_at
                  limit 1) s
            cross join lateral jsonb_array_elements(s.payload -> 'results') x
            where x.value ->> 'assetId' = v_asset
            limit 1) sc on true
        left join lateral (
            -- The user's events of that calculation, trimmed to this asset's own entries.
            select jsonb_agg(jsonb_build_object(
                       'type', e.event_type, 'createdAt', e.created_at,
                       'payload', case e.event_type
                           when 'INPUTS_CAPTURED' then e.payload
                               || case when e.payload ? 'prices' then jsonb_build_object('prices',
                                      case when e.payload -> 'prices' ? v_asset
                                           then jsonb_build_object(v_asset, e.payload -> 'prices' -> v_asset)
                                           else '{}'::jsonb end) else '{}'::jsonb end
                               || case when e.payload ? 'assetIds' then jsonb_build_object('assetIds',
                                      case when e.payload -> 'assetIds' @> jsonb_build_array(v_asset)
                                           then jsonb_build_array(v_asset) else '[]'::jsonb end) else '{}'::jsonb end
                           when 'SCORES_COMPUTED' then e.payload
                               || case when jsonb_typeof(e.payload -> 'results') = 'array' then jsonb_build_object('results',
                                      (select coalesce(jsonb_agg(x.value), '[]') from jsonb_array_elements(e.payload -> 'results') x
                                       where x.value ->> 'assetId' = v_asset)) else '{}'::jsonb end
                           else e.payload end)
                       order by e.created_at, e.id) as list
            from portfolio.calculation_events e
            where e.correlation_id = n.correlation_id and e.user_id = p_user_id) ev on true
        where n.n <= p_limit
    )
    select jsonb_build_object(
               'calculations', coalesce(jsonb_agg(c.calc order by c.n), '[]'),
               'nextBefore', case when (select count(*) from page) > p_limit then to_jsonb(max(c.computed_at) filter (where c.n = p_limit)) end)
    into v_result
    from calcs c;
    return v_result;
end
$$;comment on function portfolio.asset_calculations(uuid, uuid, integer, timestamptz) is
$doc$Every calculation touching the asset for the user (GET /api/v1/audit/assets/<assetId>/calculations), newest first:
  {"calculations": [{"correlationId", "jobRunId", "computedAt", "score": "15.5", "breakdown": [...],
                     "criteriaVersionId", "criteriaVersion": 2,
                     "events": [{"type": "CALC_STARTED", "createdAt", "payload": {...}}, ...]}],
   "nextBefore": "<computedAt of the last calculation>" | null}
One calculation per score_history row of (p_user_id, p_asset_id) with computed_at before p_before (null: the newest),
ordered by computed_at descending, at most p_limit (default 20, 1..100). nextBefore is the computedAt of the page's
last calculation when more follow (pass it as p_before for the next page), null on the last page. breakdown is the
row's own, or for a row without one (score_users since 0070) the asset's entry in the calculation's SCORES_COMPUTED
(the user's first in that run at or after computedAt); null when neither exists (the event pruned after 2 years).
Events: the calculation_events of the row's correlation id and of this user only, in order; INPUTS_CAPTURED's prices
and assetIds and SCORES_COMPUTED's results are trimmed to this asset's entries, the rest of each payload is as stored.
jobRunId is null when no overnight run has that correlation id. Only the user's own rows are read: another user's
calculations of the same asset never appear. An unknown asset (or one the user never had scored) gives an empty list.
Errors: 22023 naming asset_id (null), limit (outside 1..100) or user_id (null); NSP02 unknown user.$doc$;

-- The run's users.

create table portfolio.overnight_run_users (
    job_run_id uuid not null references portfolio.overnight_job_runs (id) on delete cascade,
    batch integer not null,
    user_id uuid not null,
    primary key (job_run_id, batch, user_id),
    constraint overnight_run_users_batch_is_valid check (batch >= 0)
);
comment on table portfolio.overnight_run_users is
    'The users an overnight run scores, taken once when it starts (snapshot_run_users) and numbered into batches: a '
    'resumed run scores exactly these, batch by batch, whoever joined or left since. No foreign key to users: a user '
    'deleted meanwhile fails alone in score_users (NSP02). A run''s rows go when the next run takes its snapshot.';
comment on column portfolio.overnight_run_users.batch is
    '0, 1, …: the users in id order, batch_size of them per batch (the last one may be smaller).';

create function portfolio.snapshot_run_users(
    p_job_run_id uuid, p_batch_size integer, p_user_ids uuid[] default null, p_market text default null,
    p_run_at timestamptz default null)
returns table (users integer, batches integer, markets text[])
language plpgsql
security definer
set search_path = ''
as $$
#variable_conflict use_column
declare
    v_run portfolio.overnight_job_runs;
begin
    if p_batch_size is null or p_batch_size < 1 then
        raise exception 'batch_size: must be at least 1, got %', coalesce(p_batch_size::text, 'null')
            using errcode = 'invalid_parameter_value';
    end if;
    if p_user_ids is not null and pg_catalog.array_position(p_user_ids, null) is not null then
        raise exception 'user_ids: must be an array of user ids without nulls' using errcode = 'invalid_parameter_value';
    end if;
    -- Two callers for one run (a step replayed while the first attempt still runs) take turns
    -- here, so the second finds the first's snapshot instead of adding a second one.
    v_run := portfolio._job_run(p_job_run_id, true);

    if not exists (select from portfolio.overnight_run_users s where s.job_run_id = p_job_run_id) then
        -- Finished runs' snapshots are no longer needed (their batches are checkpointed).
        delete from portfolio.overnight_run_users s
        using portfolio.overnight_job_runs r
        where r.id = s.job_run_id and r.status <> 'started';

        insert into portfolio.overnight_run_users (job_run_id, batch, user_id)
        select p_job_run_id, ((pg_catalog.row_number() over (order by u.id) - 1) / p_batch_size)::integer, u.id
        from (
            select distinct i.id from pg_catalog.unnest(p_user_ids) i (id) where p_user_ids is not null
            union all
            select m.id from portfolio.market_users(p_market, coalesce(p_run_at, pg_catalog.now())) m (id)
            where p_user_ids is null and p_market is not null
            union all
            select a.id from portfolio.active_users() a (id)
            where p_user_ids is null and p_market is null
        ) u;
    end if;

    return query
        select pg_catalog.count(*)::integer, coalesce(max(s.batch) + 1, 0)::integer,
               case when p_market is not null then array[p_market]
                    else coalesce((select pg_catalog.array_agg(distinct um.market_code order by um.market_code)
                                   from portfolio.user_markets um
                                   join portfolio.overnight_run_users x on x.user_id = um.user_id and x.job_run_id = p_job_run_id),
                                  '{}') end
        from portfolio.overnight_run_users s
        where s.job_run_id = p_job_run_id;
end
$$;
comment on function portfolio.snapshot_run_users(uuid, integer, uuid[], text, timestamptz) is
$doc$List-users step of portfolio/overnight-scoring: stores who job run p_job_run_id scores in overnight_run_users,
numbered into batches of p_batch_size in id order: p_user_ids (each once) when given, else the users of market p_market
at p_run_at (portfolio.market_users; run_at default now), else every active user (portfolio.active_users). Once per
run: a second call returns the first call's snapshot whatever its arguments. Deletes the snapshots of finished runs.
Returns (users, batches, markets): how many users, how many batches (0 when none), and the run's target markets
(p_market alone, else the distinct user_markets of its users, sorted).
Errors: 22023 naming batch_size (below 1), user_ids (a null element) or market (unknown); NSP04 unknown job run.$doc$;

create function portfolio.score_run_batch(p_job_run_id uuid, p_batch integer)
returns table (user_id uuid, assets_scored integer, failed boolean, sqlstate text, message text)
language plpgsql
security definer
set search_path = ''
as $$
begin
    if p_batch is null or p_batch < 0 then
        raise exception 'batch: must be 0 or more, got %', coalesce(p_batch::text, 'null') using errcode = 'invalid_parameter_value';
    end if;
    return query
        select * from portfolio.score_users(p_job_run_id, array(
            select s.user_id from portfolio.overnight_run_users s
            where s.job_run_id = p_job_run_id and s.batch = p_batch
            order by s.user_id));
end
$$;
comment on function portfolio.score_run_batch(uuid, integer) is
    'Score-batch step: portfolio.score_users over batch p_batch of the run''s snapshot (snapshot_run_users), users in '
    'id order; a batch the snapshot does not have scores nobody (no rows). Errors: those of score_users; 22023 naming '
    'batch (null or negative).';

revoke all on portfolio.overnight_run_users from public;
grant select on portfolio.overnight_run_users to nightshift_service;
revoke all on function
    portfolio.snapshot_run_users(uuid, integer, uuid[], text, timestamptz),
    portfolio.score_run_batch(uuid, integer)
from public;
grant execute on function
    portfolio.snapshot_run_users(uuid, integer, uuid[], text, timestamptz),
    portfolio.score_run_batch(uuid, integer)
to nightshift_service;

-- The batch's problems with one lookup of each held asset's snapshot price (it was two), and the
-- asset's row (for the message) only for the held assets that have a problem.
create or replace function portfolio._score_problems(p_job_run_id uuid, p_user_ids uuid[])
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
        -- Each held asset with its snapshot price's currency (null: the snapshot has no price).
        select p.user_id, h.asset_id, jp.currency
        from ids i
        join portfolio.portfolios p on p.user_id = i.id
        join portfolio.holdings h on h.portfolio_id = p.id
        left join portfolio.job_run_prices jp on jp.job_run_id = p_job_run_id and jp.asset_id = h.asset_id
        where h.quantity > 0
    ),
    rates as (
        select r.quote from portfolio.job_run_rates r where r.job_run_id = p_job_run_id
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
        where h.currency is null
        union all
        select u.id, 4, u.base_currency, 'NSP03',
               pg_catalog.format('user %s: no exchange rate for %s (%s) in job run %s''s snapshot',
                                 u.id, u.base_currency, 'the base currency', p_job_run_id)
        from ids i
        join portfolio.users u on u.id = i.id
        where not exists (select 1 from rates r where r.quote = u.base_currency)
        union all
        select h.user_id, 4, h.currency, 'NSP03',
               pg_catalog.format('user %s: no exchange rate for %s (%s) in job run %s''s snapshot',
                                 h.user_id, h.currency, pg_catalog.format('the price of %s:%s', a.market_code, a.symbol), p_job_run_id)
        from held h
        join portfolio.assets a on a.id = h.asset_id
        where h.currency is not null
          and not exists (select 1 from rates r where r.quote = h.currency)
    )
    select distinct on (p.user_id) p.user_id, p.sqlstate, p.message
    from problems p
    order by p.user_id, p.kind, p.sort_key
$$;

-- The criteria version a score or recommendation was computed with: checked where versions are
-- deleted (rare: a user's erasure, or by hand) instead of on every row the batch writes. The
-- foreign keys cost each written row a lookup and a row lock (three per scored asset with
-- asset_scores and score_history) and each table an index that only the delete side read.
-- score_users takes the version from criteria_versions in the same statement, and a version
-- goes only with its user (whose row the user_id foreign keys lock for the batch) or through the
-- guard below, so no score names a missing version.
alter table portfolio.asset_scores drop constraint asset_scores_criteria_version_id_fkey;
alter table portfolio.score_history drop constraint score_history_criteria_version_id_fkey;
alter table portfolio.recommendations drop constraint recommendations_criteria_version_id_fkey;
drop index portfolio.asset_scores_criteria_version_id_idx;
drop index portfolio.score_history_criteria_version_id_idx;
drop index portfolio.recommendations_criteria_version_id_idx;

create function portfolio._criteria_version_in_use()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
    -- Inside the cascade of the user's own removal (depth > 1) their scores go too.
    if pg_catalog.pg_trigger_depth() > 1 then
        return old;
    end if;
    -- A user's scores and recommendations name the user's own versions: the user_id indexes
    -- find them (asset_scores_pkey, score_history_user_asset_computed_idx,
    -- recommendations_user_created_idx).
    if exists (select from portfolio.asset_scores s where s.user_id = old.user_id and s.criteria_version_id = old.id)
       or exists (select from portfolio.score_history h where h.user_id = old.user_id and h.criteria_version_id = old.id)
       or exists (select from portfolio.recommendations r where r.user_id = old.user_id and r.criteria_version_id = old.id) then
        raise exception 'criteria version % (user %, version %) is referenced by scores or recommendations', old.id, old.user_id, old.version
            using errcode = 'foreign_key_violation', hint = 'Save a new version instead; removing the user removes both.';
    end if;
    return old;
end
$$;
comment on function portfolio._criteria_version_in_use() is
    'Trigger: refuses deleting a criteria version that asset_scores, score_history or recommendations of its user name '
    '(23503), as the foreign keys before 0070 did; the cascade of the user''s removal passes.';
create trigger criteria_versions_in_use
    before delete on portfolio.criteria_versions
    for each row execute function portfolio._criteria_version_in_use();
revoke all on function portfolio._criteria_version_in_use() from public;
