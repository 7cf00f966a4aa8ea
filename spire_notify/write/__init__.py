"""The write side: ``notify()``, the audience path, timing, and preferences at write time."""
