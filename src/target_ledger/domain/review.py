"""Reviews (复盘): what a closed period taught, recorded once per period and node."""

import uuid
from datetime import datetime

from eventsourcing.domain import Aggregate

from target_ledger.domain.errors import DomainError

REVIEWS = uuid.UUID("1d2e3f4a-5b6c-4d7e-8f9a-0b1c2d3e4f07")


def review_id(period: str, node: str) -> uuid.UUID:
    return uuid.uuid5(REVIEWS, f"{period}|{node}")


class Review(Aggregate):
    TOPIC = "Review"

    class Created(Aggregate.Created):
        TOPIC = "Review.Created"

    class ReviewRecorded(Created):
        TOPIC = "ReviewRecorded"
        period: str
        node: str
        reviewer: str
        summary: str
        success_factors: list[str]
        shortfall_causes: list[str]
        lessons: list[str]
        next_actions: list[str]

    def __init__(
        self,
        period: str,
        node: str,
        reviewer: str,
        summary: str,
        success_factors: list[str],
        shortfall_causes: list[str],
        lessons: list[str],
        next_actions: list[str],
    ):
        self.period, self.node, self.reviewer, self.summary = period, node, reviewer, summary
        self.success_factors, self.shortfall_causes = success_factors, shortfall_causes
        self.lessons, self.next_actions = lessons, next_actions

    @classmethod
    def record(
        cls,
        *,
        period: str,
        node: str,
        reviewer: str,
        summary: str,
        success_factors: list[str],
        shortfall_causes: list[str],
        lessons: list[str],
        next_actions: list[str],
        at: datetime,
    ) -> "Review":
        if not summary.strip():
            raise DomainError("a review has a summary", field="summary")
        return cls._create(
            cls.ReviewRecorded,
            id=review_id(period, node),
            period=period,
            node=node,
            reviewer=reviewer,
            summary=summary,
            success_factors=success_factors,
            shortfall_causes=shortfall_causes,
            lessons=lessons,
            next_actions=next_actions,
            timestamp=at,
        )
