import Testing

@testable import Migrations

@Suite("splitting a SQL script into statements")
struct SQLScriptTests {
    @Test("statements split on top-level semicolons and keep their start line")
    func lines() {
        let script = SQLScript("""
            -- header comment
            create table a (id int);

            /* block
               comment */ insert into a values (1);
            select 1; select 2
            """)
        #expect(script.statements.map(\.sql) == ["create table a (id int)", "insert into a values (1)", "select 1", "select 2"])
        #expect(script.statements.map(\.line) == [2, 5, 6, 6])
    }

    @Test("semicolons inside quotes, identifiers, dollar quotes and comments do not split")
    func quoting() {
        let script = SQLScript("""
            select 'a;b', E'it\\'s;', "we;ird";
            create function f() returns int language plpgsql as $body$
            begin
                return 1; -- ;
            end
            $body$;
            do $$ begin perform 1; end $$;
            select $1::int /* ; /* nested ; */ */;
            """)
        #expect(script.statements.count == 4)
        #expect(script.statements[1].sql.hasSuffix("$body$"))
        #expect(script.statements[2].line == 7)
    }

    @Test("a position inside a statement maps to the script line")
    func positions() {
        let script = SQLScript("select 1;\n\nselect\n  nope\nfrom x;")
        let statement = script.statements[1]
        #expect(statement.line == 3)
        let position = statement.sql.distance(from: statement.sql.startIndex, to: statement.sql.range(of: "nope")!.lowerBound) + 1
        #expect(statement.line(ofPosition: position) == 4)
    }
}
