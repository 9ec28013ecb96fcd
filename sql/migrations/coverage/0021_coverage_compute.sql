-- Coverage pack: the computation. One set-based query per institution over the concept
-- graph; the comparison of two matrices cell by cell.
--
-- Errors callers can act on carry their own SQLSTATE:
--   NSC01 unknown institution (the message names the id), 22023 invalid argument.

create function coverage._require_institution(p_institution_id uuid)
returns coverage.institutions
language plpgsql
stable
set search_path = ''
as $$
declare
    v_institution coverage.institutions;
begin
    if p_institution_id is null then
        raise exception 'an institution id is required, got null'
            using errcode = 'invalid_parameter_value';
    end if;
    select i.* into v_institution from coverage.institutions i where i.id = p_institution_id;
    if not found then
        raise exception 'unknown institution %', p_institution_id
            using errcode = 'NSC01';
    end if;
    return v_institution;
end
$$;
comment on function coverage._require_institution(uuid) is
    'The institution row; raises NSC01 naming an unknown id, 22023 for null.';

create function coverage.institution_exists(institution_id uuid)
returns boolean
language sql
stable
security definer
set search_path = ''
as $$
    select exists (select 1 from coverage.institutions i where i.id = institution_exists.institution_id)
$$;
comment on function coverage.institution_exists(uuid) is
    'Whether the institution exists (any status); false for null. For a 404 before enqueueing work.';

create function coverage.compute_for_institution(institution_id uuid)
returns jsonb
language plpgsql
stable
security definer
set search_path = ''
as $$
declare
    v_result jsonb;
begin
    perform coverage._require_institution(compute_for_institution.institution_id);

    with taught as (
        -- A concept is taught when a course of the institution, or a session of such a
        -- course, teaches it; union makes each concept count once.
        select ct.concept_id
        from coverage.courses c
        join coverage.course_teaches ct on ct.course_id = c.id
        where c.institution_id = compute_for_institution.institution_id
        union
        select st.concept_id
        from coverage.courses c
        join coverage.sessions s on s.course_id = c.id
        join coverage.session_teaches st on st.session_id = s.id
        where c.institution_id = compute_for_institution.institution_id
    ), assessed as (
        select distinct ia.concept_id
        from coverage.assessment_items i
        join coverage.item_assesses ia on ia.item_id = i.id
        where i.institution_id = compute_for_institution.institution_id
    ), counted as (
        -- Assessing a concept that is not taught adds nothing: coverage is of the curriculum.
        select k.system_id, k.discipline_id,
               count(*)::integer as total_count,
               count(a.concept_id)::integer as assessed_count
        from taught t
        join coverage.concepts k on k.id = t.concept_id
        left join assessed a on a.concept_id = t.concept_id
        group by k.system_id, k.discipline_id
    ), cells as (
        -- The cross join of the axes puts every cell in the matrix, zeros included.
        select sy.name as system_name, d.name as discipline_name,
               coalesce(c.total_count, 0) as total_count,
               coalesce(c.assessed_count, 0) as assessed_count
        from coverage.systems sy
        cross join coverage.disciplines d
        left join counted c on c.system_id = sy.id and c.discipline_id = d.id
    ), by_system as (
        select c.system_name,
               pg_catalog.jsonb_object_agg(c.discipline_name, pg_catalog.jsonb_build_object(
                   'assessed_count', c.assessed_count,
                   'total_count', c.total_count,
                   'gap_count', c.total_count - c.assessed_count)) as disciplines,
               sum(c.total_count) as total_count,
               sum(c.assessed_count) as assessed_count
        from cells c
        group by c.system_name
    )
    select pg_catalog.jsonb_build_object(
               'institution_id', compute_for_institution.institution_id,
               'matrix', coalesce(pg_catalog.jsonb_object_agg(b.system_name, b.disciplines), '{}'),
               'total_count', coalesce(sum(b.total_count), 0),
               'assessed_count', coalesce(sum(b.assessed_count), 0),
               'gap_count', coalesce(sum(b.total_count) - sum(b.assessed_count), 0),
               'total_score', case when coalesce(sum(b.total_count), 0) = 0 then 0
                                   else round(sum(b.assessed_count)::numeric / sum(b.total_count)::numeric, 4) end)
    into v_result
    from by_system b;

    return v_result;
end
$$;
comment on function coverage.compute_for_institution(uuid) is
    'The institution''s USMLE coverage, computed now in one query over the concept graph. Returns '
    '{institution_id, matrix, total_count, assessed_count, gap_count, total_score}. matrix is '
    '{system: {discipline: {assessed_count, total_count, gap_count}}} with all 16 × 7 cells (zeros included): '
    'total_count = distinct concepts of the cell taught by the institution (by one of its courses or a session '
    'of one), assessed_count = those of them also assessed by one of its assessment items (assessing an '
    'untaught concept counts nowhere), gap_count = total_count - assessed_count. '
    'total_score = sum(assessed_count) / sum(total_count) over the whole matrix, rounded to 4 places, '
    'in 0..1; 0 when nothing is taught. Raises NSC01 for an unknown institution.';

create function coverage.gap_deltas(previous jsonb, current jsonb)
returns table (system text, discipline text, previous_gap_count integer, new_gap_count integer, delta integer)
language sql
stable
security definer
set search_path = ''
as $$
    with previous_cells as (
        select s.key as system, d.key as discipline, (d.value ->> 'gap_count')::integer as gap_count
        from pg_catalog.jsonb_each(coalesce(gap_deltas.previous, '{}')) s
        cross join lateral pg_catalog.jsonb_each(s.value) d
    ), current_cells as (
        select s.key as system, d.key as discipline, (d.value ->> 'gap_count')::integer as gap_count
        from pg_catalog.jsonb_each(coalesce(gap_deltas.current, '{}')) s
        cross join lateral pg_catalog.jsonb_each(s.value) d
    ), paired as (
        select coalesce(p.system, c.system) as system,
               coalesce(p.discipline, c.discipline) as discipline,
               coalesce(p.gap_count, 0) as previous_gap_count,
               coalesce(c.gap_count, 0) as new_gap_count
        from previous_cells p
        full join current_cells c on c.system = p.system and c.discipline = p.discipline
    )
    select x.system, x.discipline, x.previous_gap_count, x.new_gap_count,
           x.new_gap_count - x.previous_gap_count as delta
    from paired x
    left join coverage.systems sy on sy.name = x.system
    left join coverage.disciplines d on d.name = x.discipline
    where x.new_gap_count <> x.previous_gap_count
    -- Matrix order (the axes' ids); names no longer on an axis sort after, by name.
    order by sy.id nulls last, x.system, d.id nulls last, x.discipline
$$;
comment on function coverage.gap_deltas(jsonb, jsonb) is
    'The cells whose gap_count changed between two coverage matrices ({system: {discipline: {gap_count, …}}}), '
    'in matrix order: system, discipline, previous_gap_count, new_gap_count, delta = new - previous '
    '(positive = new gaps, negative = resolved gaps). A cell missing on one side, or a null matrix, '
    'counts as 0 gaps there.';
