"""A Yuki simulator: the AccountingInfo SOAP web service (its WSDL at
`/ws/AccountingInfo.asmx?WSDL`, SOAP 1.1 envelopes, SOAP faults), with a session per
`Authenticate`, a daily call quota per domain, and open debtor/creditor items that grow and
get paid with the clock (`demo_data.invoices`). Fault knobs: `faults` (see faults.py).

The fault texts are ours (Yuki's are unverified); the adapter recognises them by the
phrases in `FAULT_*`, kept in one place so they can be matched against the real service.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from lxml import etree
from werkzeug.wrappers import Request, Response

from smbfinance.integrations.sandbox import demo_data
from smbfinance.integrations.sandbox.clock import Clock
from smbfinance.integrations.sandbox.faults import FaultPlan
from smbfinance.integrations.sandbox.server import LoopbackServer

NS = "http://www.theyukicompany.com/"
SOAP11 = "http://schemas.xmlsoap.org/soap/envelope/"
WSDL_PATH = Path(__file__).with_name("yuki_accountinginfo.wsdl")
SERVICE_PATH = "/ws/AccountingInfo.asmx"
SESSION_TTL = timedelta(hours=24)

FAULT_ACCESS_KEY = "Authentication failed: the access key is not valid"
FAULT_SESSION = "Invalid sessionID: the session expired or does not exist"
FAULT_QUOTA = "Maximum number of web service calls per day exceeded"
FAULT_ADMINISTRATION = "Invalid administrationID"

_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)


def access_key_for(company_key: str) -> str:
    """The demo access key of a company (what a user would copy from Yuki's settings)."""
    return f"sandbox-yuki-{company_key}"


@dataclass
class Session:
    company: str
    expires_at: datetime


class YukiSimulator:
    def __init__(self, *, clock: Clock, daily_quota: int = 1000, history_days: int = 120,
                 companies: Iterable[demo_data.DemoCompany] = demo_data.DEMO_COMPANIES) -> None:
        self.clock = clock
        self.daily_quota = daily_quota
        self.companies = {c.key: c for c in companies}
        self.history_start = clock.now().date() - timedelta(days=history_days)
        self.faults = FaultPlan()
        self.base_url = "http://127.0.0.1"
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._sessions: dict[str, Session] = {}
        self.calls: dict[tuple[str, date], int] = {}  # (domain, day) → calls, like Yuki counts
        self.operations: list[str] = []

    def serve(self, *, port: int = 0) -> LoopbackServer:
        server = LoopbackServer(self, port=port)
        self.base_url = server.url
        return server

    @property
    def service_url(self) -> str:
        return self.base_url + SERVICE_PATH

    @property
    def wsdl_url(self) -> str:
        return self.service_url + "?WSDL"

    def stop_waiting(self) -> None:
        self._stopping.set()

    def expire_sessions(self) -> None:
        with self._lock:
            self._sessions.clear()

    def calls_today(self, company_key: str) -> int:
        return self.calls.get((company_key, self.clock.now().date()), 0)

    def open_items(self, company_key: str, direction: str) -> list[demo_data.Invoice]:
        company = self.companies[company_key]
        today = self.clock.now().date()
        return [i for i in demo_data.invoices(company.seed, company.administration_id,
                                              self.history_start, today)
                if i.direction == direction and i.open_amount(today) != 0]

    # -- WSGI ----------------------------------------------------------------------------

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        request = Request(environ)
        response = self._respond(request)
        return response(environ, start_response)

    def _respond(self, request: Request) -> Response:
        if request.path != SERVICE_PATH:
            return Response("Not found", status=404, content_type="text/html")
        if request.method == "GET" and "wsdl" in {k.lower() for k in request.args}:
            wsdl = WSDL_PATH.read_text().replace("__ADDRESS__", escape(self.service_url))
            return Response(wsdl, content_type="text/xml; charset=utf-8")
        if request.method != "POST":
            return Response("Method not allowed", status=405)
        fault = self.faults.take("POST", request.path)
        if fault and fault.kind in ("latency", "timeout"):
            self._stopping.wait(float(fault.params.get("seconds", 1.0)))
            fault = None
        if fault and fault.kind == "status":
            status = int(fault.params.get("status", 503))
            response = Response(f"<html><body><h1>{status}</h1></body></html>", status=status,
                                content_type="text/html")
            if "retry_after" in fault.params:
                response.headers["Retry-After"] = str(fault.params["retry_after"])
            return response
        if fault and fault.kind == "malformed":
            return Response(b"<soap:Envelope xmlns:soap='" + SOAP11.encode() + b"'><soap:Bo",
                            content_type="text/xml; charset=utf-8")
        if fault and fault.kind == "soap_fault":
            return soap_fault(str(fault.params.get("message", "Server was unable to process "
                                                              "request.")))
        if fault and fault.kind == "quota":
            return soap_fault(FAULT_QUOTA)
        response = self._operation(request)
        if fault and fault.kind == "truncated":
            body = response.get_data()
            response.set_data(body[: len(body) // 2])
        return response

    def _operation(self, request: Request) -> Response:
        try:
            envelope = etree.fromstring(request.get_data(), _PARSER)
            body = next(c for c in envelope if etree.QName(c).localname == "Body")
            call = next(c for c in body if isinstance(c.tag, str))
        except (etree.XMLSyntaxError, StopIteration):
            return soap_fault("Server was unable to read request.", code="soap:Client")
        operation = etree.QName(call).localname
        params = {etree.QName(c).localname: (c.text or "") for c in call
                  if isinstance(c.tag, str)}
        action = request.headers.get("SOAPAction", "").strip('"')
        if action and action != NS + operation:
            return soap_fault(f"Server did not recognize the value of HTTP Header SOAPAction: "
                              f"{action[:80]}.", code="soap:Client")
        with self._lock:
            self.operations.append(operation)
        if operation == "Authenticate":
            company = next((k for k in self.companies
                            if access_key_for(k) == params.get("accessKey")), None)
            if company is None:
                return soap_fault(FAULT_ACCESS_KEY)
            if not self._count(company):
                return soap_fault(FAULT_QUOTA)
            session_id = str(uuid.uuid4())
            with self._lock:
                self._sessions[session_id] = Session(company,
                                                     self.clock.now() + SESSION_TTL)
            return _result(operation, escape(session_id))
        with self._lock:
            session = self._sessions.get(params.get("sessionID", ""))
        if session is None or session.expires_at <= self.clock.now():
            return soap_fault(FAULT_SESSION)
        if not self._count(session.company):
            return soap_fault(FAULT_QUOTA)
        company = self.companies[session.company]
        if operation == "Administrations":
            return _result(operation, _administrations(company))
        if params.get("administrationID") != company.administration_id:
            return soap_fault(FAULT_ADMINISTRATION)
        if operation in ("OutstandingDebtorItems", "OutstandingCreditorItems"):
            direction = "receivable" if operation == "OutstandingDebtorItems" else "payable"
            items = _sorted(self.open_items(company.key, direction),
                            params.get("sortOrder") or "DateAsc")
            today = self.clock.now().date()
            return _result(operation, _items(operation, items, today))
        if operation == "GLAccountBalance":
            today = self.clock.now().date()
            receivable = sum((i.open_amount(today) for i in self.open_items(company.key,
                                                                            "receivable")),
                             Decimal(0))
            payable = sum((i.open_amount(today) for i in self.open_items(company.key,
                                                                         "payable")),
                          Decimal(0))
            inner = ("<GLAccountBalance>"
                     f"<GLAccount Code='400000' BalanceType='B'><Description>Handelsdebiteuren"
                     f"</Description><Amount>{receivable}</Amount></GLAccount>"
                     f"<GLAccount Code='440000' BalanceType='B'><Description>Leveranciers"
                     f"</Description><Amount>{-payable}</Amount></GLAccount>"
                     "</GLAccountBalance>")
            return _result(operation, escape(inner))
        return soap_fault(f"Server did not recognize the operation {operation[:60]}.",
                          code="soap:Client")

    def _count(self, company: str) -> bool:
        """One call against the domain's daily quota; False when it is already spent."""
        key = (company, self.clock.now().date())
        with self._lock:
            used = self.calls.get(key, 0)
            if used >= self.daily_quota:
                return False
            self.calls[key] = used + 1
            return True


def _sorted(items: list[demo_data.Invoice], order: str) -> list[demo_data.Invoice]:
    keys = {"Contact": lambda i: i.contact, "Amount": lambda i: i.amount,
            "Date": lambda i: (i.issue_date, i.id)}
    field = order.removesuffix("Asc").removesuffix("Desc")
    return sorted(items, key=keys.get(field, keys["Date"]), reverse=order.endswith("Desc"))


def _administrations(company: demo_data.DemoCompany) -> str:
    return ("<Administrations xmlns=''>"
            f"<Administration ID='{company.administration_id}'><Name>{escape(company.name)}"
            f"</Name><Country>BE</Country><VATNumber>{company.vat_number}</VATNumber>"
            f"<DomainID>{demo_data.stable_id('domain', company.key)}</DomainID>"
            "<Active>true</Active></Administration></Administrations>")


def _items(operation: str, items: list[demo_data.Invoice], today: date) -> str:
    rows = []
    for item in items:
        code = "".join(w[0] for w in item.contact.split()).upper()
        rows.append(
            f"<Item ID='{item.id}'><Date>{item.issue_date}T00:00:00</Date>"
            f"<Description>{escape(item.number)}</Description>"
            f"<Contact>{escape(item.contact)}</Contact>"
            f"<OpenAmount>{item.open_amount(today)}</OpenAmount>"
            f"<OriginalAmount>{item.amount}</OriginalAmount>"
            f"<Type ID='{1 if item.direction == 'receivable' else 2}'>"
            f"{'Verkoopfactuur' if item.direction == 'receivable' else 'Inkoopfactuur'}</Type>"
            f"<Reference>{escape(item.number)}</Reference>"
            f"<DueDate>{item.due_date}T00:00:00</DueDate><ContactCode>{code}</ContactCode>"
            f"<CoCNumber/><VATNumber/><AddressLine_1/><AddressLine_2/><Postcode/><City/>"
            f"<Country>BE</Country><ContactID>{item.contact_id}</ContactID></Item>")
    return f"<{operation} xmlns=''>{''.join(rows)}</{operation}>"


def _envelope(content: str) -> str:
    return ("<?xml version='1.0' encoding='utf-8'?>"
            f"<soap:Envelope xmlns:soap='{SOAP11}' "
            "xmlns:xsi='http://www.w3.org/2001/XMLSchema-instance' "
            "xmlns:xsd='http://www.w3.org/2001/XMLSchema'>"
            f"<soap:Body>{content}</soap:Body></soap:Envelope>")


def _result(operation: str, content: str) -> Response:
    """`content` is already XML (for `<s:any>` results) or escaped text (string results)."""
    body = (f"<{operation}Response xmlns='{NS}'><{operation}Result>{content}"
            f"</{operation}Result></{operation}Response>")
    return Response(_envelope(body), content_type="text/xml; charset=utf-8")


def soap_fault(message: str, *, code: str = "soap:Server") -> Response:
    body = (f"<soap:Fault><faultcode>{code}</faultcode>"
            f"<faultstring>{escape(message)}</faultstring><detail/></soap:Fault>")
    return Response(_envelope(body), status=500, content_type="text/xml; charset=utf-8")
