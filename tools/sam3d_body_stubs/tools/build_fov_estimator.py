"""Stand-in (see ../../README.md)."""


class FOVEstimator:
    def __init__(self, name=None, device=None, path=None):
        self.name = name
