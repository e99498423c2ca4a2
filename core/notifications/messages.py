"""Outbox message kinds rendered in the recipient's language."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from html import escape
from typing import Any

from core.accounts.identity import REJECT_TITLES, RejectReason
from core.formatting import format_clock, format_date, format_day, format_moment, format_money
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


DEBT_KINDS = frozenset(
    {
        "debt",
        "debts",
        "debt_reminder",
        "debt_warning",
        "debt_payment_declined",
        "franchise_suspended",
        "share_released",
    }
)


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
    if kind == "franchise_active" and args.get("regions_to_choose") and args.get("policy_id"):
        return [Action(_("🗺 Choose regions"), "regions", int(args["policy_id"]))]
    if kind in ("appeal_answer", "appeal_closed", "appeal_taken") and args.get("appeal_id"):
        return [Action(_("💬 Open the appeal"), "appeal", int(args["appeal_id"]))]
    if kind == "regions_available" and args.get("policy_id"):
        return [Action(_("🏥 Clinics of the program"), "clinics", int(args["policy_id"]))]
    if kind == "booking_reminder":
        return [Action(_("📅 My bookings"), "bookings")]
    if kind == "new_services":  # a button per policy (rows written before name one)
        policies = args.get("policies") or [args]
        return [
            Action(
                _("🧾 Services · {number}").format(number=p["number"])
                if len(policies) > 1
                else _("🧾 Services"),
                "services",
                int(p["policy_id"]),
            )
            for p in policies
            if p.get("policy_id")
        ]
    if kind == "policy_expiring" and args.get("policy_id"):
        return [Action(_("📋 The policy"), "policy", int(args["policy_id"]))]
    if kind == "card_declined" and args.get("policy_id"):
        return [Action(_("💳 Try another card"), "franchise", int(args["policy_id"]))]
    return []


def render(kind: str, args: dict[str, Any], _: Translate, locale: str) -> str:
    def money(key: str) -> str:
        return format_money(int(args.get(key) or 0), locale)

    if kind == "card_linked":
        if args.get("active_from"):
            text = _(
                "💳 Card •••• {last4} is linked, and the check payment is returned. The "
                "franchise program of policy {number} ({name}) is active from {date}."
            ).format(
                last4=args["last4"],
                number=args.get("number", ""),
                name=args.get("name", ""),
                date=format_moment(datetime.fromisoformat(args["active_from"]), locale),
            )
            return text + desk_first(args, _, locale)
        return _("💳 Card •••• {last4} is linked.").format(last4=args["last4"])
    if kind == "card_declined":
        return _(
            "The bank declined the card, so it is not linked. Try another card in the "
            "franchise section of your policy."
        )
    if kind == "franchise_active":
        text = _("✅ The franchise program of policy {number} ({name}) is active.").format(
            number=args.get("number", ""), name=args.get("name", "")
        )
        if args.get("regions_to_choose"):
            return (
                text
                + "\n"
                + _(
                    "No service region is chosen yet, so no clinic is open: choose the regions "
                    "where you want to be served. Their clinics open the next day."
                )
            )
        if args.get("regions_open"):  # chosen after this message was written (delivery.py)
            opens = format_day(datetime.fromisoformat(args["regions_open"]), locale)
            return (
                text
                + " "
                + _(
                    "The clinics of the regions you chose open on {date}: we will write to you "
                    "that day."
                ).format(date=opens)
                + desk_first(args, _, locale)
            )
        return text + " " + _("Its clinics are available to you.") + desk_first(args, _, locale)
    if kind == "share_charged":
        return _(
            "{amount} was charged from card •••• {last4}: the co-payment for «{service}» on "
            "{date}, policy {number} ({name})."
        ).format(last4=args.get("last4", "—"), **share_fields(args, locale))
    if kind == "card_unusable":
        reason = _(CARD_PROBLEMS.get(args.get("reason") or "", OTHER_PROBLEM))
        return _("Card •••• {last4} cannot be charged: {reason}. Please link another card.").format(
            last4=args["last4"], reason=reason
        )
    if kind == "debt":  # rows written before debts came one message per run
        return _(
            "⚠️ Co-payment debt: {amount}. None of your cards could be charged. Pay it in the "
            "franchise section of your policy, or franchise clinics will be suspended."
        ).format(amount=money("amount"))
    if kind == "debts":
        deadline = format_day(datetime.fromisoformat(args["deadline"]), locale)
        lines = [
            _("⚠️ Co-payment debt: {total}. None of your cards could be charged.").format(
                total=money("total")
            )
        ]
        lines += ["• " + share_line(item, _, locale) for item in args.get("items", [])]
        if any(not item.get("activated", True) for item in args.get("items", [])):
            lines.append(
                _(
                    "The franchise program of a policy above is not activated, so there is no "
                    "card to charge: activate it in the policy card, or pay now."
                )
            )
        lines.append(
            _(
                "Pay it by {date}: «💸 Pay the debt», put money on the card (we try again every "
                "day) or link another card. If it is unpaid by then, franchise clinics are "
                "suspended."
            ).format(date=deadline)
        )
        return "\n".join(lines)
    if kind == "debt_paid":
        return debt_paid_text(args, _, locale)
    if kind == "debt_payment_declined":
        return _(
            "❌ The payment did not go through: the bank declined it, or the payment page was "
            "closed. The debt of {amount} is still open: pay it with the button below, put "
            "money on the card (we try again every day) or link another card."
        ).format(amount=money("amount"))
    if kind == "share_cancelled":
        return _(
            "✅ Your appeal is upheld: the co-payment of {amount} for «{service}» on {date}, "
            "policy {number} ({name}), is cancelled. Nothing will be charged."
        ).format(**share_fields(args, locale))
    if kind == "share_released" and args.get("withdrawn"):
        return _(
            "Your appeal about «{service}» on {date}, policy {number} ({name}), is closed at your "
            "request: the co-payment of {amount} will be charged from your card on the next run."
        ).format(**share_fields(args, locale))
    if kind == "share_released":
        return _(
            "Your appeal about «{service}» on {date}, policy {number} ({name}), is rejected: the "
            "co-payment of {amount} will be charged from your card on the next run."
        ).format(**share_fields(args, locale))
    if kind == "franchise_suspended" and len(args.get("items") or []) > 1:
        lines = [
            _("⛔ Franchise clinics are suspended for an unpaid debt of {amount}:").format(
                amount=format_money(sum(int(i["debt"]) for i in args["items"]), locale)
            )
        ]
        lines += [
            "• "
            + _("policy {number} ({name}): {amount}").format(
                number=item.get("number", ""),
                name=escape(str(item.get("name", ""))),
                amount=format_money(int(item["debt"]), locale),
            )
            for item in args["items"]
        ]
        return "\n".join([*lines, _("Paying the debt restores them at once.")])
    if kind == "franchise_suspended":
        return _(
            "⛔ Franchise clinics of policy {number} ({name}) are suspended for an unpaid debt "
            "of {amount}. Paying the debt restores them at once."
        ).format(amount=money("debt"), number=args.get("number", ""), name=args.get("name", ""))
    if kind == "franchise_resumed":
        return _(
            "✅ The debt is paid: franchise clinics of policy {number} ({name}) are available "
            "again."
        ).format(number=args.get("number", ""), name=args.get("name", ""))
    if kind == "regions_available" and args.get("number"):
        empty = args.get("empty") or []
        opened = [code for code in args.get("codes", []) if code not in empty]
        who = {"number": args["number"], "name": escape(str(args.get("name", "")))}
        lines = []
        if opened:
            lines.append(
                _(
                    "🗺 From today, clinics of your new service regions under policy {number} "
                    "({name}) are open to you: {names}."
                ).format(**who, names=names(opened, locale))
            )
        else:
            lines.append(
                _("🗺 From today, {names} are service regions of policy {number} ({name}).").format(
                    **who, names=names(empty, locale)
                )
            )
        if empty:  # chosen, but no clinic of the program there: never "open to you"
            lines.append(
                _(
                    "⚠️ The program has no clinics yet in: {names}. For care there, call the "
                    "24/7 desk (☎️ Contacts)."
                ).format(names=names(empty, locale))
            )
        return "\n".join(lines)
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
        day = format_date(date.fromisoformat(args["valid_to"]), locale)
        number = args["number"]
        if args.get("name"):  # whose policy (rows written before have no name)
            number += f" ({escape(str(args['name']))})"
        if args.get("contract") == "retail":  # bought by the person: no employer to ask
            return _(
                "📅 Policy {number} is valid until {date}. To stay insured, buy a new policy "
                "before then (/contacts: the insurer's shop and phone)."
            ).format(number=number, date=day)
        return _(
            "📅 Policy {number} is valid until {date}. Ask your employer or the insurer about renewal."
        ).format(number=number, date=day)
    if kind == "card_expiring":
        return _(
            "💳 Card •••• {last4} expires at the end of this month. Link a new card in the "
            "franchise section so that nothing becomes a debt."
        ).format(last4=args["last4"])
    if kind == "debt_reminder":
        text = _(
            "⚠️ A reminder: the co-payment debt is {amount}. Pay it («💸 Pay the debt»)."
        ).format(amount=money("amount"))
        if args.get("suspended"):
            text += " " + _(
                "Franchise clinics are suspended until it is paid; paying restores them at once."
            )
        elif args.get("deadline"):
            text += " " + _(
                "{date} is the last day to pay it; after it franchise clinics are suspended."
            ).format(date=format_day(datetime.fromisoformat(args["deadline"]), locale))
        return text + whose_line(args, _)
    if kind == "debt_warning":
        return _(
            "⛔ {date} is the last day to pay the debt of {amount}: the next day franchise clinics "
            "are suspended. Pay it in the franchise section to keep them."
        ).format(
            amount=money("amount"),
            date=format_day(datetime.fromisoformat(args["deadline"]), locale),
        ) + whose_line(args, _)
    if kind == "new_services" and len(args.get("policies") or []) > 1:
        return _("🧾 New services under policies {policies}: see «Services» below.").format(
            policies=policies_named(args["policies"])
        )
    if kind == "new_services":
        return _(
            "🧾 New services under policy {number} ({name}): see «Services» in the policy card."
        ).format(number=args["number"], name=args["name"])
    if kind == "appeal_answer":
        text = (
            _("💬 Operator {operator} answers your appeal {number}:\n{text}")
            if args.get("operator")
            else _("💬 Answer to your appeal {number}:\n{text}")
        ).format(
            number=args["number"],
            text=escape(args.get("text") or ""),
            operator=escape(args.get("operator") or ""),
        )
        if args.get("files"):
            text += "\n" + _("📎 Files: {count}, in the appeal's history.").format(
                count=len(args["files"])
            )
        return text + "\n" + _("To reply or close it, open /appeals.")
    if kind == "appeal_taken":
        if args.get("operator"):
            return _(
                "👩‍💼 Your appeal {number} has been taken into work. Operator {operator} will "
                "answer here."
            ).format(number=args["number"], operator=escape(args["operator"]))
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
        text = _(
            "⏰ Reminder: {specialty}, {doctor}, on {date} at {time}, {clinic} ({address}). "
            "If you cannot come, cancel the visit in «My bookings»."
        ).format(
            specialty=escape(args["specialty"]),
            doctor=escape(args["doctor"]),
            date=format_day(moment, locale),
            time=format_clock(moment, locale),
            clinic=escape(args["clinic"]),
            address=escape(args["address"]),
        )
        if args.get("patient"):  # reminders queued before the patient was named have none
            text += "\n" + _("Patient: {person}, policy {number}").format(
                person=escape(args["patient"]), number=escape(args.get("number") or "")
            )
        return text
    raise ValueError(f"unknown outbox message kind {kind!r}")


def debt_paid_text(args: dict[str, Any], _: Translate, locale: str) -> str:
    """A debt paid: one share or a run's several, from which cards, what is still owed, the
    clinics it restored, and what an old page paid on top goes back."""
    items = args.get("items") or []
    amount = format_money(int(args.get("amount") or 0), locale)
    left = format_money(int(args["left"]), locale) if args.get("left") else None
    cards = sorted({str(i["last4"]) for i in items if i.get("last4")}) or (
        [str(args["paid_with"])] if args.get("paid_with") else []
    )
    lines = []
    if items and len(cards) == 1 and left:
        lines.append(
            _("✅ {amount} of the debt paid from card •••• {last4}; still owed: {left}.").format(
                amount=amount, last4=cards[0], left=left
            )
        )
    elif items and left:
        lines.append(
            _("✅ {amount} of the debt paid from your cards; still owed: {left}.").format(
                amount=amount, left=left
            )
        )
    elif items and len(cards) == 1:
        lines.append(
            _("✅ Debt paid: {amount} from card •••• {last4}.").format(
                amount=amount, last4=cards[0]
            )
        )
    elif items:
        lines.append(_("✅ Debt paid: {amount}. Thank you!").format(amount=amount))
    lines += ["• " + share_line(item, _, locale) for item in items]
    for person in args.get("resumed") or []:  # a run's restored clinics, with its payments
        lines.append(
            _("✅ Franchise clinics of policy {number} ({name}) are available again.").format(
                number=person.get("number", ""), name=escape(str(person.get("name", "")))
            )
        )
    if args.get("returned"):
        lines.append(returned_text(args, _, locale, whole=not items))
    return "\n".join(lines)


def policies_named(items: list[dict[str, Any]]) -> str:
    """«ONDL-500001 (Анна), ONDL-500002 (Михаил)»: each policy with its insured person."""
    return ", ".join(f"{i['number']} ({escape(str(i.get('name', '')))})" for i in items)


def whose_line(args: dict[str, Any], _: Translate) -> str:
    """The policies and insured persons a debt is of; empty for rows written without them."""
    whose = [w for w in args.get("whose") or [] if w.get("number")]
    if not whose:
        return ""
    policies = policies_named(whose)
    if len(whose) == 1:
        return "\n" + _("Policy: {policies}").format(policies=policies)
    return "\n" + _("Policies: {policies}").format(policies=policies)


def returned_text(args: dict[str, Any], _: Translate, locale: str, *, whole: bool) -> str:
    """A payment on an old page of a debt already settled otherwise: returned."""
    amount = format_money(int(args["returned"]), locale)
    card = args.get("paid_with")
    if whole and card:
        return _(
            "↩️ The debt had already been paid when your payment of {amount} went through on "
            "the bank's page, so the money is returned to card •••• {last4}."
        ).format(amount=amount, last4=card)
    if whole:
        return _(
            "↩️ The debt had already been paid when your payment of {amount} went through on "
            "the bank's page, so the money is returned to the card you paid with."
        ).format(amount=amount)
    if card:
        return _(
            "↩️ {amount} of this payment was for what had been paid otherwise meanwhile: it is "
            "returned to card •••• {last4}."
        ).format(amount=amount, last4=card)
    return _(
        "↩️ {amount} of this payment was for what had been paid otherwise meanwhile: it is "
        "returned to the card you paid with."
    ).format(amount=amount)


def case_stage_text(args: dict[str, Any], _: Translate, locale: str) -> str:
    """A case's new stage, with what the person should do next when there is something, and
    the operator who set it (an integrator's import has none)."""
    text = case_stage_body(args, _, locale)
    if args.get("operator"):
        text += "\n" + _("Operator {operator}").format(operator=escape(args["operator"]))
    return text


def case_stage_body(args: dict[str, Any], _: Translate, locale: str) -> str:
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
        text = (
            _(
                "Your appeal {number} is closed. If something is left, you can reopen it with "
                "a message until {date}."
            )
            if args.get("answered") is False  # closed before any answer: nothing to rate
            else _(
                "Your appeal {number} is closed. Please rate the answer. If something is left, "
                "you can reopen it with a message until {date}."
            )
        )
        return text.format(
            number=args["number"],
            date=format_day(datetime.fromisoformat(args["reopen_until"]), locale),
        )
    return _("Your appeal {number} is closed. If something is left, start a new one.").format(
        number=args["number"]
    )


def service_day(args: dict[str, Any], locale: str) -> str:
    return (
        format_date(date.fromisoformat(args["service_date"]), locale)
        if args.get("service_date")
        else "—"
    )


def share_line(item: dict[str, Any], _: Translate, locale: str) -> str:
    """One share in a list: amount, service, date, policy and person."""
    return _("{amount}: «{service}» on {date}, policy {number} ({name})").format(
        **share_fields(item, locale)
    )


def share_fields(share: dict[str, Any], locale: str) -> dict[str, str]:
    """What every message about one share names: amount, service, date, policy and person."""
    return {
        "amount": format_money(int(share.get("amount") or 0), locale),
        "service": escape(share.get("service", "")),
        "date": service_day(share, locale),
        "number": share.get("number", ""),
        "name": share.get("name", ""),
    }


def desk_first(args: dict[str, Any], _: Translate, locale: str) -> str:
    """Seed 001: the clinics need up to 5 working days to register the person."""
    if not args.get("desk_until"):
        return ""
    return "\n" + _(
        "The clinics are registering you through {date}: until then call the 24/7 desk "
        "first, {phone}."
    ).format(
        date=format_day(datetime.fromisoformat(args["desk_until"]) - timedelta(minutes=1), locale),
        phone=args.get("desk_phone") or "—",
    )
