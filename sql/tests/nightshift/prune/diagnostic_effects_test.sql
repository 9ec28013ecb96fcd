-- prune takes the diagnostic's effect rows with their run (0009's cascade): a periodic diagnostic (a
-- health check) must not grow nightshift.diagnostic_effects for ever.
set client_min_messages = warning;
create extension if not exists pgtap;
begin;
select plan(3);

select nightshift.sync_functions('[{"id": "tests/diag"}]');
update nightshift.runs set finished_at = now() where finished_at is not null;
insert into nightshift.runs (id, function_id, status, max_attempts, trigger_kind, created_at, finished_at) values
    ('00000000-0000-0000-0000-0000000000d1', 'tests/diag', 'completed', 1, 'manual', now() - interval '30 days', now() - interval '20 days'),
    ('00000000-0000-0000-0000-0000000000d2', 'tests/diag', 'completed', 1, 'manual', now() - interval '1 day', now() - interval '1 day');
insert into nightshift.diagnostic_effects (run_id, step, attempt) values
    ('00000000-0000-0000-0000-0000000000d1', 'step-1', 1), ('00000000-0000-0000-0000-0000000000d1', 'step-2', 1),
    ('00000000-0000-0000-0000-0000000000d2', 'step-1', 1);

select nightshift.prune('14 days');
select is((select count(*)::int from nightshift.diagnostic_effects where run_id = '00000000-0000-0000-0000-0000000000d1'), 0,
    'the effects of a pruned run are gone with it');
select is((select count(*)::int from nightshift.diagnostic_effects where run_id = '00000000-0000-0000-0000-0000000000d2'), 1,
    'the effects of a kept run stay');
select throws_ok($$insert into nightshift.diagnostic_effects (run_id, step, attempt) values (gen_random_uuid(), 'x', 1)$$,
    '23503', null, 'an effect names a run that exists');

select * from finish();
rollback;
