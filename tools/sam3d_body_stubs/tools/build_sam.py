"""Stand-in (see ../../README.md)."""


class HumanSegmentor:
    def __init__(self, name=None, device=None, path=None):
        self.name = name
