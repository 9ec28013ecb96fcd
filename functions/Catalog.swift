import Server

/// Every edge function under `functions/`, one folder each; the server serves these.
public enum Catalog {
    public static let all: [any EdgeFunction] = [
        Hello(),
        DossierStats(),
        CalculateHealthScore(),
        DetectOverdueCommitments(),
        RefreshCommitmentStats(),
        TriggerHealthRecalculation(),
        ListNotifications(),
        MarkNotificationRead(),
    ]
}
