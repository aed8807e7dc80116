"""The one way this project parses XML it did not write itself: a hardened lxml parser.

Every parse of a request, an answer from a remote service, a contract file or a simulator input goes
through :func:`safe_parser` (or :func:`parse_bytes` / :func:`parse_file`):

* no network access (``no_network``), no DTD loaded or validated, entities left unresolved
  (no XXE, no billion laughs);
* ``huge_tree`` off: libxml2's own bounds on depth (256), text node size (10 MB) and name length stay
  on. The one caller that needs more (the postbox-vendor answers, base64 letters up to the vendor's
  size limit) asks for it explicitly and bounds the body size itself;
* comments and processing instructions kept (they are harmless and signatures may cover them).

lxml parsers are not thread-safe; :func:`thread_parser` keeps one per thread.
"""

from __future__ import annotations

import threading
from pathlib import Path

from lxml import etree

__all__ = ["safe_parser", "thread_parser", "parse_bytes", "parse_file", "has_doctype"]

_local = threading.local()


def safe_parser(*, huge_tree: bool = False) -> etree.XMLParser:
    """A new hardened parser (see the module docstring)."""
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=huge_tree,
        remove_blank_text=False,
    )


def thread_parser(*, huge_tree: bool = False) -> etree.XMLParser:
    """The calling thread's hardened parser (created on first use)."""
    attr = "huge" if huge_tree else "bounded"
    parser = getattr(_local, attr, None)
    if parser is None:
        parser = safe_parser(huge_tree=huge_tree)
        setattr(_local, attr, parser)
    return parser


def parse_bytes(data: bytes, *, huge_tree: bool = False) -> etree._Element:
    """Parse ``data`` with the thread's hardened parser; raises ``etree.XMLSyntaxError``."""
    return etree.fromstring(data, thread_parser(huge_tree=huge_tree))


def parse_file(path: str | Path) -> etree._ElementTree:
    """Parse a file (contract WSDL/XSD) with a hardened parser."""
    return etree.parse(str(path), safe_parser())


def has_doctype(root: etree._Element) -> bool:
    """True when the document of ``root`` carries a DOCTYPE / internal or external DTD."""
    docinfo = root.getroottree().docinfo
    return bool(docinfo.doctype) or docinfo.internalDTD is not None or docinfo.externalDTD is not None
