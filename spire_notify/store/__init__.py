"""The store: the models, inserting rows, asking for delivery, and the signals. The write side
and the worker both stand on it, and never on each other."""
