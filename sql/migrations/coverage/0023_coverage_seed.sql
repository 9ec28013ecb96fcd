-- Coverage pack: demo and benchmark data. coverage.seed generates a concept catalogue and N
-- institutions with courses, sessions, assessment items and admins; coverage.shift_coverage
-- changes one institution's coverage between two runs so a demo shows resolved gaps, new
-- gaps, an event and a notification. Both are for the owner (make seed, demo, bench): the
-- grants (0024) give them to nobody.
--
-- Determinism: every choice is a hash of (seed, stream, ordinal) through hashint8extended,
-- never random(), so the same arguments produce the same rows and ids whatever plan, order
-- or parallelism the inserts run with.

-- Not pinned to a search_path: a SET clause would stop the planner inlining this into the
-- seed's million-row inserts. Every name is qualified, it is invoker-rights and owner-only,
-- and coverage.seed (its only caller) pins search_path = ''.
create function coverage._seed_concept(p_key bigint, p_seed bigint, p_system_id integer, p_concepts integer)
returns bigint
language sql
immutable
parallel safe
as $$
    -- Four picks in five come from the given system (concept k is in system ((k - 1) % 16) + 1),
    -- the rest from anywhere in the catalogue: blocks teach their system, with cross-links.
    select case
        when pg_catalog.abs(pg_catalog.hashint8extended(p_key, p_seed + 1) % 100) < 80
            then p_system_id + 16 * pg_catalog.abs(
                     pg_catalog.hashint8extended(p_key, p_seed + 2) % ((p_concepts - p_system_id) / 16 + 1))
        else 1 + pg_catalog.abs(pg_catalog.hashint8extended(p_key, p_seed + 3) % p_concepts)
    end
$$;
comment on function coverage._seed_concept(bigint, bigint, integer, integer) is
    'coverage.seed: the concept a teaching or assessment slot points at, a pure function of the slot key.';

create function coverage.seed(institutions integer, concepts integer, seed double precision)
returns jsonb
language plpgsql
set search_path = ''
as $$
declare
    v_seed bigint;
    v_result jsonb;
    v_fk record;
begin
    if institutions is null or institutions < 1 or institutions > 1000000 then
        raise exception 'seed needs 1 to 1000000 institutions, got %', coalesce(institutions::text, 'null')
            using errcode = 'invalid_parameter_value';
    end if;
    if concepts is null or concepts < 112 or concepts > 10000000 then
        raise exception 'seed needs 112 (one per cell) to 10000000 concepts, got %', coalesce(concepts::text, 'null')
            using errcode = 'invalid_parameter_value';
    end if;
    if seed is null or seed = 'NaN' or seed in ('Infinity', '-Infinity') then
        raise exception 'seed needs a finite seed, got %', coalesce(seed::text, 'null')
            using errcode = 'invalid_parameter_value';
    end if;
    if exists (select 1 from coverage.institutions) or exists (select 1 from coverage.concepts) then
        raise exception 'seed fills an empty coverage schema, and it has data'
            using errcode = 'object_not_in_prerequisite_state',
                  hint = 'truncate coverage.institutions, coverage.concepts cascade (sql/seed/coverage_seed.sql does).';
    end if;
    v_seed := floor(seed * 1000000000)::bigint;

    -- Checking some 3 million foreign keys row by row costs three times the inserts themselves.
    -- The schema is empty and this is one transaction: the coverage foreign keys are dropped
    -- for the load and added back exactly as they were (their definitions read from the
    -- catalog), each validated in one pass. Should the load fail, all of it rolls back.
    create temp table _seed_foreign_keys on commit drop as
    select c.conrelid::regclass::text as table_name, c.conname::text as name,
           pg_catalog.pg_get_constraintdef(c.oid) as definition
    from pg_catalog.pg_constraint c
    where c.contype = 'f' and c.connamespace = 'coverage'::regnamespace;
    for v_fk in select f.table_name, f.name from pg_temp._seed_foreign_keys f loop
        execute pg_catalog.format('alter table %s drop constraint %I', v_fk.table_name, v_fk.name);
    end loop;

    -- The catalogue. Concept k is in system ((k - 1) % 16) + 1; its discipline is drawn with
    -- the weights of Step 1 (pathology and physiology most, behavioral science least).
    insert into coverage.concepts (id, code, name, system_id, discipline_id)
    select k.k, 'C' || pg_catalog.lpad(k.k::text, 5, '0'),
           sy.name || ' / ' || d.name || ' concept ' || k.k,
           sy.id, d.id
    from pg_catalog.generate_series(1, concepts) k (k)
    cross join lateral (select pg_catalog.abs(pg_catalog.hashint8extended(k.k, v_seed + 10) % 100) as r) w
    join coverage.systems sy on sy.id = (k.k - 1) % 16 + 1
    join coverage.disciplines d on d.id = case
        when w.r < 10 then 1  -- Anatomy 10%
        when w.r < 32 then 2  -- Physiology 22%
        when w.r < 40 then 3  -- Biochemistry 8%
        when w.r < 70 then 4  -- Pathology 30%
        when w.r < 84 then 5  -- Pharmacology 14%
        when w.r < 94 then 6  -- Microbiology 10%
        else 7                -- Behavioral Science 6%
    end;

    -- Per institution: 18 to 30 courses (one organ-system block each, the blocks' order
    -- rotated), 8 sessions per course, an item bank of 1.5 to 4 items per session, and an
    -- alignment of 70 to 95% (the share of item slots aimed at what the courses teach).
    -- Institution 1 is always active, so a demo can use it.
    create temp table _seed_institutions on commit drop as
    select i.i,
           pg_catalog.md5('coverage-seed/' || v_seed || '/institution/' || i.i)::uuid as id,
           18 + pg_catalog.abs(pg_catalog.hashint8extended(i.i, v_seed + 20) % 13)::integer as course_count,
           pg_catalog.abs(pg_catalog.hashint8extended(i.i, v_seed + 21) % 16)::integer as rotation,
           150 + pg_catalog.abs(pg_catalog.hashint8extended(i.i, v_seed + 22) % 251)::integer as items_per_100_sessions,
           70 + pg_catalog.abs(pg_catalog.hashint8extended(i.i, v_seed + 23) % 26)::integer as alignment,
           i.i > 1 and pg_catalog.abs(pg_catalog.hashint8extended(i.i, v_seed + 24) % 100) < 4 as inactive
    from pg_catalog.generate_series(1, institutions) i (i);

    insert into coverage.institutions (id, name, status)
    select s.id,
           (array['Riverside', 'Lakeshore', 'Northfield', 'Westbrook', 'Eastgate', 'Southport', 'Highland',
                  'Fairview', 'Oakridge', 'Cedar Falls', 'Maple Grove', 'Stonebridge', 'Clearwater', 'Brookhaven',
                  'Pinecrest', 'Silver Lake', 'Granite City', 'Harbor View', 'Mountain View', 'Greenfield'])
               [(s.i - 1) % 20 + 1]
           || ' ' ||
           (array['School of Medicine', 'College of Medicine', 'Medical School', 'Faculty of Medicine',
                  'College of Osteopathic Medicine'])[(s.i - 1) / 20 % 5 + 1]
           || case when s.i > 100 then ' ' || ((s.i - 1) / 100 + 1)::text else '' end,
           case when s.inactive then 'inactive' else 'active' end
    from pg_temp._seed_institutions s;

    insert into coverage.institution_admins (institution_id, user_id, email, display_name)
    select s.id,
           pg_catalog.md5('coverage-seed/' || v_seed || '/admin/' || s.i || '/' || a.a)::uuid,
           'admin' || a.a || '@inst' || pg_catalog.lpad(s.i::text, 4, '0') || '.example.edu',
           (array['Curriculum Dean', 'Assessment Director', 'Coverage Analyst'])[a.a]
    from pg_temp._seed_institutions s
    cross join lateral pg_catalog.generate_series(1, 1 + pg_catalog.abs(pg_catalog.hashint8extended(s.i, v_seed + 25) % 3)::integer) a (a);

    -- Ids are arithmetic, so later inserts can find a course or session from its ordinals:
    -- course (i, c) = (i - 1) * 30 + c, session (course, s) = (course - 1) * 8 + s.
    create temp table _seed_courses on commit drop as
    select s.i, s.id as institution_id, c.c, (s.i - 1) * 30 + c.c as course_id,
           (c.c - 1 + s.rotation) % 16 + 1 as system_id
    from pg_temp._seed_institutions s
    cross join lateral pg_catalog.generate_series(1, s.course_count) c (c);

    insert into coverage.courses (id, institution_id, code, name)
    select c.course_id, c.institution_id, 'MED' || (100 + c.c), sy.name || case when c.c > 16 then ' II' else ' I' end
    from pg_temp._seed_courses c
    join coverage.systems sy on sy.id = c.system_id;

    insert into coverage.course_teaches (course_id, concept_id)
    select distinct c.course_id, coverage._seed_concept(c.course_id * 4 + j.j, v_seed + 100, c.system_id, concepts)
    from pg_temp._seed_courses c
    cross join pg_catalog.generate_series(0, 2) j (j);

    insert into coverage.sessions (id, course_id, title)
    select (c.course_id - 1) * 8 + s.s, c.course_id, 'MED' || (100 + c.c) || ' session ' || s.s
    from pg_temp._seed_courses c
    cross join pg_catalog.generate_series(1, 8) s (s);

    -- Six teaching slots per session, drawn from the course's system; repeats collapse.
    insert into coverage.session_teaches (session_id, concept_id)
    select distinct (c.course_id - 1) * 8 + s.s,
           coverage._seed_concept(((c.course_id - 1) * 8 + s.s) * 8 + j.j, v_seed + 200, c.system_id, concepts)
    from pg_temp._seed_courses c
    cross join pg_catalog.generate_series(1, 8) s (s)
    cross join pg_catalog.generate_series(0, 5) j (j);

    -- Items: item (i, k) = (i - 1) * 1000 + k (at most 30 * 8 * 4 = 960 per institution), each
    -- set by one course. Each has one to three slots; an aligned slot assesses what a session of
    -- that course teaches (the same hash as above), the others a concept from anywhere.
    create temp table _seed_items on commit drop as
    select s.i, s.id as institution_id, s.alignment, k.k, (s.i - 1) * 1000 + k.k as item_id,
           c.course_id, c.system_id
    from pg_temp._seed_institutions s
    cross join lateral pg_catalog.generate_series(1, s.course_count * 8 * s.items_per_100_sessions / 100) k (k)
    join pg_temp._seed_courses c
      on c.i = s.i
     and c.c = 1 + pg_catalog.abs(pg_catalog.hashint8extended((s.i - 1) * 1000 + k.k, v_seed + 30) % s.course_count);

    insert into coverage.assessment_items (id, institution_id, course_id, stem)
    select t.item_id, t.institution_id, t.course_id, 'Question ' || t.k || ' of the item bank'
    from pg_temp._seed_items t;

    insert into coverage.item_assesses (item_id, concept_id)
    select distinct t.item_id,
           case when pg_catalog.abs(pg_catalog.hashint8extended(t.item_id * 4 + j.j, v_seed + 31) % 100) < t.alignment
               then coverage._seed_concept(
                        ((t.course_id - 1) * 8 + 1 + pg_catalog.abs(pg_catalog.hashint8extended(t.item_id * 4 + j.j, v_seed + 32) % 8)) * 8
                            + pg_catalog.abs(pg_catalog.hashint8extended(t.item_id * 4 + j.j, v_seed + 33) % 6),
                        v_seed + 200, t.system_id, concepts)
               else 1 + pg_catalog.abs(pg_catalog.hashint8extended(t.item_id * 4 + j.j, v_seed + 34) % concepts)
           end
    from pg_temp._seed_items t
    cross join lateral pg_catalog.generate_series(0, pg_catalog.abs(pg_catalog.hashint8extended(t.item_id, v_seed + 35) % 3)::integer) j (j);

    -- Identity columns were given explicit ids: move their sequences past them.
    perform pg_catalog.setval(pg_catalog.pg_get_serial_sequence('coverage.concepts', 'id'), concepts);
    perform pg_catalog.setval(pg_catalog.pg_get_serial_sequence('coverage.courses', 'id'),
                              (select max(c.id) from coverage.courses c));
    perform pg_catalog.setval(pg_catalog.pg_get_serial_sequence('coverage.sessions', 'id'),
                              (select max(s.id) from coverage.sessions s));
    perform pg_catalog.setval(pg_catalog.pg_get_serial_sequence('coverage.assessment_items', 'id'),
                              (select max(a.id) from coverage.assessment_items a));

    for v_fk in select f.table_name, f.name, f.definition from pg_temp._seed_foreign_keys f loop
        execute pg_catalog.format('alter table %s add constraint %I %s', v_fk.table_name, v_fk.name, v_fk.definition);
    end loop;

    -- Fresh statistics, so the first recompute plans with the real sizes.
    analyze coverage.systems, coverage.disciplines, coverage.institutions, coverage.institution_admins,
            coverage.concepts, coverage.courses, coverage.sessions, coverage.course_teaches,
            coverage.session_teaches, coverage.assessment_items, coverage.item_assesses;

    select pg_catalog.jsonb_build_object(
               'institutions', (select count(*) from coverage.institutions),
               'active_institutions', (select count(*) from coverage.institutions i where i.status = 'active'),
               'institution_admins', (select count(*) from coverage.institution_admins),
               'concepts', (select count(*) from coverage.concepts),
               'courses', (select count(*) from coverage.courses),
               'sessions', (select count(*) from coverage.sessions),
               'assessment_items', (select count(*) from coverage.assessment_items),
               'course_teaches', (select count(*) from coverage.course_teaches),
               'session_teaches', (select count(*) from coverage.session_teaches),
               'item_assesses', (select count(*) from coverage.item_assesses))
    into v_result;

    drop table pg_temp._seed_foreign_keys, pg_temp._seed_institutions, pg_temp._seed_courses, pg_temp._seed_items;
    return v_result;
end
$$;
comment on function coverage.seed(integer, integer, double precision) is
    'Fills an empty coverage schema with a deterministic data set and returns its row counts: a catalogue of '
    '`concepts` concepts (system round-robin, disciplines weighted like Step 1) and `institutions` institutions '
    '(about 4% inactive, never the first) with 1 to 3 admins, 18 to 30 system-block courses of 8 sessions, '
    '3 teaching slots per course and 6 per session, and 1.5 to 4 assessment items per session with 1 to 3 '
    'slots, 70 to 95% of them aimed at taught concepts. Same arguments, same rows and ids. Owner only.';

create function coverage.shift_coverage(institution_id uuid, open_gaps integer default 3)
returns jsonb
language plpgsql
set search_path = ''
as $$
declare
    v_id constant uuid := shift_coverage.institution_id;
    v_matrix jsonb;
    v_resolved jsonb;
    v_opened jsonb;
    v_system_id smallint;
    v_system text;
    v_discipline_id smallint;
    v_discipline text;
    v_item_id bigint;
    v_course_id bigint;
    v_session_id bigint;
    v_count integer;
begin
    if open_gaps is null or open_gaps < 1 then
        raise exception 'shift_coverage opens at least one gap, got %', coalesce(open_gaps::text, 'null')
            using errcode = 'invalid_parameter_value';
    end if;
    perform coverage._require_institution(v_id);
    v_matrix := coverage.compute_for_institution(v_id) -> 'matrix';

    -- Resolve: the cell with the most gaps gets an item assessing every gap in it.
    select sy.id, sy.name, d.id, d.name into v_system_id, v_system, v_discipline_id, v_discipline
    from coverage.systems sy
    cross join coverage.disciplines d
    where (v_matrix -> sy.name -> d.name ->> 'gap_count')::integer > 0
    order by (v_matrix -> sy.name -> d.name ->> 'gap_count')::integer desc, sy.id, d.id
    limit 1;
    if found then
        insert into coverage.assessment_items (institution_id, stem)
        values (v_id, 'Review question on ' || v_system || ' / ' || v_discipline || ' (coverage demo)')
        returning id into v_item_id;
        insert into coverage.item_assesses (item_id, concept_id)
        select v_item_id, k.id
        from coverage.concepts k
        where k.system_id = v_system_id and k.discipline_id = v_discipline_id
          and k.id in (select ct.concept_id from coverage.courses c join coverage.course_teaches ct on ct.course_id = c.id
                       where c.institution_id = v_id
                       union
                       select st.concept_id from coverage.courses c join coverage.sessions s on s.course_id = c.id
                       join coverage.session_teaches st on st.session_id = s.id where c.institution_id = v_id)
          and k.id not in (select ia.concept_id from coverage.assessment_items i join coverage.item_assesses ia on ia.item_id = i.id
                           where i.institution_id = v_id);
        get diagnostics v_count = row_count;
        v_resolved := pg_catalog.jsonb_build_object('system', v_system, 'discipline', v_discipline,
                                                    'gaps_closed', v_count, 'item_id', v_item_id);
    end if;

    -- Open: another cell with the most concepts the institution neither teaches nor assesses
    -- gets a new session teaching open_gaps of them (lowest ids first; fewer when the cell has
    -- fewer), unassessed.
    with untouched as (
        select k.id, k.system_id, k.discipline_id
        from coverage.concepts k
        where k.id not in (select ct.concept_id from coverage.courses c join coverage.course_teaches ct on ct.course_id = c.id
                           where c.institution_id = v_id
                           union
                           select st.concept_id from coverage.courses c join coverage.sessions s on s.course_id = c.id
                           join coverage.session_teaches st on st.session_id = s.id where c.institution_id = v_id
                           union
                           select ia.concept_id from coverage.assessment_items i join coverage.item_assesses ia on ia.item_id = i.id
                           where i.institution_id = v_id)
    )
    select sy.id, sy.name, d.id, d.name into v_system_id, v_system, v_discipline_id, v_discipline
    from untouched u
    join coverage.systems sy on sy.id = u.system_id
    join coverage.disciplines d on d.id = u.discipline_id
    where (v_resolved is null
           or (sy.name, d.name) <> (v_resolved ->> 'system', v_resolved ->> 'discipline'))
    group by sy.id, d.id
    order by count(*) desc, sy.id, d.id
    limit 1;
    if found then
        select c.id into v_course_id from coverage.courses c where c.institution_id = v_id order by c.id limit 1;
        if v_course_id is null then
            insert into coverage.courses (institution_id, code, name)
            values (v_id, 'DEMO', 'Coverage demo course')
            returning id into v_course_id;
        end if;
        insert into coverage.sessions (course_id, title)
        values (v_course_id, 'New session on ' || v_system || ' / ' || v_discipline || ' (coverage demo)')
        returning id into v_session_id;
        insert into coverage.session_teaches (session_id, concept_id)
        select v_session_id, k.id
        from coverage.concepts k
        where k.system_id = v_system_id and k.discipline_id = v_discipline_id
          and k.id not in (select ct.concept_id from coverage.courses c join coverage.course_teaches ct on ct.course_id = c.id
                           where c.institution_id = v_id
                           union
                           select st.concept_id from coverage.courses c join coverage.sessions s on s.course_id = c.id
                           join coverage.session_teaches st on st.session_id = s.id where c.institution_id = v_id
                           union
                           select ia.concept_id from coverage.assessment_items i join coverage.item_assesses ia on ia.item_id = i.id
                           where i.institution_id = v_id)
        order by k.id
        limit open_gaps;
        get diagnostics v_count = row_count;
        v_opened := pg_catalog.jsonb_build_object('system', v_system, 'discipline', v_discipline,
                                                  'gaps_opened', v_count, 'session_id', v_session_id);
    end if;

    return pg_catalog.jsonb_build_object('institution_id', v_id, 'resolved', v_resolved, 'opened', v_opened);
end
$$;
comment on function coverage.shift_coverage(uuid, integer) is
    'Demo: changes an institution''s coverage so the next recompute shows both kinds of delta. The cell with '
    'the most gaps gets a new assessment item covering all of them (resolved, delta -n); another cell gets a '
    'new session teaching up to open_gaps concepts the institution neither taught nor assessed, from the cell '
    'with most such concepts (new gaps, delta +gaps_opened). Returns {institution_id, resolved: {system, discipline, gaps_closed, item_id} | null, '
    'opened: {system, discipline, gaps_opened, session_id} | null}. Owner only.';
