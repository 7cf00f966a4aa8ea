"""The record step's second half for a backend with several routes (the email channel's mailers,
with ``failover``): which route took each sent row, kept on the row's detail row.

A sent ``Outcome`` names its route in ``via``; a backend with one route names none, and then
nothing is written and no query is paid. Otherwise one UPDATE per route of the batch, whatever
its size; a digest's route is written on the detail row of every item it carried.
"""

from collections import defaultdict


def record_routes(backend, ended, *, using):
    """Keep, in ``backend.route_field`` of each detail row, the route that took it; ``ended``
    are the pipeline's ``Ended`` parcels that were recorded."""
    if backend.route_field is None:
        return
    by_route = defaultdict(list)
    for each in ended:
        if each.outcome.sent and each.outcome.via:
            by_route[each.outcome.via].extend(item.pk for item in each.parcel.items)
    details = backend.get_detail_model().objects.using(using)
    for route, pks in by_route.items():
        details.filter(pk__in=pks).update(**{backend.route_field: route})
