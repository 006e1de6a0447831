-- brand: isolation of the core tables. Reads go through RLS; writes only through the
-- security definer functions in 40_membership.sql, which enforce the tier rules.

select brand.isolate('brand.brands', 'brand.read', brand_column => 'id');
select brand.isolate('brand.members', 'members.read');
select brand.isolate('brand.invitations', 'members.invite');

revoke all on brand.brands, brand.members, brand.invitations, brand.permissions,
brand.tier_permissions from public, anon;
grant select on brand.brands, brand.members, brand.invitations, brand.permissions,
brand.tier_permissions to authenticated;
grant select, insert, update, delete on brand.brands, brand.members, brand.invitations
to service_role;
grant select on brand.permissions, brand.tier_permissions to service_role;
