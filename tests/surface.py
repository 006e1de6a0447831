"""The API roles' surface, as the adversarial suite (tests/test_tenant_safety.py) attacks it.

Every function in a pack schema that `anon` or `authenticated` may EXECUTE must be
registered here, in its module's dict, keyed `schema.name` (a key `*.name` matches that
name in any pack schema). An entry says how to call the function, with placeholders the
suite fills in for each attack:

    {brand}     the target brand's id
    {user}      a member (the viewer) of the target brand
    {job}       a waiting job of the target brand, in an app queue
    {dead_job}  a dead job of the target brand (for retry)
    {endpoint}  a webhook endpoint of the target brand
    {delivery}  a webhook delivery of the target brand
    {ip_rule}   an IP rule of the target brand
    {token}     an invitation token of the target brand (for guest@<slug>.test)
    {invitation}  that invitation's id
    {key}       the record key (jsonb) of the target brand's row in the versioned table
    {table}     the versioned table's name (the same for both brands)
    {search_query}  a logged search query of the target brand (search.queries)
    {notification}  a notification of the target brand's viewer (notify.notifications)

Each placeholder becomes a quoted literal; the rest of a template is SQL. Arguments are
passed by name, so an entry survives a reordering or a dropped optional parameter.

scope says what the function may do when a member of brand A points it at brand B:
    brand      refuse: 42501 or PT404, never success
    predicate  answer, but only "no" (null, false, an empty set) and nothing of B's
    caller     has no target; whatever it returns holds nothing of another brand's
    denied     not for the API roles at all: every call is refused (42501)
    hook       the request gate: it may admit anyone, but charges only the caller's brands

anon: why anon may call it (else every anon call must fail with 42501 or 28000); even
then the result holds no id of any brand, user or object.
capability: the argument is itself the authority (a 256-bit token), so another brand's
token need not answer like a missing one.
lookups: arguments only looked up, never stored, and the codes that may refuse a 1 MB
value of them besides the size caps 22001/22023 (the answer an unknown value gets);
ANY_ANSWER for the arguments of stable read helpers, which store nothing.
inlined: an SQL helper the planner inlines on the RLS hot path; it cannot catch the cast,
so claims that are not JSON fail it with 22P02 rather than 28000.
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass, field

import psycopg
from psycopg import sql


@dataclass(frozen=True)
class Fn:
    args: dict[str, str] = field(default_factory=dict)
    scope: str = "brand"
    anon: str | None = None
    capability: str | None = None
    lookups: dict[str, frozenset] = field(default_factory=dict)
    inlined: str | None = None


NOT_FOUND = frozenset({"PT404"})
ANY_ANSWER = frozenset({"any answer"})
INLINED = "inlined RLS helper without an exception block"
UNKNOWN_TABLE = {"table_name": frozenset({"42P01"})}

BRAND = {
    "brandbase.now": Fn(scope="caller", anon="the pack clock; read by RLS helpers, tells only the time"),
    "brand.claims": Fn(scope="caller", anon="echoes the request's own claims"),
    "brandbase._frozen_now": Fn(scope="caller", anon="the clock's frozen time, read by brandbase.now()"),
    "brand.caller_id": Fn(scope="caller", anon="inlined RLS helper: the request's own sub", inlined=INLINED),
    "brand.caller_id_checked": Fn(scope="caller", anon="RLS helper: the request's own sub"),
    "brand.caller_is_service": Fn(scope="caller", anon="inlined RLS helper: a boolean about the request",
                                  inlined=INLINED),
    "brand.invoking_role": Fn(scope="caller", anon="inlined helper: the request's own database role",
                              inlined=INLINED),
    "brand.require_caller": Fn(scope="caller"),
    "brand.assert_permission": Fn({"permission": "'brand.read'"}, scope="caller"),
    "brand.brands_with": Fn({"permission": "'brand.read'"}, scope="caller"),
    "brand.has_permission": Fn({"brand_id": "{brand}", "permission": "'brand.read'"}, scope="predicate"),
    "brand.require_permission": Fn({"brand_id": "{brand}", "permission": "'brand.read'"}),
    "brand.caller_tier": Fn({"brand_id": "{brand}"}, scope="predicate"),
    "brand.create_brand": Fn({"slug": "'suite-made'", "name": "'Suite made'"}, scope="caller"),
    "brand.update_brand": Fn({"brand_id": "{brand}", "name": "'renamed'", "settings": "'{\"k\": 1}'"}),
    "brand.delete_brand": Fn({"brand_id": "{brand}"}),
    "brand.invite": Fn({"brand_id": "{brand}", "email": "'new@example.test'", "tier": "'member'"}),
    "brand.accept_invitation": Fn({"token": "{token}"}, capability="the token is a 256-bit secret",
                                  lookups={"token": NOT_FOUND}),
    "brand.revoke_invitation": Fn({"brand_id": "{brand}", "invitation_id": "{invitation}"}),
    "brand.set_tier": Fn({"brand_id": "{brand}", "user_id": "{user}", "tier": "'member'"}),
    "brand.remove_member": Fn({"brand_id": "{brand}", "user_id": "{user}"}),
    "api.create_brand": Fn({"slug": "'suite-made'", "name": "'Suite made'"}, scope="caller"),
    "api.update_brand": Fn({"brand_id": "{brand}", "name": "'renamed'", "settings": "'{\"k\": 1}'"}),
    "api.delete_brand": Fn({"brand_id": "{brand}"}),
    "api.invite_member": Fn({"brand_id": "{brand}", "email": "'new@example.test'", "tier": "'member'"}),
    "api.accept_invitation": Fn({"token": "{token}"}, capability="the token is a 256-bit secret",
                                lookups={"token": NOT_FOUND}),
    "api.revoke_invitation": Fn({"brand_id": "{brand}", "invitation_id": "{invitation}"}),
    "api.set_member_tier": Fn({"brand_id": "{brand}", "user_id": "{user}", "tier": "'member'"}),
    "api.remove_member": Fn({"brand_id": "{brand}", "user_id": "{user}"}),
}

def versioned(**args: str) -> Fn:
    """An api.*_version function: a table name, the record's key, and these arguments."""
    return Fn({"table_name": "{table}", "record_key": "{key}", **args}, lookups=UNKNOWN_TABLE)


AUDIT = {
    "api.audit_activity": Fn({"brand_id": "{brand}", "page_size": "10"}),
    "audit.pending_entries": Fn(scope="caller"),
}

VERSIONS = {
    "versions.record": Fn({"target": "{table}", "key": "{key}", "permission": "'content.read'"}),
    "versions.history": Fn({"target": "{table}", "key": "{key}", "permission": "'content.read'"}),
    "versions.list": Fn({"target": "{table}", "key": "{key}"}),
    "versions.get": Fn({"target": "{table}", "key": "{key}", "n": "1"}),
    "versions.at": Fn({"target": "{table}", "key": "{key}", "at_time": "now()"}),
    "versions.diff": Fn({"target": "{table}", "key": "{key}", "a": "1", "b": "2"}),
    "versions.restore": Fn({"target": "{table}", "key": "{key}", "n": "1"}),
    "versions.publish": Fn({"target": "{table}", "key": "{key}", "n": "1"}),
    "versions.readable_scopes": Fn(scope="caller"),
    "versions.pending_versions": Fn(scope="caller"),
    "versions.resolve": Fn({"table_name": "{table}"}, scope="caller", lookups=UNKNOWN_TABLE),
    "api.list_versions": versioned(),
    "api.get_version": versioned(version="1"),
    "api.version_at": versioned(at_time="now()"),
    "api.diff_versions": versioned(a="1", b="2"),
    "api.restore_version": versioned(version="1"),
    "api.publish_version": versioned(version="1"),
}

HEALTH = {
    "health.check": Fn(scope="denied"),
    "api.health": Fn(scope="caller", anon="the public status document: status and time only"),
    "health.summary": Fn(scope="caller", anon="the cached public status behind api.health()"),
}

RATELIMIT = {
    "ratelimit.policies_for": Fn({"brand_id": "{brand}", "api_role": "'authenticated'",
                                  "route": "'POST /rpc/x'"}, scope="predicate",
                                 lookups={"api_role": ANY_ANSWER, "route": ANY_ANSWER}),
}

QUOTAS = {
    "quotas.effective": Fn({"brand_id": "{brand}", "metric": "'api_calls'"}),
    "quotas.billing_month_start": Fn({"created_at": "now()", "at_time": "now()"}, scope="caller"),
    "quotas.period_start": Fn({"brand_id": "{brand}", "period": "'month'", "at_time": "now()"},
                              scope="predicate", lookups={"period": ANY_ANSWER}),
    "quotas.metered": Fn({"brand_id": "{brand}", "metric": "'api_calls'"}, scope="predicate",
                         lookups={"metric": ANY_ANSWER}),
    "quotas.readable_brands": Fn(scope="caller"),
    "quotas.used_since": Fn({"brand_id": "{brand}", "metric": "'api_calls'", "since": "now()"},
                            scope="predicate", lookups={"metric": ANY_ANSWER}),
}

ACCESS = {
    "access.add_ip_rule": Fn({"brand_id": "{brand}", "network": "'203.0.113.0/24'", "action": "'deny'",
                              "note": "'suite'"}),
    "access.set_geo_rule": Fn({"brand_id": "{brand}", "country": "'DE'", "action": "'deny'"}),
    "access.remove_ip_rule": Fn({"brand_id": "{brand}", "id": "{ip_rule}"}),
    "api.add_ip_rule": Fn({"brand_id": "{brand}", "network": "'203.0.113.0/24'", "action": "'deny'",
                           "note": "'suite'"}),
    "api.set_geo_rule": Fn({"brand_id": "{brand}", "country": "'DE'", "action": "'deny'"}),
    "api.remove_ip_rule": Fn({"brand_id": "{brand}", "id": "{ip_rule}"}),
}

GATE = {
    "*.pre_request": Fn(scope="hook", anon="the request gate runs for every request, anonymous ones too"),
}

ENQUEUE = {"brand_id": "{brand}", "queue": "'exports'", "payload": "'{\"n\": 1}'", "run_at": "null",
           "dedupe_key": "null"}

JOBS = {
    "api.enqueue_job": Fn(ENQUEUE),
    "api.cancel_job": Fn({"job_id": "{job}"}),
    "api.retry_job": Fn({"job_id": "{dead_job}"}),
    "jobs.enqueue_job": Fn(ENQUEUE),
    "jobs.cancel_job": Fn({"job_id": "{job}"}),
    "jobs.retry_job": Fn({"job_id": "{dead_job}"}),
}

WEBHOOK_CALLS = {
    "create_endpoint": Fn({"brand_id": "{brand}", "url": "'https://hooks.example.com/in'",
                           "event_types": "array['order.paid']", "description": "'suite'"}),
    "update_endpoint": Fn({"endpoint_id": "{endpoint}", "description": "'changed'"}),
    "rotate_secret": Fn({"endpoint_id": "{endpoint}"}),
    "delete_endpoint": Fn({"endpoint_id": "{endpoint}"}),
    "redeliver": Fn({"brand_id": "{brand}", "delivery_id": "{delivery}"}),
    "recover": Fn({"endpoint_id": "{endpoint}", "since": "'2000-01-01'"}),
    "emit": Fn({"brand_id": "{brand}", "event_type": "'order.paid'", "payload": "'{\"n\": 1}'"}),
}
# api.<name> (the invoker wrapper) and webhooks.app_<verb> (its definer body) take the same arguments.
API_WEBHOOK_NAMES = {
    "create_endpoint": "create_webhook_endpoint",
    "update_endpoint": "update_webhook_endpoint",
    "rotate_secret": "rotate_webhook_secret",
    "delete_endpoint": "delete_webhook_endpoint",
    "redeliver": "redeliver_webhook",
    "recover": "recover_webhooks",
    "emit": "emit_webhook",
}

WEBHOOKS = {
    "webhooks.secret_hint": Fn({"brand_id": "{brand}", "endpoint_id": "{endpoint}"}, scope="predicate"),
    **{f"api.{API_WEBHOOK_NAMES[verb]}": fn for verb, fn in WEBHOOK_CALLS.items()},
    **{f"webhooks.app_{verb}": fn for verb, fn in WEBHOOK_CALLS.items()},
}

# Evaluation stores nothing and never raises for a flag or a context: any argument, any size,
# gets an answer (an unknown flag or an oversized context is reason ERROR, the caller's default).
FLAG_EVAL_LOOKUPS = {"flag_key": ANY_ANSWER, "context": ANY_ANSWER, "default_value": ANY_ANSWER,
                     "environment": ANY_ANSWER}
FLAG_EVAL = {"flag_key": "'suite.colour'", "context": "jsonb_build_object('brandId', {brand})",
             "default_value": "'\"none\"'"}
FLAG_ANON = "flags are evaluated for anonymous visitors too; a brand's layer applies only to its members"
FLAG_SET = {"brand_id": "{brand}", "flag_key": "'suite.colour'", "value": "'\"red\"'", "reason": "'suite'",
            "user_id": "{user}"}
FLAG_CLEAR = {"brand_id": "{brand}", "flag_key": "'suite.colour'", "user_id": "null"}

FLAGS = {
    "flags.evaluate": Fn(FLAG_EVAL, scope="caller", anon=FLAG_ANON, lookups=FLAG_EVAL_LOOKUPS),
    "api.evaluate_flag": Fn(FLAG_EVAL, scope="caller", anon=FLAG_ANON, lookups=FLAG_EVAL_LOOKUPS),
    "flags.evaluate_all": Fn({"context": FLAG_EVAL["context"]}, scope="caller", anon=FLAG_ANON,
                             lookups=FLAG_EVAL_LOOKUPS),
    "api.evaluate_flags": Fn({"context": FLAG_EVAL["context"]}, scope="caller", anon=FLAG_ANON,
                             lookups=FLAG_EVAL_LOOKUPS),
    "flags.enabled": Fn({"flag_key": "'suite.colour'"}, scope="caller", anon=FLAG_ANON,
                        lookups={"flag_key": ANY_ANSWER}),
    "api.flag_enabled": Fn({"flag_key": "'suite.colour'"}, scope="caller", anon=FLAG_ANON,
                           lookups={"flag_key": ANY_ANSWER}),
    "flags.set_override": Fn(FLAG_SET),
    "api.set_flag_override": Fn(FLAG_SET),
    "flags.clear_override": Fn(FLAG_CLEAR),
    "api.clear_flag_override": Fn(FLAG_CLEAR),
}

SEARCH_TABLE = "public.suite_docs"
SEARCH_OPTIONS = "jsonb_build_object('brand_id', {brand})"
SEARCH_CLICK = {"query_id": "{search_query}", "result": "'{\"id\": 1}'", "position": "0"}
SEARCH_SETTINGS = {"brand_id": "{brand}", "log_queries": "true", "retention": "'30 days'"}

SEARCH = {
    "search.config_of": Fn({"language": "'german'"}, scope="caller", lookups={"language": ANY_ANSWER}),
    "search.cursor_of": Fn({"options": "'{\"cursor\": {\"s\": 1, \"k\": {}}}'"}, scope="caller",
                           lookups={"options": ANY_ANSWER}),
    "search.parse_query": Fn({"config": "'english'", "q": "'quick brow'", "prefix": "true"}, scope="caller"),
    "search.query": Fn({"target": f"'{SEARCH_TABLE}'", "q": "'v1'", "options": SEARCH_OPTIONS}),
    "api.search": Fn({"table_name": f"'{SEARCH_TABLE}'", "q": "'v1'", "options": SEARCH_OPTIONS},
                     lookups=UNKNOWN_TABLE),
    "search.query_many": Fn({"targets": f"array['{SEARCH_TABLE}']::regclass[]", "q": "'v1'",
                             "options": SEARCH_OPTIONS}),
    "api.search_many": Fn({"table_names": f"array['{SEARCH_TABLE}']", "q": "'v1'", "options": SEARCH_OPTIONS},
                          lookups=UNKNOWN_TABLE),
    "search._log_query": Fn({"brand_id": "{brand}", "table_name": f"'{SEARCH_TABLE}'", "query": "'v1'",
                             "hits": "1", "latency_ms": "1", "typo_fallback": "false"}),
    "search.click": Fn(SEARCH_CLICK),
    "api.search_click": Fn(SEARCH_CLICK),
    "search.set_settings": Fn(SEARCH_SETTINGS),
    "api.set_search_settings": Fn(SEARCH_SETTINGS),
    # the candidate step: as the caller (RLS decides, so another brand's answer is empty) ...
    "search._rank": Fn({"target": f"'{SEARCH_TABLE}'", "brand_id": "{brand}", "tsq": "'v1'",
                        "options": "'{}'"}, scope="predicate"),
    # ... and as the owner, which checks the table's read permission in the brand itself
    "search._rank_as_owner": Fn({"target": f"'{SEARCH_TABLE}'", "brand_id": "{brand}", "tsq": "'v1'",
                                 "options": "'{}'", "config": "'english'", "words": "array['v1']"}),
}

# notify: the caller's own notifications, preferences and settings; sending and brand settings.
NOTIFY_SEND = {"brand_id": "{brand}", "recipients": "to_jsonb({user}::uuid)", "category": "'system'",
               "title": "'suite notice'", "body": "'b'", "data": "'{}'", "action_url": "'/x'",
               "idempotency_key": "'suite'"}
NOTIFY_MARK = {"brand_id": "{brand}", "ids": "array[{notification}]::bigint[]", "state": "'read'"}
NOTIFY_REMOVE = {"brand_id": "{brand}", "ids": "array[{notification}]::bigint[]"}
NOTIFY_PREF = {"brand_id": "{brand}", "category": "'system'", "channel": "'email'", "enabled": "true"}
NOTIFY_DIGEST = {"brand_id": "{brand}", "channel": "'email'", "frequency": "'daily'"}
NOTIFY_SETTINGS = {"muted": "false", "time_zone": "'UTC'", "quiet_start": "'22:00'", "quiet_end": "'07:00'",
                   "locale": "'en'"}
NOTIFY_CATEGORY = {"brand_id": "{brand}", "key": "'suite'", "description": "'d'", "critical": "false",
                   "defaults": "'{\"in_app\": true}'"}
NOTIFY_CHANNEL = {"brand_id": "{brand}", "channel": "'email'", "enabled": "true", "digest": "'daily'"}
NOTIFY_RETENTION = {"brand_id": "{brand}", "keep_read": "'90 days'", "keep_archived": "'30 days'"}
NOTIFY_TEMPLATE = {"brand_id": "{brand}", "category": "'*'", "locale": "'en'", "subject": "'s'",
                   "text_body": "'t'", "html_body": "'h'"}
NOTIFY_UNSUBSCRIBE = Fn({"token": "'x.y'"}, scope="caller",
                        anon="an email's unsubscribe link: the HMAC-signed token is the authority; "
                             "the answer is a boolean", lookups={"token": frozenset({"22023"})})
NOTIFY_LIST = {"brand_id": "{brand}", "before_id": "null", "page_size": "10", "category": "'system'",
               "status": "'unread'"}

NOTIFY = {
    "notify.send": Fn(NOTIFY_SEND),
    "api.send_notification": Fn(NOTIFY_SEND),
    "notify.mark": Fn(NOTIFY_MARK),
    "api.mark_notifications": Fn(NOTIFY_MARK),
    "notify.remove": Fn(NOTIFY_REMOVE),
    "api.delete_notifications": Fn(NOTIFY_REMOVE),
    "notify.set_preference": Fn(NOTIFY_PREF),
    "api.set_notification_preference": Fn(NOTIFY_PREF),
    "notify.set_digest": Fn(NOTIFY_DIGEST),
    "api.set_notification_digest": Fn(NOTIFY_DIGEST),
    "notify.my_preferences": Fn({"brand_id": "{brand}"}),
    "api.notification_preferences": Fn({"brand_id": "{brand}"}),
    "notify.set_settings": Fn(NOTIFY_SETTINGS, scope="caller"),
    "api.set_notification_settings": Fn(NOTIFY_SETTINGS, scope="caller"),
    "notify.my_settings": Fn(scope="caller"),
    "api.notification_settings": Fn(scope="caller"),
    "notify.clear_quiet_hours": Fn(scope="caller"),
    "api.clear_quiet_hours": Fn(scope="caller"),
    "notify.set_category": Fn(NOTIFY_CATEGORY),
    "api.set_notification_category": Fn(NOTIFY_CATEGORY),
    "notify.set_brand_channel": Fn(NOTIFY_CHANNEL),
    "api.set_notification_channel_default": Fn(NOTIFY_CHANNEL),
    "notify.set_retention": Fn(NOTIFY_RETENTION),
    "api.set_notification_retention": Fn(NOTIFY_RETENTION),
    "notify.set_template": Fn(NOTIFY_TEMPLATE),
    "api.set_notification_template": Fn(NOTIFY_TEMPLATE),
    "notify.unsubscribe": NOTIFY_UNSUBSCRIBE,
    "api.unsubscribe": NOTIFY_UNSUBSCRIBE,
    "notify.channel_of": Fn({"user_id": "{user}"}, scope="caller"),
    "api.list_notifications": Fn(NOTIFY_LIST, scope="predicate"),
    "api.unread_counts": Fn({"brand_id": "{brand}"}, scope="predicate"),
}

# i18n: readers answer everyone (anon too) and never raise; a brand's layer applies only to
# its members (or when the brand made its wording public); writers are the brand's (i18n.manage).
I18N_ANON = "translations are read by anonymous visitors too; a brand's wording applies only to its members"
I18N_T = {"key": "'suite.hello'", "locale": "'en'", "params": "'{\"name\": \"x\"}'", "namespace": "'common'",
          "brand_id": "{brand}"}
I18N_T_LOOKUPS = {"key": ANY_ANSWER, "locale": ANY_ANSWER, "params": ANY_ANSWER, "namespace": ANY_ANSWER}
I18N_BUNDLE = {"locale": "'en'", "namespace": "'common'", "brand_id": "{brand}"}
I18N_BUNDLE_LOOKUPS = {"locale": ANY_ANSWER, "namespace": ANY_ANSWER}
I18N_NEGOTIATE = {"accept_language": "'de-AT, en;q=0.5'", "available": "array['en', 'de']"}
I18N_FORMAT = {"message": "'{n, plural, one {# x} other {# xs}}'", "locale": "'en'", "params": "'{\"n\": 2}'"}
I18N_SET = {"brand_id": "{brand}", "namespace": "'common'", "key": "'suite.new'", "locale": "'en'",
            "source": "'Hi there'"}
I18N_KEY = {"brand_id": "{brand}", "namespace": "'common'", "key": "'suite.hello'", "locale": "'en'"}
I18N_CONTENT = {"table_name": "'public.suite_i18n'",
                "row_key": "jsonb_build_object('brand_id', {brand}, 'id', 1)",
                "column_name": "'title'", "locale": "'en'", "value": "'x'"}
I18N_LOCALES = {"brand_id": "{brand}", "tags": "array['en']", "default_tag": "'en'"}

I18N = {
    "i18n.canonical_tag": Fn({"tag": "'en-us'"}, scope="caller", anon=I18N_ANON, lookups={"tag": ANY_ANSWER}),
    "i18n.plural_categories": Fn({"locale": "'ru'"}, scope="caller", anon=I18N_ANON,
                                 lookups={"locale": ANY_ANSWER}),
    "i18n.plural_category": Fn({"locale": "'ru'", "number": "'21'"}, scope="caller", anon=I18N_ANON,
                               lookups={"locale": ANY_ANSWER, "number": ANY_ANSWER}),
    "i18n.negotiate": Fn(I18N_NEGOTIATE, scope="caller", anon=I18N_ANON,
                         lookups={"accept_language": ANY_ANSWER, "available": ANY_ANSWER}),
    "api.negotiate_locale": Fn(I18N_NEGOTIATE, scope="caller", anon=I18N_ANON,
                               lookups={"accept_language": ANY_ANSWER, "available": ANY_ANSWER}),
    "i18n.available_locales": Fn({"brand_id": "{brand}"}, scope="caller",
                                 anon="which locales a brand serves is public: its site shows them"),
    "i18n.request_locale": Fn({"brand_id": "{brand}"}, scope="caller", anon=I18N_ANON),
    "api.request_locale": Fn({"brand_id": "{brand}"}, scope="caller", anon=I18N_ANON),
    "i18n.resolve_chain": Fn({"locale_or_accept_language": "'de-AT'", "brand_id": "{brand}"}, scope="caller",
                             anon=I18N_ANON, lookups={"locale_or_accept_language": ANY_ANSWER}),
    "i18n.request_chain": Fn(scope="caller", anon=I18N_ANON),
    "i18n.format": Fn(I18N_FORMAT, scope="caller", anon=I18N_ANON,
                      lookups={"message": ANY_ANSWER, "locale": ANY_ANSWER, "params": ANY_ANSWER}),
    "api.format_message": Fn(I18N_FORMAT, scope="caller", anon=I18N_ANON,
                             lookups={"message": ANY_ANSWER, "locale": ANY_ANSWER, "params": ANY_ANSWER}),
    "i18n.t": Fn(I18N_T, scope="caller", anon=I18N_ANON, lookups=I18N_T_LOOKUPS),
    "api.t": Fn(I18N_T, scope="caller", anon=I18N_ANON, lookups=I18N_T_LOOKUPS),
    "i18n._t": Fn(I18N_T, scope="caller", anon=I18N_ANON, lookups=I18N_T_LOOKUPS),
    "i18n.bundle": Fn(I18N_BUNDLE, scope="caller", anon=I18N_ANON, lookups=I18N_BUNDLE_LOOKUPS),
    "api.translation_bundle": Fn(I18N_BUNDLE, scope="caller", anon=I18N_ANON, lookups=I18N_BUNDLE_LOOKUPS),
    "i18n.set_message": Fn(I18N_SET),
    "api.set_translation": Fn(I18N_SET),
    "i18n.set_status": Fn({**I18N_KEY, "status": "'reviewed'"}),
    "api.set_translation_status": Fn({**I18N_KEY, "status": "'reviewed'"}),
    "i18n.delete_message": Fn(I18N_KEY),
    "api.delete_translation": Fn(I18N_KEY),
    "i18n.set_brand_locales": Fn(I18N_LOCALES),
    "api.set_brand_locales": Fn(I18N_LOCALES),
    "i18n.set_brand_settings": Fn({"brand_id": "{brand}", "public_wording": "false"}),
    "api.set_translation_settings": Fn({"brand_id": "{brand}", "public_wording": "false"}),
    "i18n.set_content": Fn(I18N_CONTENT),
    "api.set_content_translation": Fn(I18N_CONTENT),
    "i18n.report": Fn({"brand_id": "{brand}"}),
    "api.translation_report": Fn({"brand_id": "{brand}"}),
}

REGISTRY: dict[str, Fn] = {
    **BRAND, **AUDIT, **VERSIONS, **HEALTH, **RATELIMIT, **QUOTAS, **ACCESS, **GATE, **JOBS, **WEBHOOKS,
    **FLAGS,
    **SEARCH,
    **NOTIFY,
    **I18N,
}

PLACEHOLDERS = ("brand", "user", "job", "dead_job", "endpoint", "delivery", "ip_rule", "token", "invitation",
                "key", "table", "search_query")
OBJECTS = tuple(p for p in PLACEHOLDERS if p not in ("brand", "table"))
PLACEHOLDERS += ("notification",)  # notify
OBJECTS += ("notification",)


def lookup(qualified: str) -> Fn | None:
    return REGISTRY.get(qualified) or REGISTRY.get("*." + qualified.split(".", 1)[1])


def placeholders(fn: Fn) -> set[str]:
    return {m for t in fn.args.values() for m in re.findall(r"\{(\w+)\}", t)}


# ---------------------------------------------------------------------------------------
# The catalogue: what the API roles can reach.

SURFACE_SQL = """
select n.nspname || '.' || p.proname as qualified, p.oid::regprocedure::text as signature,
       p.prosecdef as definer,
       has_function_privilege('anon', p.oid, 'execute') as anon,
       has_function_privilege('authenticated', p.oid, 'execute') as authenticated,
       coalesce(p.proargnames, '{}') as argnames,
       (select coalesce(array_agg(format_type(t, null) order by o), '{}')
        from unnest(p.proargtypes) with ordinality as a (t, o)) as argtypes
from pg_proc as p
join pg_namespace as n on n.oid = p.pronamespace
where n.nspname = any(%s)
  and p.prokind in ('f', 'p')
  and (has_function_privilege('anon', p.oid, 'execute')
       or has_function_privilege('authenticated', p.oid, 'execute'))
order by 1, 2
"""

RELATIONS_SQL = """
select c.oid::regclass::text as relation,
       has_table_privilege('anon', c.oid, 'select') as anon,
       has_table_privilege('authenticated', c.oid, 'select') as authenticated
from pg_class as c
join pg_namespace as n on n.oid = c.relnamespace
where n.nspname = any(%s)
  and c.relkind in ('r', 'p', 'v', 'm', 'f')
  and (has_table_privilege('anon', c.oid, 'select') or has_table_privilege('authenticated', c.oid, 'select'))
order by 1
"""


@dataclass(frozen=True)
class Proc:
    qualified: str
    signature: str
    definer: bool
    anon: bool
    authenticated: bool
    argnames: list[str]
    argtypes: list[str]


def surface(conn: psycopg.Connection, schemas: list[str]) -> list[Proc]:
    rows = conn.execute(SURFACE_SQL, (schemas,)).fetchall()
    return [Proc(*r) for r in rows]


def relations(conn: psycopg.Connection, schemas: list[str]) -> list[tuple[str, bool, bool]]:
    return conn.execute(RELATIONS_SQL, (schemas,)).fetchall()


# ---------------------------------------------------------------------------------------
# Two brands with a member of every tier, and one object of each kind per brand.

TIERS = ("viewer", "member", "editor", "admin", "owner")
TABLE = "public.suite_posts"

SEED_SQL = f"""
select tests.seed_two_brands();
insert into webhooks.event_types (event_type, description) values ('order.paid', 'an order was paid')
on conflict do nothing;
update webhooks.settings set development_mode = true, allowed_networks = '{{127.0.0.0/8}}';
select jobs.create_queue('exports', app_enqueue => true, max_attempts => 1);
create table {TABLE} (
    brand_id uuid not null references brand.brands (id) on delete cascade,
    id integer not null,
    title text not null,
    primary key (brand_id, id)
);
grant select, insert, update, delete on {TABLE} to authenticated;
select brand.isolate('{TABLE}', 'content.read', 'content.write');
select versions.track('{TABLE}');
insert into {TABLE} select b.id, 1, b.slug || ' v1' from brand.brands as b;
update {TABLE} set title = title || '+';
do $$
begin
    -- one dead job per brand, then one waiting job per brand
    perform jobs.enqueue('exports', jsonb_build_object('dead', b.slug), b.id) from brand.brands as b;
    perform jobs.fail('w', array_agg(c.id), array_agg('boom'::text))
    from jobs.claim('w', 10, array['exports']) as c;
    perform jobs.enqueue('exports', jsonb_build_object('who', b.slug), b.id) from brand.brands as b;
    perform webhooks.create_endpoint(b.id, 'http://127.0.0.1:9/' || b.slug, array['*'])
    from brand.brands as b;
    perform webhooks.emit(b.id, 'order.paid', jsonb_build_object('brand', b.slug)) from brand.brands as b;
    perform webhooks.record('w', jsonb_agg(jsonb_build_object('brand_id', d.brand_id,
        'delivery_id', d.delivery_id, 'status_code', 500)))
    from webhooks.claim('w', 10) as d (brand_id, delivery_id);
end
$$;
insert into access.ip_rules (brand_id, network, action, note)
select b.id, '198.51.100.0/24', 'deny', 'seed ' || b.slug from brand.brands as b;
insert into ratelimit.brand_policies (brand_id, api_role, scope, route, rate, period, burst)
values (tests.brand('bolt'), 'authenticated', 'caller', '*', 4242, '1 minute', 42);
insert into quotas.brand_quotas (brand_id, metric, soft_limit, hard_limit)
values (tests.brand('bolt'), 'api_calls', 424242, 4242424);
"""

# flags: a string flag on for everyone, with brand B's override and a member's of B.
SEED_SQL += """
select flags.set_flag('suite.colour', 'string', on_value => '"plain"');
select flags.set_environment('suite.colour', 'production', true, '[]');
insert into flags.overrides (brand_id, flag_key, user_id, value, reason)
select tests.brand('bolt'), 'suite.colour', u.id, '"bolt-flag-marker"', 'seed'
from (values ('00000000-0000-0000-0000-000000000000'::uuid), (tests.uid('viewer@bolt'))) as u (id);
"""

# Search: a search-enabled table with one row per brand, and one logged query per brand.
SEED_SQL += f"""
create table {SEARCH_TABLE} (
    brand_id uuid not null references brand.brands (id) on delete cascade,
    id integer not null,
    title text not null,
    primary key (brand_id, id)
);
grant select on {SEARCH_TABLE} to authenticated;
select brand.isolate('{SEARCH_TABLE}', 'content.read');
insert into {SEARCH_TABLE} select b.id, 1, b.slug || ' v1' from brand.brands as b;
select search.enable('{SEARCH_TABLE}', '{{"title": "A"}}', 'english', '{{"trigram": ["title"]}}');
insert into search.queries (brand_id, table_name, query, hits, latency_ms, created_at)
select b.id, '{SEARCH_TABLE}', 'seed ' || b.slug, 1, 1, now() from brand.brands as b;
"""

# notify: one notification per brand, to its viewer, sent by its owner.
SEED_SQL += """
select notify._fan_out(b.id, array[tests.uid('viewer@' || b.slug)], c, 'seed ' || b.slug || ' notice',
    null, '{}', null, null)
from brand.brands as b
cross join notify.pack_categories as c
where c.key = 'system';
"""

# i18n: a global message, each brand's own wording of it and a draft, a translatable table
# with one content translation per brand.
SEED_SQL += """
select i18n.set_message(null, 'common', 'suite.hello', 'en', 'Hello {name}', 'published');
select i18n.set_message(b.id, 'common', 'suite.hello', 'en', b.slug || '-i18n-marker {name}', 'published')
from brand.brands as b;
select i18n.set_message(b.id, 'common', 'suite.draft', 'en', b.slug || '-i18n-draft', 'draft')
from brand.brands as b;
create table public.suite_i18n (
    brand_id uuid not null references brand.brands (id) on delete cascade,
    id integer not null,
    title text not null,
    primary key (brand_id, id)
);
grant select on public.suite_i18n to authenticated;
select brand.isolate('public.suite_i18n', 'content.read');
insert into public.suite_i18n select b.id, 1, b.slug || ' i18n row' from brand.brands as b;
select i18n.translatable('public.suite_i18n', array['title']);
insert into i18n.content (brand_id, table_name, row_key, column_name, locale, value)
select b.id, 'public.suite_i18n', jsonb_build_object('brand_id', b.id, 'id', 1), 'title', 'en',
    b.slug || '-content-marker'
from brand.brands as b;
"""

# Values only brand B holds: none may reach a member of brand A unless A passed it.
B_MARKERS = ("4242424", "424242", "bolt v1", "127.0.0.1:9/bolt", "seed bolt", "bolt-flag-marker")
B_MARKERS += ("bolt-i18n-marker", "bolt-i18n-draft", "bolt-content-marker")


@dataclass
class Brand:
    slug: str
    id: str
    users: dict[str, str]          # tier -> user id
    emails: dict[str, str]         # tier -> email
    objects: dict[str, object]     # placeholder -> value


@dataclass
class World:
    dsn: str
    a: Brand
    b: Brand
    outsider: str

    def ids(self, brand: Brand) -> set[str]:
        """Every uuid of a brand: itself, its users, its uuid objects."""
        out = {brand.id, *brand.users.values()}
        out |= {v for v in brand.objects.values() if isinstance(v, str) and UUID.fullmatch(v)}
        return out


UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def build_world(dsn: str) -> World:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(SEED_SQL)
        brands = {}
        for slug in ("acme", "bolt"):
            bid = str(conn.execute("select tests.brand(%s)", (slug,)).fetchone()[0])
            users = {t: str(conn.execute("select tests.uid(%s)", (f"{t}@{slug}",)).fetchone()[0])
                     for t in TIERS}
            one = lambda q, bid=bid: conn.execute(q, (bid,)).fetchone()[0]  # noqa: E731
            objects = {
                "user": users["viewer"],
                "job": one("select id from jobs.job_queue where brand_id = %s and payload::jsonb ? 'who'"),
                "dead_job": one("select max(id) from jobs.job_history where brand_id = %s"),
                "endpoint": str(one("select id from webhooks.endpoints where brand_id = %s")),
                "delivery": one("select max(id) from webhooks.deliveries where brand_id = %s"),
                "ip_rule": one("select max(id) from access.ip_rules where brand_id = %s"),
                "key": json.dumps({"brand_id": bid, "id": 1}),
                "table": TABLE,
                "search_query": one("select max(id) from search.queries where brand_id = %s"),
                "notification": one("select max(id) from notify.notifications where brand_id = %s"),
            }
            # The invitation, made through the API by the brand's owner.
            with conn.transaction():
                conn.execute("select tests.authenticate_as(%s)", (users["owner"],))
                objects["token"] = conn.execute(
                    "select api.invite_member(%s, %s, 'member')", (bid, f"guest@{slug}.test")).fetchone()[0]
                conn.execute("select tests.clear_authentication()")
            objects["invitation"] = str(conn.execute(
                "select id from brand.invitations where brand_id = %s and email = %s",
                (bid, f"guest@{slug}.test")).fetchone()[0])
            brands[slug] = Brand(slug, bid, users, {t: f"{t}@{slug}.test" for t in TIERS}, objects)
        outsider = str(conn.execute("select tests.uid('outsider@nowhere')").fetchone()[0])
    return World(dsn, brands["acme"], brands["bolt"], outsider)


MISSING_BRAND = "0badc0de-0000-4000-8000-00000000dead"


def missing_objects() -> dict[str, object]:
    return {
        "user": "0badc0de-0000-4000-8000-0000000000aa",
        "job": 2147480001,
        "dead_job": 2147480002,
        "endpoint": "0badc0de-0000-4000-8000-0000000000bb",
        "delivery": 2147480003,
        "ip_rule": 2147480004,
        "token": "f" * 64,
        "invitation": "0badc0de-0000-4000-8000-0000000000cc",
        "table": TABLE,
        "search_query": 2147480005,
        "notification": 2147480006,
    }


def context(world: World, which: str) -> dict[str, object]:
    """The placeholder values for an attack context:
    own      brand A and A's objects
    other    brand B and B's objects
    missing  a brand and objects that do not exist
    mixed    brand A with B's objects
    mixed_missing  brand A with objects that do not exist"""
    if which == "own":
        return {"brand": world.a.id, **world.a.objects}
    if which == "other":
        return {"brand": world.b.id, **world.b.objects}
    if which == "missing":
        return {"brand": MISSING_BRAND, **missing_objects(),
                "key": json.dumps({"brand_id": MISSING_BRAND, "id": 1})}
    if which == "mixed":
        return {**world.b.objects, "brand": world.a.id}
    if which == "mixed_missing":
        return {**missing_objects(), "key": json.dumps({"brand_id": world.a.id, "id": 404}),
                "brand": world.a.id}
    raise ValueError(which)


def ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def literal(value: object) -> str:
    if isinstance(value, int):
        return str(value)
    return "'" + str(value).replace("'", "''") + "'"


def render(qualified: str, fn: Fn, values: dict[str, object], override: dict[str, str] | None = None) -> str:
    """`select * from schema.name(arg => value, ...)` for these placeholder values."""
    args = dict(fn.args)
    args.update(override or {})
    parts = []
    for name, template in args.items():
        text = re.sub(r"\{(\w+)\}", lambda m: literal(values[m.group(1)]), template)
        parts.append(f"{ident(name)} => {text}")
    schema, name = qualified.split(".", 1)
    target = f"{ident(schema)}.{ident(name)}"
    return f"select * from {target}({', '.join(parts)})"


def passed_values(fn: Fn, values: dict[str, object]) -> set[str]:
    """The values a call passes (as text), with the brand ids inside a passed record key."""
    out = set()
    for p in placeholders(fn):
        out.add(str(values[p]))
        if p == "key":
            out.add(json.loads(values[p])["brand_id"])
    return out


# ---------------------------------------------------------------------------------------
# Acting as PostgREST: one transaction per request, role and request GUCs set local.

def gotrue_claims(user_id: str, email: str, role: str = "authenticated") -> dict:
    """The claims GoTrue puts in an access token (what PostgREST copies to request.jwt.claims)."""
    return {
        "aud": "authenticated", "exp": 4102444800, "iat": 1764720000,
        "iss": "http://127.0.0.1:54321/auth/v1", "sub": user_id, "email": email, "phone": "",
        "app_metadata": {"provider": "email", "providers": ["email"]}, "user_metadata": {},
        "role": role, "aal": "aal1", "amr": [{"method": "password", "timestamp": 1764720000}],
        "session_id": str(uuid.uuid4()), "is_anonymous": False,
    }


ANON_CLAIMS = {"iss": "supabase-demo", "role": "anon", "exp": 4102444800}


@dataclass
class Outcome:
    ok: bool
    sqlstate: str | None = None
    message: str = ""
    detail: str = ""
    hint: str = ""
    rows: str = ""

    @property
    def text(self) -> str:
        return " ".join((self.message, self.detail, self.hint, self.rows))

    def __str__(self) -> str:
        if self.ok:
            return f"success: {self.rows[:300]}"
        return f"{self.sqlstate}: {self.message[:300]}"


def request(conn: psycopg.Connection, statement: str, role: str, claims: object,
            headers: dict | None = None, path: str = "/rpc/x", method: str = "POST",
            before=None, after=None) -> Outcome:
    """Run one statement as PostgREST runs a request, then roll back.
    claims: a dict (sent as JSON), a str (sent as is) or None (no claims)."""
    raw = json.dumps(claims) if isinstance(claims, dict) else claims
    try:
        with conn.transaction(force_rollback=True):
            if before:
                before(conn)
            conn.execute(sql.SQL("set local role {}").format(sql.Identifier(role)))
            conn.execute("select set_config('request.jwt.claims', %s, true), "
                         "set_config('request.headers', %s, true), set_config('request.method', %s, true), "
                         "set_config('request.path', %s, true)",
                         (raw or "", json.dumps(headers or {}), method, path))
            rows = conn.execute(statement).fetchmany(200)
            outcome = Outcome(True, rows=str(rows))
            if after:
                conn.execute("reset role")
                after(conn, outcome)
            return outcome
    except psycopg.Error as e:
        d = e.diag
        return Outcome(False, e.sqlstate, d.message_primary or "", d.message_detail or "",
                       d.message_hint or "")


def as_tier(brand: Brand, tier: str) -> tuple[str, dict]:
    return "authenticated", gotrue_claims(brand.users[tier], brand.emails[tier])


def normalise(text: str, values: set[str]) -> str:
    for v in sorted(values, key=len, reverse=True):
        pattern = rf"\b{re.escape(v)}\b" if v.isdigit() else re.escape(v)
        text = re.sub(pattern, "<id>", text)
    return text


# ---------------------------------------------------------------------------------------
# PostgREST's HTTP status for an SQLSTATE (docs.postgrest.org, "Errors": SQLSTATE to HTTP).

def postgrest_status(code: str, anonymous: bool = False) -> int:
    exact = {"23503": 409, "23505": 409, "25006": 405, "53400": 500, "P0001": 400,
             "42883": 404, "42P01": 404, "42501": 401 if anonymous else 403}
    if code in exact:
        return exact[code]
    if re.fullmatch(r"PT\d{3}", code):
        return int(code[2:])
    prefixes = {"08": 503, "09": 500, "0L": 403, "0P": 403, "25": 500, "28": 403, "2D": 500, "38": 500,
                "39": 500, "3B": 500, "40": 500, "53": 503, "54": 500, "55": 500, "57": 500, "58": 500,
                "F0": 500, "HV": 500, "P0": 500, "XX": 500}
    return prefixes.get(code[:2], 400)
