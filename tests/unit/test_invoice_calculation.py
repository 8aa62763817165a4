"""Invoice totals the EN 16931 way: line nets rounded half-up, VAT rounded once per
(category, rate) group, document allowances and charges, zero-rate categories."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from smbfinance.invoices.calculation import (
    AllowanceCharge,
    LineInput,
    VatBreakdown,
    compute_totals,
    line_net,
)
from smbfinance.money import minor_units, round_half_up

D = Decimal

# --------------------------------------------------------------------------- examples


def test_line_net_is_rounded_half_up_to_cents() -> None:
    # given 3 × 0.335 = 1.005
    line = LineInput(quantity=D("3"), unit_price=D("0.335"), vat_rate=D("21"))
    # when the line net is computed / then the half cent goes up
    assert line_net(line, "EUR") == D("1.01")
    # and the invoice is built on that rounded net
    totals = compute_totals([line], currency="EUR")
    assert (totals.net, totals.vat, totals.gross) == (D("1.01"), D("0.21"), D("1.22"))


def test_line_allowance_and_charge_apply_after_rounding_the_product() -> None:
    # given 1.5 × 3.33 = 4.995 → 5.00, a 0.50 line discount and a 0.25 line charge
    line = LineInput(D("1.5"), D("3.33"), D("21"), allowance=D("0.50"), charge=D("0.25"))
    # when computed / then the net is 5.00 − 0.50 + 0.25
    assert line_net(line, "EUR") == D("4.75")


def test_vat_is_rounded_once_per_rate_group_not_per_line() -> None:
    # given three lines of 0.07 at 21 % (per line 0.0147 → 0.01, so 0.03 if rounded per line)
    lines = [LineInput(D("1"), D("0.07"), D("21")) for _ in range(3)]
    # when totals are computed
    totals = compute_totals(lines, currency="EUR")
    # then VAT is 21 % of the group's 0.21 = 0.0441 → 0.04
    assert totals.vat == D("0.04")
    assert totals.vat_breakdown == (VatBreakdown("S", D("21"), D("0.21"), D("0.04")),)
    assert totals.gross == D("0.25")


def test_several_rates_each_get_their_own_group() -> None:
    # given lines at 21 %, 6 %, 6 % and a zero-rated line
    lines = [
        LineInput(D("2"), D("50.00"), D("21")),
        LineInput(D("1"), D("33.33"), D("6")),
        LineInput(D("1"), D("16.67"), D("6.00")),   # 6 and 6.00 are the same rate
        LineInput(D("1"), D("10.00"), D("0"), vat_category="Z"),
    ]
    # when totals are computed
    totals = compute_totals(lines, currency="EUR")
    # then there is one group per (category, rate), standard rates highest first
    assert totals.vat_breakdown == (
        VatBreakdown("S", D("21"), D("100.00"), D("21.00")),
        VatBreakdown("S", D("6"), D("50.00"), D("3.00")),
        VatBreakdown("Z", D("0"), D("10.00"), D("0.00")),
    )
    assert (totals.net, totals.vat, totals.gross) == (D("160.00"), D("24.00"), D("184.00"))


def test_document_allowances_and_charges_adjust_the_base_of_their_group() -> None:
    # given a 200.00 line at 21 %, a 20.00 discount and a 10.00 freight charge at 21 %
    lines = [LineInput(D("1"), D("200.00"), D("21"))]
    adjustments = [AllowanceCharge(False, D("20.00"), D("21"), reason="loyalty"),
                   AllowanceCharge(True, D("10.00"), D("21"), reason="freight")]
    # when totals are computed
    totals = compute_totals(lines, adjustments, currency="EUR")
    # then net = 200 − 20 + 10, and VAT is on that taxable base
    assert totals.line_total == D("200.00")
    assert (totals.allowance_total, totals.charge_total) == (D("20.00"), D("10.00"))
    assert totals.net == D("190.00")
    assert totals.vat_breakdown == (VatBreakdown("S", D("21"), D("190.00"), D("39.90")),)
    assert (totals.vat, totals.gross, totals.payable) == (D("39.90"), D("229.90"), D("229.90"))


def test_an_allowance_at_another_rate_only_reduces_that_group() -> None:
    # given lines at 21 % and 6 % and a discount on the 6 % goods only
    lines = [LineInput(D("1"), D("100.00"), D("21")), LineInput(D("1"), D("100.00"), D("6"))]
    adjustments = [AllowanceCharge(False, D("50.00"), D("6"))]
    # when totals are computed
    totals = compute_totals(lines, adjustments, currency="EUR")
    # then the 21 % group is untouched and the 6 % group is taxed on 50.00
    assert totals.vat_breakdown == (
        VatBreakdown("S", D("21"), D("100.00"), D("21.00")),
        VatBreakdown("S", D("6"), D("50.00"), D("3.00")),
    )
    assert (totals.net, totals.vat) == (D("150.00"), D("24.00"))


def test_zero_rate_categories_carry_no_vat_whatever_rate_was_sent() -> None:
    # given a reverse-charge line sent with 21 % and an exempt line sent with 6 %
    lines = [LineInput(D("1"), D("100.00"), D("21"), vat_category="AE"),
             LineInput(D("1"), D("40.00"), D("6"), vat_category="e")]
    # when totals are computed
    totals = compute_totals(lines, currency="EUR")
    # then both groups are at 0 %, and the invoice carries no VAT
    assert totals.vat_breakdown == (
        VatBreakdown("AE", D("0"), D("100.00"), D("0.00")),
        VatBreakdown("E", D("0"), D("40.00"), D("0.00")),
    )
    assert (totals.vat, totals.gross) == (D("0"), D("140.00"))


def test_payable_subtracts_prepaid_and_adds_rounding() -> None:
    lines = [LineInput(D("1"), D("100.00"), D("21"))]
    totals = compute_totals(lines, currency="EUR", prepaid=D("21.00"), rounding=D("0.01"))
    assert (totals.gross, totals.payable) == (D("121.00"), D("100.01"))


def test_currencies_without_minor_units_round_to_whole_units() -> None:
    # given 3 × 33.5 JPY = 100.5 → 101, at 10 %
    lines = [LineInput(D("3"), D("33.5"), D("10"))]
    # when totals are computed / then VAT 10.1 → 10 and nothing has a fraction
    totals = compute_totals(lines, currency="JPY")
    assert (totals.net, totals.vat, totals.gross) == (D("101"), D("10"), D("111"))


def test_three_place_currencies_keep_three_places() -> None:
    lines = [LineInput(D("1"), D("1.2345"), D("15"))]
    totals = compute_totals(lines, currency="KWD")
    assert (str(totals.net), str(totals.vat), str(totals.gross)) == ("1.235", "0.185", "1.420")


# --------------------------------------------------------------------------- property

CURRENCIES = st.sampled_from(["EUR", "JPY", "KWD"])
RATES = st.sampled_from([(D("21"), "S"), (D("12"), "S"), (D("6"), "S"), (D("6.00"), "S"),
                         (D("0"), "Z"), (D("21"), "AE"), (D("0"), "E"), (D("21"), "K")])


def _scaled(places: int, low: int, high: int) -> st.SearchStrategy[Decimal]:
    return st.integers(min_value=low, max_value=high).map(lambda n: D(n).scaleb(-places))


@st.composite
def invoices(draw: st.DrawFn) -> tuple[str, list[LineInput], list[AllowanceCharge], D, D]:
    currency = draw(CURRENCIES)
    places = minor_units(currency)
    money = _scaled(places, 0, 5 * 10**places)
    lines = []
    for _ in range(draw(st.integers(min_value=1, max_value=8))):
        rate, category = draw(RATES)
        lines.append(LineInput(
            quantity=draw(_scaled(4, 1, 10**7)),          # 0.0001 .. 1000
            unit_price=draw(_scaled(6, -(10**9), 10**10)),  # −1000 .. 10000, 6 places
            vat_rate=rate, vat_category=category,
            allowance=draw(money), charge=draw(money)))
    adjustments = []
    for _ in range(draw(st.integers(min_value=0, max_value=3))):
        rate, category = draw(RATES)
        adjustments.append(AllowanceCharge(draw(st.booleans()),
                                           draw(_scaled(places, 1, 100 * 10**places)),
                                           rate, category))
    prepaid = draw(money)
    rounding = draw(_scaled(places, -1, 1))
    return currency, lines, adjustments, prepaid, rounding


@settings(max_examples=200, deadline=None)
@given(invoice=invoices())
def test_line_totals_always_add_up_to_the_invoice_totals(invoice) -> None:
    # given any invoice: lines, document allowances and charges, prepaid, rounding
    currency, lines, adjustments, prepaid, rounding = invoice
    # when its totals are computed
    totals = compute_totals(lines, adjustments, currency=currency, prepaid=prepaid,
                            rounding=rounding)
    # then each line net is its rounded product minus its allowance plus its charge
    assert totals.line_nets == tuple(
        round_half_up(line.quantity * line.unit_price, currency) - line.allowance + line.charge
        for line in lines)
    # and net = Σ line nets − allowances + charges
    allowances = sum((a.amount for a in adjustments if not a.is_charge), D(0))
    charges = sum((a.amount for a in adjustments if a.is_charge), D(0))
    assert totals.line_total == sum(totals.line_nets, D(0))
    assert (totals.allowance_total, totals.charge_total) == (allowances, charges)
    assert totals.net == totals.line_total - allowances + charges
    # and the VAT breakdown covers exactly the net, each group rounded once
    assert sum((b.taxable_amount for b in totals.vat_breakdown), D(0)) == totals.net
    for group in totals.vat_breakdown:
        assert group.tax_amount == round_half_up(group.taxable_amount * group.rate / 100,
                                                 currency)
    assert len({(b.category, b.rate) for b in totals.vat_breakdown}) == len(totals.vat_breakdown)
    # and VAT = Σ breakdown; gross = net + VAT; payable = gross − prepaid + rounding
    assert totals.vat == sum((b.tax_amount for b in totals.vat_breakdown), D(0))
    assert totals.gross == totals.net + totals.vat
    assert totals.payable == totals.gross - prepaid + rounding
    # and every total is an exact amount in the currency's places
    for value in (totals.net, totals.vat, totals.gross, totals.payable):
        assert value == round_half_up(value, currency)


@given(invoice=invoices())
def test_zero_rate_categories_never_carry_vat(invoice) -> None:
    currency, lines, adjustments, _prepaid, _rounding = invoice
    totals = compute_totals(lines, adjustments, currency=currency)
    for group in totals.vat_breakdown:
        if group.category in {"Z", "E", "AE", "K", "G", "O"}:
            assert group.rate == 0 and group.tax_amount == 0
