import Config
import CoveragePack
import DossierPack
import EdgeFunctions
import NightshiftKit
import PortfolioPack
import Server

/// This repository's edge functions, routes and config tables, as the `nightshift` binary
/// composes them (Sources/nightshift/main.swift).
enum RepositoryPacks {
    static let packs: [any Pack] = [DossierPack(), CoveragePack(), PortfolioPack()]
    static let edgeFunctions: [any EdgeFunction] = Catalog.all + packs.flatMap(\.edgeFunctions)
    static let routes: [any APIRoutes] = packs.flatMap(\.routes)
    static let sections: [any ConfigSection.Type] = packs.flatMap(\.configSections)
    static let health: [any ConsoleHealth] = packs.flatMap(\.consoleHealth)
}
