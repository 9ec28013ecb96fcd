import CoveragePack
import DossierPack
import EdgeFunctions
import NightshiftCLI
import NightshiftKit
import PortfolioPack

/// This repository's `nightshift`: the three packs, this project's edge functions under
/// `functions/`, and the chaos suite's workload when `NIGHTSHIFT_CHAOS_WORKLOAD=1`.
var packs: [any Pack] = [DossierPack(), CoveragePack(), PortfolioPack()]
if ChaosWorkload.isEnabled { packs.append(ChaosWorkload()) }
await NightshiftCLI.main(packs: packs, edgeFunctions: Catalog.all)
