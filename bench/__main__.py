"""`make bench`: run every benchmark in turn."""

from __future__ import annotations

from bench import forecast, ingest, invoice_list, reconciliation, rls_overhead, sync_dispatch


def main() -> None:
    rls_overhead.main()
    invoice_list.main()
    reconciliation.main()
    ingest.main()
    forecast.main()
    sync_dispatch.main([])


if __name__ == "__main__":
    main()
