"""Run py3-validate-email over an address file, one address after the other (as it is used).

``python -m bench.verify_peer INPUT OUTPUT``: writes one JSON line per address
(``email``, ``answer``: true / false / null, ``seconds``) and a last line with the total
``elapsed`` seconds of the checking loop (imports and start-up excluded). Runs inside the
benchmark's network namespace, where the system resolver and port 25 are the test world.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time

# Never fetch a fresh disposable list from the internet (there is none in the namespace).
os.environ.setdefault("PY3VE_IGNORE_UPDATER", "1")

from validate_email import validate_email

HELO = "prober.bench-outreach.net"
MAIL_FROM = "probe@bench-outreach.net"


def main() -> int:
    source, target = sys.argv[1], sys.argv[2]
    logging.disable(logging.CRITICAL)
    with open(source, encoding="utf-8") as fh:
        addresses = [line.strip() for line in fh if line.strip()]
    started = time.perf_counter()
    with open(target, "w", encoding="utf-8") as out:
        for address in addresses:
            t0 = time.perf_counter()
            answer = validate_email(
                address,
                smtp_helo_host=HELO,
                smtp_from_address=MAIL_FROM,
                dns_timeout=5,
                smtp_timeout=5,
            )
            row = {"email": address, "answer": answer, "seconds": time.perf_counter() - t0}
            out.write(json.dumps(row) + "\n")
        out.write(json.dumps({"elapsed": time.perf_counter() - started}) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
