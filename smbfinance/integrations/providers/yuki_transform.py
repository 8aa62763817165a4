"""Yuki XML (the `<s:any>` content of its SOAP results) → our provider-neutral shapes. Pure.

Yuki returns lists as XML fragments: `<Administration ID="...">` and `<Item ID="...">`
elements with child elements per field. We read them by local name so that a namespace on
the fragment (present or not, depending on the service) changes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from lxml import etree

from smbfinance.integrations.providers.base import Administration, Contact, OpenItem
from smbfinance.integrations.providers.errors import MalformedResponse

PROVIDER = "yuki"
_CENT = Decimal("0.01")


def _bad(message: str) -> MalformedResponse:
    return MalformedResponse(message, provider=PROVIDER)


def _local(element: etree._Element) -> str:
    return etree.QName(element).localname if isinstance(element.tag, str) else ""


def children(element: etree._Element, name: str) -> list[etree._Element]:
    """Descendant elements called `name`, in document order, whatever their namespace."""
    return [node for node in element.iter() if _local(node) == name]


def _field(element: etree._Element, name: str) -> str | None:
    for child in element:
        if _local(child) == name:
            text = (child.text or "").strip()
            return text or None
    return None


def _attr(element: etree._Element, name: str) -> str | None:
    value = (element.get(name) or "").strip()
    return value or None


def _amount(value: str | None, what: str) -> Decimal:
    if value is None:
        raise _bad(f"{what} missing")
    try:
        amount = Decimal(value.replace(",", "."))
    except InvalidOperation:
        raise _bad(f"{what} is not a number") from None
    if not amount.is_finite():
        raise _bad(f"{what} is not finite")
    return amount.quantize(_CENT)


def _date(value: str | None) -> date | None:
    """Yuki writes `2026-11-22T00:00:00` (sometimes with an offset) or `2026-11-22`."""
    if not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).date()
    except ValueError:
        raise _bad(f"unreadable date {value[:40]!r}") from None


def administrations(root: etree._Element) -> list[Administration]:
    found = []
    for node in children(root, "Administration"):
        identifier = _attr(node, "ID")
        if not identifier:
            raise _bad("administration without ID")
        found.append(Administration(
            provider_id=identifier,
            name=_field(node, "Name") or identifier,
            country=_field(node, "Country"),
            vat_number=_field(node, "VATNumber"),
            domain_id=_field(node, "DomainID"),
            active=(_field(node, "Active") or "true").lower() in ("true", "1"),
        ))
    return found


def contact_of(item: etree._Element) -> Contact:
    contact_id = _field(item, "ContactID") or _field(item, "ContactCode")
    name = _field(item, "Contact")
    if not contact_id or not name:
        raise _bad("item without a contact")
    street = " ".join(filter(None, (_field(item, "AddressLine_1"),
                                    _field(item, "AddressLine_2")))) or None
    return Contact(
        provider=PROVIDER, provider_id=contact_id, name=name[:200],
        code=_field(item, "ContactCode"), vat_number=_field(item, "VATNumber"),
        coc_number=_field(item, "CoCNumber"), address=street,
        postal_code=_field(item, "Postcode"), city=_field(item, "City"),
        country=_field(item, "Country"),
    )


def open_items(root: etree._Element, *, administration_id: str, direction: str,
               currency: str = "EUR") -> list[OpenItem]:
    """`OutstandingDebtorItems` (direction "receivable") or `OutstandingCreditorItems`
    ("payable"). Yuki amounts are in the administration's currency."""
    if direction not in ("receivable", "payable"):
        raise ValueError(direction)
    items = []
    for node in children(root, "Item"):
        identifier = _attr(node, "ID")
        if not identifier:
            raise _bad("item without ID")
        type_node = next((c for c in node if _local(c) == "Type"), None)
        items.append(OpenItem(
            provider=PROVIDER, provider_id=identifier, administration_id=administration_id,
            direction=direction, reference=_field(node, "Reference"),
            description=_field(node, "Description"), issue_date=_date(_field(node, "Date")),
            due_date=_date(_field(node, "DueDate")),
            original_amount=_amount(_field(node, "OriginalAmount"), "OriginalAmount"),
            open_amount=_amount(_field(node, "OpenAmount"), "OpenAmount"),
            currency=currency, contact=contact_of(node),
            type_id=_attr(type_node, "ID") if type_node is not None else None,
        ))
    return items


def gl_balances(root: etree._Element) -> dict[str, Decimal]:
    """`GLAccountBalance` → {GL code: amount}; credit balances are negative as Yuki says."""
    return {
        code: _amount(_field(node, "Amount"), "Amount")
        for node in children(root, "GLAccount")
        if (code := _attr(node, "Code"))
    }


def unique_contacts(items: Iterable[OpenItem]) -> list[Contact]:
    seen: dict[str, Contact] = {}
    for item in items:
        seen.setdefault(item.contact.provider_id, item.contact)
    return list(seen.values())
