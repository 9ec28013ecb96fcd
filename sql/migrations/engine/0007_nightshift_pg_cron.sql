-- pg_cron, when the server has it, calls nightshift.tick() every minute, so cron slots are
-- enqueued even while no nightshift process runs; the Swift ticker calls it every second
-- either way (tick is idempotent) for second-level precision.

create function nightshift.install_pg_cron()
returns text
language plpgsql
set search_path = ''
as $$
begin
    if not exists (select 1 from pg_catalog.pg_available_extensions e where e.name = 'pg_cron') then
        return 'pg_cron not available';
    end if;
    if not exists (select 1 from pg_catalog.pg_extension e where e.extname = 'pg_cron') then
        -- Fails unless this database is cron.database_name and the role may create it. The
        -- extension's own objects live in schema cron; pg_catalog (as Supabase does) only
        -- names it, since search_path = '' leaves no schema to default to.
        create extension pg_cron with schema pg_catalog;
    end if;
    if exists (select 1 from cron.job j where j.jobname = 'nightshift-tick') then
        return 'already scheduled';
    end if;
    perform cron.schedule('nightshift-tick', '* * * * *', 'select nightshift.tick()');
    return 'scheduled';
end
$$;
comment on function nightshift.install_pg_cron() is
    'Schedules select nightshift.tick() every minute with pg_cron (job nightshift-tick) when pg_cron is available; '
    'returns scheduled, already scheduled or pg_cron not available.';

-- Best effort: pg_cron absent, preloaded for another database, or not ours to create must
-- never fail the migration. The Swift ticker covers for it, and start-up may retry.
do $$
begin
    raise notice 'nightshift.install_pg_cron(): %', nightshift.install_pg_cron();
exception when others then
    raise notice 'pg_cron not set up (%); nightshift.tick() relies on the Swift ticker', sqlerrm;
end
$$;
