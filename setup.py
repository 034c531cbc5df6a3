"""Build of the compiled core: the Cython bridge mcdh._rambo over csrc/rambo.c.

The C that Cython generates goes to build/cython, never into the package
tree, so it does not ship in the wheel.
"""
import sys

import numpy
from Cython.Build import cythonize
from setuptools import Extension, setup

if sys.platform == "win32":
    cflags = ["/O2"]
else:
    # -fno-math-errno lets sqrt vectorise; no -ffast-math (it would change the
    # floating-point environment of the whole process on some toolchains).
    cflags = ["-O3", "-fno-math-errno"]

extensions = [
    Extension(
        "mcdh._rambo",
        sources=["src/mcdh/_rambo.pyx", "csrc/rambo.c"],
        include_dirs=["csrc", numpy.get_include()],
        define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
        extra_compile_args=cflags,
    )
]

setup(ext_modules=cythonize(extensions, build_dir="build/cython", compiler_directives={"language_level": "3"}))
