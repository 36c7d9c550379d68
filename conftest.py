"""Root pytest configuration.

The notebook kernels that nbval starts inherit this process's environment, so it is set
here exactly as tools/execute.py sets it when it stores the outputs (BLAS on one thread).
"""
import os

from tools.execute import DETERMINISTIC_ENV

os.environ.update(DETERMINISTIC_ENV)
