"""The texts the cycle engine sends. Pensioners read them in Chinese on any phone: short, one date, one action."""

from __future__ import annotations

from datetime import date

SIGNATURE = "【资格认证】"


def chinese_date(day: date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def chinese_month(day: date) -> str:
    return f"{day.year}年{day.month}月"


def reminder(due: date, service_phone: str) -> str:
    return (
        f"{SIGNATURE}您的领取待遇资格认证将于{chinese_date(due)}到期，"
        f"请及时通过资格认证服务平台认证。咨询电话{service_phone}"
    )


def helper_reminder(name: str, due: date, service_phone: str) -> str:
    return (
        f"{SIGNATURE}您曾帮助{name}办理资格认证，其认证将于{chinese_date(due)}到期，"
        f"请提醒或帮助其及时认证。咨询电话{service_phone}"
    )


def suspended(due: date, service_phone: str) -> str:
    return (
        f"{SIGNATURE}您的领取待遇资格认证已于{chinese_date(due)}到期，养老金暂停发放。"
        f"请通过资格认证服务平台或到社保窗口认证，认证后次月恢复发放并补发。咨询电话{service_phone}"
    )


def certified(how: str, due: date, resume_from: date | None, service_phone: str) -> str:
    """After a certification someone else made for the pensioner: evidence from records, or staff."""
    text = f"{SIGNATURE}{how}，您的领取待遇资格认证已完成，有效期至{chinese_date(due)}"
    if resume_from is not None:
        text += f"，养老金自{chinese_month(resume_from)}起恢复发放并补发暂停期间待遇"
    return f"{text}。咨询电话{service_phone}"


BY_RECORDS = "根据相关部门信息"
BY_STAFF = "经工作人员核实"
