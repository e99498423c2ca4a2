"""All settings, read once in main from the environment and an optional `.env` file."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from core.accounts.crypto import Vault
from core.billing.rules import YOOKASSA_NETWORKS, BillingRules
from core.mail import SmtpConfig

VAR_DIR = Path("var")


class InsurerBranding(BaseSettings):
    """White-label texts: one deployment serves one insurer."""

    model_config = SettingsConfigDict(env_prefix="INSURER_", env_file=".env", extra="ignore")

    name: str = "Демо Страхование"
    phone_federal: str = "8 800 100-00-00"
    phone_moscow: str = "+7 495 100-00-00"
    phone_spb: str = "+7 812 100-00-00"
    assistance_phone: str = "+7 495 100-00-30"  # the travel assistance service, 24/7, from abroad
    email: str = "dms@example.org"
    shop_url: str = "https://shop.example.org/dms"
    telemedicine_url: str = "https://telemed.example.org"
    telemedicine_phone: str = (
        "8 800 100-00-40"  # the telemedicine service (a program may add its own)
    )


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    # Telegram
    bot_token: SecretStr | None = None
    telegram_api_base: str | None = None
    webhook_url: str | None = None
    webhook_path: str = "/telegram/webhook"
    webhook_secret: SecretStr | None = None  # required when several bot workers share it
    webhook_max_connections: int = 40  # Telegram's parallel webhook requests

    # Processes: all, or bot / scheduler / web (several bot workers, one leading scheduler)
    role: str = "all"
    scheduler_standby_poll: float = 2.0  # how often a standby scheduler tries the lock

    # Storage
    database_url: str = f"sqlite+aiosqlite:///{VAR_DIR / 'dms.sqlite3'}"
    database_pool_size: int = 15  # PostgreSQL: connections each process keeps open
    # and opens above that under load, each closed again as soon as it is given back: a new
    # server process per connection, which under a steady load costs more than it gives
    database_max_overflow: int = 0
    redis_url: str | None = None  # FSM state, flood limits and handled updates for all workers
    fsm_ttl_days: int = 30  # Redis: a dialog untouched this long is forgotten

    # This process's web server (webhook, payment notifications, dev routes)
    web_host: str = "127.0.0.1"
    web_port: int = 8080

    # Local sandbox (used when BOT_TOKEN is not set)
    sandbox_host: str = "127.0.0.1"
    sandbox_port: int = 8081
    sandbox_smtp_port: int = 8025
    sandbox_operators_chat_id: int = -1001000000001

    # Integrators' HTTP imports (POST /integration/import/KIND); off unless a token is set
    integration_token: SecretStr | None = None

    # Personal data at rest (Fernet key; the sandbox makes one in var/ on its first run)
    data_encryption_key: SecretStr | None = None
    # Key rotation: the keys before the current one, newest first (JSON list); still read
    data_encryption_old_keys: list[SecretStr] = []
    # The key of the keyed digests (hex, 64 characters); default: derived from the oldest key
    data_digest_key: SecretStr | None = None

    # Operators (identity checks now; the appeals desk later)
    operators_chat_id: int | None = None  # a forum supergroup; the sandbox's in sandbox mode
    operator_ids: list[int] = Field(default_factory=list)  # JSON: OPERATOR_IDS='[111, 222]'
    appeal_answer_hours: int = 24  # an appeal unanswered this long is flagged in the group
    appeal_reopen_days: int = 7  # a closed appeal can be reopened by its person this long
    appeals_per_day: int = 10  # new appeals a person may file in 24 hours (against floods)
    desk_locale: str = "ru"  # the operators' desk speaks the insurer's language
    debt_reminder_days: int = 3  # an unpaid debt is recalled this often
    notify_per_second: float = 30.0  # Telegram's overall limit for a bot
    quiet_hours: tuple[int, int] | None = (22, 9)  # in each person's zone; what can wait, waits
    identity_files_retention_days: int = 30

    # Mail
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 8025
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = False
    smtp_use_tls: bool = False
    mail_from: str = "cabinet@example.org"

    # Payments (YooKassa v3 API or the sandbox bank speaking it)
    payment_provider_url: str | None = None
    payment_shop_id: str = "sandbox-shop"
    payment_secret_key: SecretStr = SecretStr("sandbox-secret")
    payment_return_url: str = "https://t.me/"  # the bot's t.me link; the sandbox: its web chat
    # Where provider notifications may come from (JSON list of networks); behind a proxy, list
    # the proxy in PAYMENT_TRUSTED_PROXIES and the client address is read from X-Forwarded-For.
    payment_notification_networks: list[str] = Field(
        default_factory=lambda: list(YOOKASSA_NETWORKS)
    )
    payment_trusted_proxies: list[str] = Field(default_factory=list)
    payment_notification_path: str = "/payments/notifications"
    franchise_charge_delay_days: int = 30
    debt_deadline_days: int = 14

    # Dialog behaviour
    default_locale: str = "ru"
    throttle_rate: float = Field(default=0.5, description="min seconds between updates of a user")
    throttle_burst: int = 5

    insurer: InsurerBranding = Field(default_factory=InsurerBranding)

    def billing(self) -> BillingRules:
        return BillingRules(
            return_url=self.payment_return_url,
            charge_delay=timedelta(days=self.franchise_charge_delay_days),
            debt_deadline=timedelta(days=self.debt_deadline_days),
        )

    def vault(self) -> Vault | None:
        """Encryption and digests with the configured keys (None without DATA_ENCRYPTION_KEY)."""
        if self.data_encryption_key is None:
            return None
        digest = self.data_digest_key
        return Vault(
            self.data_encryption_key.get_secret_value().encode(),
            [old.get_secret_value().encode() for old in self.data_encryption_old_keys],
            digest_key=bytes.fromhex(digest.get_secret_value()) if digest else None,
        )

    def smtp(self) -> SmtpConfig:
        return SmtpConfig(
            host=self.smtp_host,
            port=self.smtp_port,
            sender=self.mail_from,
            username=self.smtp_username,
            password=self.smtp_password.get_secret_value() if self.smtp_password else None,
            start_tls=self.smtp_starttls,
            use_tls=self.smtp_use_tls,
        )

    @property
    def sandbox_mode(self) -> bool:
        return self.bot_token is None

    @property
    def webhook_mode(self) -> bool:
        return self.bot_token is not None and self.webhook_url is not None
