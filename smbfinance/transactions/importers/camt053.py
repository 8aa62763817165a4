"""ISO 20022 camt.053 (BankToCustomerStatement) .001.02 to .001.08, streamed. Pure.

The file is read with `lxml.etree.iterparse` and every statement child (`Bal`, `Ntry`, …) is
cleared and unlinked once it has been turned into an event, so memory stays flat however
many entries the file has. XML that declares a DOCTYPE is refused before anything else is
read: camt.053 never needs one, and refusing it rules out external entities (XXE) and
entity-expansion bombs; entities are not resolved and nothing is fetched from the network
either way.

A ZIP whose members are camt.053 files (banks bundle a day's statements that way) is parsed
member by member, in archive order; statement indexes run on across members.

Rules that decide amounts and names:

- Sign. `Ntry/Amt` is unsigned; `CdtDbtInd` DBIT makes it negative, CRDT positive.
- Reversal (`RvslInd` true). ISO 20022 defines the indicator pair this way: a reversal of a
  debit is reported as CRDT, a reversal of a credit as DBIT. `CdtDbtInd` is therefore the
  direction of the reversal booking itself and the amount is signed by it alone, so that
  opening + entries = closing. The entry keeps `details["reversal"] = "true"`. Some banks
  (mostly German) write the original booking's direction instead; when a statement only
  reconciles with its reversals read that way, the balance warning says so.
- Counterparty. The debtor of a credit, the creditor of a debit. For a reversal the side is
  that of the original operation (a returned incoming transfer names the original payer as
  debtor), i.e. the direction above flipped. The other side, usually the account holder,
  goes into details.
- Batches. A `Ntry` with several `TxDtls` yields ONE entry with the entry's amount, so the
  entries of a statement always sum to its movements. A field on which all transactions
  agree is kept; where they differ the field is left empty and the values are joined with
  " | " in details (`counterparty_names`, `counterparty_ibans`, `structured_references`,
  `end_to_end_ids`); `details["batch_transactions"]` holds each transaction as JSON.
- Balances. Opening: OPBD, else PRCD. Closing: CLBD. Other types (OPAV, CLAV, ITBD, …) are
  not statement balances and are ignored. A balance whose currency is not the statement's
  is not used (the statement currency is the rule) and produces `balance_currency_mismatch`.
- Statement currency: `Acct/Ccy`; when absent (it is optional), the first entry's currency,
  else the booked balances' currency.
- Status: BOOK → booked; PDNG and FUTR → pending (pending entries are left out of the
  balance check); INFO entries are information only and are skipped with a warning.
- "NOTPROVIDED", the SEPA placeholder, counts as absent for end-to-end ids and remittance.

Warnings per statement: `balance_mismatch`, `closing_balance_missing`,
`balance_currency_mismatch`, `opening_balance_conflict` (OPBD ≠ PRCD),
`entry_currency_mismatch`, `trailer_count_mismatch` / `trailer_totals_mismatch` (TxsSummry),
`informational_entries_skipped`.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import BinaryIO, Literal

from lxml import etree

from smbfinance.transactions.importers import (
    compact_iban,
    is_iban,
    normalise_reference,
    tidy_amount,
)
from smbfinance.transactions.importers.model import (
    Entry,
    Event,
    Format,
    ImportFormatError,
    ImportWarning,
    StatementEnd,
    StatementStart,
)

# A 200,000-entry statement is a few hundred MB of XML; anything past this in one ZIP
# member is not a bank statement.
MAX_ZIP_MEMBER_BYTES = 2 * 1024**3

_NAMESPACE = re.compile(r"urn:iso:std:iso:20022:tech:xsd:([a-z]{4})\.(\d{3})\.(\d{3})\.(\d{2})")
_OTHER_MESSAGES = {
    "camt.052": "a camt.052 account report (intraday), not a camt.053 end-of-day statement",
    "camt.054": "a camt.054 debit/credit notification, not a camt.053 statement",
    "camt.056": "a camt.056 payment cancellation request, not a camt.053 statement",
    "pain.001": "a pain.001 credit-transfer initiation (a payment order), not a statement",
    "pain.002": "a pain.002 payment status report, not a statement",
    "pain.008": "a pain.008 direct-debit initiation, not a statement",
    "pacs.008": "a pacs.008 interbank credit transfer, not a statement",
}
_AMOUNT = re.compile(r"\d{1,18}(?:\.\d{1,5})?", re.ASCII)
_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})(?:Z|[+-]\d{2}:\d{2})?", re.ASCII)
_DATETIME = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})?", re.ASCII
)
_OGM_IN_TEXT = re.compile(r"(\+\+\+|\*\*\*)\s*(\d{3})\s*/\s*(\d{4})\s*/\s*(\d{5})\s*\1")
_PLACEHOLDER = "NOTPROVIDED"
_STATUSES: dict[str, Literal["booked", "pending"] | None] = {
    "BOOK": "booked",
    "PDNG": "pending",
    "FUTR": "pending",
    "INFO": None,
}


_DOCTYPE_REFUSED = (
    "a DOCTYPE is not allowed in a bank statement (entity declarations are refused to rule "
    "out XXE and entity-expansion attacks)"
)
_CURRENCY = re.compile(r"[A-Z]{3}", re.ASCII)
# Ccy attributes already written exactly as ISO 4217 needs them: no stripping, no check.
_CURRENCIES_SEEN = frozenset({"EUR", "USD", "GBP", "CHF", "SEK", "NOK", "DKK", "PLN", "CZK",
                              "HUF", "RON", "BGN", "JPY", "CAD", "AUD", "CNY"})
_SNIFF_CHUNK = 16 * 1024
_SNIFF_LIMIT = 1024 * 1024  # prolog (declaration, comments) longer than this is not a statement


_STEPS: dict[str, tuple[str, ...]] = {}
# Local names by namespaced tag, shared by every document. Capped: a hostile file could
# invent any number of tags, and past the cap names are simply computed each time.
_LOCAL_NAMES: dict[object, str] = {}
_CACHE_LIMIT = 4096


def _steps(path: str) -> tuple[str, ...]:
    steps = _STEPS.get(path)
    if steps is None:
        steps = tuple(step.removeprefix("c:") for step in path.split("/"))
        if len(_STEPS) < _CACHE_LIMIT:
            _STEPS[path] = steps
    return steps


def _local_name(tag: object) -> str | None:
    """`Amt` for `{urn:…}Amt`; None for comments, processing instructions and entities
    (whose `tag` is a factory function, not a string)."""
    if not isinstance(tag, str):
        return None
    local = tag[tag.rfind("}") + 1 :]
    if len(_LOCAL_NAMES) < _CACHE_LIMIT:
        _LOCAL_NAMES[tag] = local
    return local


def _kids(elem: etree._Element) -> dict[str, etree._Element]:
    """The first child of each local name (one pass, for elements asked several things)."""
    first: dict[str, etree._Element] = {}
    names = _LOCAL_NAMES
    for child in elem:
        tag = child.tag
        local = names.get(tag) or _local_name(tag)
        if local is not None and local not in first:
            first[local] = child
    return first


def _first(elem: etree._Element, local: str) -> etree._Element | None:
    """The first child whose local name is `local`, whatever its namespace."""
    names = _LOCAL_NAMES
    for child in elem:
        tag = child.tag
        if (names.get(tag) or _local_name(tag)) == local:
            return child
    return None


def _find(elem: etree._Element | None, path: str) -> etree._Element | None:
    """`c:A/c:B`: the first A, then its first B (an ElementPath lookup with a namespace map
    costs about 8 µs and an entry needs dozens; this walks the few children directly)."""
    for step in _STEPS.get(path) or _steps(path):
        if elem is None:
            return None
        elem = _first(elem, step)
    return elem


def _findall(elem: etree._Element | None, path: str) -> list[etree._Element]:
    if elem is None:
        return []
    elems = [elem]
    names = _LOCAL_NAMES
    for step in _STEPS.get(path) or _steps(path):
        elems = [child for parent in elems for child in parent
                 if (names.get(child.tag) or _local_name(child.tag)) == step]
    return elems


def _all_after(first: etree._Element, local: str) -> Iterator[etree._Element]:
    """`findall("<first's name>/<local>")` from the first of those parents: its children
    named `local`, then those of its later siblings of the same name."""
    names = _LOCAL_NAMES
    parent_name = names.get(first.tag) or _local_name(first.tag)
    for parent in (first, *first.itersiblings()):
        tag = parent.tag
        if parent is first or (names.get(tag) or _local_name(tag)) == parent_name:
            for child in parent:
                tag = child.tag
                if (names.get(tag) or _local_name(tag)) == local:
                    yield child


def _remittance(rmt_inf: etree._Element) -> tuple[list[str | None], etree._Element | None]:
    """(cleaned text of every Ustrd, the first Strd) of an RmtInf, in one pass."""
    names = _LOCAL_NAMES
    lines: list[str | None] = []
    structured = None
    for child in rmt_inf:
        tag = child.tag
        local = names.get(tag) or _local_name(tag)
        if local == "Ustrd":
            lines.append(_clean(child.text))
        elif local == "Strd" and structured is None:
            structured = child
    return lines, structured


def _text(elem: etree._Element | None, path: str) -> str | None:
    found = _find(elem, path)
    return _clean(found.text) if found is not None else None


@dataclass
class _Balance:
    code: str
    amount: Decimal
    currency: str
    on: date | None
    path: str


@dataclass
class _Statement:
    index: int  # in the file (across ZIP members)
    position: int  # 1-based Stmt position in this document, for paths
    path: str
    statement_id: str | None = None
    has_account: bool = False
    account_iban: str | None = None
    account_number: str | None = None
    account_currency: str | None = None
    holder: str | None = None
    bic: str | None = None
    balances: list[_Balance] = field(default_factory=list)
    summary_count: int | None = None
    summary_net: Decimal | None = None
    currency: str | None = None
    started: bool = False
    opening: _Balance | None = None
    ntry_seen: int = 0
    entry_count: int = 0
    booked_sum: Decimal = Decimal(0)
    all_sum: Decimal = Decimal(0)
    booked_reversal_sum: Decimal = Decimal(0)
    booked_reversals: int = 0
    foreign_entries: dict[str, int] = field(default_factory=dict)
    info_skipped: int = 0
    warnings: list[ImportWarning] = field(default_factory=list)


@dataclass
class _Tx:
    """What one TxDtls contributes to its entry."""

    amount: Decimal | None = None
    currency: str | None = None
    end_to_end_id: str | None = None
    counterparty_name: str | None = None
    counterparty_iban: str | None = None
    counterparty_bic: str | None = None
    other_party_name: str | None = None
    ultimate_debtor: str | None = None
    ultimate_creditor: str | None = None
    remittance: str | None = None
    structured_reference: str | None = None
    additional_info: str | None = None
    bank_reference: str | None = None
    transaction_code: str | None = None
    extra: dict[str, str] = field(default_factory=dict)


def _clean(text: str | None) -> str | None:
    if not text:
        return None
    joined = " ".join(text.split())
    return joined or None


def _distinct(values: list[str | None]) -> list[str]:
    seen: list[str] = []
    for value in values:
        if value and value not in seen:
            seen.append(value)
    return seen


class _Prefixed(io.RawIOBase):
    """`head` followed by the rest of `stream`: lets us sniff a non-seekable upload."""

    def __init__(self, head: bytes, stream: BinaryIO) -> None:
        self._head = head
        self._stream = stream

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        if self._head:
            size = min(len(buffer), len(self._head))
            buffer[:size] = self._head[:size]
            self._head = self._head[size:]
            return size
        data = self._stream.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


class _Document:
    """One camt.053 XML document streamed into events."""

    def __init__(self, stream: BinaryIO, *, first_index: int, source: str | None) -> None:
        self._stream = stream
        self._source = source
        self.next_index = first_index
        self._ns = ""
        self._stmt: _Statement | None = None
        self._stmt_positions = 0
        self._dates: dict[str, date] = {}
        self._ntry_tag = ""

    # -- element helpers -----------------------------------------------------------------

    def _q(self, local: str) -> str:
        return f"{{{self._ns}}}{local}"

    def _path(self, path: str) -> str:
        return f"{self._source}:{path}" if self._source else path

    _find = staticmethod(_find)
    _findall = staticmethod(_findall)
    _text = staticmethod(_text)

    def _error(self, message: str, path: str) -> ImportFormatError:
        return ImportFormatError(message, path=self._path(path))

    def _amount(self, elem: etree._Element | None, path: str) -> tuple[Decimal, str]:
        if elem is None:
            raise self._error("required element is missing", path)
        text = (elem.text or "").strip()
        if not _AMOUNT.fullmatch(text):
            raise self._error(f"{text!r} is not an amount (digits, optional '.' decimals)", path)
        currency = elem.get("Ccy")
        if currency not in _CURRENCIES_SEEN:
            currency = (currency or "").strip().upper()
            if not _CURRENCY.fullmatch(currency):
                raise self._error("the Ccy attribute (ISO 4217 currency) is missing or invalid",
                                  path)
        amount = Decimal(text)
        dot = text.find(".")
        # Only more than two decimals can need tidying ("8.850" → 8.85).
        return (tidy_amount(amount) if dot >= 0 and len(text) - dot > 3 else amount), currency

    def _sign(self, elem: etree._Element, path: str, indicator: str | None = None) -> int:
        """+1 for CRDT, -1 for DBIT: `indicator` when the caller has read it already."""
        if indicator is None:
            indicator = _text(elem, "c:CdtDbtInd")
        if indicator == "CRDT":
            return 1
        if indicator == "DBIT":
            return -1
        if indicator is None:
            raise self._error("required element is missing", f"{path}/CdtDbtInd")
        raise self._error(f"{indicator!r} is neither CRDT nor DBIT", f"{path}/CdtDbtInd")

    def _date(self, elem: etree._Element | None, path: str) -> date | None:
        """`Dt` or `DtTm` inside `elem`; a date-time keeps the bank's own calendar day."""
        if elem is None:
            return None
        dt = _first(elem, "Dt")
        text = _clean(dt.text) if dt is not None else None
        if text is not None:
            # Entries of a statement share a handful of dates: parse each text once.
            known = self._dates.get(text)
            if known is not None:
                return known
        match = _DATE.fullmatch(text) if text else None
        where = f"{path}/Dt"
        if text is None:
            text = self._text(elem, "c:DtTm")
            match = _DATETIME.fullmatch(text) if text else None
            where = f"{path}/DtTm"
        if text is None:
            raise self._error("neither Dt nor DtTm is given", path)
        if match is None:
            raise self._error(f"{text!r} is not an ISO date", where)
        try:
            parsed = date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
        except ValueError:
            raise self._error(f"{text!r} is not a calendar date", where) from None
        if where.endswith("/Dt"):
            if len(self._dates) >= _CACHE_LIMIT:
                self._dates.clear()
            self._dates[text] = parsed
        return parsed

    # -- document walk -------------------------------------------------------------------

    def _sniff_root(self) -> bytes:
        """Read until the root element opens; check it; return the bytes consumed.

        The main pass only asks lxml for the few elements it handles (an event per element
        would double the parse time), so the root is checked here first: a DOCTYPE or a
        foreign message is refused before the rest of the file is read."""
        parser = etree.XMLPullParser(
            events=("start",), resolve_entities=False, no_network=True, load_dtd=False,
            huge_tree=False,
        )
        consumed = bytearray()
        try:
            while len(consumed) <= _SNIFF_LIMIT:
                chunk = self._stream.read(_SNIFF_CHUNK)
                consumed += chunk
                if not chunk:
                    parser.close()  # raises "Document is empty" / premature end
                    break
                if b"<!DOCTYPE" in consumed:
                    # Refused before libxml2 sees the internal subset at all; the docinfo
                    # check in _check_root covers encodings this byte search cannot see.
                    raise self._error(_DOCTYPE_REFUSED, "/")
                parser.feed(chunk)
                for _event, root in parser.read_events():
                    self._check_root(root)
                    return bytes(consumed)
        except etree.XMLSyntaxError as exc:
            raise ImportFormatError(f"invalid XML: {exc.msg}", line=exc.lineno or None,
                                    path=self._path("/")) from None
        raise self._error("no XML root element found at the start of the file", "/")

    def events(self) -> Iterator[Event]:
        head = self._sniff_root()
        wanted = [self._q(t) for t in ("Stmt", "Id", "Acct", "Bal", "TxsSummry", "Ntry",
                                       "GrpHdr")]
        context = etree.iterparse(
            io.BufferedReader(_Prefixed(head, self._stream)),
            events=("start", "end"),
            tag=wanted,
            resolve_entities=False,
            no_network=True,
            load_dtd=False,
            huge_tree=False,
            remove_comments=True,
            remove_pis=True,
        )
        stmt_tag, statement_parent = self._q("Stmt"), self._q("BkToCstmrStmt")
        ntry_tag = self._ntry_tag
        saw_statement = False
        try:
            # The hot loop: one pass per entry, so entries skip the generic dispatch.
            for event, elem in context:
                if event == "start":
                    if elem.tag == stmt_tag:
                        parent = elem.getparent()
                        if parent is not None and parent.tag == statement_parent:
                            saw_statement = True
                            self._open_statement()
                    continue
                parent = elem.getparent()
                parent_tag = parent.tag if parent is not None else None
                stmt = self._stmt
                if parent_tag == stmt_tag and stmt is not None:
                    if elem.tag == ntry_tag:
                        start, entry = self._ntry(elem, stmt)
                        if start is not None:
                            yield start
                        if entry is not None:
                            yield entry
                    else:
                        yield from self._statement_child(elem)
                    self._discard(elem, parent)
                elif parent_tag == statement_parent:
                    if elem.tag == stmt_tag and stmt is not None:
                        yield from self._close_statement()
                    self._discard(elem, parent)
        except etree.XMLSyntaxError as exc:
            raise ImportFormatError(
                f"invalid XML: {exc.msg}", line=exc.lineno or None,
                path=self._path(self._syntax_path()),
            ) from None
        if not saw_statement:
            raise self._error("the document holds no Stmt", "/Document/BkToCstmrStmt")

    def _syntax_path(self) -> str:
        """Where a syntax error struck, as precisely as the statement context knows."""
        stmt = self._stmt
        if stmt is None:
            return "/Document"
        if stmt.ntry_seen:
            return f"{stmt.path}/Ntry[{stmt.ntry_seen + 1}]"
        return stmt.path

    @staticmethod
    def _discard(elem: etree._Element, parent: etree._Element | None) -> None:
        # Clear the element and unlink the siblings already handled: without this the
        # tree (and libxml2's memory) would grow with every entry.
        elem.clear(keep_tail=False)
        if parent is not None:
            while elem.getprevious() is not None:
                del parent[0]

    def _check_root(self, root: etree._Element) -> None:
        docinfo = root.getroottree().docinfo
        if docinfo.doctype or docinfo.internalDTD is not None or docinfo.system_url:
            raise self._error(_DOCTYPE_REFUSED, "/")
        qname = etree.QName(root)
        namespace = qname.namespace or ""
        match = _NAMESPACE.fullmatch(namespace)
        if qname.localname != "Document":
            raise self._error(
                f"not a camt.053 statement: the root element is <{qname.localname}>, "
                "expected <Document> in the camt.053 namespace",
                f"/{qname.localname}",
            )
        if match is None:
            shown = namespace or "no namespace"
            raise self._error(
                f"not a camt.053 statement: the Document namespace is {shown!r}",
                "/Document",
            )
        message = f"{match.group(1)}.{match.group(2)}"
        if message != "camt.053":
            what = _OTHER_MESSAGES.get(message, f"a {message} message, not a camt.053 statement")
            raise self._error(f"this file is {what}", "/Document")
        self._ns = namespace
        self._ntry_tag = self._q("Ntry")

    # -- statements ----------------------------------------------------------------------

    def _open_statement(self) -> None:
        self._stmt_positions += 1
        self._stmt = _Statement(
            index=self.next_index,
            position=self._stmt_positions,
            path=f"/Document/BkToCstmrStmt/Stmt[{self._stmt_positions}]",
        )
        self.next_index += 1

    def _statement_child(self, elem: etree._Element) -> Iterator[Event]:
        stmt = self._stmt
        assert stmt is not None
        tag = elem.tag
        node = elem
        if tag == self._ntry_tag:
            start, entry = self._ntry(elem, stmt)
            if start is not None:
                yield start
            if entry is not None:
                yield entry
        elif tag == self._q("Id"):
            stmt.statement_id = _clean(elem.text)
        elif tag == self._q("Acct"):
            self._account(node, stmt)
        elif tag == self._q("Bal"):
            stmt.balances.append(self._balance(node, f"{stmt.path}/Bal[{len(stmt.balances) + 1}]"))
        elif tag == self._q("TxsSummry"):
            self._summary(node, stmt)

    def _ntry(self, elem: etree._Element,
              stmt: _Statement) -> tuple[StatementStart | None, Entry | None]:
        """(the statement's start when this is its first entry, the entry unless skipped)."""
        stmt.ntry_seen += 1
        path = f"{stmt.path}/Ntry[{stmt.ntry_seen}]"
        if not stmt.has_account:
            raise self._error("required element Acct is missing (or comes after Ntry)",
                              f"{stmt.path}/Acct")
        parsed = self._entry(elem, path, stmt)
        start = None
        if not stmt.started:
            start = self._start(stmt, parsed.currency if parsed else None)
        if parsed is not None:
            self._count(stmt, parsed)
        return start, parsed

    def _account(self, acct: etree._Element, stmt: _Statement) -> None:
        path = f"{stmt.path}/Acct"
        ident = self._find(acct, "c:Id")
        if ident is None:
            raise self._error("required element is missing", f"{path}/Id")
        iban = self._text(ident, "c:IBAN")
        other = self._text(ident, "c:Othr/c:Id")
        if iban is None and other is None:
            raise self._error("the account has neither IBAN nor Othr/Id", f"{path}/Id")
        stmt.account_iban = compact_iban(iban) if iban else None
        stmt.account_number = other
        # Some banks put the IBAN in Othr/Id; account matching works on IBANs.
        if stmt.account_iban is None and other and is_iban(other):
            stmt.account_iban = compact_iban(other)
        currency = self._text(acct, "c:Ccy")
        if currency is not None:
            if not re.fullmatch(r"[A-Z]{3}", currency):
                raise self._error(f"{currency!r} is not an ISO 4217 currency", f"{path}/Ccy")
            stmt.account_currency = currency
        stmt.holder = (
            self._text(acct, "c:Ownr/c:Nm")
            or self._text(acct, "c:Ownr/c:Pty/c:Nm")
            or self._text(acct, "c:Nm")
        )
        stmt.bic = self._text(acct, "c:Svcr/c:FinInstnId/c:BIC") or self._text(
            acct, "c:Svcr/c:FinInstnId/c:BICFI"
        )
        stmt.has_account = True

    def _balance(self, bal: etree._Element, path: str) -> _Balance:
        code = self._text(bal, "c:Tp/c:CdOrPrtry/c:Cd") or self._text(
            bal, "c:Tp/c:CdOrPrtry/c:Prtry"
        )
        if code is None:
            raise self._error("required element is missing", f"{path}/Tp/CdOrPrtry/Cd")
        amount, currency = self._amount(self._find(bal, "c:Amt"), f"{path}/Amt")
        sign = self._sign(bal, path)
        return _Balance(
            code=code.upper(),
            amount=amount * sign,
            currency=currency,
            on=self._date(self._find(bal, "c:Dt"), f"{path}/Dt"),
            path=path,
        )

    def _summary(self, summary: etree._Element, stmt: _Statement) -> None:
        path = f"{stmt.path}/TxsSummry/TtlNtries"
        totals = self._find(summary, "c:TtlNtries")
        if totals is None:
            return
        count = self._text(totals, "c:NbOfNtries")
        if count is not None:
            if not count.isdigit():
                raise self._error(f"{count!r} is not a number", f"{path}/NbOfNtries")
            stmt.summary_count = int(count)
        net = self._find(totals, "c:TtlNetNtry")  # .001.03 and later
        if net is not None:
            amount_text = self._text(net, "c:Amt")
            sign_holder, sign_path = net, f"{path}/TtlNetNtry"
        else:  # .001.02: TtlNetNtryAmt beside CdtDbtInd
            amount_text = self._text(totals, "c:TtlNetNtryAmt")
            sign_holder, sign_path = totals, path
        if amount_text is not None:
            if not _AMOUNT.fullmatch(amount_text):
                raise self._error(f"{amount_text!r} is not an amount", sign_path)
            stmt.summary_net = Decimal(amount_text) * self._sign(sign_holder, sign_path)

    def _currency(self, stmt: _Statement, first_entry_currency: str | None) -> str:
        if stmt.account_currency:
            return stmt.account_currency
        if first_entry_currency:
            return first_entry_currency
        for balance in stmt.balances:
            if balance.code in ("OPBD", "PRCD", "CLBD"):
                return balance.currency
        raise self._error(
            "the statement currency is unknown: no Acct/Ccy, no entry and no booked balance",
            f"{stmt.path}/Acct/Ccy",
        )

    def _start(self, stmt: _Statement, first_entry_currency: str | None) -> StatementStart:
        stmt.currency = self._currency(stmt, first_entry_currency)
        opbd = self._usable_balance(stmt, "OPBD")
        prcd = self._usable_balance(stmt, "PRCD")
        if opbd and prcd and opbd.amount != prcd.amount:
            stmt.warnings.append(ImportWarning(
                code="opening_balance_conflict",
                message=f"opening booked balance (OPBD) {opbd.amount} differs from the "
                        f"previously closed booked balance (PRCD) {prcd.amount}; OPBD is used",
                path=self._path(stmt.path),
            ))
        stmt.opening = opbd or prcd
        stmt.started = True
        return StatementStart(
            statement_index=stmt.index,
            account_iban=stmt.account_iban,
            account_number=stmt.account_number,
            currency=stmt.currency,
            account_holder=stmt.holder,
            bic=stmt.bic,
            statement_id=stmt.statement_id,
            opening_balance=stmt.opening.amount if stmt.opening else None,
            opening_date=stmt.opening.on if stmt.opening else None,
        )

    def _usable_balance(self, stmt: _Statement, code: str) -> _Balance | None:
        """The first balance of type `code`, unless it is in another currency (warned)."""
        for balance in stmt.balances:
            if balance.code != code:
                continue
            if balance.currency != stmt.currency:
                stmt.warnings.append(ImportWarning(
                    code="balance_currency_mismatch",
                    message=f"{code} balance {balance.amount} is in {balance.currency}, not in "
                            f"the statement currency {stmt.currency}; it is not used",
                    path=self._path(balance.path),
                ))
                return None
            return balance
        return None

    def _count(self, stmt: _Statement, entry: Entry) -> None:
        stmt.entry_count += 1
        if entry.currency != stmt.currency:
            stmt.foreign_entries[entry.currency] = stmt.foreign_entries.get(entry.currency, 0) + 1
            return
        stmt.all_sum += entry.amount
        if entry.status == "booked":
            stmt.booked_sum += entry.amount
            if entry.details.get("reversal") == "true":
                stmt.booked_reversals += 1
                stmt.booked_reversal_sum += entry.amount

    def _close_statement(self) -> Iterator[Event]:
        stmt = self._stmt
        assert stmt is not None
        self._stmt = None
        if not stmt.has_account:
            raise self._error("required element is missing", f"{stmt.path}/Acct")
        if not stmt.started:
            yield self._start(stmt, None)
        closing = self._usable_balance(stmt, "CLBD")
        warnings = stmt.warnings
        where = self._path(stmt.path)
        if not any(b.code == "CLBD" for b in stmt.balances):
            warnings.append(ImportWarning(
                code="closing_balance_missing",
                message="the statement has no closing booked balance (CLBD)",
                path=where,
            ))
        if stmt.opening is not None and closing is not None:
            expected = stmt.opening.amount + stmt.booked_sum
            if expected != closing.amount:
                message = (
                    f"opening balance {stmt.opening.amount} + booked entries "
                    f"{stmt.booked_sum} = {expected}, but the closing balance is "
                    f"{closing.amount}"
                )
                if stmt.booked_reversals and (
                    expected - 2 * stmt.booked_reversal_sum == closing.amount
                ):
                    message += (
                        f"; it would reconcile with the {stmt.booked_reversals} reversal "
                        "entries read the other way round (the bank may give the original "
                        "booking's direction in CdtDbtInd)"
                    )
                warnings.append(ImportWarning(code="balance_mismatch", message=message,
                                              path=where))
        for currency, count in stmt.foreign_entries.items():
            warnings.append(ImportWarning(
                code="entry_currency_mismatch",
                message=f"{count} entries are in {currency}, not in the statement currency "
                        f"{stmt.currency}; they are left out of the balance check",
                path=where,
            ))
        if stmt.info_skipped:
            warnings.append(ImportWarning(
                code="informational_entries_skipped",
                message=f"{stmt.info_skipped} entries with status INFO (information only, "
                        "not booked) were skipped",
                path=where,
            ))
        if stmt.summary_count is not None and stmt.summary_count != stmt.ntry_seen:
            warnings.append(ImportWarning(
                code="trailer_count_mismatch",
                message=f"TxsSummry announces {stmt.summary_count} entries, the statement "
                        f"has {stmt.ntry_seen}",
                path=self._path(f"{stmt.path}/TxsSummry"),
            ))
        if (stmt.summary_net is not None and not stmt.foreign_entries
                and not stmt.info_skipped and stmt.summary_net != stmt.all_sum):
            warnings.append(ImportWarning(
                code="trailer_totals_mismatch",
                message=f"TxsSummry announces a net total of {stmt.summary_net}, the entries "
                        f"sum to {stmt.all_sum}",
                path=self._path(f"{stmt.path}/TxsSummry"),
            ))
        yield StatementEnd(
            statement_index=stmt.index,
            closing_balance=closing.amount if closing else None,
            closing_date=closing.on if closing else None,
            entry_count=stmt.entry_count,
            warnings=tuple(warnings),
        )

    # -- entries -------------------------------------------------------------------------

    def _status(
        self, sts: etree._Element | None, path: str
    ) -> tuple[str, Literal["booked", "pending"] | None]:
        """The entry's status from its (first) `Sts` element."""
        code = _clean(sts.text) if sts is not None else None  # .001.02 to .001.07: the code
        if code is None:
            code = _text(sts, "c:Cd") or _text(sts, "c:Prtry")
        if code is None:
            # Sts is mandatory in the schema; a file that omits it reports bookings.
            return "BOOK", "booked"
        code = code.upper()
        if code not in _STATUSES:
            raise self._error(f"unknown entry status {code!r} (expected BOOK, PDNG, INFO or "
                              "FUTR)", f"{path}/Sts")
        return code, _STATUSES[code]

    @staticmethod
    def _bank_code(code: etree._Element) -> tuple[str | None, str | None]:
        """(ISO domain code "PMNT-RCDT-ESCT", proprietary code) of a BkTxCd."""
        domain = _first(code, "Domn")
        iso: str | None = None
        if domain is not None:
            parts = [
                _text(domain, "c:Cd"),
                _text(domain, "c:Fmly/c:Cd"),
                _text(domain, "c:Fmly/c:SubFmlyCd"),
            ]
            iso = "-".join(p for p in parts if p) or None
        return iso, _text(code, "c:Prtry/c:Cd")

    def _party_name(self, parties: etree._Element | None, role: str) -> str | None:
        # .001.08 wraps the party in Pty (Party40Choice); earlier versions do not.
        return self._text(parties, f"c:{role}/c:Nm") or self._text(parties, f"c:{role}/c:Pty/c:Nm")

    def _party_account(self, parties: etree._Element | None, role: str) -> str | None:
        iban = self._text(parties, f"c:{role}/c:Id/c:IBAN")
        if iban:
            return compact_iban(iban)
        return self._text(parties, f"c:{role}/c:Id/c:Othr/c:Id")

    def _agent_bic(self, agents: etree._Element | None, role: str) -> str | None:
        return self._text(agents, f"c:{role}/c:FinInstnId/c:BIC") or self._text(
            agents, f"c:{role}/c:FinInstnId/c:BICFI"
        )

    def _tx(self, tx: etree._Element, original_is_credit: bool, path: str) -> _Tx:
        result = _Tx()
        # Each block is looked up only when its element is there: most TxDtls carry a
        # handful of the possible children, and lookups dominate the parse time.
        kids = _kids(tx)
        amount_node = kids.get("Amt")
        if amount_node is None and "AmtDtls" in kids:
            amount_node = self._find(kids["AmtDtls"], "c:TxAmt/c:Amt")
        if amount_node is not None:
            amount, result.currency = self._amount(amount_node, f"{path}/Amt")
            indicator = kids.get("CdtDbtInd")
            result.amount = amount * self._sign(tx, path, _clean(indicator.text)) \
                if indicator is not None else amount
        if "Refs" in kids:
            refs = kids["Refs"]
            e2e = self._text(refs, "c:EndToEndId")
            result.end_to_end_id = None if e2e == _PLACEHOLDER else e2e
            result.bank_reference = self._text(refs, "c:AcctSvcrRef")
            for local, key in (("InstrId", "instruction_id"), ("TxId", "transaction_id"),
                               ("MndtId", "mandate_id"), ("PmtInfId", "payment_information_id"),
                               ("UETR", "uetr")):
                value = self._text(refs, f"c:{local}")
                if value and value != _PLACEHOLDER:
                    result.extra[key] = value
        if "RltdPties" in kids:
            parties = kids["RltdPties"]
            side, other = ("Dbtr", "Cdtr") if original_is_credit else ("Cdtr", "Dbtr")
            result.counterparty_name = self._party_name(parties, side)
            result.counterparty_iban = self._party_account(parties, f"{side}Acct")
            result.other_party_name = self._party_name(parties, other)
            result.ultimate_debtor = self._party_name(parties, "UltmtDbtr")
            result.ultimate_creditor = self._party_name(parties, "UltmtCdtr")
        if "RltdAgts" in kids:
            side = "DbtrAgt" if original_is_credit else "CdtrAgt"
            result.counterparty_bic = self._agent_bic(kids["RltdAgts"], side)
        reference = None
        text = ""
        if "RmtInf" in kids:
            lines, structured = _remittance(kids["RmtInf"])
            text = " ".join(line for line in lines if line and line != _PLACEHOLDER)
            result.remittance = text or None
            reference = _text(structured, "c:CdtrRefInf/c:Ref")
        if (reference is None and "+++" in text) or "***" in text:
            ogm_match = _OGM_IN_TEXT.search(text)
            if ogm_match:
                reference = "".join(ogm_match.group(2, 3, 4))
        result.structured_reference = normalise_reference(reference)
        if "AddtlTxInf" in kids:
            result.additional_info = _clean(kids["AddtlTxInf"].text)
        if "BkTxCd" in kids:
            iso_code, proprietary = self._bank_code(kids["BkTxCd"])
            result.transaction_code = iso_code or proprietary
        if "Purp" in kids:
            purpose = _text(kids["Purp"], "c:Cd")
            if purpose:
                result.extra["purpose"] = purpose
        if "RtrInf" in kids:
            reason = _text(kids["RtrInf"], "c:Rsn/c:Cd")
            if reason:
                result.extra["return_reason"] = reason
        instructed = _find(kids["AmtDtls"], "c:InstdAmt/c:Amt") if "AmtDtls" in kids else None
        if instructed is not None:
            value, currency = self._amount(instructed, f"{path}/AmtDtls/InstdAmt/Amt")
            result.extra["instructed_amount"] = f"{currency} {value}"
            rate = self._text(tx, "c:AmtDtls/c:InstdAmt/c:CcyXchg/c:XchgRate")
            if rate:
                result.extra["exchange_rate"] = rate
        return result

    def _entry(self, ntry: etree._Element, path: str, stmt: _Statement) -> Entry | None:
        kids = _kids(ntry)
        get = kids.get
        amount, currency = self._amount(get("Amt"), f"{path}/Amt")
        indicator = get("CdtDbtInd")
        credit = self._sign(ntry, path, _clean(indicator.text) if indicator is not None
                            else None) > 0
        reversal = "RvslInd" in kids and (_clean(kids["RvslInd"].text) or "").lower() in (
            "true", "1"
        )
        status_code, status = self._status(get("Sts"), path)
        booking_date = self._date(get("BookgDt"), f"{path}/BookgDt")
        value_date = self._date(get("ValDt"), f"{path}/ValDt")
        if status is None:
            stmt.info_skipped += 1
            return None
        if booking_date is None:
            # BookgDt is optional for pending entries; the value date is the best stand-in.
            if value_date is None:
                raise self._error("the entry has neither BookgDt nor ValDt", f"{path}/BookgDt")
            booking_date = value_date

        original_is_credit = credit != reversal
        txs = [
            self._tx(tx, original_is_credit, f"{path}/NtryDtls/TxDtls[{n}]")
            for n, tx in enumerate(_all_after(kids["NtryDtls"], "TxDtls"), start=1)
        ] if "NtryDtls" in kids else []
        details: dict[str, str] = {}
        if reversal:
            details["reversal"] = "true"
        if status_code not in ("BOOK", "PDNG"):
            details["status_code"] = status_code
        if "NtryRef" in kids:
            entry_ref = _clean(kids["NtryRef"].text)
            if entry_ref:
                details["entry_reference"] = entry_ref
        iso_code, proprietary = self._bank_code(kids["BkTxCd"]) if "BkTxCd" in kids \
            else (None, None)
        if iso_code and proprietary:
            details["proprietary_code"] = proprietary
        transaction_code = iso_code or proprietary
        if transaction_code is None:
            codes = _distinct([t.transaction_code for t in txs])
            transaction_code = codes[0] if len(codes) == 1 else None
        additional_entry_info = _clean(kids["AddtlNtryInf"].text) if "AddtlNtryInf" in kids \
            else None
        if additional_entry_info:
            details["additional_entry_info"] = additional_entry_info

        other_side = "creditor_name" if original_is_credit else "debtor_name"
        name, iban, bic, reference, e2e, remittance = self._merge(txs, details, other_side)
        if remittance is None:
            # No remittance text: banks then describe the movement in these free-text fields.
            remittance = details.get("additional_transaction_info") or additional_entry_info

        bank_reference = _clean(kids["AcctSvcrRef"].text) if "AcctSvcrRef" in kids else None
        if bank_reference is None and len(txs) == 1:
            bank_reference = txs[0].bank_reference
        elif len(txs) == 1 and txs[0].bank_reference and txs[0].bank_reference != bank_reference:
            details["transaction_bank_reference"] = txs[0].bank_reference

        if len(txs) == 1:
            details.update(txs[0].extra)
        elif len(txs) > 1:
            details["batch_size"] = _text(kids["NtryDtls"], "c:Btch/c:NbOfTxs") or str(len(txs))
            details["batch_transactions"] = json.dumps(
                [self._tx_summary(t) for t in txs], ensure_ascii=False, separators=(",", ":")
            )
        instructed = _find(kids["AmtDtls"], "c:InstdAmt/c:Amt") if "AmtDtls" in kids else None
        if instructed is not None and "instructed_amount" not in details:
            value, instructed_currency = self._amount(instructed, f"{path}/AmtDtls/InstdAmt/Amt")
            details["instructed_amount"] = f"{instructed_currency} {value}"

        return Entry(
            statement_index=stmt.index,
            sequence=stmt.entry_count + 1,
            booking_date=booking_date,
            amount=amount if credit else -amount,
            currency=currency,
            value_date=value_date,
            counterparty_name=name,
            counterparty_iban=iban,
            counterparty_bic=bic,
            remittance=remittance,
            structured_reference=reference,
            bank_reference=bank_reference,
            end_to_end_id=e2e,
            transaction_code=transaction_code,
            status=status,
            details=details,
        )

    @staticmethod
    def _merge(
        txs: list[_Tx], details: dict[str, str], other_side: str
    ) -> tuple[str | None, str | None, str | None, str | None, str | None, str | None]:
        """(name, iban, bic, structured reference, end-to-end id, remittance) of an entry.

        One transaction (the usual case) gives its values; a batch keeps a value only when
        every transaction agrees and records the differing ones in details."""
        extras = (
            (other_side, "other_party_name"),
            ("ultimate_debtor", "ultimate_debtor"),
            ("ultimate_creditor", "ultimate_creditor"),
            ("additional_transaction_info", "additional_info"),
        )
        if len(txs) <= 1:
            if not txs:
                return None, None, None, None, None, None
            tx = txs[0]
            for key, attribute in extras:
                value = getattr(tx, attribute)
                if value:
                    details[key] = value
            return (tx.counterparty_name, tx.counterparty_iban, tx.counterparty_bic,
                    tx.structured_reference, tx.end_to_end_id, tx.remittance)

        def pick(attribute: str, plural_key: str) -> str | None:
            values = _distinct([getattr(t, attribute) for t in txs])
            if len(values) == 1:
                return values[0]
            if values:
                details[plural_key] = " | ".join(values)
            return None

        picked = (
            pick("counterparty_name", "counterparty_names"),
            pick("counterparty_iban", "counterparty_ibans"),
            pick("counterparty_bic", "counterparty_bics"),
            pick("structured_reference", "structured_references"),
            pick("end_to_end_id", "end_to_end_ids"),
        )
        for key, attribute in extras:
            values = _distinct([getattr(t, attribute) for t in txs])
            if values:
                details[key] = " | ".join(values)
        remittances = _distinct([t.remittance for t in txs])
        return (*picked, " | ".join(remittances) if remittances else None)

    @staticmethod
    def _tx_summary(tx: _Tx) -> dict[str, str]:
        summary = {
            "amount": str(tx.amount) if tx.amount is not None else None,
            "currency": tx.currency,
            "counterparty_name": tx.counterparty_name,
            "counterparty_iban": tx.counterparty_iban,
            "structured_reference": tx.structured_reference,
            "remittance": tx.remittance,
            "end_to_end_id": tx.end_to_end_id,
            "bank_reference": tx.bank_reference,
        }
        return {key: value for key, value in summary.items() if value is not None}


def _ignored_member(name: str) -> bool:
    base = name.rsplit("/", 1)[-1]
    return name.startswith("__MACOSX/") or base.startswith(".") or not base


class Camt053Parser:
    """camt.053 statements (XML, or a ZIP of XML files) → events, streamed."""

    format: Format = "camt053"

    def parse(self, stream: BinaryIO) -> Iterator[Event]:
        head = stream.read(4)
        if head.startswith(b"PK\x03\x04"):
            yield from self._parse_zip(head, stream)
            return
        document = _Document(_reader(head, stream), first_index=0, source=None)
        yield from document.events()

    def _parse_zip(self, head: bytes, stream: BinaryIO) -> Iterator[Event]:
        if stream.seekable():
            stream.seek(-len(head), io.SEEK_CUR)
            archive_file: BinaryIO = stream
        else:
            # A ZIP's directory is at its end: a non-seekable upload must be buffered.
            archive_file = io.BytesIO(head + stream.read())
        try:
            archive = zipfile.ZipFile(archive_file)
        except zipfile.BadZipFile as exc:
            raise ImportFormatError(f"broken ZIP archive: {exc}", path="/") from None
        members = [info for info in archive.infolist()
                   if not info.is_dir() and not _ignored_member(info.filename)]
        if not members:
            raise ImportFormatError("the ZIP archive holds no file", path="/")
        next_index = 0
        for info in members:
            if info.flag_bits & 0x1:
                raise ImportFormatError("encrypted ZIP members cannot be read",
                                        path=f"{info.filename}:/")
            if info.file_size > MAX_ZIP_MEMBER_BYTES:
                raise ImportFormatError(
                    f"member is {info.file_size} bytes uncompressed, more than a statement "
                    f"can be ({MAX_ZIP_MEMBER_BYTES})", path=f"{info.filename}:/")
            try:
                with archive.open(info) as member:
                    document = _Document(member, first_index=next_index, source=info.filename)
                    yield from document.events()
                    next_index = document.next_index
            except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError) as exc:
                raise ImportFormatError(f"broken ZIP member: {exc}",
                                        path=f"{info.filename}:/") from None


def _reader(head: bytes, stream: BinaryIO) -> BinaryIO:
    if stream.seekable():
        stream.seek(-len(head), io.SEEK_CUR)
        return stream
    return io.BufferedReader(_Prefixed(head, stream))  # type: ignore[return-value]
