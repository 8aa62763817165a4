"""Exchange rates: parsing the ECB euro reference rates (pure; storage lives elsewhere)."""

from smbfinance.rates.ecb import EcbRate, RatesFormatError, detect_format, parse_ecb

__all__ = ["EcbRate", "RatesFormatError", "detect_format", "parse_ecb"]
