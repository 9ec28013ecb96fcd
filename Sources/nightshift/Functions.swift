import Config
import CoveragePack
import DossierPack
import Engine
import HTTPClient
import PortfolioPack

/// Every function this binary declares: the built-ins, then each pack's jobs. Every process
/// must declare the same set (sync retires the functions a process leaves out).
enum Functions {
    static func all(config: NightshiftConfig, http: HTTPClient) -> [NightshiftFunction] {
        Builtins.all + DossierPack.functions(config: config, http: http) + CoveragePack.functions
            + PortfolioPack.functions(config: config, http: http) + (ChaosWorkload.isEnabled ? ChaosWorkload.functions : [])
    }
}
