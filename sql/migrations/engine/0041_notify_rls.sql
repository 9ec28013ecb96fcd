-- Notifications belong to their recipient: row-level security on the inbox and what hangs off
-- it; the API reads and marks the inbox through api functions that act for the caller only.

create function api.notifications(unread_only boolean default false, "limit" integer default 50)
returns setof notify.notifications
language sql
stable
security definer
set search_path = ''
as $$
    select * from notify.list_notifications(auth.require_uid('api.notifications'), unread_only, "limit")
$$;
comment on function api.notifications(boolean, integer) is
    'The caller''s notifications, newest first (unread only when asked), at most limit (1..1000).';

create function api.mark_notification_read(notification_id uuid)
returns boolean
language sql
security definer
set search_path = ''
as $$
    select notify.mark_read(auth.require_uid('api.mark_notification_read'), notification_id)
$$;
comment on function api.mark_notification_read(uuid) is
    'Marks one of the caller''s notifications read; false when it is not theirs or does not exist.';

alter table notify.notifications enable row level security;
alter table notify.deliveries enable row level security;
alter table notify.suppressed enable row level security;
alter table notify.daily_counts enable row level security;

create policy service_all on notify.notifications to nightshift_service using (true) with check (true);
create policy service_all on notify.deliveries to nightshift_service using (true) with check (true);
create policy service_all on notify.suppressed to nightshift_service using (true) with check (true);
create policy service_all on notify.daily_counts to nightshift_service using (true) with check (true);

create policy recipient_reads on notify.notifications for select to nightshift_authenticated
    using (user_id = auth.uid());
create policy recipient_marks_read on notify.notifications for update to nightshift_authenticated
    using (user_id = auth.uid()) with check (user_id = auth.uid());
create policy recipient_reads on notify.deliveries for select to nightshift_authenticated
    using (exists (select from notify.notifications n where n.id = notification_id and n.user_id = auth.uid()));
create policy recipient_reads on notify.suppressed for select to nightshift_authenticated
    using (user_id = auth.uid());
create policy recipient_reads on notify.daily_counts for select to nightshift_authenticated
    using (user_id = auth.uid());

grant usage on schema notify to nightshift_authenticated;
grant select on notify.notifications, notify.deliveries, notify.suppressed, notify.daily_counts to nightshift_authenticated;
-- A user may mark their notifications read by hand, nothing else.
grant update (read, read_at) on notify.notifications to nightshift_authenticated;

revoke all on function api.notifications(boolean, integer), api.mark_notification_read(uuid) from public;
grant execute on function api.notifications(boolean, integer), api.mark_notification_read(uuid)
    to nightshift_authenticated;
