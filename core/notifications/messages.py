"""Outbox message kinds rendered in the recipient's language."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from html import escape
from typing import Any

from core.accounts.identity import REJECT_TITLES, RejectReason
from core.formatting import format_clock, format_date, format_day, format_money
from core.links import LinkKind, StartPayload
from core.policies.care import N_, Translate
from core.subjects import names

CARD_PROBLEMS = {
    "card_expired": N_("the card has expired"),
    "permission_revoked": N_("the bank withdrew the permission to charge it"),
}
OTHER_PROBLEM = N_("the bank refused the charge")


@dataclass(frozen=True, slots=True)
class Action:
    """A button under a message, by meaning; the bot turns it into its callback data."""

    label: str
    name: str  # pay_debt, appeal, bookings
    value: int = 0
    start: str = ""  # a deep-link payload (core.links) the message also carries as a t.me link


DEBT_KINDS = frozenset({"debt", "debt_reminder", "debt_warning", "franchise_suspended"})


def actions(kind: str, args: dict[str, Any], _: Translate) -> list[Action]:
    """The one-tap way on from a message, where there is one."""
    if kind in DEBT_KINDS:
        return [Action(_("💸 Pay the debt"), "pay_debt", start=str(StartPayload(LinkKind.DEBT)))]
    if kind == "case_stage" and args.get("appeal_id"):
        if args.get("stage") == "documents":  # straight to the upload
            return [Action(_("📎 Upload the documents"), "appeal_reply", int(args["appeal_id"]))]
        return [Action(_("🚨 Open the case"), "appeal", int(args["appeal_id"]))]
    if kind == "appeal_closed" and args.get("appeal_id") and args.get("rate"):
        return [
            Action(_("⭐ Rate the answer"), "appeal_rate", int(args["appeal_id"])),
            Action(_("💬 Open the appeal"), "appeal", int(args["appeal_id"])),
        ]
    if kind in ("appeal_answer", "appeal_closed", "appeal_taken") and args.get("appeal_id"):
        return [Action(_("💬 Open the appeal"), "appeal", int(args["appeal_id"]))]
    if kind == "booking_reminder":
        return [Action(_("📅 My bookings"), "bookings")]
    return []


def render(kind: str, args: dict[str, Any], _: Translate, locale: str) -> str:
    def money(key: str) -> str:
        return format_money(int(args.get(key) or 0), locale)

    if kind == "card_linked":
        if args.get("active_from"):
            day = format_day(datetime.fromisoformat(args["active_from"]), locale)
            return _(
                "💳 Card •••• {last4} is linked, and the check payment is returned. The "
                "franchise program is active from {date}."
            ).format(last4=args["last4"], date=day)
        return _("💳 Card •••• {last4} is linked.").format(last4=args["last4"])
    if kind == "card_declined":
        return _(
            "The bank declined the card, so it is not linked. Try another card in the "
            "franchise section of your policy."
        )
    if kind == "franchise_active":
        return _("✅ The franchise program is active: its clinics are available to you.")
    if kind == "share_charged":
        return _("{amount} was charged from your card: your co-payment for a service.").format(
            amount=money("amount")
        )
    if kind == "card_unusable":
        reason = _(CARD_PROBLEMS.get(args.get("reason") or "", OTHER_PROBLEM))
        return _("Card •••• {last4} cannot be charged: {reason}. Please link another card.").format(
            last4=args["last4"], reason=reason
        )
    if kind == "debt":
        return _(
            "⚠️ Co-payment debt: {amount}. None of your cards could be charged. Pay it in the "
            "franchise section of your policy, or franchise clinics will be suspended."
        ).format(amount=money("amount"))
    if kind == "debt_paid":
        return _("Payment received: {amount}. Thank you!").format(amount=money("amount"))
    if kind == "franchise_suspended":
        return _(
            "⛔ Franchise clinics are suspended for an unpaid debt of {amount}. Paying the debt "
            "restores them at once."
        ).format(amount=money("debt"))
    if kind == "franchise_resumed":
        return _("✅ The debt is paid: franchise clinics are available again.")
    if kind == "regions_available":
        return _("🗺 Clinics of your new service regions are available from today: {names}.").format(
            names=names(args.get("codes", []), locale)
        )
    if kind == "card_expired":
        return _(
            "Card •••• {last4} has expired, and co-payments cannot be charged from it. Please "
            "link a new card in the franchise section of your policy."
        ).format(last4=args["last4"])
    if kind == "identity_decided":
        if args.get("approved"):
            if args.get("policy"):
                return _(
                    "Your identity is confirmed ✅ Policy {number} is added to your cabinet: "
                    "see «My policies»."
                ).format(number=args["policy"])
            if args.get("appeal"):
                return _(
                    "Your identity is confirmed ✅ We go on with your appeal {number}; the "
                    "answer will come here."
                ).format(number=args["appeal"])
            return _("Your identity is confirmed ✅ Thank you!")
        title = REJECT_TITLES.get(RejectReason(args["reason"])) if args.get("reason") else None
        return _(
            "Your identity check was declined: {reason}. Please send the images again with /verify."
        ).format(reason=_(title) if title else "—")
    if kind == "policy_moved":
        return _(
            "Policy {number} is no longer in your cabinet: the insurer confirmed its owner's "
            "identity. If the policy is yours, call the desk."
        ).format(number=args["number"])
    if kind == "coverage_started":
        return _(
            "✅ The waiting period of policy {number} is over: from today visits are insured events."
        ).format(number=args["number"])
    if kind == "policy_expiring":
        return _(
            "📅 Policy {number} is valid until {date}. Ask your employer or the insurer about renewal."
        ).format(
            number=args["number"], date=format_date(date.fromisoformat(args["valid_to"]), locale)
        )
    if kind == "card_expiring":
        return _(
            "💳 Card •••• {last4} expires at the end of this month. Link a new card in the "
            "franchise section so that nothing becomes a debt."
        ).format(last4=args["last4"])
    if kind == "debt_reminder":
        return _(
            "⚠️ A reminder: the co-payment debt is {amount}. Pay it in the franchise section of "
            "your policy («💸 Pay the debt»)."
        ).format(amount=money("amount"))
    if kind == "debt_warning":
        return _(
            "⛔ In three days, on {date}, franchise clinics will be suspended for the unpaid debt "
            "of {amount}. Pay it in the franchise section to keep them."
        ).format(
            amount=money("amount"),
            date=format_day(datetime.fromisoformat(args["deadline"]), locale),
        )
    if kind == "new_services":
        return _(
            "🧾 New services under policy {number} ({name}): see «Services» in the policy card."
        ).format(number=args["number"], name=args["name"])
    if kind == "appeal_answer":
        text = _("💬 Answer to your appeal {number}:\n{text}").format(
            number=args["number"], text=escape(args.get("text") or "")
        )
        if args.get("files"):
            text += "\n" + _("📎 Files: {count}, in the appeal's history.").format(
                count=len(args["files"])
            )
        return text + "\n" + _("To reply or close it, open /appeals.")
    if kind == "appeal_taken":
        return _(
            "👩‍💼 Your appeal {number} has been taken into work by an operator. The answer will "
            "come here."
        ).format(number=args["number"])
    if kind == "news":  # the integrator's text, written in each language; ours as a fallback
        texts: dict[str, str] = args["texts"]
        return escape(texts.get(locale) or next(iter(texts.values())))
    if kind == "appeal_closed":
        verdict = {
            "confirmed": _("Your claim is confirmed.") + "\n",
            "rejected": _("Your claim is not confirmed.") + "\n",
        }.get(args.get("outcome") or "", "")
        return verdict + appeal_closed_text(args, _, locale)
    if kind == "case_stage":
        return case_stage_text(args, _, locale)
    if kind == "booking_reminder":
        moment = datetime.fromisoformat(args["starts_at"])
        return _(
            "⏰ Reminder: {specialty}, {doctor}, on {date} at {time}, {clinic} ({address}). "
            "If you cannot come, cancel the visit in «My bookings»."
        ).format(
            specialty=args["specialty"],
            doctor=args["doctor"],
            date=format_day(moment, locale),
            time=format_clock(moment, locale),
            clinic=args["clinic"],
            address=args["address"],
        )
    raise ValueError(f"unknown outbox message kind {kind!r}")


def case_stage_text(args: dict[str, Any], _: Translate, locale: str) -> str:
    """A case's new stage, with what the person should do next when there is something."""
    number, detail = args["number"], escape(args.get("detail") or "")
    stage = args["stage"]
    if stage == "documents":
        return _(
            "📄 Case {number}: the insurer needs documents: {documents}\nUpload them: open the "
            "case, tap «✍️ Add a message» and attach photos or PDFs."
        ).format(number=number, documents=detail)
    if stage == "review":
        return _(
            "🔎 Case {number} is under review. We will write as soon as there is a decision."
        ).format(number=number)
    if stage == "paid":
        text = _("✅ Decision on case {number}: payment of {amount}.").format(
            number=number, amount=format_money(int(args.get("amount") or 0), locale)
        )
        return text + (f"\n{detail}" if detail else "")
    if stage == "refused":
        return _(
            "⛔ Decision on case {number}: refusal.\nReason: {reason}\nIf you disagree, write "
            "in the case («✍️ Add a message») or call the desk."
        ).format(number=number, reason=detail)
    return _("Case {number} is closed.").format(number=number)


def appeal_closed_text(args: dict[str, Any], _: Translate, locale: str) -> str:
    if args.get("reopen_until"):
        return _(
            "Your appeal {number} is closed. Please rate the answer. If something is left, "
            "you can reopen it with a message until {date}."
        ).format(
            number=args["number"],
            date=format_day(datetime.fromisoformat(args["reopen_until"]), locale),
        )
    return _("Your appeal {number} is closed. If something is left, start a new one.").format(
        number=args["number"]
    )
