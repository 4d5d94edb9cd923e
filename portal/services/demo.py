"""Demo data for trying the portal: Zhumadian agencies, 50 pensioners over every status, sign-ins.

Reproducible (a fixed random seed), relative to the day it is loaded, and written through the registry
import's own plan and write steps, so demo photos are encoded and stored exactly as imported ones are.
"""

from __future__ import annotations

import calendar
import random
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import pyotp
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.security import generate_password_hash

from portal.models import (
    Account,
    Campaign,
    Certification,
    CertificationMethod,
    DeathRecord,
    OfflineChannel,
    Pensioner,
    PensionerStatus,
    StaffRole,
    StaffUser,
    Suspension,
    Unit,
)
from portal.models.base import utcnow
from portal.services.faces import FaceLimits
from portal.services.image_store import ImageStore
from portal.services.registry_import import FolderPhotos, RegistryRow, plan_import, write_plan
from portal.services.validation import check_character

SEED = 20271201
ACCOUNT_PHONE = "13800000000"
ACCOUNT_PASSWORD = "demo-pass-2026"
ACCOUNT_NAME = "王建国"
HELPED_NAME = "李秀英"  # his wife, whom the account certifies (为他人认证)
# (username, password, role, display name); the unit clerk belongs to the first unit.
STAFF = (
    ("admin", "admin-demo-2026", StaffRole.ADMIN, "系统管理员"),
    ("staff", "staff-demo-2026", StaffRole.STAFF, "张丽（社保处）"),
    ("clerk", "clerk-demo-2026", StaffRole.UNIT, "刘红梅（驻马店市教育局）"),
)
UNITS = (
    ("41170101", "驻马店市教育局", "刘红梅", "0396-2622301"),
    ("41170102", "驻马店市财政局", "陈志刚", "0396-2621856"),
    ("41170103", "驻马店市人力资源和社会保障局", "赵静", "0396-2693828"),
    ("41170104", "驻马店市卫生健康委员会", "孙伟", "0396-2625517"),
    ("41170105", "驻马店市民政局", "周敏", "0396-2627460"),
    ("41170106", "驻马店市自然资源和规划局", "吴海涛", "0396-2910352"),
)
# 驿城区 and the counties of Zhumadian (GB/T 2260).
REGIONS = ("411702", "411721", "411722", "411723", "411724", "411725", "411726", "411727", "411728", "411729")
SURNAMES = "王李张刘陈杨赵黄周吴徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾萧田董潘袁蔡蒋余杜叶程魏苏吕丁任卢姚沈钟姜崔谭陆范汪廖石金韦贾夏付方邹熊白孟秦邱侯江尹薛闫段雷龙黎史陶贺毛郝顾龚邵万覃武钱戴严欧莫孔向常汤康易乔赖文"
MALE_NAMES = (
    "建国", "建军", "国庆", "志强", "卫东", "德明", "永福", "保国", "新民", "振华", "国华", "学文",
    "长江", "春生", "明德", "富贵", "建华", "光明", "胜利", "国栋", "洪涛", "跃进", "向东", "红旗",
)  # fmt: skip
FEMALE_NAMES = (
    "秀英", "桂兰", "玉兰", "淑珍", "秀兰", "凤英", "桂英", "玉梅", "素珍", "丽华", "秀珍", "月英",
    "红霞", "金凤", "春梅", "爱华", "淑华", "翠英", "美兰", "玉珍", "小红", "桂芳", "素芳", "兰英",
)  # fmt: skip
# How many pensioners of each situation, besides the two featured people of the public account.
SPREAD = {
    "certified": 14,  # certified in the last five months (2 of them after a suspension)
    "due_soon": 8,  # due within 30 days
    "overdue": 4,  # past the due date; the daily job has not suspended them yet
    "suspended": 8,
    "terminated": 2,
    "new": 12,  # benefits started this year, never certified
}
RECENT_METHODS = (
    CertificationMethod.SELF,
    CertificationMethod.OTHER,
    CertificationMethod.DATA,
    CertificationMethod.OFFLINE,
)

OFFLINE_CHANNELS = (OfflineChannel.HOME_VISIT, OfflineChannel.COUNTER, OfflineChannel.VIDEO)


class DemoDataExists(Exception):
    """seed-demo only fills an empty registry: it never mixes demo people with real ones."""


@dataclass(frozen=True)
class Person:
    name: str
    id_number: str


@dataclass(frozen=True)
class StaffSignIn:
    username: str
    password: str
    role: StaffRole
    display_name: str
    totp_secret: str

    def current_code(self) -> str:
        return pyotp.TOTP(self.totp_secret).now()


@dataclass(frozen=True)
class DemoSignIns:
    account_phone: str
    account_password: str
    myself: Person
    helped: Person
    staff: tuple[StaffSignIn, ...]


@dataclass(frozen=True)
class DemoResult:
    sign_ins: DemoSignIns
    units: int
    pensioners: int
    photos: int


def has_pensioners(session: Session) -> bool:
    return session.scalar(select(func.count()).select_from(Pensioner)) > 0


def id_number(rng: random.Random, birth: date, male: bool) -> str:
    sequence = rng.randrange(0, 100) * 10 + rng.choice((1, 3, 5, 7, 9) if male else (0, 2, 4, 6, 8))
    first_17 = f"{rng.choice(REGIONS)}{birth:%Y%m%d}{sequence:03d}"
    return first_17 + check_character(first_17)


def add_years(day: date, years: int) -> date:
    year = day.year + years
    return day.replace(year=year, day=min(day.day, calendar.monthrange(year, day.month)[1]))


def month_after(day: date) -> date:
    return (day.replace(day=28) + timedelta(days=4)).replace(day=1)


@dataclass
class Plan:
    """One demo pensioner: the registry row plus what the ledger and status should say about them."""

    row: RegistryRow
    certifications: list[tuple[date, CertificationMethod]]
    status: PensionerStatus = PensionerStatus.ACTIVE
    suspended_on: date | None = None
    resume_from: date | None = None
    terminated_on: date | None = None
    own_account: bool = False


class DemoBuilder:
    def __init__(self, today: date, cycle_days: int) -> None:
        self.today = today
        self.cycle = timedelta(days=cycle_days)
        self.rng = random.Random(SEED)
        self.used_names: set[str] = set()
        self.used_ids: set[str] = set()
        self.line = 1

    def person(self, *, male: bool, birth_year: int, name: str | None = None) -> tuple[str, str, date]:
        rng = self.rng
        while name is None or name in self.used_names:
            name = rng.choice(SURNAMES) + rng.choice(MALE_NAMES if male else FEMALE_NAMES)
        birth = date(birth_year, rng.randint(1, 12), rng.randint(1, 28))
        number = id_number(rng, birth, male)
        while number in self.used_ids:
            number = id_number(rng, birth, male)
        self.used_names.add(name)
        self.used_ids.add(number)
        # Men retired at 60 and women at 55 (50 for many workers; 55 is the cadre age).
        retired = add_years(birth, 60 if male else 55)
        return name, number, month_after(retired)

    def row(
        self, name: str, number: str, benefit_start: date, photo: str | None = None, unit: int | None = None
    ) -> RegistryRow:
        self.line += 1
        code, unit_name, _contact, _phone = UNITS[self.line % len(UNITS) if unit is None else unit]
        return RegistryRow(
            line=self.line,
            id_number=number,
            name=name,
            unit_code=code,
            unit_name=unit_name,
            benefit_start=benefit_start,
            monthly_amount_fen=self.rng.randrange(2800_00, 7600_00, 7),
            phone=f"13{self.rng.randint(5, 9)}{self.rng.randrange(10**8):08d}",
            photo=photo,
        )

    def plans(self, own_photo: str | None, photos: list[str]) -> tuple[list[Plan], Plan, Plan]:
        """Every demo pensioner; own_photo goes to the account holder, photos to a few others."""
        rng, today, cycle = self.rng, self.today, self.cycle
        plans: list[Plan] = []
        # The public account's own entry: due in 20 days, so 本人认证 has something to do.
        name, number, _start = self.person(male=True, birth_year=1958, name=ACCOUNT_NAME)
        myself = Plan(
            row=self.row(name, number, date(2018, 4, 1), own_photo, unit=0),
            certifications=[(today - cycle * 2 + timedelta(days=10), CertificationMethod.SELF)],
            own_account=True,
        )
        myself.row.phone = ACCOUNT_PHONE
        myself.certifications.append((today - cycle + timedelta(days=20), CertificationMethod.SELF))
        # His wife, whom the account certified last year: now overdue and suspended.
        name, number, _start = self.person(male=False, birth_year=1960, name=HELPED_NAME)
        wife_due = today - timedelta(days=12)
        helped = Plan(
            row=self.row(name, number, date(2015, 10, 1), photos[0] if photos else None, unit=0),
            certifications=[(wife_due - cycle, CertificationMethod.OTHER)],
            status=PensionerStatus.SUSPENDED,
            suspended_on=wife_due + timedelta(days=1),
        )
        plans += [myself, helped]
        spare_photos = list(photos[1:])

        def add(situation: str, index: int) -> None:
            male = rng.random() < 0.55
            birth_year = rng.randint(1964, 1965) if situation == "new" else rng.randint(1940, 1962)
            name, number, start = self.person(male=male, birth_year=birth_year)
            if situation == "new":
                start = today - timedelta(days=rng.randint(30, 300))
            else:
                # Benefits began at least two cycles ago, so an earlier certification fits the history.
                start = min(start, today - cycle * 2)
            photo = spare_photos.pop(0) if spare_photos and situation in ("certified", "due_soon") else None
            plan = Plan(row=self.row(name, number, start, photo), certifications=[])
            previous = None
            if situation == "certified":
                last = today - timedelta(days=rng.randint(5, 150))
                method = RECENT_METHODS[index % len(RECENT_METHODS)]
                if index < 2:
                    # Suspended before this certification: paid again from the month after it.
                    plan.suspended_on = last - timedelta(days=rng.randint(20, 90))
                    plan.resume_from = month_after(last)
                    previous = plan.suspended_on - cycle - timedelta(days=1)
                plan.certifications.append((last, method))
            elif situation == "due_soon":
                plan.certifications.append(
                    (today - cycle + timedelta(days=rng.randint(1, 30)), RECENT_METHODS[index % 4])
                )
            elif situation == "overdue":
                plan.certifications.append(
                    (today - cycle - timedelta(days=rng.randint(1, 3)), CertificationMethod.OTHER)
                )
            elif situation == "suspended":
                last = today - cycle - timedelta(days=rng.randint(10, 200))
                plan.certifications.append(
                    (last, CertificationMethod.SELF if index % 2 else CertificationMethod.OFFLINE)
                )
                plan.status = PensionerStatus.SUSPENDED
                plan.suspended_on = last + cycle + timedelta(days=1)
            elif situation == "terminated":
                last = today - timedelta(days=rng.randint(200, 330))
                plan.certifications.append((last, CertificationMethod.DATA))
                plan.status = PensionerStatus.TERMINATED
                plan.terminated_on = last + timedelta(days=rng.randint(30, 120))
            if situation in ("certified", "due_soon", "suspended"):
                previous = previous or plan.certifications[-1][0] - cycle + timedelta(days=rng.randint(0, 40))
                if previous > start:
                    plan.certifications.insert(0, (previous, CertificationMethod.OFFLINE))
            plan.own_account = any(method is CertificationMethod.SELF for _day, method in plan.certifications)
            plans.append(plan)

        for situation, count in SPREAD.items():
            for index in range(count):
                add(situation, index)
        return plans, myself, helped


def people_photos(folder: Path) -> list[str]:
    """obama/obama.jpg first (the webcam demo clip shows him), then each other person's first photo."""
    names = ["obama/obama.jpg"] if (folder / "obama" / "obama.jpg").is_file() else []
    for person in sorted(path for path in folder.iterdir() if path.is_dir() and path.name != "obama"):
        files = sorted(
            path.name
            for path in person.iterdir()
            if path.is_file() and path.suffix.lower() in (".jpg", ".jpeg", ".png")
        )
        if files:
            names.append(f"{person.name}/{files[0]}")
    return names


def seed_demo(
    session: Session,
    *,
    today: date,
    cycle_days: int,
    photos: Path | None = None,
    limits: FaceLimits | None = None,
    store: ImageStore | None = None,
) -> DemoResult:
    """Load the demo data into an empty registry, in one transaction."""
    if has_pensioners(session):
        raise DemoDataExists("the registry already has pensioners")
    usernames = [username for username, *_rest in STAFF]
    if session.scalar(
        select(StaffUser.id).where(StaffUser.username.in_(usernames)).limit(1)
    ) or session.scalar(select(Account.id).where(Account.phone == ACCOUNT_PHONE)):
        raise DemoDataExists("the demo sign-ins already exist")
    photo_names = people_photos(photos) if photos is not None and photos.is_dir() and limits else []
    # The webcam demo clip shows obama: without his photo the account's own check could never succeed.
    if photo_names[:1] != ["obama/obama.jpg"]:
        photo_names = []
    builder = DemoBuilder(today, cycle_days)
    plans, myself, helped = builder.plans(photo_names[0] if photo_names else None, photo_names[1:])
    source = FolderPhotos(photos, limits.max_bytes) if photo_names and photos and limits else None
    rows = [plan.row for plan in plans]
    plan = plan_import(session, rows, source=source, limits=limits if source else None)
    if plan.problems:
        details = "; ".join(f"{problem.column} {problem.text()}" for problem in plan.problems)
        raise ValueError(f"demo rows were refused: {details}")
    staff_sign_ins: list[StaffSignIn] = []

    def add_the_rest(pensioners: dict[str, Pensioner]) -> None:
        units = {unit.code: unit for unit in session.scalars(select(Unit))}
        for code, name, contact, phone in UNITS:
            if code not in units:
                units[code] = Unit(code=code, name=name)
                session.add(units[code])
            units[code].contact_name = contact
            units[code].contact_phone = phone
        users = []
        for username, password, role, display_name in STAFF:
            user = StaffUser(
                username=username,
                password_hash=generate_password_hash(password),
                display_name=display_name,
                role=role,
                unit=units[UNITS[0][0]] if role is StaffRole.UNIT else None,
                totp_secret=pyotp.random_base32(),
            )
            users.append(user)
            staff_sign_ins.append(StaffSignIn(username, password, role, display_name, user.totp_secret or ""))
        session.add_all(users)
        account = Account(
            phone=ACCOUNT_PHONE,
            password_hash=generate_password_hash(ACCOUNT_PASSWORD),
            real_name=myself.row.name,
            id_number=myself.row.id_number,
            terms_version="demo",
            terms_agreed_at=utcnow(),
        )
        session.add(account)
        session.flush()
        staff_user = users[1]
        for item in plans:
            pensioner = pensioners[item.row.id_number]
            own = account
            if item.own_account and item is not myself:
                own = Account(
                    phone=item.row.phone,
                    # A password nobody knows: these accounts exist so their history reads true.
                    password_hash=generate_password_hash(pyotp.random_base32(), method="pbkdf2:sha256:1000"),
                    real_name=item.row.name,
                    id_number=item.row.id_number,
                    terms_version="demo",
                    terms_agreed_at=utcnow(),
                )
                session.add(own)
                session.flush()
            for number, (day, method) in enumerate(item.certifications):
                recorded_by = {
                    CertificationMethod.SELF: f"account:{own.id}",
                    CertificationMethod.OTHER: f"account:{account.id}",
                    CertificationMethod.OFFLINE: f"staff:{staff_user.id}",
                    CertificationMethod.REVIEW: f"staff:{staff_user.id}",
                    CertificationMethod.DATA: "医保就医记录.csv",
                }[method]
                session.add(
                    Certification(
                        pensioner=pensioner,
                        certified_on=day,
                        method=method,
                        recorded_by=recorded_by,
                        channel=OFFLINE_CHANNELS[(pensioner.id + number) % len(OFFLINE_CHANNELS)]
                        if method is CertificationMethod.OFFLINE
                        else None,
                    )
                )
            if item.certifications:
                pensioner.cycle_start = max(day for day, _method in item.certifications)
            pensioner.status = item.status
            pensioner.suspended_on = item.suspended_on
            pensioner.resume_from = item.resume_from
            pensioner.terminated_on = item.terminated_on
            if item.suspended_on is not None:
                # Payroll reads the suspension history, so it must tell the same story as the status.
                session.add(
                    Suspension(
                        pensioner_id=pensioner.id,
                        suspended_on=item.suspended_on,
                        resumed_on=item.certifications[-1][0] if item.resume_from else None,
                        resume_from=item.resume_from,
                    )
                )
            if item.terminated_on is not None:
                session.add(
                    DeathRecord(
                        pensioner_id=pensioner.id, died_on=item.terminated_on, source="民政死亡信息.csv"
                    )
                )
        opens = today.replace(day=1)
        closes_month = month_after(month_after(opens))
        closes = closes_month.replace(day=calendar.monthrange(closes_month.year, closes_month.month)[1])
        session.add(
            Campaign(
                title=f"{opens.year + 1}年度驻马店市机关事业单位退休人员领取养老保险待遇资格认证",
                summary=(
                    "请各单位通知本单位退休人员在认证期内完成资格认证。可在本平台本人认证，"
                    "也可由家人或社区服务网点代为认证；无法认证的，由单位在报送期内上报，"
                    "社保处安排上门、窗口或视频认证。"
                ),
                certification_opens=opens,
                certification_closes=closes,
                report_opens=closes + timedelta(days=1),
                report_closes=closes + timedelta(days=10),
                units=list(units.values()),
            )
        )

    write_plan(session, plan, source=source, store=store, enrolled_by="seed-demo", then=add_the_rest)
    sign_ins = DemoSignIns(
        account_phone=ACCOUNT_PHONE,
        account_password=ACCOUNT_PASSWORD,
        myself=Person(myself.row.name, myself.row.id_number),
        helped=Person(helped.row.name, helped.row.id_number),
        staff=tuple(staff_sign_ins),
    )
    return DemoResult(sign_ins, units=len(UNITS), pensioners=len(plans), photos=len(plan.encodings))


def demo_sign_ins(session: Session) -> DemoSignIns | None:
    """The demo sign-ins as they are in the database now (TOTP secrets are random per database)."""
    account = session.scalar(select(Account).where(Account.phone == ACCOUNT_PHONE))
    users = {
        user.username: user
        for user in session.scalars(select(StaffUser).where(StaffUser.username.in_([s[0] for s in STAFF])))
    }
    if account is None or len(users) < len(STAFF):
        return None
    helped = session.scalars(
        select(Pensioner)
        .join(Certification, Certification.pensioner_id == Pensioner.id)
        .where(
            Certification.method == CertificationMethod.OTHER,
            Certification.recorded_by == f"account:{account.id}",
            Pensioner.name == HELPED_NAME,
        )
        .limit(1)
    ).first()
    if helped is None:
        return None
    return DemoSignIns(
        account_phone=ACCOUNT_PHONE,
        account_password=ACCOUNT_PASSWORD,
        myself=Person(account.real_name, account.id_number),
        helped=Person(helped.name, helped.id_number),
        staff=tuple(
            StaffSignIn(username, password, role, display_name, users[username].totp_secret or "")
            for username, password, role, display_name in STAFF
        ),
    )
