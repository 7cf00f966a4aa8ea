from enum import StrEnum


class TicketEventType(StrEnum):
    NEW = "new"
    UPDATE = "update"
    COMMENT = "comment"
