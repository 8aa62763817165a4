"""The Ponto simulator writes amounts as JSON numbers, as Ponto does, from the Decimal's
own digits: no float between our generated data and the wire."""

from __future__ import annotations

import json
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from smbfinance.integrations.sandbox.ponto import _dumps, _number


@given(st.decimals(min_value=Decimal("-99999999999999.99"),
                   max_value=Decimal("99999999999999.99"), places=2))
def test_an_amount_goes_out_as_a_bare_number_with_its_exact_digits(amount: Decimal) -> None:
    # given a resource holding an amount; when it is written
    text = _dumps({"attributes": {"amount": _number(amount), "description": "0.10"}})
    # then it is a JSON number (not a string) that reads back exactly, other strings intact
    read = json.loads(text, parse_float=Decimal)["attributes"]
    assert read["amount"] == amount and not isinstance(read["amount"], str)
    assert f'"amount": {amount}' in text
    assert read["description"] == "0.10"
