-- flags: what is audited. Overrides carry their brand; flag definitions, their environments,
-- segments and entitlements are the platform's and go to the nil brand's trail.

select audit.track('flags.overrides');
select audit.track('flags.flags');
select audit.track('flags.flag_environments');
select audit.track('flags.segments');
select audit.track('flags.entitlements');
