"""Format detection from the first bytes of a file, and the parser registry."""

from __future__ import annotations

import importlib.util
import io
import zipfile
from decimal import Decimal
from pathlib import Path

import pytest

from smbfinance.transactions.importers import (
    compact_iban,
    detect_format,
    is_iban,
    normalise_reference,
    parser_for,
    tidy_amount,
)
from smbfinance.transactions.importers.camt053 import Camt053Parser
from smbfinance.transactions.importers.csv_mapping import CsvMapping, CsvParser
from smbfinance.transactions.importers.ofx import OfxParser

FORMATS = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "formats"
HEAD = 4096


def files(folder: str) -> list[Path]:
    directory = FORMATS / folder
    if not directory.is_dir():
        return []
    return sorted(p for p in directory.iterdir() if p.is_file())


def ids(paths: list[Path]) -> list[str]:
    return [p.name for p in paths]


needs_samples = pytest.mark.skipif(
    not FORMATS.is_dir(), reason=f"shared sample files not found at {FORMATS}"
)


@needs_samples
@pytest.mark.parametrize(
    ("folder", "expected"),
    [("coda", "coda"), ("camt053", "camt053"), ("mt940", "mt940"), ("ofx", "ofx")],
)
def test_each_shared_folder_is_not_empty(folder: str, expected: str) -> None:
    assert files(folder), f"no {expected} samples in {FORMATS / folder}"


@needs_samples
@pytest.mark.parametrize("path", files("coda"), ids=ids(files("coda")))
def test_coda_samples(path: Path) -> None:
    assert detect_format(path.read_bytes()[:HEAD]) == "coda"


@needs_samples
@pytest.mark.parametrize("path", files("camt053"), ids=ids(files("camt053")))
def test_camt053_samples(path: Path) -> None:
    assert detect_format(path.read_bytes()[:HEAD]) == "camt053"


@needs_samples
@pytest.mark.parametrize("path", files("mt940"), ids=ids(files("mt940")))
def test_mt940_samples(path: Path) -> None:
    assert detect_format(path.read_bytes()[:HEAD]) == "mt940"


@needs_samples
@pytest.mark.parametrize("path", files("ofx"), ids=ids(files("ofx")))
def test_ofx_samples(path: Path) -> None:
    assert detect_format(path.read_bytes()[:HEAD]) == "ofx"


OTHERS = files("peppol-ubl") + files("ecb-eurofxref")


@needs_samples
@pytest.mark.parametrize("path", OTHERS, ids=ids(OTHERS))
def test_other_shared_files_are_not_statements(path: Path) -> None:
    assert detect_format(path.read_bytes()[:HEAD]) is None


@needs_samples
def test_detection_does_not_need_the_whole_head() -> None:
    # Small heads still work where the signature fits.
    coda = files("coda")[0].read_bytes()
    assert detect_format(coda[:129]) == "coda"
    assert detect_format(coda[:128]) == "coda"
    assert detect_format(coda[:100]) is None


def zipped(members: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=method) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


@needs_samples
@pytest.mark.parametrize("method", [zipfile.ZIP_DEFLATED, zipfile.ZIP_STORED])
def test_zip_of_camt053(method: int) -> None:
    camt = files("camt053")
    data = zipped({"folder/": b"", "folder/a.xml": camt[0].read_bytes(),
                   "b.xml": camt[1].read_bytes()}, method)
    assert detect_format(data[:HEAD]) == "camt053"
    # And the parser reads what detection promised.
    events = list(Camt053Parser().parse(io.BytesIO(data)))
    assert events


@needs_samples
def test_zip_of_something_else() -> None:
    assert detect_format(zipped({"a.cod": files("coda")[0].read_bytes()})[:HEAD]) is None
    assert detect_format(zipped({"a.pdf": b"%PDF-1.7 ..."})[:HEAD]) is None


def test_zip_with_data_descriptor_directory_first_is_undecided() -> None:
    # A directory entry whose size is only in a trailing descriptor hides the next header.
    header = (b"PK\x03\x04" + b"\x14\x00" + b"\x08\x00" + b"\x00\x00" + b"\x00" * 8
              + b"\x00\x00\x00\x00" * 2 + b"\x02\x00" + b"\x00\x00" + b"d/")
    assert detect_format(header + b"\x00" * 100) is None


def test_other_iso20022_messages_are_not_camt053() -> None:
    for namespace in ("camt.052.001.02", "camt.054.001.08", "pain.001.001.03"):
        data = (f'<?xml version="1.0"?><Document xmlns="urn:iso:std:iso:20022:tech:xsd:'
                f'{namespace}"><X/></Document>').encode()
        assert detect_format(data) is None


def test_camt053_variants() -> None:
    ns = "urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"
    assert detect_format(f'<Document xmlns="{ns}"><BkToCstmrStmt/></Document>'.encode()) \
        == "camt053"
    prefixed = f'<?xml version="1.0"?>\n<!-- c --><x:Document xmlns:x="{ns}">'.encode()
    assert detect_format(b"\xef\xbb\xbf" + prefixed) == "camt053"
    assert detect_format(prefixed.decode().encode("utf-16")) == "camt053"


def test_ofx_variants() -> None:
    assert detect_format(b"OFXHEADER:100\r\nDATA:OFXSGML\r\n\r\n<OFX>") == "ofx"
    assert detect_format(b'<?xml version="1.0"?><?OFX OFXHEADER="200"?><OFX>') == "ofx"
    assert detect_format(b"\n\n<ofx><signonmsgsrsv1>") == "ofx"


def test_mt940_variants() -> None:
    assert detect_format(b":20:REF\r\n:25:BE68539007547034\r\n:28C:1\r\n") == "mt940"
    assert detect_format(b"{1:F01GEBABEBBAXXX0000000000}{2:I940GEBABEBBXXXXN}{4:\r\n") \
        == "mt940"
    assert detect_format(b":940:\r\n:20:X\r\n") == "mt940"
    assert detect_format(b"\x01{1:F01X}{2:O940X}{4:\n:20:X\n") == "mt940"
    # A SWIFT envelope of another message type is not a statement.
    assert detect_format(b"{1:F01X}{2:I103X}{4:\n:20:X\n:23B:CRED\n") is None
    # A ":20:" line alone, without the account field, could be anything.
    assert detect_format(b"note\n:20: twenty\n") is None


def test_coda_needs_the_record_zero_shape() -> None:
    line = "0000003071730005        55324204  SOME RANDOM COMPANY       BBRUBEBB   01568365271 " \
           "00000                                       2"
    assert len(line) == 128
    assert detect_format((line + "\n1" + "0" * 127).encode()) == "coda"
    assert detect_format((line + "\r\n").encode()) == "coda"
    assert detect_format((line + "1" + "0" * 127).encode()) == "coda"  # no line breaks
    assert detect_format((line[:-1] + "\n").encode()) is None  # 127 characters
    assert detect_format(("1" + line[1:] + "\n").encode()) is None  # not record 0
    assert detect_format((line[:14] + "99" + line[16:] + "\n").encode()) is None


def test_csv_only_with_a_mapping() -> None:
    head = b"Datum;Bedrag\n01/02/2024;-12,50\n"
    mapping = CsvMapping(date_column="Datum", amount_column="Bedrag")
    assert detect_format(head) is None
    assert detect_format(head, csv_mapping=mapping) == "csv"
    assert detect_format(b"", csv_mapping=mapping) is None
    assert detect_format(b"\x00\x01binary", csv_mapping=mapping) is None
    # A recognised format wins over a mapping given by mistake.
    assert detect_format(b"OFXHEADER:100\n\n<OFX>", csv_mapping=mapping) == "ofx"


def test_garbage_is_nothing() -> None:
    for head in (b"", b"hello", b"%PDF-1.7", b"\x89PNG\r\n", b"<html><body/></html>"):
        assert detect_format(head) is None


def test_parser_for_known_formats() -> None:
    assert isinstance(parser_for("camt053"), Camt053Parser)
    assert isinstance(parser_for("ofx"), OfxParser)
    mapping = CsvMapping(date_column="d", amount_column="a")
    csv_parser = parser_for("csv", mapping)
    assert isinstance(csv_parser, CsvParser) and csv_parser.mapping is mapping
    for name in ("camt053", "ofx", "csv"):
        assert parser_for(name, mapping).format == name  # type: ignore[arg-type]


def test_parser_for_errors() -> None:
    with pytest.raises(ValueError, match="mapping"):
        parser_for("csv")
    with pytest.raises(ValueError, match="unknown"):
        parser_for("qif")  # type: ignore[arg-type]


@pytest.mark.parametrize(("name", "module", "cls"), [
    ("coda", "smbfinance.transactions.importers.coda", "CodaParser"),
    ("mt940", "smbfinance.transactions.importers.mt940", "Mt940Parser"),
])
def test_parser_for_lazy_formats(name: str, module: str, cls: str) -> None:
    if importlib.util.find_spec(module) is None:
        with pytest.raises(ModuleNotFoundError):
            parser_for(name)  # type: ignore[arg-type]
        return
    parser = parser_for(name)  # type: ignore[arg-type]
    assert type(parser).__name__ == cls
    assert parser.format == name


def test_shared_helpers() -> None:
    assert compact_iban(" be68 5390 0754 7034 ") == "BE68539007547034"
    assert is_iban("BE68 5390 0754 7034") and not is_iban("BE68539007547035")
    assert not is_iban("0035-2915203-10-000")
    assert normalise_reference("+++090/9337/55493+++") == "090933755493"
    assert normalise_reference("rf18 5390 0754 7034") == "RF18539007547034"
    assert normalise_reference(" RF19 5390 0754 7034 ") == "RF19 5390 0754 7034"  # bad check
    assert normalise_reference("INV-2024-001") == "INV-2024-001"
    assert normalise_reference("  ") is None and normalise_reference(None) is None
    assert tidy_amount(Decimal("8.850")) == Decimal("8.85")
    assert str(tidy_amount(Decimal("8.850"))) == "8.85"
    assert str(tidy_amount(Decimal("8.855"))) == "8.855"  # never rounded
    assert str(tidy_amount(Decimal("-80"))) == "-80"
