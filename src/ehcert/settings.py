"""Platform settings: flags, ``EHCERT_*`` environment variables, then a TOML file.

Precedence (highest first): command-line flags (passed as init arguments), environment
variables, ``<data dir>/ehcert.toml`` (or the file named by ``EHCERT_CONFIG``), defaults.
Every setting has a safe default: loopback address, SQLite inside the data directory,
the acceptance environment (never trusted by production).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from ehcert.core.keys import DEFAULT_REQUEST_KEY_TYPE, REQUEST_KEY_TYPES

Environment = Literal["acceptance", "production"]

# Certificate policy OIDs per environment, under the private enterprise arc reserved for
# this platform's documentation examples (RFC 5612 "Enterprise Number for Documentation
# Use", 32473). Operators set their own with EHCERT_POLICY_OID_<ENV>.
DEFAULT_POLICY_OIDS: dict[str, str] = {
    "acceptance": "1.3.6.1.4.1.32473.1.2.1",
    "production": "1.3.6.1.4.1.32473.1.1.1",
}


class Settings(BaseSettings):
    """Everything ``ehcert serve`` and ``ehcert admin`` need to know."""

    model_config = SettingsConfigDict(env_prefix="EHCERT_", extra="ignore")

    data_dir: Path = Field(default=Path("data"), description="Where CA keys and the DB live.")
    db: str | None = Field(default=None, description="SQLAlchemy URL; default SQLite in data_dir.")
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=1, le=65535)
    public_url: str | None = Field(
        default=None, description="Base URL put in certificates (CRL, OCSP, CA issuers)."
    )
    environment: Environment = "acceptance"
    workers: int = Field(
        default=1,
        ge=1,
        le=64,
        description="API processes (ehcert serve): 1 on SQLite, about one per core on "
        "PostgreSQL (docs/operator-guide.md).",
    )
    policy_oid_acceptance: str = DEFAULT_POLICY_OIDS["acceptance"]
    policy_oid_production: str = DEFAULT_POLICY_OIDS["production"]
    nonce_ttl_seconds: int = Field(default=600, ge=10, le=3600)
    nonce_rate_per_second: float = Field(
        default=20.0, gt=0, le=10_000, description="Nonces one client address may ask a second."
    )
    nonce_burst: int = Field(
        default=50, ge=1, le=100_000, description="Nonces one client may ask at once."
    )
    max_outstanding_nonces: int = Field(
        default=50_000,
        ge=100,
        le=10_000_000,
        description="Nonces kept at most; past it the oldest are forgotten.",
    )
    max_body_bytes: int = Field(default=64 * 1024, ge=1024, le=16 * 1024 * 1024)
    ocsp_validity_hours: int = Field(default=24, ge=1, le=168)
    crl_validity_hours: int = Field(default=24, ge=1, le=168)
    sts_token_hours: int = Field(
        default=24, ge=1, le=168, description="Validity of an STS token unless one is asked."
    )
    sts_max_token_hours: int = Field(
        default=24, ge=1, le=168, description="Longest STS token validity a holder may ask."
    )
    ca_passphrase_file: Path | None = Field(
        default=None,
        description=(
            "The passphrase of the CA key files; default <data dir>-secrets/<env>-ca-passphrase, "
            "outside the data directory."
        ),
    )
    ehbox_max_recipients: int = Field(
        default=100, ge=1, le=10_000, description="Most recipients of one eHealthBox message."
    )
    ehbox_max_message_bytes: int = Field(
        default=128 * 1024 * 1024,
        ge=1024,
        le=4 * 1024 * 1024 * 1024,
        description="Largest eHealthBox message (all sealed parts together).",
    )
    ehbox_max_box_bytes: int = Field(
        default=1024 * 1024 * 1024, ge=1024, description="Quota of one eHealthBox."
    )
    ehbox_retention_days: int = Field(
        default=365, ge=1, le=36_500, description="Days a message stays before it expires."
    )
    ehbox_purge_interval_minutes: int = Field(
        default=60,
        ge=1,
        le=7 * 24 * 60,
        description="Minutes between two runs of the scheduled purge of expired messages.",
    )
    pkcs11_module: str | None = Field(
        default=None, description="PKCS#11 module for CA keys; file keys when unset."
    )
    pkcs11_token_label: str | None = None
    pkcs11_pin_file: Path | None = None
    default_key_type: str = Field(
        default=DEFAULT_REQUEST_KEY_TYPE,
        description=(
            "Key type a certificate request generates when the holder names none "
            "(published on /health): rsa-2048, rsa-3072, ec-p256 or ec-p384."
        ),
    )
    extra_eid_anchors: list[Path] = Field(
        default_factory=list, description="Further eID CA certificates (PEM/DER) to trust."
    )

    @field_validator("default_key_type")
    @classmethod
    def _request_key_type(cls, value: str) -> str:
        if value not in REQUEST_KEY_TYPES:
            raise ValueError(f"default_key_type must be one of {', '.join(REQUEST_KEY_TYPES)}")
        return value

    @field_validator("policy_oid_acceptance", "policy_oid_production")
    @classmethod
    def _dotted_oid(cls, value: str) -> str:
        parts = value.split(".")
        if len(parts) < 2 or not all(part.isdigit() for part in parts):
            raise ValueError(f"a certificate policy OID is dotted digits, not {value!r}")
        return value

    @model_validator(mode="after")
    def _one_policy_per_environment(self) -> Settings:
        """Each environment's certificates are told apart by their policy OID
        (``pki.environments``): one OID for both would make every certificate both."""
        if self.policy_oid_acceptance == self.policy_oid_production:
            raise ValueError(
                "policy_oid_acceptance and policy_oid_production must differ: the policy "
                "OID tells a certificate's environment"
            )
        return self

    @field_validator("public_url")
    @classmethod
    def _strip_slash(cls, value: str | None) -> str | None:
        return value.rstrip("/") if value else value

    @property
    def database_url(self) -> str:
        if self.db:
            return self.db
        return f"sqlite:///{(self.data_dir / 'ehcert.db').resolve()}"

    @property
    def passphrase_path(self) -> Path:
        """Where the CA key passphrase lives: the setting, else beside the data directory.

        Never inside it: a copy or backup of the data directory (keys, database) must
        not carry what opens the keys. ``<data dir>-secrets/`` is a sibling folder.
        """
        if self.ca_passphrase_file is not None:
            return self.ca_passphrase_file
        data_dir = self.data_dir.resolve()
        return data_dir.with_name(data_dir.name + "-secrets") / f"{self.environment}-ca-passphrase"

    @property
    def legacy_passphrase_path(self) -> Path:
        """Where versions before 0.2 kept it: ``<data dir>/secrets/``, beside the keys."""
        return self.data_dir / "secrets" / f"{self.environment}-ca-passphrase"

    @property
    def base_url(self) -> str:
        return self.public_url or f"http://{self.host}:{self.port}"

    def policy_oid(self, environment: str) -> str:
        return str(getattr(self, f"policy_oid_{environment}"))

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, _toml_source(settings_cls, init_settings))


def _toml_source(
    settings_cls: type[BaseSettings], init_settings: PydanticBaseSettingsSource
) -> PydanticBaseSettingsSource:
    explicit = os.environ.get("EHCERT_CONFIG")
    if explicit:
        return TomlConfigSettingsSource(settings_cls, toml_file=Path(explicit))
    init_values: dict[str, Any] = init_settings()
    data_dir = init_values.get("data_dir") or os.environ.get("EHCERT_DATA_DIR") or "data"
    return TomlConfigSettingsSource(settings_cls, toml_file=Path(data_dir) / "ehcert.toml")


def load_settings(**overrides: Any) -> Settings:
    """Build settings from flags (``overrides``; ``None`` means "not given")."""
    given = {key: value for key, value in overrides.items() if value is not None}
    return Settings(**given)
