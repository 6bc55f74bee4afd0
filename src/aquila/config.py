"""Settings (environment prefix `AQUILA_`), built by the CLI or an application, never at import."""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from aquila.limits import DEFAULT_MAX_ASSET_BYTES, DEFAULT_MAX_BODY_BYTES, DEFAULT_QUERY_BUDGET_S

__all__ = ["Settings", "default_data_dir"]


def default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "aquila"


class Settings(BaseSettings):
    """Instance settings; every field can be set as AQUILA_<NAME> in the environment."""

    model_config = SettingsConfigDict(env_prefix="AQUILA_", extra="ignore")

    data_dir: Path = Field(default_factory=default_data_dir, description="where updated element sets are kept")
    stale_after_days: float = Field(7.0, gt=0, description="warn when tracked elements are older than this")
    max_element_age_days: float = Field(30.0, gt=0, description="refuse older elements (at the period's end) "
                                        "unless --allow-stale")
    step_s: float = Field(60.0, ge=1, le=300, description="propagation grid step of the access engine")
    workers: int | None = Field(None, ge=1, description="processes for access computations (default: CPUs)")
    max_window_days: float = Field(92.0, gt=0, description="longest analysis period accepted")
    max_body_bytes: int = Field(DEFAULT_MAX_BODY_BYTES, gt=0, description="largest JSON request body")
    max_asset_bytes: int = Field(DEFAULT_MAX_ASSET_BYTES, gt=0, description="largest asset upload")
    query_budget_s: float = Field(DEFAULT_QUERY_BUDGET_S, gt=0, description="SQL time one search may take")
    oidc_issuer: str | None = Field(None, description="accept tokens of this external OIDC issuer too")
    oidc_jwks_url: str | None = Field(None, description="its JWKS endpoint")
    oidc_audience: str | None = Field(None, description="required audience of its tokens")
    webhook_allow: str = Field("", description="origins webhooks may be sent to, comma-separated (e.g. "
                               "https://tak.example.org,http://127.0.0.1:9000); none by default")
    webhook_retry_s: float = Field(0.5, gt=0, le=60, description="first webhook retry after this (then doubled, "
                                   "5 attempts in all)")
    webhook_timeout_s: float = Field(5.0, gt=0, le=60, description="how long a webhook receiver may take to answer")
    aois: Path | None = Field(None, description="areas of interest (GeoJSON FeatureCollection) of the operational "
                              "picture's outlook: opportunities and revisit heat map")
    outlook_hours: float = Field(24.0, gt=0, le=168, description="how far ahead the picture's outlook looks")
    outlook_publish_step_s: float = Field(30.0, gt=0, le=3600, description="an outlook is published a whole "
                                          "number of these after its computation began, so its readers cannot "
                                          "time the computation (which grows with every area, hidden ones too)")
