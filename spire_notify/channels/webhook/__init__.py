"""Webhooks: signed (Standard Webhooks) HTTP POSTs of each notification, and the command that
makes a secret."""
