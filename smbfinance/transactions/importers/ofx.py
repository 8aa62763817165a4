"""OFX 1.x (SGML) and 2.x (XML) bank and credit-card statements, through `ofxparse`. Pure.

Why ofxparse (MIT) rather than ofxtools (GPL-3): both were run over every shared OFX
sample; ofxtools validates against the OFX schema and refuses two real-world files (a
STMTRS with several BANKTRANLIST blocks, a BANKID longer than 9 characters), ofxparse
reads all of them. Its quirks are handled here:

- it converts every date to UTC using the `[-5:EST]` suffix, which can move a booking to
  the next or previous day; we want the bank's calendar day, so dates are read as written;
- it decodes OFX 2 files as ASCII whatever their XML declaration says, and crashes on a
  CHARSET it does not know; the bytes are therefore decoded here (SGML header CHARSET, XML
  declaration, UTF-8 then cp1252) and handed over as ASCII with character references;
- it refuses an empty <NAME> or <MEMO>; those are dropped before parsing.

OFX is a whole-document format and ofxparse builds the tree in memory: files are small
(a month of card payments), and anything above MAX_OFX_BYTES is refused.

Mapping: STMTRS and CCSTMTRS, several per file (bank statements first, then card ones, as
ofxparse returns them). ACCTID → account_number (and account_iban when it is an IBAN),
CURDEF → currency, LEDGERBAL → closing balance. OFX has no opening balance: it is None and
there is no balance check. Per transaction: DTPOSTED → booking date, TRNAMT (signed) →
amount, FITID → bank_reference, NAME → counterparty, MEMO → remittance, TRNTYPE →
transaction_code; DTUSER (the date the customer acted, not a value date), CHECKNUM, SIC and
the account's BANKID/BRANCHID/ACCTTYPE go into details.
"""

from __future__ import annotations

import datetime as dt
import re
import warnings
from collections.abc import Iterator
from decimal import Decimal, InvalidOperation
from io import BytesIO
from typing import Any, BinaryIO

from bs4 import XMLParsedAsHTMLWarning
from ofxparse import AccountType
from ofxparse import OfxParser as _LibraryParser

from smbfinance.transactions.importers import compact_iban, is_iban, tidy_amount
from smbfinance.transactions.importers.model import (
    Entry,
    Event,
    Format,
    ImportFormatError,
    StatementEnd,
    StatementStart,
)

MAX_OFX_BYTES = 64 * 1024 * 1024

# ofxparse hands OFX 2 (XML) to BeautifulSoup's HTML parser on purpose (it tolerates the
# unclosed SGML-style tags many banks write even in "XML" files), and still calls the
# findAll spelling that bs4 4.x keeps for compatibility (bs4 is pinned): both warnings are
# noise for our users.
warnings.filterwarnings("ignore", category=XMLParsedAsHTMLWarning)
warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"ofxparse\.")

_OFX_DATE = re.compile(r"(\d{4})(\d{2})(\d{2})(?:(\d{2})(\d{2})(\d{2})?)?(?:\.\d+)?\s*(?:\[.*\])?")
_XML_ENCODING = re.compile(rb"""<\?xml[^>]*encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")
_EMPTY_TEXT_TAG = re.compile(
    r"<(NAME|MEMO)>\s*</\1>|<(NAME|MEMO)>(?=\s*<(?!!))", re.IGNORECASE
)


class _BankDateParser(_LibraryParser):
    """ofxparse, reading dates as the bank's calendar day instead of converting to UTC."""

    @classmethod
    def parseOfxDateTime(cls, ofxDateTime: str) -> dt.datetime:  # noqa: N803 (library API)
        match = _OFX_DATE.fullmatch(ofxDateTime.strip())
        if match is None:
            raise ValueError(f"{ofxDateTime!r} is not an OFX date (YYYYMMDD[HHMMSS])")
        year, month, day, hour, minute, second = (int(g) if g else 0 for g in match.groups())
        return dt.datetime(year, month, day, hour, minute, second)


def _decode(raw: bytes) -> str:
    """The OFX text, whatever encoding the file declares (or fails to declare)."""
    if raw.startswith(b"\xef\xbb\xbf"):
        return raw[3:].decode("utf-8", errors="replace")
    candidates: list[str] = []
    declared = _XML_ENCODING.search(raw[:512])
    if declared:
        candidates.append(declared.group(1).decode("ascii"))
    header = raw[: raw.find(b"<")] if b"<" in raw else raw[:1024]
    fields = dict(
        (key.strip().upper(), value.strip().upper())
        for key, _, value in (
            line.decode("ascii", "replace").partition(":") for line in header.splitlines()
        )
    )
    encoding, charset = fields.get("ENCODING"), fields.get("CHARSET")
    if encoding in ("UTF-8", "UNICODE"):
        candidates.append("utf-8")
    elif charset in ("8859-1", "ISO-8859-1"):
        candidates.append("latin-1")
    elif charset and charset.isdigit():
        candidates.append(f"cp{charset}")
    candidates += ["utf-8", "cp1252"]
    for codec in candidates:
        try:
            return raw.decode(codec)
        except (LookupError, UnicodeDecodeError):
            continue
    return raw.decode("cp1252", errors="replace")


def _prepare(raw: bytes) -> bytes:
    """ASCII bytes ofxparse reads correctly: a clean SGML header, non-ASCII as &#NNN;."""
    text = _decode(raw).lstrip("\ufeff")
    start = text.find("<")
    if start > 0 and text[:start].lstrip().upper().startswith("OFXHEADER"):
        # ofxparse splits every header line on ":" and derives the codec from ENCODING and
        # CHARSET; give it a header it cannot trip over, since the body is ASCII now.
        header = "OFXHEADER:100\r\nDATA:OFXSGML\r\nVERSION:102\r\nENCODING:USASCII\r\n" \
                 "CHARSET:1252\r\n\r\n"
        text = header + text[start:]
    text = _EMPTY_TEXT_TAG.sub("", text)
    return text.encode("ascii", errors="xmlcharrefreplace")


def _day(value: Any, what: str) -> dt.date:
    if not isinstance(value, dt.datetime):
        raise ImportFormatError(f"{what} is missing or not a date", path=what)
    return value.date()


class OfxParser:
    """OFX bank/credit-card statements → events (the whole document is parsed first)."""

    format: Format = "ofx"

    def parse(self, stream: BinaryIO) -> Iterator[Event]:
        raw = stream.read(MAX_OFX_BYTES + 1)
        if len(raw) > MAX_OFX_BYTES:
            raise ImportFormatError(f"an OFX file larger than {MAX_OFX_BYTES} bytes is refused")
        if not raw.strip():
            raise ImportFormatError("the file is empty")
        if b"<OFX>" not in raw.upper():
            raise ImportFormatError("not an OFX file: no <OFX> element", path="/OFX")
        try:
            document = _BankDateParser.parse(BytesIO(_prepare(raw)), fail_fast=True)
        except ImportFormatError:
            raise
        except Exception as exc:  # noqa: BLE001 (ofxparse raises bare ValueError/IndexError/…)
            raise ImportFormatError(f"unreadable OFX: {exc}", path="/OFX") from None
        accounts = [a for a in document.accounts
                    if a.type in (AccountType.Bank, AccountType.CreditCard)]
        if not accounts:
            raise ImportFormatError(
                "the OFX file holds no bank (STMTRS) or credit-card (CCSTMTRS) statement",
                path="/OFX",
            )
        for index, account in enumerate(accounts):
            yield from self._statement(index, account)

    def _statement(self, index: int, account: Any) -> Iterator[Event]:
        kind = "STMTRS" if account.type == AccountType.Bank else "CCSTMTRS"
        path = f"/OFX/{kind}[{index + 1}]"
        statement = account.statement
        currency = (statement.currency or account.curdef or "").strip().upper()
        if not re.fullmatch(r"[A-Z]{3}", currency):
            raise ImportFormatError("CURDEF (the statement currency) is missing or invalid",
                                    path=f"{path}/CURDEF")
        account_id = (account.account_id or "").strip()
        if not account_id:
            raise ImportFormatError("ACCTID is missing", path=f"{path}/ACCTID")
        account_details = {
            key: value for key, value in (
                ("bank_id", (account.routing_number or "").strip()),
                ("branch_id", (account.branch_id or "").strip()),
                ("account_type", (account.account_type or "").strip()),
            ) if value
        }
        yield StatementStart(
            statement_index=index,
            account_iban=compact_iban(account_id) if is_iban(account_id) else None,
            account_number=account_id,
            currency=currency,
        )
        count = 0
        for position, txn in enumerate(statement.transactions, start=1):
            txn_path = f"{path}/STMTTRN[{position}]"
            try:
                amount = tidy_amount(Decimal(txn.amount))
            except (InvalidOperation, TypeError):
                raise ImportFormatError(f"TRNAMT {txn.amount!r} is not an amount",
                                        path=f"{txn_path}/TRNAMT") from None
            details = dict(account_details)
            if isinstance(txn.user_date, dt.datetime):
                details["user_date"] = txn.user_date.date().isoformat()
            if txn.checknum and txn.checknum.strip():
                details["check_number"] = txn.checknum.strip()
            if txn.sic:
                details["sic"] = str(txn.sic).strip()
            count += 1
            yield Entry(
                statement_index=index,
                sequence=count,
                booking_date=_day(txn.date, f"{txn_path}/DTPOSTED"),
                amount=amount,
                currency=currency,
                counterparty_name=(txn.payee or "").strip() or None,
                remittance=(txn.memo or "").strip() or None,
                bank_reference=(txn.id or "").strip() or None,
                transaction_code=(txn.type or "").strip().upper() or None,
                details=details,
            )
        balance = getattr(statement, "balance", None)
        balance_date = getattr(statement, "balance_date", None)
        yield StatementEnd(
            statement_index=index,
            closing_balance=tidy_amount(Decimal(balance)) if balance is not None else None,
            closing_date=balance_date.date() if isinstance(balance_date, dt.datetime) else None,
            entry_count=count,
        )
