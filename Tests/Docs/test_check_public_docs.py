#!/usr/bin/env python3
"""The doc-comment check on a made-up module: it must flag what it is meant to flag.

A symbol graph and its source file are written to a temporary repository; each case is a
symbol whose comment is, or is not, its own. `make docs` runs this before the real check.
"""
import contextlib
import io
import json
import os
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import check_public_docs  # noqa: E402

SOURCE = """\
/// A documented type.
public struct Documented {}
public struct Undocumented {}
/// A requirement's comment.
func requirement()
// (an ordinary comment)

public func defaultImplementation()
/// Discardable, documented.
@discardableResult
public func withAttribute() -> Int
public var description: String
public var readsRequirementOfAnotherModule: Int
public var excludedFile: Int
"""


def symbol(name, line, doc=None, doc_uri=None, uri=None, access="public", precise=None, module="Fake"):
    s = {
        "kind": {"identifier": "swift.struct"},
        "identifier": {"precise": precise or f"s:Fake{name}"},
        "pathComponents": [name],
        "accessLevel": access,
    }
    if uri is not False:
        s["location"] = {"uri": uri or "file:///elsewhere/Sources/Fake/Fake.swift", "position": {"line": line, "character": 0}}
    if doc is not None:
        start, end = doc
        s["docComment"] = {"lines": [{"text": "text", "range": {"start": {"line": l, "character": 0}, "end": {"line": l, "character": 4}}}
                                     for l in range(start, end + 1)]}
        if doc_uri is not False:
            s["docComment"]["uri"] = doc_uri or "file:///elsewhere/Sources/Fake/Fake.swift"
            s["docComment"]["module"] = module
    return s


class CheckPublicDocs(unittest.TestCase):
    def run_check(self, symbols, *extra):
        with tempfile.TemporaryDirectory() as root:
            os.makedirs(os.path.join(root, "Sources", "Fake"))
            with open(os.path.join(root, "Sources", "Fake", "Fake.swift"), "w") as f:
                f.write(SOURCE)
            graphs = os.path.join(root, "graphs")
            os.makedirs(graphs)
            with open(os.path.join(graphs, "Fake.symbols.json"), "w") as f:
                json.dump({"symbols": symbols}, f)
            out, err = io.StringIO(), io.StringIO()
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                status = check_public_docs.main(["--root", root, "--symbol-graph-dir", graphs, *extra, "Fake"])
            return status, out.getvalue().splitlines()

    def test_a_comment_just_above_counts(self):
        self.assertEqual(self.run_check([symbol("Documented", 1, doc=(0, 0))]), (0, []))

    def test_a_symbol_without_a_comment_is_listed_with_file_and_line(self):
        self.assertEqual(self.run_check([symbol("Undocumented", 2)]), (1, ["Sources/Fake/Fake.swift:3 Undocumented"]))

    def test_a_requirement_comment_lines_above_is_not_the_default_implementation_s(self):
        status, lines = self.run_check([symbol("defaultImplementation", 7, doc=(3, 3))])
        self.assertEqual((status, lines), (1, ["Sources/Fake/Fake.swift:8 defaultImplementation"]))

    def test_attributes_may_stand_between_a_comment_and_its_declaration(self):
        self.assertEqual(self.run_check([symbol("withAttribute", 10, doc=(8, 8))]), (0, []))

    def test_a_standard_library_requirement_s_comment_counts(self):
        self.assertEqual(self.run_check([symbol("description", 11, doc=(0, 0), doc_uri=False)]), (0, []))

    def test_another_module_s_requirement_comment_does_not_count(self):
        doc_uri = "file:///elsewhere/.build/checkouts/lib/Sources/Lib/Service.swift"
        status, _ = self.run_check([symbol("readsRequirementOfAnotherModule", 12, doc=(11, 11), doc_uri=doc_uri)])
        self.assertEqual(status, 1)

    def test_symbols_declared_outside_sources_or_synthesized_or_not_public_are_skipped(self):
        symbols = [
            symbol("FromADependency", 0, uri="file:///elsewhere/.build/checkouts/lib/Sources/Lib/Lib.swift"),
            symbol("Synthesized", 0, uri=False),
            symbol("Inherited", 2, precise="s:FakeX::SYNTHESIZED::s:FakeY"),
            symbol("Internal", 2, access="internal"),
        ]
        self.assertEqual(self.run_check(symbols), (0, []))

    def test_an_excluded_file_is_counted_but_does_not_fail(self):
        status, lines = self.run_check([symbol("excludedFile", 13)], "--exclude", "Sources/Fake/Fake.swift")
        self.assertEqual((status, lines), (0, []))


if __name__ == "__main__":
    unittest.main()
