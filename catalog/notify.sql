-- Hot queries of module notify: the inbox's first page and the unread counts, as the
-- signed-in member polls them (RLS on, through api).

-- query: notify.inbox_page
-- as: authenticated
select * from api.list_notifications(:brand_id, null, 20);

-- query: notify.unread_counts
-- as: authenticated
select api.unread_counts(:brand_id);
