"""State machines, declared as data (spec.py) and run by one shared engine (engine.py)."""
