-- portfolio.save_criteria (0034): versions 1, 2, … per user; an invalid rule set is 22023 with
-- the rule index and nothing is saved; unknown user NSP02.
set client_min_messages = warning;
create extension if not exists pgtap;
begin;
select plan(10);

insert into portfolio.users (id, base_currency) values
    ('a0000000-0000-4000-8000-000000000001', 'USD'), ('a0000000-0000-4000-8000-000000000002', 'EUR');

select is((select version from portfolio.save_criteria('a0000000-0000-4000-8000-000000000001',
              '[{"metric": "dividend_yield", "operator": ">=", "threshold": 4, "points": 10}]')), 1, 'the first save is version 1');
select is((select version from portfolio.save_criteria('a0000000-0000-4000-8000-000000000001',
              '[{"metric": "pe_ratio", "operator": "between", "threshold": [5, 15], "points": 5.5}]')), 2, 'the next is version 2');
select is((select version from portfolio.save_criteria('a0000000-0000-4000-8000-000000000002',
              '[{"metric": "roe", "operator": ">", "threshold": 15, "points": 3}]')), 1, 'versions count per user');
create temporary table saved as select * from portfolio.save_criteria('a0000000-0000-4000-8000-000000000001',
    '[{"metric": "roe", "operator": ">", "threshold": 15, "points": 3}]');
select is((select row(s.id, s.version, s.created_at)::text from saved s),
          (select row(c.id, c.version, c.created_at)::text from portfolio.criteria_versions c
           where c.user_id = 'a0000000-0000-4000-8000-000000000001' and c.version = 3),
    'it returns the stored row''s id, version and created_at');
select is((select criteria from portfolio.criteria_versions where user_id = 'a0000000-0000-4000-8000-000000000001' and version = 2),
    '[{"metric": "pe_ratio", "operator": "between", "threshold": [5, 15], "points": 5.5}]'::jsonb, 'the rule set is stored as given');

select throws_ok($$select * from portfolio.save_criteria('a0000000-0000-4000-8000-000000000001',
                     '[{"metric": "roe", "operator": ">", "threshold": 15, "points": 3},
                       {"metric": "roe", "operator": "!=", "threshold": 15, "points": 3}]')$$,
    '22023', 'criteria[1]: "operator" must be one of >, >=, <, <=, =, between, got "!="',
    'an invalid rule set is 22023 naming the rule index');
select is((select max(version) from portfolio.criteria_versions where user_id = 'a0000000-0000-4000-8000-000000000001'), 3,
    'and nothing is saved');
select throws_ok($$select * from portfolio.save_criteria('a0000000-0000-4000-8000-0000000000ff',
                     '[{"metric": "roe", "operator": ">", "threshold": 15, "points": 3}]')$$,
    'NSP02', 'unknown user a0000000-0000-4000-8000-0000000000ff', 'an unknown user is NSP02');
select throws_ok($$select * from portfolio.save_criteria(null, '[{"metric": "roe", "operator": ">", "threshold": 15, "points": 3}]')$$,
    '22023', 'user_id: required', 'a null user is 22023 naming user_id');
select throws_ok($$select * from portfolio.save_criteria('a0000000-0000-4000-8000-000000000001', '[]')$$,
    '22023', 'criteria must have at least one rule', 'an empty rule set is refused');

select * from finish();
rollback;
