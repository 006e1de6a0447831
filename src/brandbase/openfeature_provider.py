"""An OpenFeature provider (openfeature-sdk) backed by brandbase: Python services use the
standard API while flags are evaluated by the SQL module, the same code path as in RLS.

    from openfeature import api
    from brandbase.openfeature_provider import BrandbaseProvider
    api.set_provider(BrandbaseProvider(dsn))
    client = api.get_client()
    client.get_boolean_value("new-editor", False, EvaluationContext("user-1", {"brandId": brand}))

The targeting key becomes Unleash's userId; the attributes brandId (the brand whose
overrides and plan apply) and userUuid (a member's auth.users id, for per-user overrides)
choose the brand layer; every other attribute is a context field for constraints.
It connects as a trusted backend (the owner or a service_role login).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import psycopg
from openfeature.evaluation_context import EvaluationContext
from openfeature.exception import ErrorCode
from openfeature.flag_evaluation import FlagResolutionDetails, Reason
from openfeature.provider import AbstractProvider, Metadata

from . import flags

TOP_LEVEL = ("userId", "sessionId", "remoteAddress", "environment", "appName", "currentTime")


def to_context(ctx: EvaluationContext | None) -> tuple[dict, str | None, str | None]:
    """(Unleash context, brand id, member id) from an OpenFeature evaluation context."""
    if ctx is None:
        return {}, None, None
    attrs = dict(ctx.attributes or {})
    brand_id = attrs.pop("brandId", None)
    user_uuid = attrs.pop("userUuid", None)
    out: dict[str, Any] = {"properties": {}}
    if ctx.targeting_key:
        out["userId"] = ctx.targeting_key
    for k, v in attrs.items():
        if k in TOP_LEVEL:
            out[k] = str(v)
        else:
            out["properties"][k] = v if isinstance(v, str | int | float | bool) else str(v)
    if brand_id:
        out["brandId"] = str(brand_id)
    return out, (str(brand_id) if brand_id else None), (str(user_uuid) if user_uuid else None)


class BrandbaseProvider(AbstractProvider):
    def __init__(
        self,
        dsn: str | None = None,
        environment: str | None = None,
        connect: Callable[[], psycopg.Connection] | None = None,
    ):
        super().__init__()
        self._connect = connect or (lambda: psycopg.connect(dsn, autocommit=True))
        self._environment = environment
        self._conn: psycopg.Connection | None = None
        self._lock = threading.Lock()

    def get_metadata(self) -> Metadata:
        return Metadata(name="brandbase")

    def initialize(self, evaluation_context: EvaluationContext) -> None:
        self._connection()

    def shutdown(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _connection(self) -> psycopg.Connection:
        if self._conn is None or self._conn.closed:
            self._conn = self._connect()
        return self._conn

    def _resolve(
        self,
        key: str,
        default: Any,
        ctx: EvaluationContext | None,
        kind: type | tuple,
        convert: Callable[[Any], Any] = lambda v: v,
    ) -> FlagResolutionDetails:
        context, brand_id, user_id = to_context(ctx)
        try:
            with self._lock:
                ev = flags.evaluate(
                    self._connection(), key, context, default, self._environment, brand_id, user_id
                )
        except psycopg.Error as exc:
            return FlagResolutionDetails(
                value=default,
                reason=Reason.ERROR,
                error_code=ErrorCode.GENERAL,
                error_message=str(exc).strip(),
            )
        if ev.error_code:
            return FlagResolutionDetails(
                value=default,
                reason=Reason.ERROR,
                error_code=ErrorCode(ev.error_code),
                error_message=ev.detail,
            )
        value = ev.value
        if value is None:
            value = default
        if isinstance(value, bool) and kind is not bool or not isinstance(value, kind):
            return FlagResolutionDetails(
                value=default,
                reason=Reason.ERROR,
                error_code=ErrorCode.TYPE_MISMATCH,
                error_message=f"{key} is not a {getattr(kind, '__name__', kind)}",
            )
        meta = {"detail": ev.detail or "", "enabled": ev.enabled}
        return FlagResolutionDetails(
            value=convert(value), reason=Reason(ev.reason), variant=ev.variant, flag_metadata=meta
        )

    def resolve_boolean_details(
        self, flag_key: str, default_value: bool, evaluation_context: EvaluationContext | None = None
    ) -> FlagResolutionDetails[bool]:
        return self._resolve(flag_key, default_value, evaluation_context, bool)

    def resolve_string_details(
        self, flag_key: str, default_value: str, evaluation_context: EvaluationContext | None = None
    ) -> FlagResolutionDetails[str]:
        return self._resolve(flag_key, default_value, evaluation_context, str)

    def resolve_integer_details(
        self, flag_key: str, default_value: int, evaluation_context: EvaluationContext | None = None
    ) -> FlagResolutionDetails[int]:
        return self._resolve(flag_key, default_value, evaluation_context, (int, float), int)

    def resolve_float_details(
        self, flag_key: str, default_value: float, evaluation_context: EvaluationContext | None = None
    ) -> FlagResolutionDetails[float]:
        return self._resolve(flag_key, default_value, evaluation_context, (int, float), float)

    def resolve_object_details(
        self, flag_key: str, default_value: dict | list, evaluation_context: EvaluationContext | None = None
    ) -> FlagResolutionDetails[dict | list]:
        return self._resolve(flag_key, default_value, evaluation_context, (dict, list))
