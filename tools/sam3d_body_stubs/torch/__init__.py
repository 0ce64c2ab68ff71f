"""Stand-in for the few torch names the SAM 3D Body tools use (see ../README.md)."""
import numpy as np

float32 = np.float32


class _Cuda:
    @staticmethod
    def is_available():
        return False


cuda = _Cuda()


def device(name):
    return name


def as_tensor(data, dtype=None):
    return np.asarray(data, dtype=dtype)
