from django.db import models
from django.utils.translation import gettext_lazy as _


class HelpDeskTicketPurposeChoices(models.TextChoices):
    APP = "app", _("App")
    COMPANY = "company", _("Company")


class HelpDeskTicketPriorityChoices(models.TextChoices):
    LOW = "low", _("Low")
    MEDIUM = "medium", _("Medium")
    HIGH = "high", _("High")
    URGENT = "urgent", _("Urgent")


class HelpDeskTicketStatusChoices(models.TextChoices):
    READY = "ready", _("Ready")
    IN_PROGRESS = "in_progress", _("In Progress")
    DONE = "done", _("Done")
