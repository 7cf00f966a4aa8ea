"""Browser push: the Web Push backend, a user's browser subscriptions and the endpoints that keep them."""
