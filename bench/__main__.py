"""`make bench`: run every benchmark in turn."""

from __future__ import annotations

from bench import rls_overhead


def main() -> None:
    rls_overhead.main()


if __name__ == "__main__":
    main()
