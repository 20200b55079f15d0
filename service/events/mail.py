"""Reminders by e-mail (off unless SMTP_HOST is set): one message per organization contact
with the new due-soon and overdue notices of a timer run. Sent after the run commits, so a
reminder is never sent for an event that was not written; a worker killed between the two
loses that message (the event itself stays in the feed and the webhooks)."""

from __future__ import annotations

import smtplib
from collections.abc import Iterable
from email.message import EmailMessage

from service.config import Settings
from service.events.timers import Reminder


def messages(settings: Settings, reminders: Iterable[Reminder]) -> list[EmailMessage]:
    grouped: dict[tuple[str, str], list[str]] = {}
    for reminder in reminders:
        if reminder.contact_email:
            key = (reminder.contact_email, reminder.organization_name)
            grouped.setdefault(key, []).append(reminder.text)
    built = []
    for (address, name), lines in grouped.items():
        message = EmailMessage()
        message["From"] = settings.smtp_sender
        message["To"] = address
        message["Subject"] = f"【分类定级提醒】{name}：{len(lines)}项事项临近或超过时限"
        body = "\n".join(f"· {line}" for line in lines)
        message.set_content(
            f"{name}：\n\n{body}\n\n请登录分类定级系统查看并按时办理。本邮件由系统自动发送，请勿回复。\n"
        )
        built.append(message)
    return built


def send(settings: Settings, reminders: Iterable[Reminder]) -> int:
    """Send the reminders; returns how many messages went out (0 when e-mail is off)."""
    if not settings.smtp_host:
        return 0
    built = messages(settings, reminders)
    if not built:
        return 0
    smtp_class = smtplib.SMTP_SSL if settings.smtp_tls == "ssl" else smtplib.SMTP
    with smtp_class(settings.smtp_host, settings.smtp_port, timeout=30) as smtp:
        if settings.smtp_tls == "starttls":
            smtp.starttls()
        if settings.smtp_user:
            smtp.login(settings.smtp_user, settings.smtp_password or "")
        for message in built:
            smtp.send_message(message)
    return len(built)
