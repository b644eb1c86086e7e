"""Typed settings, read once from the environment (FLEXUNION_*, plus DATABASE_URL).

Where the service runs (database, data directory, secret, issuer) sits at the top;
each domain's knobs are a nested, frozen section (`settings.geo.poll_seconds`), so a
domain reads only its own. Every variable is listed in docs/operations.md."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path

import platformdirs

AUDIENCE_MOBILE = "flexunion-mobile"
AUDIENCE_ADMIN = "flexunion-admin"
AUDIENCE_PARTNER = "flexunion-partner"
# 调解组织 / 法律援助站: a referral provider's machine client (cases/provider_desk/).
AUDIENCE_PROVIDER = "flexunion-provider"


def _env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return value if value not in (None, "") else default


def _int(name: str, default: int) -> int:
    raw = _env(name)
    return int(raw) if raw is not None else default


def _float(name: str, default: float) -> float:
    raw = _env(name)
    return float(raw) if raw is not None else default


@dataclass(frozen=True, slots=True)
class OidcSettings:
    """An external identity provider for admin login (Authlib client)."""

    issuer: str | None = None
    client_id: str | None = None
    client_secret: str | None = None
    redirect_uri: str | None = None
    scope: str = "openid profile email"

    @property
    def enabled(self) -> bool:
        return bool(self.issuer and self.client_id)


@dataclass(frozen=True, slots=True)
class ApiSettings:
    """The HTTP surface every domain shares: body limit, idempotency, page sizes."""

    request_max_body_bytes: int = 1_048_576
    idempotency_ttl_hours: int = 24
    page_size_default: int = 20
    page_size_max: int = 100


@dataclass(frozen=True, slots=True)
class PoolSettings:
    """The app role's connection pool (per process)."""

    size: int = 10
    max_overflow: int = 20


@dataclass(frozen=True, slots=True)
class AuthSettings:
    """Token lifetimes, one-time codes, and the identity provider for staff."""

    access_ttl_admin: int = 3600
    access_ttl_partner: int = 3600
    access_ttl_worker: int = 12 * 3600
    leeway_seconds: int = 30
    otp_ttl_seconds: int = 300
    otp_max_attempts: int = 5
    otp_sends_per_hour: int = 5
    otp_resend_after_seconds: int = 60
    sms_backend: str = "log"
    oidc: OidcSettings = field(default_factory=OidcSettings)


@dataclass(frozen=True, slots=True)
class ConsentSettings:
    """The versions of the texts a worker must have agreed to before joining: the privacy
    policy, and the separate consent to processing the resident ID number (单独同意)."""

    privacy_policy_version: str = "2026-11"
    id_number_version: str = "2026-11"


@dataclass(frozen=True, slots=True)
class MembershipSettings:
    """电子会籍: card lifetime (capped at 30 days), how long an online verification may
    reuse a holder's status read (0: the current status, kept by LISTEN/NOTIFY), and how
    often an instance re-checks holder versions when its listener is down."""

    card_ttl_seconds: int = 30 * 86400
    card_verify_cache_seconds: float = 0.0
    card_poll_seconds: float = 5.0


@dataclass(frozen=True, slots=True)
class TransferSettings:
    """异地接转: an origin that does not answer within this many working days releases."""

    release_working_days: int = 5


@dataclass(frozen=True, slots=True)
class GeoSettings:
    """服务区域, check-ins and the census.

    poll_seconds: how often an instance re-checks the geo version if LISTEN/NOTIFY is down.
    checkin_retention_days: opt-in check-ins are kept this long (the census contact
    window), then purged. A transfer is offered when on at least `suggest_min_days` of
    the last `suggest_window_days` days most check-ins lay in another region; after a
    dismissal, wait `suggest_cooldown_days`. census_contact_days: members "in contact"
    were seen within this many days. dask_scheduler: the Dask scheduler for big census
    runs (None: a local cluster when the dask engine is asked for)."""

    poll_seconds: float = 10.0
    checkin_retention_days: int = 90
    suggest_window_days: int = 14
    suggest_min_days: int = 8
    suggest_cooldown_days: int = 30
    census_contact_days: int = 90
    dask_scheduler: str | None = None


@dataclass(frozen=True, slots=True)
class BargainingSettings:
    """协商清单: supports that move a collected item to review (an item may set its own);
    evidence attachments of at most this many bytes (under data_dir/attachments);
    ratification ballots: default quorum (share of the roll), threshold (share of yes
    among yes+no), and how long a ballot stays open."""

    support_threshold: int = 20
    attachment_max_bytes: int = 10 * 1_048_576
    ballot_quorum: float = 0.5
    ballot_threshold: float = 0.5
    ballot_days: int = 7
    # 流动议事: a member with at least this many check-ins within the window in a region
    # other than their home (or an open case there) is granted that region's board for
    # `participation_expire_days`, renewed by the daily job while the evidence holds.
    participation_min_checkins: int = 5
    participation_window_days: int = 14
    participation_expire_days: int = 30


@dataclass(frozen=True, slots=True)
class CaseSettings:
    """需求清单. reopen_days: a worker may reopen a closed case within this many calendar days
    (自然日, not working days) of its closing, counted to the moment (closed_at + N × 24 h)."""

    reopen_days: int = 15
    # 临期提醒: the SLA sweep reminds a running clock this many working minutes before its
    # deadline (FLEXUNION_CASE_REMINDER_MINUTES; 240 = 4 working hours).
    reminder_minutes: int = 240
    # 季度整改清单: a group (category × place) of a quarter is recurring with at least
    # `recurring_cases` cases in the quarter, or at least `recurring_consecutive_cases` in
    # each of two consecutive quarters (this one and the last).
    recurring_cases: int = 3
    recurring_consecutive_cases: int = 2
    # 周研判 (cases/weekly/rules.py, docs/weekly-review.md): a week's count at a place is a
    # signal when >= max(review_min_count, mean + review_k * max(sd, sqrt(1.25 * mean +
    # review_floor ** 2))) over its previous 4 weeks (review_repeat_min in place of
    # review_min_count for one category at a place); a roster drop when a station's active
    # workers of a partner fell by >= review_drop_pct % and >= review_drop_min workers from
    # >= review_roster_min.
    review_min_count: int = 5
    review_repeat_min: int = 8
    review_k: float = 3.0
    review_floor: float = 1.0
    review_drop_pct: float = 30.0
    review_drop_min: int = 5
    review_roster_min: int = 10
    # 算法决定申诉 (封号/限单, 罚款/扣分 disputes): the platform owes its written reasons within
    # this many working days of the dispute's opening, on the case's calendar
    # (FLEXUNION_CASE_PLATFORM_REPLY_DAYS). 10 working days = the two weeks the EU Platform
    # Work Directive (2024/2831, art. 11) gives a platform to answer a review request.
    platform_reply_days: int = 10


@dataclass(frozen=True, slots=True)
class PlatformRulesSettings:
    """劳动规则与算法公示 (contracts/rules/, docs/platform-rules.md): a change to a platform rule
    that touches a bargaining topic is filed at least `notice_days` working days (the
    federation's calendar) before it takes effect (FLEXUNION_RULES_NOTICE_DAYS). 10 working
    days — two weeks — is more than the 7 days the E-Commerce Law (电子商务法 art. 34) asks
    before a platform's rules change, and leaves the union time to consult."""

    notice_days: int = 10


@dataclass(frozen=True, slots=True)
class AssistanceSettings:
    """帮扶台账 (services/assistance/, docs/services.md): the defaults of a federation that has
    not set its own policy (`assistance_policies`): the per-member yearly total cap in fen
    (FLEXUNION_ASSISTANCE_YEARLY_CAP_FEN), the urgent clock in hours per step
    (FLEXUNION_ASSISTANCE_URGENT_HOURS), the ordinary clock in working days per step
    (FLEXUNION_ASSISTANCE_STEP_DAYS) and how long special-category details are kept after a
    case closes (FLEXUNION_ASSISTANCE_RETENTION_DAYS)."""

    yearly_cap_fen: int = 500_000
    urgent_step_hours: int = 24
    ordinary_step_days: int = 5
    retention_days: int = 730


@dataclass(frozen=True, slots=True)
class ContractSettings:
    """核验节点 (contracts/checkpoints/, docs/contracts.md): the partner may lodge an objection
    (异常复议) to a breached checkpoint within `objection_days` working days of the failing
    evaluation, on the agreement's tenant's calendar (FLEXUNION_CONTRACTS_OBJECTION_DAYS)."""

    objection_days: int = 10


@dataclass(frozen=True, slots=True)
class ConsoleSettings:
    """工作台: a session ends after `idle_minutes` without a request and `absolute_hours`
    after sign-in at the latest. `tiles`: an optional map tile URL template (Amap or
    Tianditu style; none by default: maps draw on a plain background) and its coordinate
    system (`wgs84` or `gcj02`: GCJ-02 tiles get their layers shifted to line up)."""

    idle_minutes: int = 30
    absolute_hours: int = 12
    tiles: str | None = None
    tiles_crs: str = "wgs84"


@dataclass(frozen=True, slots=True)
class JobSettings:
    """The job queue (jobs/, pgqueuer on the same PostgreSQL). A picked job whose worker
    stops sending heartbeats for `heartbeat_seconds` is picked again by another worker (a
    killed pod's job runs again); a failing job is retried up to `max_attempts` times with
    backoff; `concurrency`: jobs one worker process runs at once. `in_process`: whether
    `flexunion serve` runs a worker beside the API (None: only with the embedded
    database, i.e. the quick start). `schedules`: whether this worker fires the periodic
    schedules (a worker with it off only runs queued jobs)."""

    heartbeat_seconds: float = 30.0
    max_attempts: int = 5
    concurrency: int = 4
    in_process: bool | None = None
    schedules: bool = True


@dataclass(frozen=True, slots=True)
class Settings:
    # Owner connection (migrations, operator CLI). None → embedded PostgreSQL.
    database_url: str | None = None
    # The serving app's connection; derived from database_url when not given.
    app_database_url: str | None = None
    app_role: str = "flexunion_app"
    app_db_password: str | None = None
    data_dir: Path = field(default_factory=lambda: Path(platformdirs.user_data_dir("flexunion")))
    secret_key: str | None = None
    issuer: str = "http://127.0.0.1:8000"
    demo_dir: Path | None = None
    load_demo: bool = True
    log_level: str = "INFO"
    api: ApiSettings = field(default_factory=ApiSettings)
    pool: PoolSettings = field(default_factory=PoolSettings)
    auth: AuthSettings = field(default_factory=AuthSettings)
    consent: ConsentSettings = field(default_factory=ConsentSettings)
    membership: MembershipSettings = field(default_factory=MembershipSettings)
    transfers: TransferSettings = field(default_factory=TransferSettings)
    geo: GeoSettings = field(default_factory=GeoSettings)
    bargaining: BargainingSettings = field(default_factory=BargainingSettings)
    console: ConsoleSettings = field(default_factory=ConsoleSettings)
    jobs: JobSettings = field(default_factory=JobSettings)
    cases: CaseSettings = field(default_factory=CaseSettings)
    platform_rules: PlatformRulesSettings = field(default_factory=PlatformRulesSettings)
    assistance: AssistanceSettings = field(default_factory=AssistanceSettings)
    contracts: ContractSettings = field(default_factory=ContractSettings)

    @property
    def embedded(self) -> bool:
        return self.database_url is None and self.app_database_url is None

    def with_database(self, owner_url: str, app_url: str | None = None) -> Settings:
        return replace(self, database_url=owner_url, app_database_url=app_url)


def _default_demo_dir() -> Path | None:
    # A checkout keeps tenants/ beside src/; an installed wheel has no demo.
    here = Path(__file__).resolve().parents[2] / "tenants" / "demo"
    return here if here.is_dir() else None


def load_settings() -> Settings:
    data_dir = _env("FLEXUNION_DATA_DIR")
    demo_dir = _env("FLEXUNION_DEMO_DIR")
    return Settings(
        database_url=_env("FLEXUNION_DATABASE_URL", _env("DATABASE_URL")),
        app_database_url=_env("FLEXUNION_APP_DATABASE_URL"),
        app_role=_env("FLEXUNION_APP_ROLE", "flexunion_app") or "flexunion_app",
        app_db_password=_env("FLEXUNION_APP_DB_PASSWORD"),
        data_dir=Path(data_dir) if data_dir else Path(platformdirs.user_data_dir("flexunion")),
        secret_key=_env("FLEXUNION_SECRET_KEY"),
        issuer=(_env("FLEXUNION_ISSUER", "http://127.0.0.1:8000") or "").rstrip("/"),
        demo_dir=Path(demo_dir) if demo_dir else _default_demo_dir(),
        load_demo=(_env("FLEXUNION_LOAD_DEMO", "1") == "1"),
        log_level=_env("FLEXUNION_LOG_LEVEL", "INFO") or "INFO",
        api=ApiSettings(
            request_max_body_bytes=_int("FLEXUNION_MAX_BODY_BYTES", 1_048_576),
        ),
        pool=PoolSettings(
            size=_int("FLEXUNION_DB_POOL_SIZE", 10),
            max_overflow=_int("FLEXUNION_DB_MAX_OVERFLOW", 20),
        ),
        auth=AuthSettings(
            access_ttl_admin=_int("FLEXUNION_ACCESS_TTL_ADMIN", 3600),
            access_ttl_partner=_int("FLEXUNION_ACCESS_TTL_PARTNER", 3600),
            access_ttl_worker=_int("FLEXUNION_ACCESS_TTL_WORKER", 12 * 3600),
            sms_backend=_env("FLEXUNION_SMS_BACKEND", "log") or "log",
            oidc=OidcSettings(
                issuer=_env("FLEXUNION_OIDC_ISSUER"),
                client_id=_env("FLEXUNION_OIDC_CLIENT_ID"),
                client_secret=_env("FLEXUNION_OIDC_CLIENT_SECRET"),
                redirect_uri=_env("FLEXUNION_OIDC_REDIRECT_URI"),
            ),
        ),
        consent=ConsentSettings(
            privacy_policy_version=_env("FLEXUNION_PRIVACY_POLICY_VERSION", "2026-11") or "2026-11",
            id_number_version=_env("FLEXUNION_ID_CONSENT_VERSION", "2026-11") or "2026-11",
        ),
        membership=MembershipSettings(
            card_ttl_seconds=_int("FLEXUNION_CARD_TTL_SECONDS", 30 * 86400),
            card_verify_cache_seconds=_float("FLEXUNION_CARD_VERIFY_CACHE_SECONDS", 0.0),
            card_poll_seconds=_float("FLEXUNION_CARD_POLL_SECONDS", 5.0),
        ),
        transfers=TransferSettings(
            release_working_days=_int("FLEXUNION_TRANSFER_RELEASE_WORKING_DAYS", 5),
        ),
        geo=GeoSettings(
            poll_seconds=_float("FLEXUNION_GEO_POLL_SECONDS", 10.0),
            checkin_retention_days=_int("FLEXUNION_CHECKIN_RETENTION_DAYS", 90),
            suggest_window_days=_int("FLEXUNION_SUGGEST_WINDOW_DAYS", 14),
            suggest_min_days=_int("FLEXUNION_SUGGEST_MIN_DAYS", 8),
            suggest_cooldown_days=_int("FLEXUNION_SUGGEST_COOLDOWN_DAYS", 30),
            census_contact_days=_int("FLEXUNION_CENSUS_CONTACT_DAYS", 90),
            dask_scheduler=_env("FLEXUNION_DASK_SCHEDULER"),
        ),
        bargaining=BargainingSettings(
            support_threshold=_int("FLEXUNION_AGENDA_SUPPORT_THRESHOLD", 20),
            attachment_max_bytes=_int("FLEXUNION_ATTACHMENT_MAX_BYTES", 10 * 1_048_576),
            ballot_quorum=_float("FLEXUNION_BALLOT_QUORUM", 0.5),
            ballot_threshold=_float("FLEXUNION_BALLOT_THRESHOLD", 0.5),
            ballot_days=_int("FLEXUNION_BALLOT_DAYS", 7),
            participation_min_checkins=_int("FLEXUNION_PARTICIPATION_MIN_CHECKINS", 5),
            participation_window_days=_int("FLEXUNION_PARTICIPATION_WINDOW_DAYS", 14),
            participation_expire_days=_int("FLEXUNION_PARTICIPATION_EXPIRE_DAYS", 30),
        ),
        cases=CaseSettings(
            reopen_days=_int("FLEXUNION_CASE_REOPEN_DAYS", 15),
            reminder_minutes=_int("FLEXUNION_CASE_REMINDER_MINUTES", 240),
            recurring_cases=_int("FLEXUNION_CASE_RECURRING_CASES", 3),
            recurring_consecutive_cases=_int("FLEXUNION_CASE_RECURRING_CONSECUTIVE_CASES", 2),
            review_min_count=_int("FLEXUNION_REVIEW_MIN_COUNT", 5),
            review_repeat_min=_int("FLEXUNION_REVIEW_REPEAT_MIN", 8),
            review_k=_float("FLEXUNION_REVIEW_K", 3.0),
            review_floor=_float("FLEXUNION_REVIEW_FLOOR", 1.0),
            review_drop_pct=_float("FLEXUNION_REVIEW_DROP_PCT", 30.0),
            review_drop_min=_int("FLEXUNION_REVIEW_DROP_MIN", 5),
            review_roster_min=_int("FLEXUNION_REVIEW_ROSTER_MIN", 10),
            platform_reply_days=_int("FLEXUNION_CASE_PLATFORM_REPLY_DAYS", 10)),
        platform_rules=PlatformRulesSettings(
            notice_days=_int("FLEXUNION_RULES_NOTICE_DAYS", 10)),
        assistance=AssistanceSettings(
            yearly_cap_fen=_int("FLEXUNION_ASSISTANCE_YEARLY_CAP_FEN", 500_000),
            urgent_step_hours=_int("FLEXUNION_ASSISTANCE_URGENT_HOURS", 24),
            ordinary_step_days=_int("FLEXUNION_ASSISTANCE_STEP_DAYS", 5),
            retention_days=_int("FLEXUNION_ASSISTANCE_RETENTION_DAYS", 730)),
        contracts=ContractSettings(
            objection_days=_int("FLEXUNION_CONTRACTS_OBJECTION_DAYS", 10)),
        console=ConsoleSettings(
            idle_minutes=_int("FLEXUNION_CONSOLE_IDLE_MINUTES", 30),
            absolute_hours=_int("FLEXUNION_CONSOLE_ABSOLUTE_HOURS", 12),
            tiles=_env("FLEXUNION_CONSOLE_TILES"),
            tiles_crs=_env("FLEXUNION_CONSOLE_TILES_CRS", "wgs84") or "wgs84",
        ),
        jobs=JobSettings(
            heartbeat_seconds=_float("FLEXUNION_JOBS_HEARTBEAT_SECONDS", 30.0),
            max_attempts=_int("FLEXUNION_JOBS_MAX_ATTEMPTS", 5),
            concurrency=_int("FLEXUNION_JOBS_CONCURRENCY", 4),
            in_process=(None if _env("FLEXUNION_JOBS_IN_PROCESS") is None
                        else _env("FLEXUNION_JOBS_IN_PROCESS") == "1"),
            schedules=_env("FLEXUNION_JOBS_SCHEDULES", "1") == "1",
        ),
    )
