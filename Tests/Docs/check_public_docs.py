#!/usr/bin/env python3
"""Every public symbol of the library modules has a doc comment of its own (issue 13 §1).

Reads the symbol graphs that `swift package dump-symbol-graph --minimum-access-level public`
writes (.build/<triple>/symbolgraph/), keeps the symbols declared in this repository's Sources/,
and prints `file:line symbol` for each one without a `///` comment; exits 1 if there is any.

What counts, and why:
- Every public or open symbol with a source location under Sources/, enum cases included: DocC
  gives each case its own entry, and a case (`.latest`, `.timeout`) carries a contract its name
  does not spell out.
- Not counted: symbols without a source location (conformances the compiler synthesizes:
  `==`, `hash(into:)`, `init(from:)`, `rawValue`), members a type inherits from a protocol
  extension (`::SYNTHESIZED::`, documented where they are written), and extension blocks.
- A doc comment counts only when it is the symbol's own, written just above its declaration:
  the symbol graph also hands a member the comment of the protocol requirement it implements
  (a `Service`'s `run()`, a pack's `name`), which says nothing about this type. The exception
  is a requirement of the standard library (`description`, `==`, `init(from:)`,
  `encode(to:)`): its comment, which has no file, says all there is to say.

Usage: check_public_docs.py [--symbol-graph-dir DIR] [--exclude PATH]... [--summary] [MODULE...]
"""
import argparse
import glob
import json
import os
import sys
from collections import Counter

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))

# The modules an application gets through the library products (Package.swift's `products`),
# directly or as a dependency whose types appear in their API. The packs (NightshiftPacks) are
# this repository's workloads, documented in the README, not a platform API.
MODULES = [
    "NightshiftKit", "NightshiftCLI", "Engine", "Server", "Config", "Postgres", "HTTPClient",
    "Migrations", "Notifications", "ServiceTokens", "Observability",
]

_sources = {}


def source_lines(path):
    if path not in _sources:
        try:
            with open(path, encoding="utf-8") as f:
                _sources[path] = f.read().split("\n")
        except OSError:
            _sources[path] = None
    return _sources[path]


def default_graph_dir():
    found = sorted(glob.glob(os.path.join(ROOT, ".build", "*", "symbolgraph")))
    return found[0] if found else None


def own_doc(symbol, uri, path, line):
    """Whether the symbol at 0-based `line` of `path` has a doc comment of its own."""
    doc = symbol.get("docComment")
    if not doc or not any(l.get("text", "").strip() for l in doc.get("lines", [])):
        return False
    if not doc.get("uri"):
        # The standard library's requirement (`description`, `==`, `init(from:)`,
        # `encode(to:)`): such a member does what the protocol says, and DocC shows that.
        return True
    if doc["uri"] != uri:
        return False
    ends = [l["range"]["end"]["line"] for l in doc["lines"] if "range" in l]
    if not ends or max(ends) >= line:
        return False
    # Only attributes (`@discardableResult`) may stand between a comment and its declaration:
    # a requirement's comment a few lines above a default implementation is not the latter's.
    lines = source_lines(path)
    if lines is None or line >= len(lines):
        sys.exit(f"check_public_docs: {path} does not match the symbol graphs; make them again")
    return all(l.strip().startswith("@") for l in lines[max(ends) + 1:line])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("modules", nargs="*", default=MODULES)
    parser.add_argument("--symbol-graph-dir", default=default_graph_dir())
    parser.add_argument("--exclude", action="append", default=[],
                        help="a file or folder (relative to the repository) whose symbols are counted but do not fail the check")
    parser.add_argument("--summary", action="store_true", help="also print a count per module")
    parser.add_argument("--list-modules", action="store_true", help="print the modules checked by default, and exit")
    parser.add_argument("--root", default=ROOT, help="the repository whose Sources/ the graphs describe (tests)")
    args = parser.parse_args(argv)
    if args.list_modules:
        print(" ".join(MODULES))
        return 0
    root = os.path.abspath(args.root)

    if not args.symbol_graph_dir or not os.path.isdir(args.symbol_graph_dir):
        sys.exit("check_public_docs: no symbol graphs; run `swift package dump-symbol-graph --minimum-access-level public` first")
    excluded = [os.path.normpath(os.path.join(root, e)) for e in args.exclude]

    missing, waived, seen, total = [], [], set(), Counter()
    for module in args.modules:
        graphs = glob.glob(os.path.join(args.symbol_graph_dir, f"{module}.symbols.json"))
        if not graphs:
            sys.exit(f"check_public_docs: no symbol graph for {module} in {args.symbol_graph_dir}")
        # Module@Other.symbols.json: this module's extensions of another module's types.
        graphs += glob.glob(os.path.join(args.symbol_graph_dir, f"{module}@*.symbols.json"))
        for graph in graphs:
            with open(graph, encoding="utf-8") as f:
                symbols = json.load(f)["symbols"]
            for s in symbols:
                precise = s["identifier"]["precise"]
                kind = s["kind"]["identifier"]
                location = s.get("location")
                if (precise in seen or "::SYNTHESIZED::" in precise or kind == "swift.extension"
                        or s.get("accessLevel") not in ("public", "open") or not location):
                    continue
                seen.add(precise)
                uri = location["uri"]
                path = uri.removeprefix("file://")
                # Declared in a dependency's checkout (AsyncSequence's algorithms on a listener, say):
                # not this repository's to document. A graph made in another checkout of this
                # repository names that checkout's path, so paths are compared from Sources/ on.
                if "/Sources/" not in path or "/.build/" in path:
                    continue
                path = os.path.join(root, "Sources", path.split("/Sources/", 1)[1])
                line = location["position"]["line"]  # 0-based, as the comment's ranges
                total[module] += 1
                if own_doc(s, uri, path, line):
                    continue
                entry = (os.path.relpath(path, root), line + 1, ".".join(s["pathComponents"]), module)
                if any(path == e or path.startswith(e + os.sep) for e in excluded):
                    waived.append(entry)
                else:
                    missing.append(entry)

    for path, line, name, _ in sorted(missing):
        print(f"{path}:{line} {name}")
    if args.summary or waived:
        counts = Counter(m for *_, m in missing)
        waived_counts = Counter(m for *_, m in waived)
        for module in args.modules:
            extra = f", {waived_counts[module]} more in excluded files" if waived_counts[module] else ""
            print(f"  {module}: {counts[module]} of {total[module]} public symbols undocumented{extra}", file=sys.stderr)
    if missing:
        print(f"check_public_docs: {len(missing)} public symbols without a doc comment", file=sys.stderr)
        return 1
    print(f"check_public_docs: every public symbol of {len(args.modules)} modules is documented"
          + (f" ({len(waived)} in excluded files not counted: {', '.join(args.exclude)})" if waived else ""), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
