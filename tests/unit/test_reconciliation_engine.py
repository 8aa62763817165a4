"""Reconciliation engine (pure): certain matches on structured references, scored matches
with their evidence, grouped and split payments, and the plan never allocating more than a
payment or an invoice has. Linear growth is asserted on work counted, never on time."""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal
from uuid import UUID

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bench.reconciliation import workload
from smbfinance.invoices import ogm
from smbfinance.reconciliation import (
    Allocation,
    Direction,
    OpenInvoice,
    Payment,
    Plan,
    Signal,
    match,
)
from smbfinance.reconciliation.keys import name_key, text_number_keys

TODAY = date(2025, 3, 14)
DUE = date(2025, 2, 1)
FAR_FROM_DUE = DUE + timedelta(days=40)
DEFAULT_THRESHOLD = Decimal("0.90")
ACME = UUID(int=0xACE)
ACME_IBAN = "BE68539007547034"
OTHER_IBAN = "BE71096123456769"

_ids = iter(range(1, 10**9))


def next_id() -> UUID:
    return UUID(int=next(_ids))


def invoice(outstanding: str, *, direction: Direction = "receivable", number: str | None = None,
            contact_id: UUID | None = ACME, contact_name: str | None = "Acme NV",
            ibans: frozenset[str] = frozenset({ACME_IBAN}), currency: str = "EUR",
            due_date: date = DUE, reference: str | None = None,
            structured: bool | None = None, invoice_id: UUID | None = None) -> OpenInvoice:
    identifier = invoice_id or next_id()
    return OpenInvoice(
        id=identifier, direction=direction, number=number or f"INV-2025-{identifier.int:04d}",
        contact_id=contact_id, contact_name=contact_name, contact_ibans=ibans,
        currency=currency, outstanding=Decimal(outstanding), gross=Decimal(outstanding),
        due_date=due_date, payment_reference=reference,
        structured=reference is not None if structured is None else structured)


def payment(amount: str, *, iban: str | None = None, name: str | None = None,
            remittance: str | None = None, reference: str | None = None,
            currency: str = "EUR", booked: date = FAR_FROM_DUE,
            unallocated: str | None = None, payment_id: UUID | None = None) -> Payment:
    signed = Decimal(amount)
    return Payment(
        id=payment_id or next_id(), amount=signed, currency=currency, booking_date=booked,
        counterparty_name=name, counterparty_iban=iban, remittance=remittance,
        structured_reference=reference,
        unallocated=abs(signed) if unallocated is None else Decimal(unallocated))


def run(payments: list[Payment], invoices: list[OpenInvoice],
        threshold: Decimal = DEFAULT_THRESHOLD) -> Plan:
    return match(payments, invoices, threshold=threshold, today=TODAY)


def allocated(plan: Plan) -> set[tuple[UUID, UUID, Decimal]]:
    return {(a.payment_id, a.invoice_id, a.amount) for a in plan.automatic}


# --- certain matches ---------------------------------------------------------------------

REFERENCE = ogm.generate(4_242)  # 12 digits, as an invoice stores it


@pytest.mark.parametrize("written", [
    ogm.format_ogm(REFERENCE),  # +++000/0004/24261+++
    f"{REFERENCE[:3]}/{REFERENCE[3:7]}/{REFERENCE[7:]}",
    f" +++ {REFERENCE[:3]} / {REFERENCE[3:7]} / {REFERENCE[7:]} +++ ",
    REFERENCE,
])
def test_structured_reference_is_a_certain_automatic_match(written: str) -> None:
    # given an open receivable with a structured reference, and a payment carrying it
    target = invoice("1210.00", reference=REFERENCE)
    paid = payment("1210.00", reference=written)

    # when matched
    plan = run([paid], [target, invoice("1210.00")])

    # then it is applied in full, with no suggestion left for that payment
    assert plan.automatic == (Allocation(paid.id, target.id, Decimal("1210.00")),)
    assert plan.suggestions == ()


def test_ogm_in_free_text_scores_high_enough_to_apply_by_default() -> None:
    # given a payment from an unknown account whose free text holds the invoice's OGM
    target = invoice("99.95", reference=REFERENCE)
    paid = payment("99.95", remittance=f"betaling factuur {ogm.format_ogm(REFERENCE)} dank u")

    # when matched at the default threshold
    plan = run([paid], [target])

    # then it is applied
    assert allocated(plan) == {(paid.id, target.id, Decimal("99.95"))}


def test_ogm_in_free_text_is_evidence_not_certainty() -> None:
    # given a payment of more than the invoice, whose free text holds the invoice's OGM
    target = invoice("99.95", reference=REFERENCE)
    paid = payment("120.00", remittance=f"ref {REFERENCE[:3]} {REFERENCE[3:7]} {REFERENCE[7:]}")

    # when matched at a threshold above what an OGM in the text scores
    plan = run([paid], [target], threshold=Decimal("0.95"))

    # then it is a suggestion with the OGM as its evidence, for the invoice's outstanding
    (suggestion,) = plan.suggestions
    assert plan.automatic == ()
    assert not suggestion.certain
    assert suggestion.signals == (Signal.OGM_IN_TEXT,)
    assert suggestion.score == Decimal("0.90")
    assert suggestion.amount == Decimal("99.95")


def test_a_certain_match_allocates_no_more_than_the_outstanding() -> None:
    # given a payment larger than the invoice its reference names
    target = invoice("1000.00", reference=REFERENCE)
    paid = payment("1500.00", reference=ogm.format_ogm(REFERENCE))

    # when matched
    plan = run([paid], [target])

    # then the invoice is settled and the remaining 500.00 stays unallocated
    assert allocated(plan) == {(paid.id, target.id, Decimal("1000.00"))}


# --- partial payments --------------------------------------------------------------------

def test_partial_payment_with_its_reference_is_applied_and_the_rest_stays_outstanding() -> None:
    # given an invoice of 1000.00 and a payment of 400.00 with its structured reference
    target = invoice("1000.00", reference=REFERENCE)
    paid = payment("400.00", reference=REFERENCE)

    # when matched
    plan = run([paid], [target])

    # then 400.00 is allocated; the invoice keeps 600.00 outstanding (nothing else claimed)
    assert allocated(plan) == {(paid.id, target.id, Decimal("400.00"))}


def test_scored_partial_payment_is_weaker_than_an_exact_one() -> None:
    # given one invoice, and two payments naming it by number from the contact's IBAN
    target = invoice("1000.00", number="F2025-0117")
    partial = payment("400.00", iban=ACME_IBAN, remittance="acompte F2025-0117")
    exact = payment("1000.00", iban=ACME_IBAN, remittance="F2025-0117")

    # when each is matched on its own at the default threshold
    partial_plan = run([partial], [target])
    exact_plan = run([exact], [target])

    # then the exact one applies (0.45 + 0.30 + 0.35, capped at 1); the partial one scores
    # 0.20 + 0.30 + 0.35 and is suggested for its own amount
    assert allocated(exact_plan) == {(exact.id, target.id, Decimal("1000.00"))}
    (weak,) = partial_plan.suggestions
    assert partial_plan.automatic == ()
    assert weak.amount == Decimal("400.00")
    assert weak.signals == (Signal.AMOUNT_PARTIAL, Signal.CONTACT_IBAN, Signal.NUMBER_IN_TEXT)
    assert weak.score == Decimal("0.85")


# --- one payment, several invoices; several payments, one invoice -----------------------

def test_one_payment_settles_three_invoices_of_one_contact_named_in_the_text() -> None:
    # given three open invoices of Acme (and one that does not fit), and one payment of
    # their sum from Acme's IBAN listing their numbers
    first = invoice("100.00", number="INV-0001", due_date=DUE)
    second = invoice("250.00", number="INV-0002", due_date=DUE + timedelta(days=1))
    third = invoice("650.00", number="INV-0003", due_date=DUE + timedelta(days=2))
    unrelated = invoice("900.00", number="INV-0004", due_date=DUE + timedelta(days=3))
    paid = payment("1000.00", iban=ACME_IBAN, remittance="INV-0001 INV-0002 INV-0003")

    # when matched
    plan = run([paid], [unrelated, third, first, second])

    # then each of the three is settled in full, and nothing else
    assert allocated(plan) == {(paid.id, first.id, Decimal("100.00")),
                               (paid.id, second.id, Decimal("250.00")),
                               (paid.id, third.id, Decimal("650.00"))}


def test_a_group_named_in_the_text_is_found_among_many_open_invoices() -> None:
    # given a contact with 20 older open invoices, and a payment of its two newest, named
    older = [invoice("75.00", due_date=DUE - timedelta(days=n + 1)) for n in range(20)]
    newest = [invoice("410.00", number="INV-9001", due_date=DUE + timedelta(days=20)),
              invoice("90.00", number="INV-9002", due_date=DUE + timedelta(days=21))]
    paid = payment("500.00", iban=ACME_IBAN, remittance="INV-9001 / INV-9002")

    # when matched
    plan = run([paid], [*older, *newest])

    # then the two named invoices are settled
    assert allocated(plan) == {(paid.id, newest[0].id, Decimal("410.00")),
                               (paid.id, newest[1].id, Decimal("90.00"))}


def test_exact_amount_is_found_for_a_contact_with_many_open_invoices() -> None:
    # given a contact with 40 open invoices, the one of 333.33 due last
    many = [invoice("100.00", due_date=DUE - timedelta(days=n)) for n in range(39)]
    last = invoice("333.33", due_date=DUE + timedelta(days=30))
    paid = payment("333.33", iban=ACME_IBAN)

    # when matched
    plan = run([paid], [*many, last], threshold=Decimal("0.75"))

    # then it is applied (0.45 + 0.30), and not every invoice of the contact was scored
    assert allocated(plan) == {(paid.id, last.id, Decimal("333.33"))}
    assert plan.pairs_scored < 40


def test_a_group_found_by_amount_alone_is_offered_as_a_group() -> None:
    # given the same invoices and a payment of their sum from Acme's IBAN, no text
    first = invoice("100.00")
    second = invoice("250.00")
    third = invoice("650.00")
    paid = payment("1000.00", iban=ACME_IBAN)

    # when matched
    plan = run([paid], [first, second, third])

    # then nothing is applied; the three are one suggestion with the group's score
    assert plan.automatic == ()
    group = (first.id, second.id, third.id)
    assert [(c.invoice_id, c.amount) for c in plan.suggestions] == [
        (first.id, Decimal("100.00")), (second.id, Decimal("250.00")),
        (third.id, Decimal("650.00"))]
    for candidate in plan.suggestions:
        assert candidate.group == group
        assert candidate.score == Decimal("0.65")  # 0.45 + 0.30 − 2 × 0.05
        assert {Signal.AMOUNT_EXACT, Signal.CONTACT_IBAN} <= set(candidate.signals)
        assert not candidate.certain


def test_two_groups_adding_up_to_the_payment_are_ambiguous() -> None:
    # given invoices where {600, 400} and {600, 300, 100} both make 1000
    invoices = [invoice(amount, number=f"INV-01{n}") for n, amount in
                enumerate(("600.00", "400.00", "300.00", "100.00"))]
    paid = payment("1000.00", iban=ACME_IBAN, name="ACME",
                   remittance=" ".join(i.number for i in invoices))

    # when matched, even at a low threshold
    plan = run([paid], invoices, threshold=Decimal("0.50"))

    # then nothing is applied, and both groups are offered (beside the single invoices)
    assert plan.automatic == ()
    assert {c.group for c in plan.suggestions if c.group} == {
        (invoices[0].id, invoices[1].id), (invoices[0].id, invoices[2].id, invoices[3].id)}


def test_several_payments_settle_one_invoice_and_never_more_than_it() -> None:
    # given an invoice of 1000.00 and three payments with its reference (300, 700, 200)
    target = invoice("1000.00", reference=REFERENCE)
    first = payment("300.00", reference=REFERENCE, booked=DUE)
    second = payment("700.00", reference=REFERENCE, booked=DUE + timedelta(days=1))
    third = payment("200.00", reference=REFERENCE, booked=DUE + timedelta(days=2))

    # when matched
    plan = run([third, second, first], [target])

    # then the first two settle it; the third is left unallocated, not over-allocated
    assert allocated(plan) == {(first.id, target.id, Decimal("300.00")),
                               (second.id, target.id, Decimal("700.00"))}
    assert plan.suggestions == ()


# --- what must not be applied ------------------------------------------------------------

@pytest.mark.parametrize("threshold", [DEFAULT_THRESHOLD, Decimal("0.40"), Decimal("0")])
def test_two_invoices_with_the_same_amount_and_no_other_evidence_are_only_suggested(
        threshold: Decimal) -> None:
    # given two invoices of 500.00 from different contacts, and a payment of 500.00 from an
    # unknown account without text
    one = invoice("500.00", contact_id=next_id(), contact_name="Alpha", ibans=frozenset())
    other = invoice("500.00", contact_id=next_id(), contact_name="Beta", ibans=frozenset())
    paid = payment("500.00")

    # when matched
    plan = run([paid], [one, other], threshold=threshold)

    # then nothing is applied and both are offered with the amount as their only evidence
    assert plan.automatic == ()
    assert {c.invoice_id for c in plan.suggestions} == {one.id, other.id}
    for candidate in plan.suggestions:
        assert candidate.signals == (Signal.AMOUNT_EXACT,)
        assert candidate.score == Decimal("0.45")


def test_a_refund_out_of_the_account_does_not_pay_a_receivable() -> None:
    # given a receivable of 500.00 and 500.00 going out to that customer's IBAN
    receivable = invoice("500.00")
    refund = payment("-500.00", iban=ACME_IBAN, name="Acme")

    # when matched at any threshold
    plan = run([refund], [receivable], threshold=Decimal("0"))

    # then nothing is applied or suggested
    assert plan == Plan(automatic=(), suggestions=(), pairs_scored=plan.pairs_scored)


@pytest.mark.parametrize("evidence", ["reference", "number"])
def test_a_payment_naming_an_invoice_against_its_sign_is_flagged_never_applied(
        evidence: str) -> None:
    # given a receivable, and money going out that names it by reference or number
    receivable = invoice("500.00", reference=REFERENCE, number="INV-7777")
    refund = payment("-500.00", iban=ACME_IBAN,
                     reference=REFERENCE if evidence == "reference" else None,
                     remittance="refund INV-7777" if evidence == "number" else None)

    # when matched at threshold 0
    plan = run([refund], [receivable], threshold=Decimal("0"))

    # then it is at most a suggestion, carrying the mismatch as negative evidence
    assert plan.automatic == ()
    for candidate in plan.suggestions:
        assert Signal.DIRECTION_MISMATCH in candidate.signals
        assert not candidate.certain


def test_an_invoice_in_another_currency_is_never_a_candidate() -> None:
    # given a USD invoice and a EUR payment carrying its reference, amount and IBAN
    dollars = invoice("250.00", currency="USD", reference=REFERENCE)
    paid = payment("250.00", reference=REFERENCE, iban=ACME_IBAN, currency="EUR")

    # when matched
    plan = run([paid], [dollars], threshold=Decimal("0"))

    # then nothing is applied or suggested, and nothing was even scored
    assert plan.automatic == () and plan.suggestions == ()
    assert plan.pairs_scored == 0


def test_the_same_currency_in_lower_case_still_matches() -> None:
    target = invoice("250.00", currency="EUR", reference=REFERENCE)
    paid = payment("250.00", reference=REFERENCE, currency="eur")

    assert allocated(run([paid], [target])) == {(paid.id, target.id, Decimal("250.00"))}


# --- threshold ---------------------------------------------------------------------------

@pytest.mark.parametrize(("threshold", "applied"), [
    (Decimal("0.74"), True), (Decimal("0.75"), True), (Decimal("0.76"), False)])
def test_threshold_applies_at_or_above_the_score(threshold: Decimal, applied: bool) -> None:
    # given an exact amount from the contact's IBAN, far from the due date: 0.45 + 0.30
    target = invoice("321.00")
    paid = payment("321.00", iban=ACME_IBAN)

    # when matched at thresholds around 0.75
    plan = run([paid], [target], threshold=threshold)

    # then it is applied from 0.75 up, and suggested with its score below
    if applied:
        assert allocated(plan) == {(paid.id, target.id, Decimal("321.00"))}
        assert plan.suggestions == ()
    else:
        assert plan.automatic == ()
        (suggestion,) = plan.suggestions
        assert suggestion.score == Decimal("0.75")
        assert suggestion.signals == (Signal.AMOUNT_EXACT, Signal.CONTACT_IBAN)


@pytest.mark.parametrize("threshold", [Decimal("-0.01"), Decimal("1.01")])
def test_a_threshold_outside_0_to_1_is_refused(threshold: Decimal) -> None:
    with pytest.raises(ValueError, match="between 0 and 1"):
        run([], [], threshold=threshold)


def test_duplicate_ids_are_refused() -> None:
    twice = invoice("10.00")
    with pytest.raises(ValueError, match="once"):
        run([], [twice, twice])


# --- evidence ----------------------------------------------------------------------------

def test_name_match_ignores_case_accents_punctuation_and_legal_form() -> None:
    # given an invoice to "Brasserie Dupont & Fils S.A." and a payment from its bank name
    target = invoice("75.00", contact_name="Brasserie Dupont & Fils S.A.", ibans=frozenset())
    paid = payment("75.00", name="BRASSERIE DUPONT FILS SPRL", booked=DUE + timedelta(days=9))

    # when matched
    plan = run([paid], [target], threshold=Decimal("1.00"))

    # then the name, the amount and the date are its evidence
    (suggestion,) = plan.suggestions
    assert suggestion.signals == (Signal.AMOUNT_EXACT, Signal.CONTACT_NAME,
                                  Signal.DATE_NEAR_DUE)
    assert suggestion.score == Decimal("0.70")


@pytest.mark.parametrize(("left", "right"), [
    ("Société Générale SA", "SOCIETE GENERALE"),
    ("De Smet BVBA", "de smet bv"),
    ("Peeters, Jan", "Jan Peeters"),
    ("Van Damme N.V.", "VAN DAMME NV"),
])
def test_name_keys(left: str, right: str) -> None:
    assert name_key(left) == name_key(right)


def test_name_made_only_of_a_legal_form_has_no_key() -> None:
    assert name_key("NV") is None
    assert name_key("") is None


def test_invoice_number_written_with_spaces_or_without_prefix_is_found() -> None:
    assert "INV20250001" in text_number_keys("payment inv 2025 0001, thanks")
    assert "20250001" in text_number_keys("factuur 2025/0001.")


def test_number_in_text_is_found_without_any_other_key() -> None:
    # given a payment from an unknown account, an amount matching nothing, and the number
    target = invoice("880.00", number="2025/0042", ibans=frozenset(), contact_name=None)
    paid = payment("80.00", remittance="Factuur 2025-0042 deel 1")

    # when matched
    plan = run([paid], [target], threshold=Decimal("1.00"))

    # then the number and the partial amount are its evidence
    (suggestion,) = plan.suggestions
    assert suggestion.signals == (Signal.AMOUNT_PARTIAL, Signal.NUMBER_IN_TEXT)


def test_payables_are_paid_by_money_going_out() -> None:
    # given a supplier invoice and a transfer out of its amount to the supplier's IBAN
    bill = invoice("1452.00", direction="payable", number="ACME-778")
    paid = payment("-1452.00", iban=ACME_IBAN, remittance="ACME-778")

    # when matched
    plan = run([paid], [bill])

    # then it is applied (0.45 + 0.30 + 0.35)
    assert allocated(plan) == {(paid.id, bill.id, Decimal("1452.00"))}


def test_a_date_near_due_breaks_a_tie_between_invoices_of_one_contact() -> None:
    # given two invoices of Acme of the same amount, one due near the payment's date
    near = invoice("200.00", due_date=DUE)
    far = invoice("200.00", due_date=DUE - timedelta(days=60))
    paid = payment("200.00", iban=ACME_IBAN, name="Acme", booked=DUE + timedelta(days=3))

    # when matched at 0.90
    plan = run([paid], [far, near])

    # then the one due near the payment gets it (0.45 + 0.30 + 0.15 + 0.10)
    assert allocated(plan) == {(paid.id, near.id, Decimal("200.00"))}


def test_equal_invoices_of_one_contact_are_ambiguous() -> None:
    # given two invoices of Acme of the same amount, neither due near the payment
    one = invoice("200.00")
    two = invoice("200.00")
    paid = payment("200.00", iban=ACME_IBAN, name="Acme")

    # when matched at 0.90, which each would reach alone
    plan = run([paid], [one, two])

    # then neither is guessed
    assert plan.automatic == ()
    assert {c.invoice_id for c in plan.suggestions} == {one.id, two.id}


def test_payment_already_partly_allocated_matches_on_what_is_left() -> None:
    target = invoice("300.00", reference=REFERENCE)
    paid = payment("1000.00", reference=REFERENCE, unallocated="250.00")

    assert allocated(run([paid], [target])) == {(paid.id, target.id, Decimal("250.00"))}


# --- determinism -------------------------------------------------------------------------

@pytest.mark.parametrize("seed", [1, 2, 3])
def test_shuffled_inputs_give_the_same_plan(seed: int) -> None:
    # given a realistic mix of 400 payments and 200 invoices
    payments, invoices = workload(400, 200, seed=seed)
    expected = run(payments, invoices)

    # when the same inputs are matched in other orders
    rng = random.Random(seed)
    for _ in range(3):
        rng.shuffle(payments)
        rng.shuffle(invoices)

        # then the plan is identical, order of allocations and suggestions included
        assert run(payments, invoices) == expected
    assert expected.automatic and expected.suggestions


# --- never over-allocated (property) -----------------------------------------------------

AMOUNTS = [Decimal(a) for a in ("50.00", "100.00", "150.00", "250.00", "400.00", "1000.00")]
CONTACTS = [(UUID(int=900 + n), f"Contact {n} NV", f"BE{n}0000000000{n}") for n in range(3)]


@st.composite
def open_invoices(draw: st.DrawFn) -> list[OpenInvoice]:
    invoices = []
    for n in range(draw(st.integers(min_value=0, max_value=8))):
        contact_id, name, iban = draw(st.sampled_from(CONTACTS))
        structured = draw(st.booleans())
        invoices.append(OpenInvoice(
            id=UUID(int=n + 1), direction=draw(st.sampled_from(["receivable", "payable"])),
            number=f"INV-{n:04d}", contact_id=contact_id, contact_name=name,
            contact_ibans=frozenset({iban}), currency=draw(st.sampled_from(["EUR", "USD"])),
            outstanding=draw(st.sampled_from(AMOUNTS)), gross=Decimal("1000.00"),
            due_date=DUE + timedelta(days=draw(st.integers(min_value=-15, max_value=15))),
            payment_reference=ogm.generate(n + 1) if structured else None,
            structured=structured))
    return invoices


@st.composite
def bank_payments(draw: st.DrawFn, invoices: list[OpenInvoice]) -> list[Payment]:
    numbers = [i.number for i in invoices] or ["nothing"]
    references = [ogm.generate(n + 1) for n in range(len(invoices) + 1)]
    payments = []
    for n in range(draw(st.integers(min_value=0, max_value=8))):
        size = draw(st.sampled_from([*AMOUNTS, Decimal("300.00"), Decimal("1150.00")]))
        amount = size if draw(st.booleans()) else -size
        contact = draw(st.sampled_from([None, *CONTACTS]))
        payments.append(Payment(
            id=UUID(int=1_000 + n), amount=amount,
            currency=draw(st.sampled_from(["EUR", "USD"])),
            booking_date=DUE + timedelta(days=draw(st.integers(min_value=-15, max_value=15))),
            counterparty_name=contact[1] if contact else None,
            counterparty_iban=contact[2] if contact else None,
            remittance=" ".join(draw(st.lists(st.sampled_from(numbers), max_size=3))),
            structured_reference=draw(st.sampled_from([None, *references])),
            unallocated=size - draw(st.sampled_from([Decimal(0), Decimal("50.00")]))))
    return payments


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[list[Payment], list[OpenInvoice], Decimal]:
    invoices = draw(open_invoices())
    payments = draw(bank_payments(invoices))
    threshold = draw(st.sampled_from([Decimal(t) for t in ("0", "0.3", "0.75", "0.9", "1")]))
    return payments, invoices, threshold


@settings(max_examples=300, deadline=None)
@given(scenarios())
def test_no_payment_or_invoice_is_ever_over_allocated(
        scenario: tuple[list[Payment], list[OpenInvoice], Decimal]) -> None:
    # given random payments and invoices with colliding amounts, references and numbers
    payments, invoices, threshold = scenario

    # when matched
    plan = run(payments, invoices, threshold=threshold)

    # then every allocation is positive and none exceeds what a payment or invoice has
    per_payment: dict[UUID, Decimal] = defaultdict(Decimal)
    per_invoice: dict[UUID, Decimal] = defaultdict(Decimal)
    for allocation in plan.automatic:
        assert allocation.amount > 0
        per_payment[allocation.payment_id] += allocation.amount
        per_invoice[allocation.invoice_id] += allocation.amount
    unallocated = {p.id: p.unallocated for p in payments}
    outstanding = {i.id: i.outstanding for i in invoices}
    assert all(total <= unallocated[pid] for pid, total in per_payment.items())
    assert all(total <= outstanding[iid] for iid, total in per_invoice.items())
    # and suggestions only offer what is still free after the automatic allocations
    for candidate in plan.suggestions:
        assert Decimal(0) <= candidate.score <= Decimal(1)
        assert 0 < candidate.amount <= unallocated[candidate.payment_id] - \
            per_payment[candidate.payment_id]
        assert candidate.amount <= outstanding[candidate.invoice_id] - \
            per_invoice[candidate.invoice_id]
    # and the sign and currency rules hold for everything applied
    by_payment = {p.id: p for p in payments}
    by_invoice = {i.id: i for i in invoices}
    for allocation in plan.automatic:
        paid, settled = by_payment[allocation.payment_id], by_invoice[allocation.invoice_id]
        assert paid.currency == settled.currency
        assert (paid.amount > 0) == (settled.direction == "receivable")


# --- linear growth, counted not timed ---------------------------------------------------

def test_work_grows_linearly_with_the_inputs() -> None:
    # given random inputs at 1,000 × 500 and at ten times that
    small = run(*workload(1_000, 500, seed=7))
    large = run(*workload(10_000, 5_000, seed=7))

    # then the pairs scored grow about ×10 (comparing every pair would grow ×100)
    assert small.pairs_scored > 0
    growth = large.pairs_scored / small.pairs_scored
    assert growth < 15, growth
    assert large.pairs_scored < 10_000 * 5_000 / 100
    # and so does the grouped-match search
    assert large.subsets_tried / max(1, small.subsets_tried) < 15


# --- evidence and a person's undo ----------------------------------------------------------

def test_an_automatic_allocation_carries_its_evidence() -> None:
    # given a certain match and a scored one above the threshold
    certain_target = invoice("100.00", reference=REFERENCE)
    scored_target = invoice("250.00", number="INV-77")
    by_reference = payment("100.00", reference=REFERENCE)
    by_evidence = payment("250.00", iban=ACME_IBAN, name="Acme NV", remittance="INV-77",
                          booked=DUE)
    # when matched
    plan = run([by_reference, by_evidence], [certain_target, scored_target])
    # then each allocation says why it was made
    evidence = {a.invoice_id: (a.certain, a.score, a.signals) for a in plan.automatic}
    assert evidence[certain_target.id][0] is True
    assert Signal.STRUCTURED_REFERENCE in evidence[certain_target.id][2]
    certain, score, signals = evidence[scored_target.id]
    assert certain is False and score is not None and score >= DEFAULT_THRESHOLD
    assert {Signal.AMOUNT_EXACT, Signal.NUMBER_IN_TEXT, Signal.CONTACT_IBAN} <= set(signals)


def test_a_payment_a_person_took_a_match_from_is_only_suggested() -> None:
    # given a payment whose automatic match was undone, carrying the invoice's OGM
    target = invoice("100.00", reference=REFERENCE)
    undone = replace(payment("100.00", reference=REFERENCE), auto_apply=False)
    # when matched again
    plan = run([undone], [target])
    # then nothing is applied and the certain pair is offered for review
    assert plan.automatic == ()
    assert [(c.invoice_id, c.amount, c.certain) for c in plan.suggestions] == [
        (target.id, Decimal("100.00"), True)]
