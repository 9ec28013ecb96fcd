import Engine

/// Every function this binary declares: the built-ins, then each pack's jobs.
enum Functions {
    static let all: [NightshiftFunction] = Builtins.all
}
