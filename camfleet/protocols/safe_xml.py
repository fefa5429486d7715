"""One definition of "parse XML from a device safely", for every parser camfleet uses.

Cameras, catalogs and datagrams come from anyone on the network. The parser never expands
entities, never loads a DTD, never touches the network and refuses huge trees, which rules
out XXE and billion-laughs whatever the document says; callers still cap the input size.
"""

from __future__ import annotations

import threading

from lxml import etree

_LOCAL = threading.local()


def safe_parser(encoding: str | None = None) -> etree.XMLParser:
    """A hardened lxml parser, one per thread and encoding (a parser must not be used by two
    threads at once; a simulator thread and a client thread share one process in tests).

    ``encoding`` overrides the document's declaration (for text already decoded).
    """
    parsers: dict[str | None, etree.XMLParser] = _LOCAL.__dict__.setdefault("parsers", {})
    parser = parsers.get(encoding)
    if parser is None:
        parser = parsers[encoding] = etree.XMLParser(
            resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False,
            huge_tree=False, remove_comments=True, remove_pis=True, collect_ids=False,
            encoding=encoding)
    return parser
