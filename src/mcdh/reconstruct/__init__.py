"""After a discovery: reconstruct the dark sector from the phi and gamma-phi channels (issue 17).

* :mod:`~mcdh.reconstruct.model` - the model of the data (templates smooth in the parameters);
* :mod:`~mcdh.reconstruct.data` - pseudo-data (Poisson or Asimov), written and read as ROOT ntuples;
* :mod:`~mcdh.reconstruct.fit` - the binned extended likelihood, the fit with iminuit, profiles,
  contours, the local significance, what the rate measures and the model test of dark Higgs-strahlung;
* :mod:`~mcdh.reconstruct.calibration` - from toys: the global significance (look-elsewhere effect) and
  the goodness of fit;
* :mod:`~mcdh.reconstruct.report` - fit.json and the figures.

Use it through :meth:`mcdh.Study.pseudo_data` and :meth:`mcdh.Study.fit`, or ``mcdh pseudodata`` and
``mcdh fit``.
"""
