-- bench/coldstart: each pack job's SQL and the notification path, as one psql script per
-- job (selected with -v job=NAME). Every run is one transaction, rolled back, so each run does
-- the same work on the same data; it prints the job's milliseconds (clock_timestamp around the
-- job's statements, inside the transaction) and nothing else.
--   psql "$DB" -X -q -At -v ON_ERROR_STOP=1 -v job=notify_send -v n=2000 -f bench/coldstart/jobs.sql
\set ON_ERROR_STOP on
set client_min_messages = warning;
\if :{?n}
\else
    \set n 2000
\endif

\set is_notify 0
\set is_overdue 0
\set is_health 0
\set is_coverage 0
\set is_portfolio 0
\set is_digests 0
\set is_digests_seed 0
select :'job' = 'notify_send' as is_notify, :'job' = 'detect_overdue' as is_overdue, :'job' = 'refresh_health' as is_health,
       :'job' = 'coverage_recompute' as is_coverage, :'job' = 'portfolio_scoring' as is_portfolio,
       :'job' = 'digests' as is_digests, :'job' = 'digests_seed' as is_digests_seed \gset

\if :is_digests_seed
    -- Not timed (run.sh runs it in its own session before each digests night): the day the
    -- digests carry. :n users of the dossier pack each have 3 overdue notifications held back
    -- by a cap of 0 today, in the pack's zone, through notify.send as the overdue sweep sends
    -- them; the inbox gets nothing. Then the cap nobody reaches again, and notify.suppressed
    -- analyzed (the seed analyzes what it loads): the tables the digests write, notifications
    -- and deliveries, keep whatever statistics the night before left them.
    select notify.configure(0, array['bench']);
    select count(*) filter (where s.outcome = 'suppressed') as held_back
    from generate_series(1, :n::integer) g
    cross join generate_series(1, 3) k
    cross join lateral notify.send(
        md5(format('coldstart-digest-user:%s:%s', :night::int, g))::uuid, format('Commitment %s-%s is overdue', g, k),
        'Overdue', jsonb_build_object('type', 'dossier.commitment_overdue', 'n', g),
        format('coldstart-digest:%s:%s:%s', :night::int, g, k), (select s.time_zone from dossier.settings s)) as s \gset
    select notify.configure(1000000, array['bench']);
    analyze notify.suppressed, notify.daily_counts;
    select :held_back;
    \quit
\endif

\if :is_overdue
    -- The moment whose day puts about :n open commitments past due (as bench/dossier picks it);
    -- the nights before marked the earlier ones overdue, so each night about :n more.
    with days as (
        select due_date, sum(count(*)) over (order by due_date) as cumulative
        from dossier.commitments where status in ('pending', 'in_progress') group by due_date
    ), chosen as (
        select due_date from days where cumulative >= :n::bigint
        union all select max(due_date) from days
        order by 1 limit 1
    )
    select (((c.due_date + 1)::timestamp + interval '12 hours') at time zone s.time_zone)::text as as_of
    from chosen c cross join dossier.settings s \gset
\endif

\if :is_portfolio
    -- The providers' answers, made up from the seeded assets: every currency at a fixed rate,
    -- every asset at a price derived from its id.
    select jsonb_build_object('base', 'USD', 'date', current_date::text,
               'rates', (select jsonb_object_agg(c, 1 + length(c)) from (select distinct currency::text as c from portfolio.assets
                                                                          union select distinct base_currency::text from portfolio.users) x
                         where c <> 'USD'))::text as rates_body \gset
\endif

begin;
select extract(epoch from clock_timestamp()) as t0 \gset

\if :is_notify
    -- bench/dossier's notification round: :n sends to as many users, in one statement.
    select count(*) filter (where s.outcome = 'sent') as sent
    from generate_series(1, :n::integer) g
    cross join lateral notify.send(
        md5(format('coldstart-user:%s:%s', :night::int, g))::uuid, 'Bench notification ' || g, format('Notification %s', g),
        jsonb_build_object('n', g), format('coldstart:%s:%s', :night::int, g)) as s \gset
\elif :is_digests
    -- dossier/send-held-back-digests the next day: :n digests (notify.held_back, then
    -- notify.send_digest per user) into the inbox, in one statement.
    select dossier.send_held_back_digests(now() + interval '1 day')::text as result \gset
\elif :is_overdue
    select dossier.detect_overdue_commitments(false, :'as_of'::timestamptz)::text as result \gset
\elif :is_health
    -- dossier/refresh-health-scores: both views, every stale score (stale after 0: all of them;
    -- night 1 scores every dossier for the first time), the freshness rate.
    select dossier.refresh_engagement_stats()::text as v1 \gset
    select dossier.refresh_commitment_stats()::text as v2 \gset
    select dossier.recalculate_stale_scores(interval '0')::text as result \gset
    select dossier.freshness_rate() as rate \gset
\elif :is_coverage
    -- coverage/nightly-recompute: every active institution, one call each (one transaction here).
    select count(coverage.process_institution(i.id)) as processed from coverage.active_institutions() i \gset
    select coverage.record_job_run(now(), clock_timestamp(), :processed::int, 0, 0, 0, '[]'::jsonb, null)::text as row_id \gset
\elif :is_portfolio
    -- portfolio/overnight-scoring: setup, rates, users, prices, batches of 50, finalize.
    select job_run_id from portfolio.start_overnight_run(null) \gset
    select as_of from portfolio.store_rates(:'job_run_id', :'rates_body'::jsonb, 'coldstart') \gset
    select jsonb_build_object('prices', coalesce(jsonb_agg(jsonb_build_object(
               'symbol', p.market_code || ':' || p.symbol,
               'price', (10 + abs(hashtext(p.symbol)) % 500)::text,
               'currency', a.currency, 'asOf', to_char(now() at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'))), '[]'))::text as prices_body
    from portfolio.assets_to_price(:'job_run_id') p
    join portfolio.assets a on a.market_code = p.market_code and a.symbol = p.symbol \gset
    select portfolio.store_prices(:'job_run_id', :'prices_body'::jsonb, 'coldstart') as priced \gset
    select count(*) filter (where not s.failed) as scored
    from (select array_agg(u order by u) as ids
          from (select u, (row_number() over (order by u) - 1) / 50 as b from portfolio.active_users() u) x group by b) batches
    cross join lateral portfolio.score_users(:'job_run_id', batches.ids) s \gset
    select portfolio.finalize_overnight_run(:'job_run_id', :scored::int, 0, '[]'::jsonb, '{}'::jsonb) as status \gset
\endif

select round(((extract(epoch from clock_timestamp()) - :t0) * 1000)::numeric, 1);
\if :is_digests
    -- A night that sent fewer digests measured something else: fail the run.
    select (:'result'::jsonb ->> 'digestsSent')::integer = :n::integer as sent_all \gset
    \if :sent_all
    \else
        do $$ begin raise exception 'bench/coldstart digests: not every user got a digest'; end $$;
    \endif
\endif
commit;
