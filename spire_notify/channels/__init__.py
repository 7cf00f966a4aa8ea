"""The channels spire-notify ships, one Django app each (``spire_notify.channels.email``, ...).

A project lists the ones it uses in ``INSTALLED_APPS``; the core imports none of them.
"""
