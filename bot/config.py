"""Settings from the environment or a `.env` file (SPEC section 4).

`load_settings()` is the only entry point; it turns every validation problem into one
`ConfigError` line that names the variable, so start-up fails with a readable message.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AnyHttpUrl,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from bot.errors import ConfigError
from bot.money import Pack, parse_packs

IdSet = Annotated[frozenset[int], NoDecode]
S = TypeVar("S", bound="LedgerSettings")


class LedgerSettings(BaseSettings):
    """The settings the ledger and quota rules need (enough for `stats` and `export`)."""

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", frozen=True
    )

    database_path: Path = Path("data/bot.sqlite3")
    daily_quota: int = Field(20, ge=0)
    hd_quota_cost: int = Field(1, ge=0)
    quota_timezone: str = "UTC"
    daily_budget: float = Field(0, ge=0)
    group_daily_quota: int = Field(0, ge=0)
    log_level: str = "INFO"

    @field_validator("quota_timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}") from None
        return value

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        level = value.upper()
        if level not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            raise ValueError("expected DEBUG, INFO, WARNING, ERROR or CRITICAL")
        return level

    @property
    def timezone(self) -> ZoneInfo:
        """The zone in which the quota day resets."""
        return ZoneInfo(self.quota_timezone)


class Settings(LedgerSettings):
    """Every setting of SPEC section 4, typed."""

    telegram_bot_token: SecretStr
    telegram_api_url: AnyHttpUrl = AnyHttpUrl("https://api.telegram.org")
    telegram_local_mode: bool = False
    image_api_base_url: AnyHttpUrl = AnyHttpUrl("https://api.rainboxs.com")
    image_api_key: SecretStr
    image_model: str = Field("gemini-2.5-flash-image", min_length=1)
    image_model_hd: str = Field("gemini-2.5-flash-image-hd", min_length=1)
    image_api_group: str = Field("default", min_length=1)
    image_price: float = Field(0.028, ge=0)
    image_price_hd: float = Field(0.028, ge=0)
    stars_packs: Annotated[tuple[Pack, ...], NoDecode] = ()
    admin_user_ids: IdSet = frozenset()
    allowed_user_ids: IdSet = frozenset()
    allowed_chat_ids: IdSet = frozenset()
    request_timeout: float = Field(180, gt=0)
    max_input_images: int = Field(10, ge=1, le=10)
    max_concurrent_requests: int = Field(32, ge=1)
    max_hd_in_flight: int = Field(8, ge=1)
    shutdown_grace: float = Field(25, ge=0)
    webhook_url: AnyHttpUrl | None = None
    webhook_listen: str = "0.0.0.0"
    webhook_port: int = Field(8080, ge=1, le=65535)
    webhook_secret: SecretStr | None = None

    @field_validator("stars_packs", mode="before")
    @classmethod
    def _packs(cls, value: object) -> object:
        return parse_packs(value) if isinstance(value, str) else value

    @field_validator("webhook_url", "webhook_secret", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        return None if value == "" else value

    @field_validator("webhook_secret")
    @classmethod
    def _telegram_secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not re.fullmatch(
            r"[A-Za-z0-9_-]{1,256}", value.get_secret_value()
        ):
            raise ValueError("use 1-256 characters from A-Z, a-z, 0-9, _ and -")
        return value

    @property
    def secrets(self) -> list[str]:
        """Values that must never appear in a log line."""
        values = [self.telegram_bot_token, self.image_api_key, self.webhook_secret]
        found = [v.get_secret_value() for v in values if v is not None]
        # the token's secret half alone, as it shows in a URL cut at the colon
        _, _, token_secret = self.telegram_bot_token.get_secret_value().partition(":")
        return [*found, token_secret] if token_secret else found

    @field_validator("telegram_bot_token", "image_api_key")
    @classmethod
    def _not_blank(cls, value: SecretStr) -> SecretStr:
        if not value.get_secret_value().strip():
            raise ValueError("must not be empty")
        return value

    @field_validator("admin_user_ids", "allowed_user_ids", "allowed_chat_ids", mode="before")
    @classmethod
    def _parse_ids(cls, value: object) -> object:
        if isinstance(value, str):
            parts = [p.strip() for p in value.split(",") if p.strip()]
            try:
                return frozenset(int(p) for p in parts)
            except ValueError:
                raise ValueError("expected comma-separated integer ids") from None
        return value

    @property
    def telegram_root(self) -> str:
        """`TELEGRAM_API_URL` without a trailing slash."""
        return str(self.telegram_api_url).rstrip("/")


def load_settings(kind: type[S]) -> S:
    """Read `kind` from the environment and `.env`; `ConfigError` names the first bad one."""
    try:
        return kind()
    except ValidationError as exc:
        first = exc.errors()[0]
        name = str(first["loc"][0]).upper() if first["loc"] else "configuration"
        if first["type"] == "missing":
            raise ConfigError(f"{name} is required but not set") from None
        reason = first["msg"].removeprefix("Value error, ")
        raise ConfigError(f"{name} is invalid: {reason}") from None
