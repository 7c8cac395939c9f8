"""The pages the throughput and CPU benchmarks measure, with their budgets (DESIGN.md section 7)."""

from dataclasses import dataclass

from .common import EXECUTIVE, MANAGER


@dataclass(frozen=True)
class Page:
    key: str
    label: str
    user: str  # who is signed in
    path: str  # "{walkabout}" is the executive's walkabout in progress
    share: float  # of the bare hello-world's req/s, large trust, 8 connections, 2 sync workers
    p95_ms: float  # at the same load
    growth: float  # CPU per request, xlarge trust over small trust

    def url(self, walkabout: int) -> str:
        return self.path.format(walkabout=walkabout)


PAGES = [
    Page("capture", "capture page", EXECUTIVE, "/walkabouts/{walkabout}/capture", 0.10, 25, 1.25),
    Page("home", "home", EXECUTIVE, "/", 0.10, 25, 1.25),
    Page("walkabout_list", "walkabout list", EXECUTIVE, "/walkabouts", 0.10, 25, 1.25),
    Page("my_actions_executive", "my actions, executive", EXECUTIVE, "/actions?mine=1", 0.08, 25, 1.25),
    Page("my_actions_manager", "my actions, ward manager", MANAGER, "/actions?mine=1", 0.08, 25, 1.25),
    Page(
        "overdue_by_risk",
        "actions overdue, sorted by risk",
        EXECUTIVE,
        "/actions?overdue=1&sort=priority",
        0.06,
        40,
        1.25,
    ),
    Page("dashboard", "dashboard", EXECUTIVE, "/dashboard", 0.06, 40, 1.5),
]
