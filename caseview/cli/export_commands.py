"""Commands that export a case: the reasoned note (PDF) and the captures (WARC).

Both write beside the target and rename, so a failure never leaves half a file.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

from caseview import captures
from caseview.cli.io import Output
from caseview.cli.session import case_id, open_session


def export_pdf(args: argparse.Namespace, out: Output) -> int:
    from caseview.report.build import export_pdf as export  # local: loads reportlab

    with open_session(args) as session:
        checkpoint = export(session, case_id(session, args.case), Path(args.output))
    out.result({"path": args.output, "checkpoint": str(checkpoint)}, str(checkpoint))
    out.note(
        f"Wrote {args.output}. Anyone can check it later with: caseview --db FILE "
        f"verify --expect-head {checkpoint}"
    )
    return 0


def export_warc(args: argparse.Namespace, out: Output) -> int:
    target = Path(args.output)
    with open_session(args) as session:
        cid = case_id(session, args.case)
        # Write beside the target and rename, so a failure never leaves half a file.
        fd, temp = tempfile.mkstemp(
            prefix=".caseview-", suffix=".warc.gz", dir=target.parent if str(target.parent) else "."
        )
        try:
            with os.fdopen(fd, "wb") as handle:
                count = captures.export_warc(session, cid, handle)
            os.replace(temp, target)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise
    out.result({"path": str(target), "captures": count}, str(target))
    out.note(f"Wrote {count} capture(s) to {target}.")
    return 0


HANDLERS = {
    ("export", "pdf"): export_pdf,
    ("export", "warc"): export_warc,
}
