-- brandbase 0015 (api): counters of the requests the request hook refuses, one per reason.
-- A refusal is an error that rolls the request's transaction back, rows and all; a
-- sequence's nextval() is not transactional, so these counts survive it. The metrics
-- exporter reads them as brandbase_requests_refused_total{reason}.

create sequence api.refused_bad_request;
create sequence api.refused_version;
create sequence api.refused_access;
create sequence api.refused_rate_limit;
create sequence api.refused_quota;

revoke all on sequence api.refused_bad_request, api.refused_version, api.refused_access,
api.refused_rate_limit, api.refused_quota from public, anon, authenticated;
grant select on sequence api.refused_bad_request, api.refused_version, api.refused_access,
api.refused_rate_limit, api.refused_quota to service_role;
