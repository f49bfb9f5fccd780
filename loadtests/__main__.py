"""`python -m loadtests [LOCUST OPTIONS]`: Locust on rtap's suite, wherever the package is
installed. The image of rtap:loadtest runs this, as master or worker by its environment
(LOCUST_MODE_MASTER / LOCUST_MODE_WORKER and the LOCUST_RTAP_* options)."""

from __future__ import annotations

import sys

# Locust patches the standard library with gevent's as it loads: import it first.
from locust.main import main as locust_main

from loadtests import LOCUSTFILE


def main() -> None:
    sys.argv = ["locust", "-f", str(LOCUSTFILE), *sys.argv[1:]]
    locust_main()  # type: ignore[no-untyped-call]


if __name__ == "__main__":
    main()
