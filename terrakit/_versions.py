"""The versions of the numerical libraries a result was computed with."""

from __future__ import annotations

__all__ = ["VERSIONED_LIBRARIES", "library_versions"]

#: libraries whose versions results record when they are loaded (the numbers
#: of a fit, a forecast or a design depend on them)
VERSIONED_LIBRARIES = (
    "numpy",
    "pandas",
    "scipy",
    "xarray",
    "geopandas",
    "shapely",
    "pyproj",
    "libpysal",
    "pymc",
    "pytensor",
    "nutpie",
    "arviz",
    "numba",
    "statsforecast",
    "pulp",
    "highspy",
    "ortools",
    "pyvrp",
)


def library_versions() -> dict[str, str]:
    """Versions of the :data:`VERSIONED_LIBRARIES` that are already imported.

    Cheap and side-effect free: a library that is not loaded is left out
    (it cannot have made the numbers), and nothing is imported to read a
    version — it is the module's ``__version__``, else its installed
    distribution's (:func:`importlib.metadata.version`).

    Returns
    -------
    dict
        ``{"numpy": "2.1.3", ...}``, JSON-able, in a fixed order.
    """
    import importlib.metadata
    import sys

    out: dict[str, str] = {}
    for name in VERSIONED_LIBRARIES:
        mod = sys.modules.get(name)
        if mod is None:
            continue
        version = getattr(mod, "__version__", None)
        if not isinstance(version, str):
            try:
                version = importlib.metadata.version(name)
            except importlib.metadata.PackageNotFoundError:
                continue
        out[name] = version
    return out
