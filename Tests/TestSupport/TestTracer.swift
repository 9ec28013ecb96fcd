import InMemoryTracing
import Instrumentation

/// The one tracer of the test process: every test target links into one binary, and the
/// instrumentation system may be bootstrapped only once, so the suites that read spans share it.
public enum InMemoryTestTracer {
    public static let shared: InMemoryTracer = {
        let tracer = InMemoryTracer()
        InstrumentationSystem.bootstrap(tracer)
        return tracer
    }()
}
