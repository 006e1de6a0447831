-- i18n: after the code changed, resolve every chain and rule set again and rebuild the
-- cached bundles (the seed locale gets its chain here; a new rule set version takes effect).

select i18n._refresh_chains();
select i18n._rebuild_all_bundles();
