"""All tables; importing this module registers every model on Base.metadata."""

from gateway.models.api_key import ApiKey
from gateway.models.apple_device import AppleDevice, AppleRegistration
from gateway.models.base import Base
from gateway.models.card import Card, WalletPass
from gateway.models.card_lookup import CardLookup
from gateway.models.crm_builtin import CrmCardEvent, CrmMember
from gateway.models.enrollment import Enrollment
from gateway.models.google_callback import GoogleCallbackNonce
from gateway.models.ledger import LedgerEntry
from gateway.models.member import Account, Consent, Member
from gateway.models.operator import Operator, OperatorSession
from gateway.models.outbox import AuditEvent, OutboxEvent
from gateway.models.pass_refresh import PassRefresh
from gateway.models.pos import (
    Accrual,
    IdempotencyRecord,
    Redemption,
    Refund,
    ScanFailure,
    Store,
    Terminal,
    UsedCode,
)
from gateway.models.program import Program, ProgramImage, Reward, Tier
from gateway.models.report import (
    AppleRegistrationEvent,
    ReportDaily,
    ReportSnapshot,
    ReportVisit,
    ReportWatermark,
)
from gateway.models.retired_secret import RetiredCodeSecret
from gateway.models.scan_refusal import ScanRefusal
from gateway.models.worker_heartbeat import WorkerHeartbeat

__all__ = [
    "Account",
    "Accrual",
    "ApiKey",
    "AppleDevice",
    "AppleRegistration",
    "AppleRegistrationEvent",
    "AuditEvent",
    "Base",
    "Card",
    "CardLookup",
    "Consent",
    "CrmCardEvent",
    "CrmMember",
    "Enrollment",
    "GoogleCallbackNonce",
    "IdempotencyRecord",
    "LedgerEntry",
    "Member",
    "Operator",
    "OperatorSession",
    "OutboxEvent",
    "PassRefresh",
    "Program",
    "ProgramImage",
    "Redemption",
    "Refund",
    "ReportDaily",
    "ReportSnapshot",
    "ReportVisit",
    "ReportWatermark",
    "RetiredCodeSecret",
    "Reward",
    "ScanFailure",
    "ScanRefusal",
    "Store",
    "Terminal",
    "Tier",
    "UsedCode",
    "WalletPass",
    "WorkerHeartbeat",
]
