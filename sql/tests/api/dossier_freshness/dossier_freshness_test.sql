-- api.dossier_freshness (dossier 0069): the share of fresh health scores, for console readers
-- (operators included); a plain user 42501.
set client_min_messages = warning;
create extension if not exists pgtap;
begin;
select plan(4);
create function pg_temp.act_as(p_role text, p_claims text) returns void language plpgsql as $$
begin
    reset role;
    perform set_config('request.jwt.claims', p_claims, true);
    if p_role is not null then perform set_config('role', p_role, true); end if;
end $$;

create temporary table t_expected as select dossier.freshness_rate() as rate;
grant select on t_expected to nightshift_authenticated;
select pg_temp.act_as('nightshift_authenticated',
    '{"role": "authenticated", "sub": "00000000-0000-4000-8000-0000000000c1", "app_metadata": {"role": "operator"}}');
select is(api.dossier_freshness() -> 'freshness_rate', (select to_jsonb(rate) from t_expected),
    'an operator reads the pack''s freshness rate');
select ok(api.dossier_freshness() ?& array['freshness_rate', 'stale_after', 'dossiers', 'last_scored_at'],
    'with the threshold, the dossier count and the newest score''s time');

select pg_temp.act_as('nightshift_authenticated', '{"role": "authenticated", "sub": "00000000-0000-4000-8000-0000000000c3"}');
select throws_ok('select api.dossier_freshness()', '42501', null, 'a plain user may not read it');
select pg_temp.act_as('nightshift_service', '{"role": "service_role"}');
select lives_ok('select api.dossier_freshness()', 'the service role reads it');

select * from finish();
rollback;
