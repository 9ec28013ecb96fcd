-- A worker logs in as nightshift_app (0040) and acts with nightshift_service's privileges. The
-- built-in nightshift/diagnostics writes its proof of work in its own steps' transactions, as a
-- team's functions write their own tables: its table is the one the engine grants a write on.
grant insert on nightshift.diagnostic_effects to nightshift_service;
