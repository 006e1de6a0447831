-- audit: what is tracked out of the box (who granted whom which tier, who invited whom),
-- and the background work: sealing every minute, partitions ahead every day.

select audit.track('brand.brands', brand_column => 'id');
select audit.track('brand.members');
select audit.track('brand.invitations', exclude_columns => '{token_sha256}');

select brand.schedule('audit-seal', '* * * * *', 'select audit.seal()');
select brand.schedule('audit-partitions', '17 3 * * *', 'select audit.ensure_partitions()');
