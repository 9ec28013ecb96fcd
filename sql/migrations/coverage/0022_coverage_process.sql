-- Coverage pack: what the job coverage/nightly-recompute and its HTTP trigger call. Each is
-- one SQL call, so the Swift side stays thin:
--
--   coverage.active_institutions()              step "list-institutions"
--   coverage.process_institution(id)            one step.transaction per institution: compute,
--                                               store, compare, prune, emit — all or nothing
--   coverage.record_job_run(…)                  the telemetry row, once per run (upsert by run id)
--   coverage.list_admins(id)                    coverage/gap-alerts: who to notify
--   coverage.institution_exists(id)             (0021) the HTTP 404
--   coverage.request_recompute(id)              the HTTP trigger: enqueue, or the run already
--                                               queued or running for that institution (409)
--
-- Errors callers can act on carry their own SQLSTATE:
--   NSC01 unknown institution (the message names the id), 22023 invalid argument,
--   NSF01 (from nightshift.trigger) coverage/nightly-recompute is not registered.

create function coverage.active_institutions()
returns table (id uuid, name text)
language sql
stable
security definer
set search_path = ''
as $$
    select i.id, i.name from coverage.institutions i where i.status = 'active' order by i.id
$$;
comment on function coverage.active_institutions() is
    'The institutions the nightly recompute processes (status active), by id.';

create function coverage.prune_snapshots(institution_id uuid, keep integer default 30)
returns integer
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_deleted integer;
begin
    if keep is null or keep < 1 then
        raise exception 'prune_snapshots keeps at least one snapshot, got %', coalesce(keep::text, 'null')
            using errcode = 'invalid_parameter_value';
    end if;
    -- Newest by created_at (clock time of the insert); the id breaks an exact tie. Two
    -- concurrent prunes of one institution delete the same rows, the second finds them gone.
    with doomed as (
        select s.id
        from coverage.coverage_snapshots s
        where s.institution_id = prune_snapshots.institution_id
        order by s.created_at desc, s.id desc
        offset keep
    )
    delete from coverage.coverage_snapshots s using doomed d where s.id = d.id;
    get diagnostics v_deleted = row_count;
    return v_deleted;
end
$$;
comment on function coverage.prune_snapshots(uuid, integer) is
    'Deletes the institution''s snapshots beyond its `keep` newest (default 30; at least 1) and returns how '
    'many; never touches another institution''s snapshots.';

create function coverage.process_institution(institution_id uuid, emit_event boolean default true)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_id constant uuid := process_institution.institution_id;
    v_previous coverage.coverage_snapshots;
    v_computed jsonb;
    v_computed_at timestamptz;
    v_snapshot_id uuid;
    v_new_gaps jsonb := '[]';
    v_resolved_gaps jsonb := '[]';
    v_gaps_detected integer := 0;
    v_gaps_resolved integer := 0;
    v_pruned integer;
    v_event_id uuid;
begin
    perform coverage._require_institution(v_id);
    -- Processing of one institution takes turns: two concurrent calls would otherwise both
    -- compare with the same previous snapshot and report (and emit) the same new gaps twice.
    -- The second waits here for the first to commit, then compares with the first's snapshot.
    -- NO KEY UPDATE leaves inserts that reference the institution (courses, items) unblocked.
    perform 1 from coverage.institutions i where i.id = v_id for no key update;

    select s.* into v_previous
    from coverage.coverage_snapshots s
    where s.institution_id = v_id
    order by s.created_at desc, s.id desc
    limit 1;

    v_computed_at := pg_catalog.clock_timestamp();
    v_computed := coverage.compute_for_institution(v_id);

    insert into coverage.coverage_snapshots (institution_id, matrix, total_score, computed_at)
    values (v_id, v_computed -> 'matrix', (v_computed ->> 'total_score')::numeric, v_computed_at)
    returning id into v_snapshot_id;

    -- The first snapshot is a baseline: nothing to compare with, no deltas, no event.
    if v_previous.id is not null then
        select coalesce(pg_catalog.jsonb_agg(d.cell order by d.n) filter (where d.delta > 0), '[]'),
               coalesce(pg_catalog.jsonb_agg(d.cell order by d.n) filter (where d.delta < 0), '[]'),
               coalesce(sum(d.delta) filter (where d.delta > 0), 0),
               coalesce(-sum(d.delta) filter (where d.delta < 0), 0)
        into v_new_gaps, v_resolved_gaps, v_gaps_detected, v_gaps_resolved
        from (
            select g.n, g.delta,
                   pg_catalog.jsonb_build_object(
                       'system', g.system, 'discipline', g.discipline, 'previous_gap_count', g.previous_gap_count,
                       'new_gap_count', g.new_gap_count, 'delta', g.delta) as cell
            from coverage.gap_deltas(v_previous.matrix, v_computed -> 'matrix')
                with ordinality g (system, discipline, previous_gap_count, new_gap_count, delta, n)
        ) d;
    end if;

    v_pruned := coverage.prune_snapshots(v_id, 30);

    -- New gaps raise the event in this same transaction, so the snapshot and its event exist
    -- together or not at all; the key makes it one event per snapshot whoever sends it.
    -- Resolved gaps alone emit nothing.
    if process_institution.emit_event and pg_catalog.jsonb_array_length(v_new_gaps) > 0 then
        v_event_id := nightshift.send_event(
            'coverage.gaps.detected',
            pg_catalog.jsonb_build_object(
                'institution_id', v_id,
                'new_gaps', v_new_gaps,
                'resolved_gaps', v_resolved_gaps,
                'snapshot_id', v_snapshot_id,
                'timestamp', v_computed_at),
            'coverage.gaps.detected/' || v_snapshot_id::text);
    end if;

    return pg_catalog.jsonb_build_object(
        'snapshot_id', v_snapshot_id,
        'institution_id', v_id,
        'baseline', v_previous.id is null,
        'previous_snapshot_id', v_previous.id,
        'computed_at', v_computed_at,
        'total_score', (v_computed ->> 'total_score')::numeric,
        'previous_total_score', v_previous.total_score,
        'new_gaps', v_new_gaps,
        'resolved_gaps', v_resolved_gaps,
        'gaps_detected', v_gaps_detected,
        'gaps_resolved', v_gaps_resolved,
        'snapshots_pruned', v_pruned,
        'event_id', v_event_id);
end
$$;
comment on function coverage.process_institution(uuid, boolean) is
    'One institution''s nightly work in one transaction: compute its matrix, store it as a snapshot, compare '
    'it cell by cell with the previous snapshot (coverage.gap_deltas), keep its 30 newest snapshots, and when '
    'cells gained gaps (and emit_event) send coverage.gaps.detected {institution_id, new_gaps, resolved_gaps, '
    'snapshot_id, timestamp} with idempotency key coverage.gaps.detected/<snapshot_id>. Returns {snapshot_id, '
    'institution_id, baseline, previous_snapshot_id, computed_at, total_score, previous_total_score, new_gaps, '
    'resolved_gaps, gaps_detected, gaps_resolved, snapshots_pruned, event_id}; new_gaps and resolved_gaps are '
    'arrays of {system, discipline, previous_gap_count, new_gap_count, delta}; gaps_detected / gaps_resolved '
    'sum their deltas. The first snapshot is a baseline: empty arrays, no event. Any status is processed '
    '(the nightly list holds only active ones). Raises NSC01 for an unknown institution.';

create function coverage.record_job_run(
    started_at timestamptz,
    completed_at timestamptz,
    institutions_processed integer,
    institutions_failed integer,
    total_gaps_detected integer,
    total_gaps_resolved integer,
    errors jsonb default '[]',
    run_id uuid default null)
returns uuid
language plpgsql
security definer
set search_path = ''
as $$
#variable_conflict use_column
declare
    v_id uuid;
begin
    if record_job_run.started_at is null or record_job_run.completed_at is null then
        raise exception 'a job run needs started_at and completed_at'
            using errcode = 'invalid_parameter_value';
    end if;
    if record_job_run.completed_at < record_job_run.started_at then
        raise exception 'a job run cannot complete (%) before it started (%)',
            record_job_run.completed_at, record_job_run.started_at
            using errcode = 'invalid_parameter_value';
    end if;

    -- A run resumed after its telemetry step was lost records again: same run id, one row.
    insert into coverage.coverage_job_runs (
        run_id, started_at, completed_at, duration_ms, institutions_processed, institutions_failed,
        total_gaps_detected, total_gaps_resolved, errors)
    values (
        record_job_run.run_id, record_job_run.started_at, record_job_run.completed_at,
        round(extract(epoch from record_job_run.completed_at - record_job_run.started_at) * 1000)::bigint,
        record_job_run.institutions_processed, record_job_run.institutions_failed,
        record_job_run.total_gaps_detected, record_job_run.total_gaps_resolved,
        coalesce(record_job_run.errors, '[]'))
    on conflict (run_id) do update set
        started_at = excluded.started_at,
        completed_at = excluded.completed_at,
        duration_ms = excluded.duration_ms,
        institutions_processed = excluded.institutions_processed,
        institutions_failed = excluded.institutions_failed,
        total_gaps_detected = excluded.total_gaps_detected,
        total_gaps_resolved = excluded.total_gaps_resolved,
        errors = excluded.errors
    returning id into v_id;
    return v_id;
end
$$;
comment on function coverage.record_job_run(timestamptz, timestamptz, integer, integer, integer, integer, jsonb, uuid) is
    'Writes the telemetry row of one run of coverage/nightly-recompute (duration_ms derived from the times) and '
    'returns its id; errors is a JSON array, one object per failed institution. With a run_id, recording the '
    'same run again updates its row instead of adding one.';

create function coverage.list_admins(institution_id uuid)
returns table (user_id uuid, email text, display_name text)
language plpgsql
stable
security definer
set search_path = ''
as $$
#variable_conflict use_column
begin
    perform coverage._require_institution(list_admins.institution_id);
    return query
        select a.user_id, a.email, a.display_name
        from coverage.institution_admins a
        where a.institution_id = list_admins.institution_id
        order by a.email, a.user_id;
end
$$;
comment on function coverage.list_admins(uuid) is
    'The admins coverage/gap-alerts notifies for an institution, by email (none is an empty set). '
    'Raises NSC01 for an unknown institution.';

create function coverage.request_recompute(institution_id uuid)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_id constant uuid := request_recompute.institution_id;
    v_run_id uuid;
    v_status text;
begin
    perform coverage._require_institution(v_id);
    -- Two concurrent requests for one institution would otherwise both find no active run and
    -- both enqueue one. Requests for one institution take turns until commit.
    perform pg_catalog.pg_advisory_xact_lock(1314062368, pg_catalog.hashtext(v_id::text));  -- 0x4E530020: 'NS', coverage

    select r.id, r.status into v_run_id, v_status
    from nightshift.runs r
    where r.function_id = 'coverage/nightly-recompute'
      and r.status in ('queued', 'running')
      and pg_catalog.lower(r.payload ->> 'institution_id') = v_id::text
    order by r.created_at
    limit 1;
    if found then
        return pg_catalog.jsonb_build_object('job_id', v_run_id, 'status', v_status, 'created', false);
    end if;

    v_run_id := nightshift.trigger('coverage/nightly-recompute', pg_catalog.jsonb_build_object('institution_id', v_id));
    return pg_catalog.jsonb_build_object('job_id', v_run_id, 'status', 'queued', 'created', true);
end
$$;
comment on function coverage.request_recompute(uuid) is
    'The manual trigger: enqueues coverage/nightly-recompute with {"institution_id"} and returns '
    '{job_id, status: "queued", created: true}; when a run for that institution is already queued or running, '
    'returns it instead with created false (HTTP 409). A full nightly run (no institution_id) does not count. '
    'Raises NSC01 for an unknown institution, NSF01 when the function is not registered.';
