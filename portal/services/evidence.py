"""Passive certification (静默认证): records from other departments that a person was alive on a date.

`import-evidence FILE [--date D]`: each row counts as a `data` certification as of observed_on when that
is later than the current cycle start; a suspended pensioner resumes from the month after D, the
processing date, so a back-filled file gives the same result whenever it runs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.models import CertificationMethod, DeathRecord, PensionerStatus
from portal.services import cycle_texts
from portal.services.cycle import record_certification
from portal.services.messages import N_
from portal.services.record_files import Column, RecordRow, check_file
from portal.services.registry_import import Problem
from portal.services.sms import SmsBackend, Text, deliver_pending, queue_texts

COLUMNS = (
    Column("id_number", "身份证号码"),
    Column("name", "姓名"),
    Column("observed_on", "核验日期"),
    Column("source", "来源", max_length=100),
)


@dataclass
class EvidenceResult:
    problems: list[Problem]
    rows: int = 0
    certified: int = 0
    resumed: int = 0
    # Evidence not later than the current cycle start, or about someone who has since died.
    not_newer: int = 0
    # Recorded, but too old to cover the processing date: still overdue, so still suspended.
    still_overdue: int = 0
    texts: int = 0
    resumed_ids: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def import_evidence(
    session: Session, path: Path, *, today: date, config: Mapping[str, Any], backend: SmsBackend
) -> EvidenceResult:
    """Check every row, then apply all of them in one transaction, or none."""
    checked = check_file(session, path, COLUMNS, "observed_on", today=today)
    problems = checked.problems
    latest: dict[int, RecordRow] = {}
    for row in checked.rows:
        kept = latest.get(row.pensioner.id)
        if kept is None or row.values["observed_on"] > kept.values["observed_on"]:
            latest[row.pensioner.id] = row
    died = dict(
        session.execute(
            select(DeathRecord.pensioner_id, DeathRecord.died_on).where(
                DeathRecord.pensioner_id.in_(list(latest))
            )
        ).all()
        if latest
        else []
    )
    for row in checked.rows:
        died_on = died.get(row.pensioner.id)
        if died_on is not None and row.values["observed_on"] > died_on:
            problems.append(
                Problem(
                    row.line,
                    checked.headers["observed_on"],
                    N_("This person is recorded as having died on %(died_on)s, before this date"),
                    {"died_on": died_on.isoformat()},
                )
            )
    if problems:
        session.rollback()
        return EvidenceResult(sorted(problems, key=lambda problem: problem.line), rows=len(checked.rows))

    result = EvidenceResult([], rows=len(checked.rows))
    texts: list[Text] = []
    cycle_days = int(config["CYCLE_DAYS"])
    for row in latest.values():
        pensioner = row.pensioner
        observed_on: date = row.values["observed_on"]
        if pensioner.status is PensionerStatus.TERMINATED or observed_on <= pensioner.cycle_start:
            result.not_newer += 1
            continue
        outcome = record_certification(
            session,
            pensioner,
            observed_on,
            CertificationMethod.DATA,
            recorded_by=row.values["source"],
            note=f"{Path(path).name}:{row.line}",
            today=today,
            cycle_days=cycle_days,
        )
        result.certified += 1
        if outcome.resumed:
            result.resumed += 1
            result.resumed_ids.append(pensioner.id_number)
        if outcome.due_date < today:
            result.still_overdue += 1
        elif pensioner.phone:
            texts.append(
                Text(
                    pensioner.phone,
                    cycle_texts.certified(
                        cycle_texts.BY_RECORDS, outcome.due_date, outcome.resume_from, config["SERVICE_PHONE"]
                    ),
                    "certified_data",
                )
            )
    result.texts = queue_texts(session, backend, texts)
    session.commit()
    deliver_pending(session, backend)
    return result
