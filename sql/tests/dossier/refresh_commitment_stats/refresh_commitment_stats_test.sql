-- refresh_commitment_stats: the materialised view has the unique index CONCURRENTLY needs,
-- the refresh is concurrent and recorded, and its figures follow the definition.
set client_min_messages = warning;
create extension if not exists pgtap;
begin;
select plan(10);

select has_materialized_view('dossier', 'dossier_commitment_stats', 'the commitment statistics are a materialised view');
select index_is_unique('dossier', 'dossier_commitment_stats', 'dossier_commitment_stats_dossier_id_idx',
    'with a unique index (the one REFRESH … CONCURRENTLY needs)');
select is((select indpred is null and indexprs is null and indnatts = 1 from pg_index
           where indexrelid = 'dossier.dossier_commitment_stats_dossier_id_idx'::regclass),
    true, 'on the plain column dossier_id, without a predicate or an expression');
select matches(pg_get_functiondef('dossier.refresh_commitment_stats()'::regprocedure),
    'refresh materialized view concurrently dossier\.dossier_commitment_stats', 'the refresh is CONCURRENTLY');

truncate dossier.dossiers cascade;
create function pg_temp.id(p_n integer) returns uuid language sql
return ('00000000-0000-0000-0000-' || lpad(p_n::text, 12, '0'))::uuid;
create function pg_temp.today() returns date language sql return (now() at time zone 'Asia/Riyadh')::date;
create function pg_temp.at_10(p_day date) returns timestamptz language sql
return (p_day + time '10:00') at time zone 'Asia/Riyadh';

insert into dossier.dossiers (id, name, owner_id) values
    (pg_temp.id(1), 'Promising', gen_random_uuid()), (pg_temp.id(2), 'Nothing promised', gen_random_uuid());
insert into dossier.commitments (dossier_id, owner_id, description, due_date, status, completed_at) values
    (pg_temp.id(1), gen_random_uuid(), 'late, not swept yet', pg_temp.today() - 5, 'pending', null),
    (pg_temp.id(1), gen_random_uuid(), 'due soon', pg_temp.today() + 10, 'in_progress', null),
    (pg_temp.id(1), gen_random_uuid(), 'due later', pg_temp.today() + 40, 'pending', null),
    (pg_temp.id(1), gen_random_uuid(), 'on time', pg_temp.today() - 20, 'completed', pg_temp.at_10(pg_temp.today() - 21)),
    (pg_temp.id(1), gen_random_uuid(), 'on the day', pg_temp.today() - 22, 'completed', pg_temp.at_10(pg_temp.today() - 22)),
    (pg_temp.id(1), gen_random_uuid(), 'late', pg_temp.today() - 30, 'completed', pg_temp.at_10(pg_temp.today() - 25)),
    (pg_temp.id(1), gen_random_uuid(), 'missed', pg_temp.today() - 9, 'overdue', null),
    (pg_temp.id(1), gen_random_uuid(), 'dropped', pg_temp.today() - 3, 'cancelled', null);

select is(dossier.refresh_commitment_stats() - 'refreshedAt' - 'durationMs',
    '{"view": "dossier.dossier_commitment_stats", "rows": 2}'::jsonb, 'the refresh reports the view and its rows');
select results_eq(
    $$select total_commitments, pending, in_progress, completed, overdue, cancelled, past_due_open, due_next_30_days,
             next_due_date, completed_on_time, last_completed_at
      from dossier.dossier_commitment_stats where dossier_id = '00000000-0000-0000-0000-000000000001'$$,
    $$values (8::bigint, 2::bigint, 1::bigint, 3::bigint, 1::bigint, 1::bigint, 1::bigint, 1::bigint,
              pg_temp.today() + 10, 2::bigint, pg_temp.at_10(pg_temp.today() - 21))$$,
    'counts by status, open past due, due in 30 days, next due, completed by the due day, latest completion');
select results_eq(
    $$select total_commitments, past_due_open, next_due_date, last_completed_at
      from dossier.dossier_commitment_stats where dossier_id = '00000000-0000-0000-0000-000000000002'$$,
    $$values (0::bigint, 0::bigint, null::date, null::timestamptz)$$,
    'a dossier without commitments has a row of zeros');
select is((select refreshed_at from dossier.stats_refreshes where view_name = 'dossier.dossier_commitment_stats'), now(),
    'the refresh is recorded in stats_refreshes');
select set_eq($$select * from dossier.dossier_commitment_stats$$, $$select * from dossier.commitment_stats_live$$,
    'the view holds exactly what the live definition computes');

update dossier.commitments set status = 'overdue' where dossier_id = pg_temp.id(1) and due_date < pg_temp.today() and status = 'pending';
select dossier.refresh_commitment_stats();
select is((select (overdue, past_due_open) from dossier.dossier_commitment_stats where dossier_id = pg_temp.id(1)),
    row(2::bigint, 0::bigint), 'after the overdue sweep and a refresh: 2 overdue, none open past due');

select * from finish();
rollback;
