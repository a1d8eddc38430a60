"""Converters from a back end's published file format to torch: tools, not recognizers.

* :mod:`~nullswap.recognizers.convert.onnx_to_torch` — an ONNX graph (repaired where its int8 export
  left stale inputs) replayed as a torch module, for ``sface``;
* :mod:`~nullswap.recognizers.convert.dlib_format` — dlib's serialised ``.dat`` network read into
  arrays, for the ``dlib`` recognizer.

Nothing here registers a recognizer; the registry never imports this package.  The back end that needs
a conversion imports its converter when it converts, so a recognizer module loads without it.
"""
