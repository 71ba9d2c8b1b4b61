"""collectors: capture public online information and imported files, with provenance.

Pure capture: no database, no ``caseview`` and no ``ui`` (an import-linter contract
checks it). Each entry point takes a URL or a file and returns a frozen result with
the exact bytes and their hashes, or raises a :class:`CollectorError` whose message a
social worker can act on. The service layer (``caseview``) decides whether a capture
is allowed, and stores what comes back.

- :func:`fetch` - capture a public web address (``collectors.http``)
- :func:`import_file` - import a saved photo, PDF, Word document, e-mail, web page or text
  file (``collectors.documents`` reads the text of PDF, Word and e-mail)
- :func:`parse_html` - title, visible text, metadata and links of an HTML body
- :func:`records_for`, :func:`write_case_warc`, :func:`check_warc` - WARC records
- :func:`exposure_indicators` - what a stranger could learn about a child
- :func:`collateral_indicators` - other people on a page (collateral intrusion)
"""

from __future__ import annotations

from collectors.addresses import ALLOW_HOSTS_ENV, HostName, Resolver, parse_target
from collectors.collateral import COLLATERAL_KINDS, collateral_indicators, is_collateral
from collectors.collateral import MAX_TEXT as COLLATERAL_MAX_TEXT
from collectors.errors import (
    Cancelled,
    CollectorError,
    FailedAttempt,
    FetchFailed,
    NotPublic,
    Refused,
    Timeout,
    TooLarge,
    TooManyRedirects,
    Unavailable,
    UnsupportedType,
)
from collectors.exposure import MAX_TEXT as EXPOSURE_MAX_TEXT
from collectors.exposure import Indicator, exposure_indicators
from collectors.files import FileCapture, image_gps, import_file
from collectors.html import PageInfo, page_from_text, parse_html
from collectors.http import (
    DEFAULT_DEADLINE_S,
    GONE_STATUS,
    Exchange,
    HttpCapture,
    RedirectHop,
    fetch,
)
from collectors.images import GpsPoint, ImageInfo
from collectors.mhtml import MhtmlDocument
from collectors.version import TOOL_NAME, TOOL_VERSION, USER_AGENT
from collectors.warc import check_warc, records_for, write_case_warc

__version__ = TOOL_VERSION

__all__ = [
    "ALLOW_HOSTS_ENV",
    "COLLATERAL_KINDS",
    "COLLATERAL_MAX_TEXT",
    "DEFAULT_DEADLINE_S",
    "EXPOSURE_MAX_TEXT",
    "GONE_STATUS",
    "TOOL_NAME",
    "TOOL_VERSION",
    "USER_AGENT",
    "Cancelled",
    "CollectorError",
    "Exchange",
    "FailedAttempt",
    "FetchFailed",
    "FileCapture",
    "GpsPoint",
    "HostName",
    "HttpCapture",
    "ImageInfo",
    "Indicator",
    "MhtmlDocument",
    "NotPublic",
    "PageInfo",
    "RedirectHop",
    "Refused",
    "Resolver",
    "Timeout",
    "TooLarge",
    "TooManyRedirects",
    "Unavailable",
    "UnsupportedType",
    "__version__",
    "check_warc",
    "collateral_indicators",
    "exposure_indicators",
    "fetch",
    "image_gps",
    "import_file",
    "is_collateral",
    "page_from_text",
    "parse_html",
    "parse_target",
    "records_for",
    "write_case_warc",
]
