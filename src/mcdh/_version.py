"""The one place the mcdh version is written (read by the build and by ``mcdh.__version__``)."""
__version__ = "0.1.0"
