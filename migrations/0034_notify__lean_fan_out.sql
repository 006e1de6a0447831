-- brandbase 0034 (notify): a leaner fan-out (issue 17).
-- * notifications no longer check a foreign key to brand.members per row: the fan-out
--   proves the membership in its own statement (the recipient's inbox row, which keeps
--   its foreign key to brand.members, is written and locked by the same statement), and
--   a member's notifications still go with the member: deleting the inbox row (cascaded
--   from brand.members, so also from auth.users and brand.brands) deletes them, through a
--   statement trigger on notify.inboxes (sql/notify/20_send.sql).
-- * a partial index of the muted users, so a send tests "is any recipient muted" in one
--   probe and skips the preference join when nobody overrides anything.
-- * inboxes and notifications get room on their pages: the per-send counter update and
--   marking a whole inbox read stay HOT updates.

alter table notify.notifications drop constraint notifications_brand_id_user_id_fkey;

create index user_settings_muted_idx on notify.user_settings (user_id) where muted;

alter table notify.inboxes set (fillfactor = 70);

-- room for a second version of every row on its page: marking read, seen or archived (no
-- index names those columns) stays a HOT update even for a whole inbox at once.
alter table notify.notifications set (fillfactor = 50);

comment on table notify.notifications is
'One row per recipient. in_app: shown in the inbox; email: how it is mailed (off = on its own, '
'else the digest frequency; null = not mailed); email_id: the outbox row that carried it. '
'Every row has its recipient''s inbox row (notify.inboxes, which references brand.members); '
'deleting that inbox row deletes the notifications.';
