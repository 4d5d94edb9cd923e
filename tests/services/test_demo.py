from __future__ import annotations

from collections import Counter
from datetime import date, timedelta

import pyotp
import pytest
from sqlalchemy import func, select
from werkzeug.security import check_password_hash

from portal.models import (
    Account,
    Campaign,
    Certification,
    CertificationMethod,
    DeathRecord,
    Pensioner,
    PensionerStatus,
    ReferenceFace,
    StaffRole,
    StaffUser,
    Suspension,
    Unit,
)
from portal.services.campaigns import current_campaign
from portal.services.demo import ACCOUNT_PASSWORD, ACCOUNT_PHONE, DemoDataExists, demo_sign_ins, seed_demo
from portal.services.faces import FaceLimits, encode_reference_photo, encoding_from_bytes, face_distance
from portal.services.image_store import ImageStore
from portal.services.validation import birth_date, normalise_id_number

TODAY = date(2026, 12, 4)
CYCLE = timedelta(days=365)


@pytest.fixture
def seeded(session):
    return seed_demo(session, today=TODAY, cycle_days=365)


def latest_certifications(session) -> dict[int, tuple[date, CertificationMethod]]:
    latest: dict[int, tuple[date, CertificationMethod]] = {}
    for certification in session.scalars(select(Certification).order_by(Certification.certified_on)):
        latest[certification.pensioner_id] = (certification.certified_on, certification.method)
    return latest


def test_demo_has_zhumadian_units_and_valid_synthetic_id_numbers(session, seeded):
    units = session.scalars(select(Unit)).all()
    pensioners = session.scalars(select(Pensioner)).all()

    assert len(units) == 6
    assert all(unit.name.startswith("驻马店市") and unit.contact_phone for unit in units)
    assert "驻马店市人力资源和社会保障局" in {unit.name for unit in units}
    assert len(pensioners) == 50
    assert len({pensioner.name for pensioner in pensioners}) == 50
    for pensioner in pensioners:
        assert normalise_id_number(pensioner.id_number, today=TODAY) == pensioner.id_number
        assert pensioner.id_number.startswith("4117")
        assert 1940 <= birth_date(pensioner.id_number).year <= 1965
        assert birth_date(pensioner.id_number) < pensioner.benefit_start <= TODAY
        assert 2000_00 < pensioner.monthly_amount_fen < 8000_00
    assert {pensioner.unit.code for pensioner in pensioners} == {unit.code for unit in units}


def test_demo_spreads_pensioners_over_every_situation(session, seeded):
    pensioners = session.scalars(select(Pensioner)).all()
    latest = latest_certifications(session)
    active = [pensioner for pensioner in pensioners if pensioner.status is PensionerStatus.ACTIVE]

    recently = [p for p in active if p.id in latest and latest[p.id][0] >= TODAY - timedelta(days=150)]
    due_soon = [p for p in active if TODAY <= p.cycle_start + CYCLE <= TODAY + timedelta(days=30)]
    overdue = [p for p in active if p.cycle_start + CYCLE < TODAY]
    suspended = [p for p in pensioners if p.status is PensionerStatus.SUSPENDED]
    terminated = [p for p in pensioners if p.status is PensionerStatus.TERMINATED]
    never = [p for p in active if p.id not in latest]

    assert len(recently) >= 10
    assert {latest[p.id][1] for p in recently} >= {
        CertificationMethod.SELF,
        CertificationMethod.OTHER,
        CertificationMethod.DATA,
        CertificationMethod.OFFLINE,
    }
    assert len(due_soon) >= 5
    assert len(overdue) >= 3
    assert len(suspended) >= 5
    assert len(terminated) == 2
    assert len(never) >= 5
    for pensioner in pensioners:
        # The cycle starts at the latest certification, or at the benefit start for the never certified.
        expected = latest[pensioner.id][0] if pensioner.id in latest else pensioner.benefit_start
        assert pensioner.cycle_start == expected
    for pensioner in suspended:
        assert pensioner.suspended_on == pensioner.cycle_start + CYCLE + timedelta(days=1)
        assert session.scalar(
            select(Suspension).where(Suspension.pensioner_id == pensioner.id, Suspension.resumed_on.is_(None))
        )
    for pensioner in terminated:
        died = session.scalar(select(DeathRecord.died_on).where(DeathRecord.pensioner_id == pensioner.id))
        assert died == pensioner.terminated_on


def test_resumed_pensioners_are_paid_from_the_month_after_their_certification(session, seeded):
    resumed = session.scalars(select(Pensioner).where(Pensioner.resume_from.is_not(None))).all()
    latest = latest_certifications(session)

    assert resumed
    for pensioner in resumed:
        certified_on = latest[pensioner.id][0]
        assert pensioner.status is PensionerStatus.ACTIVE
        assert pensioner.suspended_on < certified_on
        assert pensioner.resume_from == (certified_on.replace(day=28) + timedelta(days=4)).replace(day=1)


def test_demo_account_certifies_itself_and_one_other_person(session, seeded):
    account = session.scalar(select(Account).where(Account.phone == ACCOUNT_PHONE))
    myself = session.scalar(select(Pensioner).where(Pensioner.id_number == account.id_number))
    helped = seeded.sign_ins.helped

    assert check_password_hash(account.password_hash, ACCOUNT_PASSWORD)
    assert myself.name == account.real_name == seeded.sign_ins.myself.name
    assert myself.status is PensionerStatus.ACTIVE
    assert TODAY < myself.cycle_start + CYCLE <= TODAY + timedelta(days=30)
    other = session.scalar(select(Pensioner).where(Pensioner.id_number == helped.id_number))
    assert other.name == helped.name
    assert other.id != myself.id
    assert session.scalar(
        select(Certification).where(
            Certification.pensioner_id == other.id, Certification.recorded_by == f"account:{account.id}"
        )
    )


def test_demo_staff_sign_in_with_password_and_authenticator(session, seeded):
    users = {user.username: user for user in session.scalars(select(StaffUser))}
    printed = {sign_in.username: sign_in for sign_in in seeded.sign_ins.staff}

    assert {user.role for user in users.values()} == {StaffRole.ADMIN, StaffRole.STAFF, StaffRole.UNIT}
    for username, user in users.items():
        assert check_password_hash(user.password_hash, printed[username].password)
        assert len(printed[username].password) >= 10
        assert pyotp.TOTP(user.totp_secret).verify(printed[username].current_code())
    clerk = next(user for user in users.values() if user.role is StaffRole.UNIT)
    assert clerk.unit is not None and clerk.unit.name == "驻马店市教育局"


def test_demo_campaign_is_current_for_every_unit(session, seeded):
    campaign = current_campaign(session, TODAY)

    assert campaign is not None
    assert (campaign.certification_opens, campaign.certification_closes) == (
        date(2026, 12, 1),
        date(2027, 2, 28),
    )
    assert campaign.report_opens == date(2027, 3, 1)
    assert campaign.report_closes > campaign.report_opens
    assert len(campaign.units) == 6


def test_demo_sign_ins_are_read_back_from_the_database(session, seeded):
    again = demo_sign_ins(session)
    assert again == seeded.sign_ins


def test_demo_sign_ins_of_an_empty_database_are_none(session):
    assert demo_sign_ins(session) is None


def test_demo_refuses_a_registry_that_has_pensioners(session, seeded):
    before = session.scalar(select(func.count()).select_from(Pensioner))
    with pytest.raises(DemoDataExists):
        seed_demo(session, today=TODAY, cycle_days=365)
    assert session.scalar(select(func.count()).select_from(Pensioner)) == before
    assert session.scalar(select(func.count()).select_from(Campaign)) == 1


def test_demo_photos_go_through_the_registry_import(app, session, faces):
    limits = FaceLimits.from_config(app.config)
    store = ImageStore.from_config(app.config)

    result = seed_demo(
        session, today=TODAY, cycle_days=365, photos=faces / "people", limits=limits, store=store
    )

    assert result.photos == 6
    reference_faces = session.scalars(select(ReferenceFace)).all()
    assert Counter(face.enrolled_by for face in reference_faces) == {"seed-demo": 6}
    myself = session.scalar(select(Pensioner).where(Pensioner.id_number == result.sign_ins.myself.id_number))
    assert store.get(myself.reference_face.image_key) == (faces / "people/obama/obama.jpg").read_bytes()
    # The webcam demo clip shows the same man, in another photo.
    obama2 = encode_reference_photo((faces / "people/obama/obama2.jpg").read_bytes(), limits)
    assert face_distance(encoding_from_bytes(myself.reference_face.encoding), obama2) <= 0.5
