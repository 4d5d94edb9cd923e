"""Face certification records: one-time challenges, every attempt with its stored frames, review cases."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.models.base import Base, utcnow
from portal.models.people import Account, StaffUser
from portal.models.registry import Pensioner, str_enum


class AttemptMode(enum.StrEnum):
    SELF = "self"  # 本人认证: the pensioner's own account, webcam
    OTHER = "other"  # 为他人认证: a helper's account, webcam
    UPLOAD = "upload"  # one photo sent for staff review (no camera)
    REVIEW = "review"  # a staff decision on a review case
    OFFLINE = "offline"  # seen by staff: home visit, counter, video call
    DATA = "data"  # evidence from another department


class AttemptResult(enum.StrEnum):
    SUCCESS = "success"
    NO_FACE = "no_face"
    SEVERAL_FACES = "several_faces"
    TOO_SMALL = "too_small"
    LIVENESS_FAILED = "liveness_failed"
    MISMATCH = "mismatch"
    REVIEW = "review"  # sent to the staff review queue
    REJECTED = "rejected"  # staff rejected a review case
    ERROR = "error"  # the frames themselves were unusable (too few, too large, unreadable)


class ReviewReason(enum.StrEnum):
    UPLOAD = "upload"
    BORDERLINE = "borderline"


class ReviewStatus(enum.StrEnum):
    OPEN = "open"
    ACCEPTED = "accepted"
    REJECTED = "rejected"


class CertificationChallenge(Base):
    """A one-time webcam challenge, kept in the database because app servers share nothing else."""

    __tablename__ = "certification_challenges"
    __table_args__ = (Index("ix_certification_challenges_pensioner_issued_at", "pensioner_id", "issued_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    nonce: Mapped[str] = mapped_column(String(64), unique=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    pensioner_id: Mapped[int] = mapped_column(ForeignKey("pensioners.id"))
    mode: Mapped[AttemptMode] = mapped_column(str_enum(AttemptMode))
    # The steps in the order asked, comma-separated: "blink,turn_left".
    steps: Mapped[str] = mapped_column(String(64))
    issued_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    consented_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    @property
    def step_list(self) -> tuple[str, ...]:
        return tuple(step for step in self.steps.split(",") if step)


class Attempt(Base):
    """One try at certifying a pensioner: who, for whom, how, the verdict and everything measured."""

    __tablename__ = "attempts"
    __table_args__ = (
        Index("ix_attempts_pensioner_started_at", "pensioner_id", "started_at"),
        Index("ix_attempts_account_started_at", "account_id", "started_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    pensioner_id: Mapped[int] = mapped_column(ForeignKey("pensioners.id"))
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"))
    staff_user_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    mode: Mapped[AttemptMode] = mapped_column(str_enum(AttemptMode))
    # The account certified someone other than its holder: these count towards the helper cap.
    for_other: Mapped[bool] = mapped_column(Boolean, default=False)
    challenge_id: Mapped[int | None] = mapped_column(ForeignKey("certification_challenges.id"), unique=True)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    consented_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    result: Mapped[AttemptResult] = mapped_column(str_enum(AttemptResult))
    distance: Mapped[float | None] = mapped_column(Float)
    # The verifier's measurements: liveness events and baselines, frame counts, hints, CPU time.
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    ip_address: Mapped[str | None] = mapped_column(String(45))
    user_agent: Mapped[str | None] = mapped_column(String(300))
    certification_id: Mapped[int | None] = mapped_column(ForeignKey("certifications.id"))

    pensioner: Mapped[Pensioner] = relationship()
    account: Mapped[Account | None] = relationship()
    staff_user: Mapped[StaffUser | None] = relationship()
    frames: Mapped[list[AttemptFrame]] = relationship(
        back_populates="attempt", order_by="AttemptFrame.frame_index"
    )


class AttemptFrame(Base):
    """One stored picture of an attempt (at most 3), encrypted in the image store until it expires."""

    __tablename__ = "attempt_frames"

    id: Mapped[int] = mapped_column(primary_key=True)
    attempt_id: Mapped[int] = mapped_column(ForeignKey("attempts.id"), index=True)
    # Position in the session as the browser sent it; 0 for an uploaded photo.
    frame_index: Mapped[int] = mapped_column(Integer)
    image_key: Mapped[str] = mapped_column(String(32))
    captured_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    # Set when the retention period ended and the image was deleted from the store.
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    attempt: Mapped[Attempt] = relationship(back_populates="frames")


class ReviewCase(Base):
    """An uploaded photo or a borderline match, waiting for staff to accept or reject it."""

    __tablename__ = "review_cases"

    id: Mapped[int] = mapped_column(primary_key=True)
    attempt_id: Mapped[int] = mapped_column(ForeignKey("attempts.id"), unique=True)
    pensioner_id: Mapped[int] = mapped_column(ForeignKey("pensioners.id"), index=True)
    reason: Mapped[ReviewReason] = mapped_column(str_enum(ReviewReason))
    status: Mapped[ReviewStatus] = mapped_column(
        str_enum(ReviewStatus), default=ReviewStatus.OPEN, index=True
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    note: Mapped[str] = mapped_column(Text, default="")
    # The staff decision as an attempt of mode "review".
    decision_attempt_id: Mapped[int | None] = mapped_column(ForeignKey("attempts.id"))

    attempt: Mapped[Attempt] = relationship(foreign_keys=[attempt_id])
    pensioner: Mapped[Pensioner] = relationship()
    decided_by: Mapped[StaffUser | None] = relationship()
