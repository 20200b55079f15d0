"""抽查: spot checks of grading results by a higher level, drawn verifiably."""
