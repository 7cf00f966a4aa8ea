"""P6: queries of the inbox page and the unread badge at a short and a long inbox."""

from django.test import Client
from django.urls import NoReverseMatch, reverse

from spire_notify.models import Notification

from . import population
from .measure import Row, count_queries

# The badge is being built beside this bench; measure whichever name it ships under.
BADGE_URL_NAMES = (
    "spire_notify:unread_count",
    "spire_notify:badge",
    "spire_notify:unread_badge",
    "spire_notify:unread",
)


def badge_url():
    for name in BADGE_URL_NAMES:
        try:
            return name, reverse(name)
        except NoReverseMatch:
            continue
    return None, None


def _queries_of_page(name, url, sizes):
    counts = {}
    for size in sizes:
        user = population.make_users(f"p6-{name}-{size}-", 1)[0]
        population.delivered_inbox(user, size)
        client = Client()
        client.force_login(user)
        client.get(url)  # sessions and caches warm, as on a live site
        response, counts[size] = count_queries(lambda client=client: client.get(url))
        if response.status_code != 200:
            raise RuntimeError(f"GET {url} answered {response.status_code}")
    Notification.objects.all().delete()
    return counts


def p6_queries(sizes):
    pages = [("inbox page", "spire_notify:inbox", reverse("spire_notify:inbox"))]
    badge_name, badge = badge_url()
    if badge is not None:
        pages.append(("unread badge", badge_name, badge))
    rows = []
    for label, name, url in pages:
        counts = _queries_of_page(name, url, sizes)
        values = list(counts.values())
        rows.append(
            Row(
                id="P6",
                what=f"queries of the {label} ({name}) at "
                + " vs ".join(f"{s:,}" for s in sizes)
                + " notifications",
                ours=" / ".join(str(value) for value in values),
                target="equal, ≤ 6",
                met=len(set(values)) == 1 and max(values) <= 6,
                values={"queries": counts},
            )
        )
    if badge is None:
        rows.append(
            Row(
                id="P6",
                what="unread badge",
                ours="not measured",
                target="equal, ≤ 6",
                ratio=f"no URL named any of {', '.join(BADGE_URL_NAMES)} yet",
            )
        )
    return rows
