"""`make bench`: run every benchmark in turn."""

from __future__ import annotations

from bench import invoice_list, rls_overhead


def main() -> None:
    rls_overhead.main()
    invoice_list.main()


if __name__ == "__main__":
    main()
