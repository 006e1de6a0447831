-- brandbase 0016 (webhooks): only deliveries to FIFO endpoints need the "oldest pending
-- delivery of this endpoint" index. Each delivery now carries its endpoint's fifo flag
-- (fixed when the endpoint is created), so the index holds FIFO deliveries alone and the
-- fan-out fills one index fewer per delivery row.

alter table webhooks.deliveries add column fifo boolean not null default false;
comment on column webhooks.deliveries.fifo is 'The endpoint''s fifo flag, copied at fan-out.';

update webhooks.deliveries as d set fifo = true
from webhooks.endpoints as p
where d.brand_id = p.brand_id and d.endpoint_id = p.id and p.fifo and d.status = 'pending';

drop index webhooks.deliveries_pending_endpoint_idx;
create index deliveries_fifo_idx on webhooks.deliveries (brand_id, endpoint_id, id)
where status = 'pending' and fifo;
