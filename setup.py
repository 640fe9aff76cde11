"""The compiled kernels (storyline/kernels.py): built when a C compiler is at hand, else
skipped, and storyline computes the same values in Python (``optional=True``). Everything else
about the package is in pyproject.toml."""
from setuptools import Extension, setup

setup(ext_modules=[Extension("storyline._kernels", ["storyline/_kernels.c"], optional=True,
                             extra_compile_args=["-O2", "-ffp-contract=off"])])
