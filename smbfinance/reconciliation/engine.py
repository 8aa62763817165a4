"""Matching bank payments to open invoices. Pure: no database, no Flask, no clock.

Rules
-----
* Sign: money in (+) pays receivables, money out (−) pays payables. Currencies must be equal;
  an invoice in another currency is never a candidate.
* Certain: the payment's structured reference equals a structured invoice's payment
  reference (an OGM however written: `+++123/4567/89002+++`, spaces, bare digits) and the
  sign fits. Certain matches apply first, for min(payment unallocated, invoice outstanding).
* Otherwise each candidate scores the sum of its signals, clamped to 0..1:

  ====================  ======  ==============================================================
  STRUCTURED_REFERENCE   1.00   (0.90 when the invoice's reference is not a structured one)
  OGM_IN_TEXT            0.90   the invoice's OGM written in the free text
  AMOUNT_EXACT           0.45   payment's unallocated amount = invoice's outstanding
  NUMBER_IN_TEXT         0.35   the invoice number in the free text (also spread over words)
  CONTACT_IBAN           0.30   counterparty IBAN is one of the contact's
  AMOUNT_PARTIAL         0.20   payment smaller than the outstanding: a plausible part payment
  CONTACT_NAME           0.15   names equal ignoring case, accents, punctuation, word order
                                and legal forms (NV, SA, BV, SRL, BVBA, SPRL, …)
  DATE_NEAR_DUE          0.10   booked within ±10 days of the due date
  DIRECTION_MISMATCH    −0.50   sign against the invoice's direction; never applied
  ====================  ======  ==============================================================

  IBAN and name both count when both match: they are separate observations.
* Grouped: when no single invoice has the exact amount, a payment may settle 2 to 4 open
  invoices of one contact whose outstandings add up to it exactly. The search runs only
  among 12 of that contact's open invoices the payment's keys found (those it names by
  number or OGM first, then the oldest), largest first, and stops at 3 groups. A group
  scores as one: its weakest member's score with AMOUNT_EXACT, minus 0.05 per invoice
  beyond the first (more invoices, likelier a coincidental sum). It is never certain.
* Applied automatically: certain matches, and candidates scoring at or above the tenant's
  threshold (the `auto_match_threshold` setting reads "at or above"). Never applied, however
  high they score: a direction mismatch; an ambiguous payment, whose two best uncertain
  candidates score the same; groups whose weakest members are equally good (the sum cannot
  tell them apart). Those, and everything below the threshold scoring at least 0.35 (more
  than a known IBAN alone), are suggestions with their signals, at most five per payment,
  sized to what is left once the automatic allocations are made.
* A payment whose automatic match a person undid (`auto_apply` False) is never applied
  again by the engine: its candidates are suggestions, certain ones included.
* Never over-allocated: allocations run in one order — certain first, then by descending
  score, then by due date, invoice id, booking date and payment id — against a ledger of
  what each payment and invoice still has, so shuffled inputs give the same plan and no
  payment or invoice is allocated beyond its amount. A grouped match applies whole or not.
* Linear: invoices are indexed once by reference, number, (direction, currency, amount),
  contact IBAN and contact name; a payment scores only what its keys retrieve, from
  buckets of bounded size (see index.py), so the work per payment is bounded by constants.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from typing import TypeVar
from uuid import UUID

from smbfinance.invoices import ogm
from smbfinance.reconciliation import keys
from smbfinance.reconciliation.index import Indexed, InvoiceIndex, PaymentKeys
from smbfinance.reconciliation.model import (
    Allocation,
    Candidate,
    OpenInvoice,
    Payment,
    Plan,
    Signal,
)

WEIGHTS: dict[Signal, Decimal] = {
    Signal.STRUCTURED_REFERENCE: Decimal("1.00"),
    Signal.OGM_IN_TEXT: Decimal("0.90"),
    Signal.AMOUNT_EXACT: Decimal("0.45"),
    Signal.NUMBER_IN_TEXT: Decimal("0.35"),
    Signal.CONTACT_IBAN: Decimal("0.30"),
    Signal.AMOUNT_PARTIAL: Decimal("0.20"),
    Signal.CONTACT_NAME: Decimal("0.15"),
    Signal.DATE_NEAR_DUE: Decimal("0.10"),
    Signal.DIRECTION_MISMATCH: Decimal("-0.50"),
}
# A reference equal to a free-form (e.g. RF) one is as deliberate as an OGM in the text.
FREE_REFERENCE_WEIGHT = Decimal("0.90")
GROUP_PENALTY = Decimal("0.05")
MIN_SUGGESTION_SCORE = Decimal("0.35")
MAX_SUGGESTIONS_PER_PAYMENT = 5
DUE_WINDOW_DAYS = 10
MAX_GROUP_SIZE = 4
GROUP_POOL = 12
MAX_GROUPS = 3
_ZERO = Decimal(0)
_ONE = Decimal(1)
_CENT = Decimal("0.01")
_NAMING = frozenset({Signal.STRUCTURED_REFERENCE, Signal.OGM_IN_TEXT, Signal.NUMBER_IN_TEXT})
_SIGNAL_ORDER = {signal: position for position, signal in enumerate(Signal)}


@dataclass
class _Work:
    """Counts what the engine did, so linear growth can be asserted without a clock."""

    pairs_scored: int = 0
    subsets_tried: int = 0


@dataclass(frozen=True)
class _Scored:
    entry: Indexed
    signals: tuple[Signal, ...]
    score: Decimal
    certain: bool

    @property
    def mismatch(self) -> bool:
        return Signal.DIRECTION_MISMATCH in self.signals


@dataclass(frozen=True)
class _Proposal:
    """One way to use a payment: one invoice, or a group of invoices taken together."""

    payment: Payment
    members: tuple[_Scored, ...]
    score: Decimal
    certain: bool
    may_apply: bool
    grouped: bool

    def key(self) -> tuple[object, ...]:
        first = min(member.entry.order for member in self.members)
        return (not self.certain, -self.score, *first, self.payment.booking_date,
                self.payment.id, tuple(m.entry.invoice.id for m in self.members))

    def automatic(self, threshold: Decimal) -> bool:
        return (self.may_apply and self.payment.auto_apply
                and (self.certain or self.score >= threshold))


class _Ledger:
    """What each payment and invoice still has to give, as allocations are made."""

    def __init__(self, payments: Sequence[Payment], entries: Iterable[Indexed]) -> None:
        self.payments = {p.id: p.unallocated for p in payments}
        self.invoices = {e.invoice.id: e.invoice.outstanding for e in entries}

    def fit(self, proposal: _Proposal) -> list[Allocation]:
        """The allocations the proposal would make now; empty when it no longer fits."""
        left = self.payments[proposal.payment.id]
        if proposal.grouped:
            # A group is evidence only as a whole: its sum is what made it a candidate.
            wanted = [m.entry.invoice for m in proposal.members]
            if (sum(i.outstanding for i in wanted) > left
                    or any(self.invoices[i.id] < i.outstanding for i in wanted)):
                return []
            return [Allocation(proposal.payment.id, i.id, i.outstanding) for i in wanted]
        invoice = proposal.members[0].entry.invoice
        amount = min(left, self.invoices[invoice.id])
        return [Allocation(proposal.payment.id, invoice.id, amount)] if amount > 0 else []

    def take(self, allocations: Iterable[Allocation]) -> None:
        for allocation in allocations:
            self.payments[allocation.payment_id] -= allocation.amount
            self.invoices[allocation.invoice_id] -= allocation.amount


def match(payments: Iterable[Payment], invoices: Iterable[OpenInvoice], *,
          threshold: Decimal, today: date) -> Plan:
    """Allocate what is certain or scores at least `threshold`; suggest the rest.

    `today` is part of the contract so that date rules never read the clock; the current
    rules compare booking and due dates only, so it does not change the plan yet."""
    if not _ZERO <= threshold <= _ONE:
        raise ValueError(f"the threshold is a score between 0 and 1, got {threshold}")
    payment_list = _unique(payments, "payment")
    index = InvoiceIndex(_unique(invoices, "invoice"))
    work = _Work()
    proposals = sorted(
        (proposal for payment in payment_list if _has_money(payment)
         for proposal in _propose(payment, index, work)),
        key=_Proposal.key)
    ledger = _Ledger(payment_list, index.entries())
    automatic, pending = _apply(proposals, ledger, threshold)
    return Plan(automatic=tuple(automatic), suggestions=tuple(_suggest(pending, ledger)),
                pairs_scored=work.pairs_scored, subsets_tried=work.subsets_tried)


_Identified = TypeVar("_Identified", Payment, OpenInvoice)


def _unique(items: Iterable[_Identified], kind: str) -> list[_Identified]:
    # The ledger keys on ids: a duplicate would let one payment or invoice be spent twice.
    listed = list(items)
    if len({item.id for item in listed}) != len(listed):
        raise ValueError(f"each {kind} must appear once")
    return listed


def _has_money(payment: Payment) -> bool:
    return payment.amount != 0 and payment.unallocated > 0


def _payment_keys(payment: Payment) -> PaymentKeys:
    reference = keys.reference_key(payment.structured_reference)
    numbers = keys.text_number_keys(payment.remittance)
    if payment.structured_reference and not ogm.is_valid(payment.structured_reference):
        # A payer who puts the invoice number in the reference field still names it.
        numbers |= keys.number_keys(payment.structured_reference)
    return PaymentKeys(
        direction="receivable" if payment.amount > 0 else "payable",
        currency=payment.currency.upper(),
        amount=payment.unallocated,
        reference=reference,
        ogms=keys.ogms_in_text(payment.remittance),
        numbers=numbers,
        iban=keys.iban_key(payment.counterparty_iban),
        name=keys.name_key(payment.counterparty_name),
    )


def _propose(payment: Payment, index: InvoiceIndex, work: _Work) -> list[_Proposal]:
    payment_keys = _payment_keys(payment)
    scored = [_score(payment, payment_keys, entry) for entry in index.retrieve(payment_keys)]
    work.pairs_scored += len(scored)
    proposals = [_single(payment, candidate) for candidate in scored]
    has_exact = any(Signal.AMOUNT_EXACT in c.signals and not c.mismatch for c in scored)
    if not has_exact:
        proposals += _groups(payment, payment_keys.amount, scored, work)
    return _settle_ties(proposals)


def _score(payment: Payment, payment_keys: PaymentKeys, entry: Indexed) -> _Scored:
    invoice = entry.invoice
    signals: list[Signal] = []
    if entry.reference and entry.reference == payment_keys.reference:
        signals.append(Signal.STRUCTURED_REFERENCE)
    elif entry.reference and entry.reference in payment_keys.ogms:
        signals.append(Signal.OGM_IN_TEXT)
    signals += _amount_signals(payment_keys.amount, invoice.outstanding)
    if payment_keys.iban and payment_keys.iban in entry.ibans:
        signals.append(Signal.CONTACT_IBAN)
    if payment_keys.name and payment_keys.name == entry.name:
        signals.append(Signal.CONTACT_NAME)
    if payment_keys.numbers & entry.numbers:
        signals.append(Signal.NUMBER_IN_TEXT)
    if abs((payment.booking_date - invoice.due_date).days) <= DUE_WINDOW_DAYS:
        signals.append(Signal.DATE_NEAR_DUE)
    mismatch = invoice.direction != payment_keys.direction
    if mismatch:
        signals.append(Signal.DIRECTION_MISMATCH)
    certain = Signal.STRUCTURED_REFERENCE in signals and invoice.structured and not mismatch
    return _Scored(entry=entry, signals=tuple(signals),
                   score=_score_of(signals, structured=invoice.structured), certain=certain)


def _amount_signals(amount: Decimal, outstanding: Decimal) -> list[Signal]:
    if amount == outstanding:
        return [Signal.AMOUNT_EXACT]
    if amount < outstanding:
        return [Signal.AMOUNT_PARTIAL]
    return []  # more than owed: only a grouped match explains the rest


def _score_of(signals: Iterable[Signal], *, structured: bool) -> Decimal:
    total = sum(
        (FREE_REFERENCE_WEIGHT if signal is Signal.STRUCTURED_REFERENCE and not structured
         else WEIGHTS[signal] for signal in signals),
        _ZERO)
    return _clamp(total)


def _clamp(score: Decimal) -> Decimal:
    return min(_ONE, max(_ZERO, score)).quantize(_CENT)


def _single(payment: Payment, candidate: _Scored) -> _Proposal:
    return _Proposal(payment=payment, members=(candidate,), score=candidate.score,
                     certain=candidate.certain, may_apply=not candidate.mismatch,
                     grouped=False)


def _groups(payment: Payment, amount: Decimal, scored: Sequence[_Scored],
            work: _Work) -> list[_Proposal]:
    """Grouped matches: invoices of one contact whose outstandings add up to the payment.

    A few are looked for, so that better evidence can win over an earlier coincidence; two
    with equally good evidence mean the sum cannot tell, and neither applies by itself."""
    by_contact: dict[Hashable, list[_Scored]] = defaultdict(list)
    # Invoices the payer named come first, then the oldest: a capped pool keeps both.
    for candidate in sorted(scored, key=lambda c: (not _named(c), c.entry.order)):
        if not candidate.mismatch and candidate.entry.invoice.outstanding < amount:
            by_contact[candidate.entry.contact].append(candidate)
    found: list[tuple[_Scored, ...]] = []
    for pool in by_contact.values():
        if len(found) < MAX_GROUPS and len(pool) > 1:
            found += _exact_subsets(pool[:GROUP_POOL], amount, work,
                                    limit=MAX_GROUPS - len(found))
    groups = sorted((_as_group(members) for members in found),
                    key=lambda group: -_weakest(group))
    ambiguous = len(groups) > 1 and _weakest(groups[0]) == _weakest(groups[1])
    return [_group(payment, members, ambiguous=ambiguous) for members in groups]


def _named(candidate: _Scored) -> bool:
    return not _NAMING.isdisjoint(candidate.signals)


def _exact_subsets(pool: Sequence[_Scored], target: Decimal, work: _Work, *,
                   limit: int) -> list[tuple[_Scored, ...]]:
    """Up to `limit` subsets of 2..MAX_GROUP_SIZE members summing exactly to `target`."""
    ordered = sorted(pool, key=lambda c: (-c.entry.invoice.outstanding, c.entry.order))
    amounts = [c.entry.invoice.outstanding for c in ordered]
    found: list[tuple[_Scored, ...]] = []

    def search(start: int, chosen: tuple[int, ...], total: Decimal) -> None:
        for position in range(start, len(ordered)):
            if len(found) >= limit:
                return
            work.subsets_tried += 1
            reached = total + amounts[position]
            if reached > target:
                continue  # later amounts are smaller and may still fit
            picked = (*chosen, position)
            if reached == target:
                found.append(tuple(ordered[i] for i in picked))
                continue
            slots = MAX_GROUP_SIZE - len(picked)
            # Largest first: if the next few cannot reach the target, nothing after can.
            if slots and reached + sum(amounts[position + 1:position + 1 + slots]) >= target:
                search(position + 1, picked, reached)

    search(0, (), _ZERO)
    return found


def _as_group(members: tuple[_Scored, ...]) -> tuple[_Scored, ...]:
    """Members rescored as part of a group: together they are the exact amount."""
    return tuple(
        replace(m, signals=_sorted_signals((Signal.AMOUNT_EXACT, *m.signals)),
                score=_score_of((Signal.AMOUNT_EXACT, *m.signals),
                                structured=m.entry.invoice.structured),
                certain=False)
        for m in sorted(members, key=lambda m: m.entry.order))


def _weakest(members: tuple[_Scored, ...]) -> Decimal:
    return min(m.score for m in members)


def _group(payment: Payment, members: tuple[_Scored, ...], *, ambiguous: bool) -> _Proposal:
    score = _clamp(_weakest(members) - GROUP_PENALTY * (len(members) - 1))
    return _Proposal(payment=payment, members=members, score=score, certain=False,
                     may_apply=not ambiguous, grouped=True)


def _sorted_signals(signals: Iterable[Signal]) -> tuple[Signal, ...]:
    return tuple(sorted(set(signals), key=_SIGNAL_ORDER.__getitem__))


def _settle_ties(proposals: list[_Proposal]) -> list[_Proposal]:
    """A payment whose two best uncertain candidates score the same is not applied: the
    evidence does not say which invoice it pays, and guessing would be silently wrong."""
    contenders = sorted((p for p in proposals if p.may_apply and not p.certain),
                        key=_Proposal.key)
    if len(contenders) > 1 and contenders[0].score == contenders[1].score:
        return [p if p.certain else replace(p, may_apply=False) for p in proposals]
    return proposals


def _apply(proposals: Sequence[_Proposal], ledger: _Ledger,
           threshold: Decimal) -> tuple[list[Allocation], list[_Proposal]]:
    automatic: list[Allocation] = []
    pending: list[_Proposal] = []
    for proposal in proposals:
        allocations = ledger.fit(proposal) if proposal.automatic(threshold) else []
        if allocations:
            ledger.take(allocations)
            automatic += [replace(allocation, score=proposal.score, certain=proposal.certain,
                                  signals=_sorted_signals(member.signals))
                          for member, allocation in zip(proposal.members, allocations,
                                                        strict=True)]
        else:
            pending.append(proposal)
    return automatic, pending


def _suggest(pending: Sequence[_Proposal], ledger: _Ledger) -> list[Candidate]:
    """What is left to review, sized to what the automatic allocations left over."""
    offered: dict[UUID, int] = defaultdict(int)
    suggestions: list[Candidate] = []
    for proposal in pending:
        payment_id = proposal.payment.id
        if proposal.score < MIN_SUGGESTION_SCORE and not proposal.certain:
            continue
        if offered[payment_id] >= MAX_SUGGESTIONS_PER_PAYMENT:
            continue
        allocations = ledger.fit(proposal)
        if not allocations:
            continue
        offered[payment_id] += 1
        suggestions += _candidates(proposal, allocations)
    return suggestions


def _candidates(proposal: _Proposal, allocations: Sequence[Allocation]) -> list[Candidate]:
    group = tuple(m.entry.invoice.id for m in proposal.members) if proposal.grouped else ()
    return [
        Candidate(payment_id=proposal.payment.id, invoice_id=member.entry.invoice.id,
                  score=proposal.score, signals=_sorted_signals(member.signals),
                  amount=allocation.amount, certain=proposal.certain, group=group)
        for member, allocation in zip(proposal.members, allocations, strict=True)
    ]
