import OpenAPIKit
import Server

extension PortfolioRoutes {
    /// The three routes of ``addRoutes(to:context:)`` for `GET /api/v1/openapi.json`.
    var operations: [APIOperation] {
        let user = APIAccess(
            roles: ["authenticated"],
            note: "The signed-in user's own portfolio only: the token's `sub` (a UUID) names it; 404 when that user has none.")
        let money = APISchemas.decimal(nullable: true, description: "A decimal as a string, exact.")
        return [
            APIOperation(
                .get, "/api/dashboard", id: "getDashboard", tag: "portfolio", summary: "The caller's investment dashboard",
                description: "The tech spec's DashboardResponse: from the cache the overnight run warmed (`fromCache` true), "
                    + "else computed now. `dataFreshness` is when the recommendations were generated (a string, what the "
                    + "freshness badge shows); `freshness` has the details, `stale` is true when they are older than 24 h "
                    + "or were scored with stale rates or prices.",
                access: user,
                responses: [.data(200, "The dashboard", .object(properties: [
                    "recommendations": .array(items: .object(properties: [
                        "assetId": APISchemas.uuid(), "symbol": .string, "assetClass": .string(required: false),
                        "score": APISchemas.decimal(required: false, nullable: true, description: "The asset's score, a decimal string."),
                        "amount": money, "currency": .string(required: false),
                        "allocationGap": APISchemas.decimal(required: false, nullable: true),
                        "breakdown": APISchemas.anyJSON(
                            required: false, description: "{criteriaCount, topContributor (the metric's name), topContributorPoints, score, position}."),
                    ])),
                    "totalInvestable": APISchemas.decimal(required: false, nullable: true),
                    "baseCurrency": .string(required: false, nullable: true),
                    "dataFreshness": APISchemas.timestamp(
                        required: false, nullable: true, description: "When the recommendations were generated; null before the first run."),
                    "freshness": APISchemas.anyJSON(
                        required: false,
                        description: "{pricesAsOf, ratesAsOf, criteriaVersion, ratesStale, pricesStale, generatedAt, ageSeconds, stale, "
                            + "staleReasons}, age and stale as of this response."),
                    "stale": .boolean(required: false),
                    "userId": APISchemas.uuid(required: false),
                    "generatedAt": APISchemas.timestamp(required: false, nullable: true),
                    "portfolioSummary": APISchemas.anyJSON(required: false),
                    "fromCache": .boolean,
                ]))],
                errors: [404]),
            APIOperation(
                .get, "/api/v1/audit/assets/{assetId}/calculations", id: "listAssetCalculations", tag: "portfolio",
                summary: "The audit trail of an asset's score calculations for the caller, newest first",
                access: user,
                parameters: [
                    .path(name: "assetId", schema: .string(format: .uuid)),
                    .query(name: "limit", schema: .integer(maximum: (100, exclusive: false), minimum: (1, exclusive: false)),
                           description: "Page size, 1 to 100 (default 20)."),
                    .query(name: "before", schema: .string(format: .dateTime), description: "A page's `nextBefore`: older calculations only."),
                ],
                responses: [.data(200, "A page of calculations", .object(properties: [
                    "calculations": .array(items: .object(properties: [
                        "computedAt": APISchemas.timestamp(), "score": APISchemas.decimal(nullable: true),
                        "events": .array(items: .object),
                    ])),
                    "nextBefore": APISchemas.timestamp(required: false, nullable: true, description: "The next page's `before`; null on the last page."),
                ]))],
                errors: [404]),
            APIOperation(
                .post, "/api/v1/criteria", id: "saveCriteria", tag: "portfolio", summary: "Save a new version of the caller's scoring criteria",
                access: user,
                requestBody: .object(properties: [
                    "criteria": .array(
                        description: "A non-empty list of rules; an asset scores the points of each rule its metric matches.",
                        minItems: 1,
                        items: .object(
                            properties: [
                                "metric": .string(pattern: "^[a-z][a-z0-9_]*$"),
                                "operator": .string(allowedValues: ">", ">=", "<", "<=", "=", "between"),
                                "threshold": .one(of: [.number, .array(minItems: 2, maxItems: 2, items: .number)]),
                                "points": .number,
                            ],
                            additionalProperties: .a(false))),
                ]),
                requestBodyRequired: true,
                responses: [.data(201, "The new criteria version", .object(properties: [
                    "id": APISchemas.uuid(), "version": .integer, "createdAt": APISchemas.timestamp(),
                ]))],
                errors: [404], isWrite: true),
        ]
    }
}
