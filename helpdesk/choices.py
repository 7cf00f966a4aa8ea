from django.db import models


class HelpDeskTicketPurposeChoices(models.TextChoices):
    APP = "app", "App"
    COMPANY = "company", "Company"


class HelpDeskTicketPriorityChoices(models.TextChoices):
    LOW = "low", "Low"
    MEDIUM = "medium", "Medium"
    HIGH = "high", "High"
    URGENT = "urgent", "Urgent"


class HelpDeskTicketStatusChoices(models.TextChoices):
    READY = "ready", "Ready"
    IN_PROGRESS = "in_progress", "In Progress"
    DONE = "done", "Done"
