import Server

/// This project's own edge functions under `functions/`, one folder each (`nightshift functions
/// new NAME` adds one here). The packs bring their own (`Pack.edgeFunctions`).
public enum Catalog {
    public static let all: [any EdgeFunction] = [
        Hello(),
        ListNotifications(),
        MarkNotificationRead(),
    ]
}
