"""One client of the concurrency drill (test_pg_concurrency.py), run as its own process.

    python pg_client.py URL USERNAME PASSWORD CASE_ID SUBJECT_ID REQUEST_ID ROUNDS

Signs in as USERNAME, prints ``ready``, waits for a line on stdin, then each round
imports a page (a capture), records an observation on it and submits a new request,
through the services as the desktop app would. After the first round it prints ``wrote``
and waits for another line, so that no client can finish before every client has
written. Prints one JSON line: what it made.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent / "caseview"), str(HERE.parent)]

from analysis_support import import_page  # noqa: E402
from gate_support import make_request  # noqa: E402

from caseview import accounts, justifications, observations  # noqa: E402
from caseview.storage.server import ServerAddress  # noqa: E402


def main() -> int:
    url, username, password, case, subject, request, rounds = sys.argv[1:8]
    case_id, subject_id, request_id = int(case), int(subject), int(request)
    session = accounts.login(ServerAddress(url), username, password)
    print("ready", flush=True)
    sys.stdin.readline()
    made: dict[str, list[int]] = {"sources": [], "observations": [], "requests": []}
    for n in range(int(rounds)):
        source = import_page(
            session, case_id, request_id, subject_id, f"{username} saw post {n} at the party"
        )
        made["sources"].append(source.id)
        seen = observations.add(
            session,
            source.id,
            f"{username}: the post {n} shows the child at the party",
            domain="parenting_capacity",
            reliability="B",
            credibility=3,
        )
        made["observations"].append(seen.id)
        record = justifications.create(
            session, case_id, make_request([subject_id], session.now(), planned_viewings=1)
        )
        made["requests"].append(justifications.submit(session, record.id)[0].id)
        if n == 0:
            print("wrote", flush=True)
            sys.stdin.readline()
    session.close()
    print(json.dumps({"user": username, "made": made}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
